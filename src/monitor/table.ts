// SPDX-License-Identifier: BSD-3-Clause
// KeyTable: a bounded heavy-hitter table of packed keys (keys.ts), the memory bound of a monitor under key
// explosion (a flood of spoofed sources brings a million new keys a second).
//
// Open addressing over typed arrays: `keys` holds `capacity` packed keys, `index` maps hash slots to entries
// (linear probing, no deletions: an eviction rebuilds it). The monitors' hot path looks keys up and adds them
// with the key's generated probe (keys.ts), which reads and fills these arrays directly.
// When the table is full, a batched space-saving step evicts about half of the entries, those of the lowest
// score (the monitor's count for them, written by the owner into `scores`, Infinity for pinned entries; the cut
// is the median of a sample of the scores), freeing their entries for reuse (nothing moves: the owner's per-entry arrays stay put), and returns the
// highest evicted score: a newcomer may have had up to that much traffic before it entered (its error bound),
// and a key whose traffic exceeds about total/(capacity/2) is never evicted. Evicting half at once keeps the
// cost per new key constant: two passes over the table and a rebuilt index per half-table of new keys.

import { hashKey, type ProbeTable } from "./keys.js";

/** Scores sampled to find the eviction cut. */
const SAMPLE = 255;

export class KeyTable implements ProbeTable {
  readonly width: number;
  readonly capacity: number;
  readonly keys: Uint32Array;
  /** 1 for the entries in use; entries are 0 .. end-1 (evicted ones are reused, never moved) */
  readonly live: Uint8Array;
  /** entries in use */
  size = 0;
  /** one past the highest entry ever used since the last clear */
  end = 0;
  /** keys evicted since the table was made */
  evicted = 0;
  /** hash slot s → entry at [2s] (-1: empty) and the key's hash (|0) at [2s + 1], one cache line for both */
  readonly index: Int32Array;
  readonly mask: number;
  /** per entry: its key's hash */
  readonly hashes: Uint32Array;
  /** entries freed by evictions, reused first */
  readonly free: Int32Array;
  freeTop = 0;
  /** eviction scores, written by the owner for every entry in use before `evictHalf` (Infinity: pinned) */
  readonly scores: Float64Array;
  private readonly sample = new Float64Array(SAMPLE);

  constructor(width: number, capacity: number) {
    if (capacity < 2) throw new RangeError("key table: capacity below 2");
    this.width = width;
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * width);
    this.live = new Uint8Array(capacity);
    this.hashes = new Uint32Array(capacity);
    this.free = new Int32Array(capacity);
    this.scores = new Float64Array(capacity);
    let slots = 4;
    while (slots < capacity * 2) slots *= 2;
    this.index = new Int32Array(slots * 2).fill(-1);
    this.mask = slots - 1;
  }

  /** Hash of the key at `buf[off .. off + width)`. */
  hash(buf: Uint32Array, off: number): number {
    return hashKey(buf, off, this.width);
  }

  /** The entry holding the key, or -1. */
  find(buf: Uint32Array, off: number, h: number): number {
    const w = this.width;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = this.index[2 * s]!;
      if (e < 0) return -1;
      if (this.index[2 * s + 1] !== (h | 0)) continue;
      let k = 0;
      const base = e * w;
      while (k < w && this.keys[base + k] === buf[off + k]) k++;
      if (k === w) return e;
    }
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** Adds a key that is not in the table (the table must not be full); returns its entry. */
  insert(buf: Uint32Array, off: number, h: number): number {
    const e = this.freeTop > 0 ? this.free[--this.freeTop]! : this.end++;
    this.size++;
    this.live[e] = 1;
    const w = this.width;
    for (let k = 0; k < w; k++) this.keys[e * w + k] = buf[off + k]!;
    this.hashes[e] = h;
    let s = h & this.mask;
    while (this.index[2 * s]! >= 0) s = (s + 1) & this.mask;
    this.index[2 * s] = e;
    this.index[2 * s + 1] = h;
    return e;
  }

  /**
   * Evicts about half of the entries, those of the lowest `scores[e]` (entries scored Infinity stay); the
   * others keep their entry numbers. Returns the highest score evicted (0 when nothing was).
   */
  evictHalf(): number {
    const { end, live, scores } = this;
    // the median estimated from up to SAMPLE entries spread over the table (a full sort per eviction costs
    // more than everything else; the sample's median is selected, not sorted, too)
    const sample = this.sample;
    let m = 0;
    const stride = Math.max(1, Math.floor(end / SAMPLE));
    for (let e = 0; e < end && m < SAMPLE; e += stride) if (live[e] === 1) sample[m++] = scores[e]!;
    const cut = m === 0 ? Infinity : select(sample, m, m >> 1);
    // what is below the cut, then entries at the cut until half are gone (pinned ones never)
    const half = Math.floor(this.size / 2);
    const free = this.free;
    let top = this.freeTop;
    let floor = 0;
    for (let e = 0; e < end; e++) {
      if (live[e] !== 1) continue;
      const s = scores[e]!;
      if (s < cut) {
        if (s > floor) floor = s;
        live[e] = 0;
        free[top++] = e;
      }
    }
    let gone = top - this.freeTop;
    if (cut !== Infinity)
      for (let e = 0; e < end && gone < half; e++)
        if (live[e] === 1 && scores[e] === cut) {
          floor = cut;
          live[e] = 0;
          free[top++] = e;
          gone++;
        }
    this.freeTop = top;
    this.size -= gone;
    this.evicted += gone;
    this.reindex();
    return floor;
  }

  /** Empties the table (a fixed window's new period). */
  clear(): void {
    this.size = 0;
    this.end = 0;
    this.freeTop = 0;
    this.live.fill(0);
    this.index.fill(-1);
  }

  private reindex(): void {
    const { index, live, hashes, mask } = this;
    index.fill(-1);
    for (let e = 0; e < this.end; e++) {
      if (live[e] !== 1) continue;
      const h = hashes[e]!;
      let s = h & mask;
      while (index[2 * s]! >= 0) s = (s + 1) & mask;
      index[2 * s] = e;
      index[2 * s + 1] = h;
    }
  }
}

/** The k-th smallest of a[0..n) (Hoare's selection; reorders a). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}
