// SPDX-License-Identifier: BSD-3-Clause
// KeyTable: a bounded heavy-hitter table of packed keys (keys.ts), the memory bound of a monitor under key
// explosion (a flood of spoofed sources brings a million new keys a second).
//
// Open addressing over typed arrays: `keys` holds `capacity` packed keys, `index` maps hash slots to entries.
// When the table is full, a batched space-saving step evicts the lower half of the entries by their score
// (the monitor's count for them, pinned entries kept) and returns the highest evicted score: a newcomer may
// have had up to that much traffic before it entered (its error bound), and any key whose traffic exceeds
// total/(capacity/2) is never evicted. Evicting half at once keeps the cost per new key constant.

export class KeyTable {
  readonly width: number;
  readonly capacity: number;
  readonly keys: Uint32Array;
  /** entries in use: 0 .. size-1 */
  size = 0;
  /** keys evicted since the table was made */
  evicted = 0;
  private index: Int32Array;
  private mask: number;
  private readonly hashes: Uint32Array;

  constructor(width: number, capacity: number) {
    if (capacity < 2) throw new RangeError("key table: capacity below 2");
    this.width = width;
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * width);
    this.hashes = new Uint32Array(capacity);
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
    const e = this.size++;
    this.keys.set(buf.subarray(off, off + this.width), e * this.width);
    this.hashes[e] = h;
    let s = h & this.mask;
    while (this.index[s]! >= 0) s = (s + 1) & this.mask;
    this.index[s] = e;
    return e;
  }

  /**
   * Evicts the lower half of the entries by `score(e)` (entries with `pinned(e)` stay), moving the kept ones
   * to the front: `move(from, to)` lets the owner move its per-entry data alongside. Returns the highest
   * score evicted (0 when nothing was).
   */
  evictHalf(
    score: (e: number) => number,
    pinned: (e: number) => boolean,
    move: (from: number, to: number) => void,
  ): number {
    const n = this.size;
    const scores = new Float64Array(n);
    for (let e = 0; e < n; e++) scores[e] = pinned(e) ? Infinity : score(e);
    const sorted = scores.slice().sort();
    const cut = sorted[Math.floor(n / 2)]!;
    // evict everything below the median, then entries at the median until half are gone (pinned ones never)
    let below = 0;
    for (let e = 0; e < n; e++) if (scores[e]! < cut) below++;
    let ties = cut === Infinity ? 0 : Math.max(0, Math.floor(n / 2) - below);
    let floor = 0;
    let to = 0;
    const w = this.width;
    for (let e = 0; e < n; e++) {
      const s = scores[e]!;
      if (s < cut || (s === cut && ties > 0)) {
        if (s === cut) ties--;
        if (s > floor) floor = s;
        this.evicted++;
        continue;
      }
      if (to !== e) {
        this.keys.copyWithin(to * w, e * w, (e + 1) * w);
        this.hashes[to] = this.hashes[e]!;
        move(e, to);
      }
      to++;
    }
    this.size = to;
    this.reindex();
    return floor;
  }

  /** Empties the table (a fixed window's new period). */
  clear(): void {
    this.size = 0;
    this.index.fill(-1);
  }

  private reindex(): void {
    this.index.fill(-1);
    for (let e = 0; e < this.size; e++) {
      let s = this.hashes[e]! & this.mask;
      while (this.index[s]! >= 0) s = (s + 1) & this.mask;
      this.index[s] = e;
    }
  }
}
