// SPDX-License-Identifier: BSD-3-Clause
// KeyTable: a bounded heavy-hitter table of packed keys (keys.ts), the memory bound of a monitor under key
// explosion (a flood of spoofed sources brings a million new keys a second).
//
// Open addressing over typed arrays: `keys` holds `capacity` packed keys, `index` maps hash slots to entries.
// When the table is full, a batched space-saving step evicts about half of the entries, those of the lowest
// score (the monitor's count for them, pinned entries kept; the cut is the median of a sample of the scores),
// freeing their entries for reuse (nothing moves: the owner's per-entry arrays stay put), and returns the
// highest evicted score: a newcomer may have had up to that much traffic before it entered (its error bound),
// and a key whose traffic exceeds about total/(capacity/2) is never evicted. Evicting half at once keeps the
// cost per new key constant.

/** Scores sampled to find the eviction cut. */
const SAMPLE = 255;

export class KeyTable {
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
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly hashes: Uint32Array;
  private readonly free: Int32Array;
  private freeTop = 0;
  private readonly scores: Float64Array;
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
    this.index = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
  }

  /** Hash of the key at `buf[off .. off + width)`. */
  hash(buf: Uint32Array, off: number): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < this.width; k++) {
      h = Math.imul(h ^ buf[off + k]!, 0x01000193);
      h ^= h >>> 15;
    }
    h = Math.imul(h, 0x85ebca6b);
    return (h ^ (h >>> 13)) >>> 0;
  }

  /** The entry holding the key, or -1. */
  find(buf: Uint32Array, off: number, h: number): number {
    const w = this.width;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = this.index[s]!;
      if (e < 0) return -1;
      if (this.hashes[e] !== h) continue;
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
    while (this.index[s]! >= 0) s = (s + 1) & this.mask;
    this.index[s] = e;
    return e;
  }

  /**
   * Evicts about half of the entries, those of the lowest `score(e)` (entries with `pinned(e)` stay); the
   * others keep their entry numbers. Returns the highest score evicted (0 when nothing was).
   */
  evictHalf(score: (e: number) => number, pinned: (e: number) => boolean): number {
    const end = this.end;
    const live = this.live;
    const scores = this.scores;
    for (let e = 0; e < end; e++) if (live[e] === 1) scores[e] = pinned(e) ? Infinity : score(e);
    // the median estimated from up to SAMPLE entries spread over the table (a full sort per eviction costs
    // more than everything else)
    const sample = this.sample;
    let m = 0;
    const stride = Math.max(1, Math.floor(end / SAMPLE));
    for (let e = 0; e < end && m < SAMPLE; e += stride) if (live[e] === 1) sample[m++] = scores[e]!;
    const sorted = sample.subarray(0, m).sort();
    const cut = sorted[Math.floor(m / 2)] ?? Infinity;
    // evict what is below the cut, then entries at the cut until half are gone (pinned ones never)
    let below = 0;
    for (let e = 0; e < end; e++) if (live[e] === 1 && scores[e]! < cut) below++;
    let ties = cut === Infinity ? 0 : Math.max(0, Math.floor(this.size / 2) - below);
    let floor = 0;
    for (let e = 0; e < end; e++) {
      if (live[e] !== 1) continue;
      const s = scores[e]!;
      if (s < cut || (s === cut && ties > 0)) {
        if (s === cut) ties--;
        if (s > floor) floor = s;
        live[e] = 0;
        this.free[this.freeTop++] = e;
        this.size--;
        this.evicted++;
      }
    }
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
    this.index.fill(-1);
    for (let e = 0; e < this.end; e++) {
      if (this.live[e] !== 1) continue;
      let s = this.hashes[e]! & this.mask;
      while (this.index[s]! >= 0) s = (s + 1) & this.mask;
      this.index[s] = e;
    }
  }
}
