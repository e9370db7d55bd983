// SPDX-License-Identifier: BSD-3-Clause
// KeyTable: an open-addressing hash table keyed by a fixed number of u32 words, with parallel Float64Array
// accumulators (flows, in/out packets and bytes, min first, max last). The engine under -s, -A and -a.
//
//   slots   Uint32Array(stride * 2^k) [entry index + 1 (0 = empty), key word (width 1) | both key words (width
//                                    2, stride 3) | hash (wider)]: one cache line answers a probe without
//                                    touching `keys`; linear probing, load factor <= 1/2 (<= 3/4 reserved).
//                                    Lookups first hash a chunk of keys and load each home slot (independent
//                                    loads overlap their cache/TLB misses), then probe
//   keys    Uint32Array(cap * width) the key words of entry e at [e * width, (e + 1) * width)
//   hashes  Uint32Array(cap)         cached 32-bit hash per entry, keys wider than 2 words only (rehash without
//                                    touching the keys; narrower keys are rehashed from the keys)
//   acc     Float64Array(cap * 5)    per entry [flows, inPackets, inBytes, first, last], interleaved so one
//                                    update touches one or two cache lines (random keys miss cache)
//   accOut  Float64Array(cap * 2)    per entry [outPackets, outBytes]; allocated at the first non-zero out
//                                    counter (most exporters send unidirectional flows), else null
//
// Entries are dense and in insertion order, so iterating, merging and posting the state to another thread
// (`exportState`, plain typed arrays) need no pointer chasing. Growth doubles the slot array and the entry
// arrays; every allocation is charged to a MemoryBudget that throws ERR_STATS_MEMORY past its limit
// (nfdump's InitStatHashBits 25 = 32 M slots is the spirit: bounded, but large enough for real archives).

import type { ColumnArrays } from "../record/schema.js";
import { sumError, TWO53 } from "../record/u64.js";
import { StatsError } from "./errors.js";

/** Default memory limit of one query's statistics and aggregation tables: 4 GiB. */
export const DEFAULT_STATS_MEMORY = 4 * 1024 * 1024 * 1024;

const MIN_SLOTS = 1024;
/** Keys per run of a lookup's first pass (hash, load the home slot) before their probes (see lookup1). */
const TOUCH_RUN = 256;
/** Most entries `reserve` sets aside (a hint: more still fit, by doubling). */
export const MAX_RESERVE = 1 << 24;
/** Highest load factor of a reserved slot array (growth otherwise keeps it at most 1/2). */
const RESERVED_LOAD = 0.85;
/** Accumulator layout: f64 slots per entry and the offset of each counter. */
export const ACC_STRIDE = 5;
export const A_FLOWS = 0;
export const A_IN_PACKETS = 1;
export const A_IN_BYTES = 2;
export const A_FIRST = 3;
export const A_LAST = 4;
/** accOut layout: f64 slots per entry, [outPackets, outBytes]. */
export const OUT_STRIDE = 2;

/** Bytes per entry of a table of `width`-word keys (keys, accumulators, the cached hash of wide keys). */
function entryBytes(width: number): number {
  return width * 4 + ACC_STRIDE * 8 + (width > 2 ? 4 : 0);
}

/** A byte budget shared by all tables of one query. */
export class MemoryBudget {
  readonly limit: number;
  used: number;
  peak: number;

  constructor(limit: number = DEFAULT_STATS_MEMORY) {
    if (!(limit > 0)) throw new RangeError(`statistics: bad memory limit ${limit}`);
    this.limit = limit;
    this.used = 0;
    this.peak = 0;
  }

  /** Charges `bytes` (negative to release); throws ERR_STATS_MEMORY when the limit would be exceeded. */
  charge(bytes: number, what: string, keys: number): void {
    if (bytes > 0 && this.used + bytes > this.limit) {
      throw new StatsError(
        "ERR_STATS_MEMORY",
        `statistics: memory limit of ${formatMiB(this.limit)} exceeded by ${what} at ${keys} keys ` +
          `(${formatMiB(this.used)} in use, ${formatMiB(bytes)} more needed); narrow the filter or raise the limit`,
      );
    }
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** The transferable state of a KeyTable: plain typed arrays trimmed to `count` entries. */
export interface KeyTableState {
  readonly width: number;
  readonly count: number;
  readonly keys: Uint32Array;
  /** Empty for keys of 1–2 words. */
  readonly hashes: Uint32Array;
  /** count * ACC_STRIDE accumulators (see A_FLOWS …). */
  readonly acc: Float64Array;
  /** count * OUT_STRIDE out counters, or null when all are zero. */
  readonly accOut: Float64Array | null;
  /** count * FIX_STRIDE exact − double of the five sums (record/u64.ts), or null while every sum is below 2^53. */
  readonly accFix: Float64Array | null;
}

/** accFix layout: f64 slots per entry, [flows, inPackets, inBytes, outPackets, outBytes]. */
export const FIX_STRIDE = 5;

/** The exact companions of a batch's counters (record/u64.ts), for the rare exact path. */
export type FixColumns = Pick<
  ColumnArrays,
  "flowsFix" | "inPacketsFix" | "inBytesFix" | "outPacketsFix" | "outBytesFix"
>;

/** 32-bit mix of one word (murmur3 fmix32). */
export function hashWord(k: number): number {
  let h = k ^ (k >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of two words (must equal hashWords for width 2). */
export function hash2(k0: number, k1: number): number {
  let h = 0x9747b28c ^ 2;
  let k = Math.imul(k0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  k = Math.imul(k1, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  return hashWord(h);
}

/** Hash of `width` words at `keys[off]`. */
export function hashWords(keys: Uint32Array, off: number, width: number): number {
  let h = 0x9747b28c ^ width;
  for (let i = 0; i < width; i++) {
    let k = Math.imul(keys[off + i]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return hashWord(h);
}

export class KeyTable {
  readonly width: number;
  readonly name: string;
  readonly budget: MemoryBudget;
  count: number;
  capacity: number;
  /** [entry + 1, key word(s) or hash] per slot; stride * (mask + 1) words. */
  slots: Uint32Array;
  /** Words per slot: 3 for width-2 keys (both words inline), else 2. */
  readonly stride: number;
  mask: number;
  keys: Uint32Array;
  /** capacity hashes when width > 2, else empty. */
  hashes: Uint32Array;
  /** capacity * ACC_STRIDE accumulators. */
  acc: Float64Array;
  /** capacity * OUT_STRIDE out counters once one is non-zero (see ensureOut), else null. */
  accOut: Float64Array | null = null;
  /** capacity * FIX_STRIDE exact − double of the sums once one reached 2^53 (record/u64.ts), else null. */
  accFix: Float64Array | null = null;
  /** Bytes currently charged to the budget: the slot array and the `committed` entries. */
  bytes: number;
  /** Entries charged to the budget so far (<= capacity; the arrays' untouched tail is only address space). */
  committed: number;
  /** The slot array doubles when count exceeds this. */
  growAt: number;
  /** A table loaded by `fromEntries`: entries only, no slots; it is read, never added to. */
  sealed = false;
  /** Per-lookup scratch: the hashes of a chunk of keys. */
  private hs = new Uint32Array(0);
  /** Where the lookups' slot-touching loads go (so that they are not optimised away). */
  touched = 0;
  touchedAcc = 0;

  constructor(width: number, budget: MemoryBudget, name = "table", initialEntries = 512) {
    if (!Number.isInteger(width) || width < 1 || width > 64) throw new RangeError(`statistics: bad key width ${width}`);
    this.width = width;
    this.name = name;
    this.budget = budget;
    this.count = 0;
    this.capacity = Math.max(16, initialEntries);
    let slots = MIN_SLOTS;
    while (slots < this.capacity * 2) slots *= 2;
    this.stride = width === 2 ? 3 : 2;
    this.committed = this.capacity;
    this.bytes = slots * this.stride * 4 + this.capacity * entryBytes(width);
    budget.charge(this.bytes, name, 0);
    this.slots = new Uint32Array(slots * this.stride);
    this.mask = slots - 1;
    this.growAt = slots / 2;
    this.keys = new Uint32Array(this.capacity * width);
    this.hashes = new Uint32Array(width > 2 ? this.capacity : 0);
    this.acc = new Float64Array(this.capacity * ACC_STRIDE);
  }

  private scratch(m: number): Uint32Array {
    if (this.hs.length < m) this.hs = new Uint32Array(Math.max(m, 4096));
    return this.hs;
  }

  /** Bytes held by this table (slots + entries). */
  memoryBytes(): number {
    return this.bytes;
  }

  /**
   * Sets aside room for `n` entries (at most MAX_RESERVE) when an upper bound of the number of keys is known
   * (e.g. the rows to scan): the entry arrays are allocated once at that size and the slot array at a load
   * factor of at most 3/4, so the table neither copies nor rehashes while it fills. Only the slot array is
   * charged now; entries are charged as they are used (allocated but untouched pages are not resident).
   * A hint: when the slots would not fit in the budget, nothing happens and the table grows by doubling.
   */
  reserve(n: number): void {
    n = Math.min(Math.floor(n), MAX_RESERVE);
    if (!(n > this.capacity)) return;
    const st = this.stride;
    let slots = this.mask + 1;
    while (slots * RESERVED_LOAD < n) slots *= 2;
    const slotBytes = (slots - (this.mask + 1)) * st * 4;
    if (this.budget.used + slotBytes > this.budget.limit) return;
    this.budget.charge(slotBytes, this.name, this.count);
    this.bytes += slotBytes;
    this.resizeEntries(n);
    if (slots !== this.mask + 1) this.rehash(slots);
    this.growAt = Math.max(slots / 2, Math.min(n, Math.floor(slots * RESERVED_LOAD)));
  }

  /**
   * Looks up `m` keys of width 1 held in `keys[0..m)` and writes their entry indices to `out`, inserting the
   * missing ones. Fast path of the most common tables (ports, IPv4 addresses, AS numbers …).
   */
  lookup1(keys: Uint32Array, m: number, out: Int32Array, hashes: Uint32Array | null = null): void {
    let slots = this.slots;
    let mask = this.mask;
    const hs = this.scratch(m);
    let touch = 0;
    for (let j = 0; j < m; j++) {
      if (j % TOUCH_RUN === 0) {
        // first the hashes of the next run of keys and one load of each home slot: independent loads, whose
        // cache and TLB misses the CPU overlaps, where the probe loop (a branch on every load) would take
        // them one at a time; runs short enough that their TLB entries are still there for the probes
        const end = Math.min(m, j + TOUCH_RUN);
        for (let i = j; i < end; i++) {
          let h: number;
          if (hashes !== null) {
            h = hashes[i]!;
          } else {
            const k = keys[i]!;
            h = k ^ (k >>> 16);
            h = Math.imul(h, 0x85ebca6b);
            h ^= h >>> 13;
            h = Math.imul(h, 0xc2b2ae35);
            h = (h ^ (h >>> 16)) >>> 0;
          }
          hs[i] = h;
          touch |= slots[2 * (h & mask)]!;
        }
        this.touched = touch;
      }
      const k = keys[j]!;
      const h = hs[j]!;
      let s = h & mask;
      for (;;) {
        const e = slots[2 * s]!;
        if (e === 0) {
          const idx = this.insert(s, h, k, 0);
          this.keys[idx] = k;
          if (this.count > this.growAt) {
            this.growSlots();
            slots = this.slots;
            mask = this.mask;
          }
          out[j] = idx;
          break;
        }
        if (slots[2 * s + 1] === k) {
          out[j] = e - 1;
          break;
        }
        s = (s + 1) & mask;
      }
    }
  }

  /**
   * As lookup1 for any width: key j is `keys[j * width .. (j + 1) * width)`. `hashes`: the keys' hashes when
   * the caller has them (hashWord / hash2 / hashWords of each key).
   */
  lookupN(keys: Uint32Array, m: number, out: Int32Array, hashes: Uint32Array | null = null): void {
    const w = this.width;
    if (w === 1) {
      this.lookup1(keys, m, out, hashes);
      return;
    }
    if (w === 2) {
      this.lookup2(keys, m, out, hashes);
      return;
    }
    let slots = this.slots;
    let mask = this.mask;
    let tk = this.keys;
    const hs = this.scratch(m);
    let touch = 0; // see lookup1
    for (let j = 0; j < m; j++) {
      if (j % TOUCH_RUN === 0) {
        const end = Math.min(m, j + TOUCH_RUN);
        for (let i = j; i < end; i++) {
          const h = hashes !== null ? hashes[i]! : hashWords(keys, i * w, w);
          hs[i] = h;
          touch |= slots[2 * (h & mask)]!;
        }
        this.touched = touch;
      }
      const off = j * w;
      const h = hs[j]!;
      let s = h & mask;
      for (;;) {
        const e = slots[2 * s]!;
        if (e === 0) {
          const idx = this.insert(s, h, h, 0);
          tk = this.keys;
          for (let i = 0; i < w; i++) tk[idx * w + i] = keys[off + i]!;
          if (this.count > this.growAt) {
            this.growSlots();
            slots = this.slots;
            mask = this.mask;
          }
          out[j] = idx;
          break;
        }
        if (slots[2 * s + 1] === h) {
          const eo = (e - 1) * w;
          let same = true;
          for (let i = 0; i < w; i++) {
            if (tk[eo + i] !== keys[off + i]) {
              same = false;
              break;
            }
          }
          if (same) {
            out[j] = e - 1;
            break;
          }
        }
        s = (s + 1) & mask;
      }
    }
  }

  /** lookupN for width 2 (IPv4 pairs, 32-bit value + protocol, MACs): hash and compare inlined. */
  lookup2(keys: Uint32Array, m: number, out: Int32Array, hashes: Uint32Array | null = null): void {
    let slots = this.slots;
    let mask = this.mask;
    let tk = this.keys;
    const hs = this.scratch(m);
    let touch = 0; // see lookup1
    for (let j = 0; j < m; j++) {
      if (j % TOUCH_RUN === 0) {
        const end = Math.min(m, j + TOUCH_RUN);
        for (let i = j; i < end; i++) {
          const h = hashes !== null ? hashes[i]! : hash2(keys[2 * i]!, keys[2 * i + 1]!);
          hs[i] = h;
          touch |= slots[3 * (h & mask)]!;
        }
        this.touched = touch;
      }
      const k0 = keys[2 * j]!;
      const k1 = keys[2 * j + 1]!;
      const h = hs[j]!;
      let s = h & mask;
      for (;;) {
        const e = slots[3 * s]!;
        if (e === 0) {
          const idx = this.insert(s, h, k0, k1);
          tk = this.keys;
          tk[2 * idx] = k0;
          tk[2 * idx + 1] = k1;
          if (this.count > this.growAt) {
            this.growSlots();
            slots = this.slots;
            mask = this.mask;
          }
          out[j] = idx;
          break;
        }
        if (slots[3 * s + 1] === k0 && slots[3 * s + 2] === k1) {
          out[j] = e - 1;
          break;
        }
        s = (s + 1) & mask;
      }
    }
  }

  /** Finds one key (words at `keys[off]`) without inserting; returns the entry index or -1. */
  find(keys: Uint32Array, off: number): number {
    return this.probe(keys, off, false);
  }

  /** Finds one key (words at `keys[off]`), inserting it when missing; returns the entry index. */
  findOrInsert(keys: Uint32Array, off: number): number {
    return this.probe(keys, off, true);
  }

  private probe(keys: Uint32Array, off: number, add: boolean): number {
    const w = this.width;
    const st = this.stride;
    const h = w === 1 ? hashWord(keys[off]!) : hashWords(keys, off, w);
    // what the slot holds besides the entry: the key word(s) for widths 1 and 2, else the hash
    const tag = w <= 2 ? keys[off]! : h;
    const tag2 = w === 2 ? keys[off + 1]! : 0;
    let s = h & this.mask;
    for (;;) {
      const e = this.slots[st * s]!;
      if (e === 0) {
        if (!add) return -1;
        const idx = this.insert(s, h, tag, tag2);
        for (let i = 0; i < w; i++) this.keys[idx * w + i] = keys[off + i]!;
        if (this.count > this.growAt) this.growSlots();
        return idx;
      }
      if (this.slots[st * s + 1] === tag && (st === 2 || this.slots[st * s + 2] === tag2)) {
        if (w <= 2) return e - 1;
        const eo = (e - 1) * w;
        let same = true;
        for (let i = 0; i < w; i++) {
          if (this.keys[eo + i] !== keys[off + i]) {
            same = false;
            break;
          }
        }
        if (same) return e - 1;
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Claims slot `s` for a new entry with hash `h` (tag, tag2: see probe); the caller writes the key. */
  private insert(s: number, h: number, tag: number, tag2: number): number {
    if (this.count === this.committed) this.commit();
    const idx = this.count++;
    const st = this.stride;
    this.slots[st * s] = idx + 1;
    this.slots[st * s + 1] = tag;
    if (st === 3) this.slots[st * s + 2] = tag2;
    if (this.width > 2) this.hashes[idx] = h;
    const a = idx * ACC_STRIDE;
    this.acc[a + A_FIRST] = Infinity;
    this.acc[a + A_LAST] = -Infinity;
    // the caller writes the key, then grows the slots (the rehash reads the keys of width-1/2 tables)
    return idx;
  }

  /**
   * A read-only table holding the entries of `s` (adopted, not copied): for results merged elsewhere, which
   * are iterated and printed but never looked up. Charged to `budget` like a filled table.
   */
  static fromEntries(s: KeyTableState, budget: MemoryBudget, name = "table"): KeyTable {
    const t = new KeyTable(s.width, budget, name, 16);
    const extra = s.count * (entryBytes(s.width) + (s.accOut ? OUT_STRIDE * 8 : 0));
    budget.charge(extra, name, s.count);
    t.bytes += extra;
    t.keys = s.keys;
    t.hashes = s.hashes;
    t.acc = s.acc;
    t.accOut = s.accOut;
    t.accFix = s.accFix;
    t.count = s.count;
    t.capacity = s.count;
    t.committed = s.count;
    t.sealed = true;
    return t;
  }

  /** Charges the next entries to the budget, doubling the entry arrays when all are in use. */
  private commit(): void {
    if (this.sealed) throw new RangeError(`statistics: ${this.name} is read-only`);
    if (this.committed === this.capacity) this.resizeEntries(this.capacity * 2);
    const step = Math.min(this.capacity - this.committed, Math.max(4096, this.committed >>> 3));
    const extra = step * (entryBytes(this.width) + (this.accOut ? OUT_STRIDE * 8 : 0));
    this.budget.charge(extra, this.name, this.count);
    this.bytes += extra;
    this.committed += step;
  }

  /** Reallocates the entry arrays for `cap` entries (the caller charges the budget). */
  private resizeEntries(cap: number): void {
    this.keys = grownU32(this.keys, cap * this.width);
    if (this.width > 2) this.hashes = grownU32(this.hashes, cap);
    this.acc = grownF64(this.acc, cap * ACC_STRIDE);
    if (this.accOut) this.accOut = grownF64(this.accOut, cap * OUT_STRIDE);
    if (this.accFix) this.accFix = grownF64(this.accFix, cap * FIX_STRIDE);
    this.capacity = cap;
  }

  /** Allocates the out counters (zero) when they are still null. */
  ensureOut(): Float64Array {
    if (this.accOut === null) {
      const extra = this.committed * OUT_STRIDE * 8;
      this.budget.charge(extra, this.name, this.count);
      this.bytes += extra;
      this.accOut = new Float64Array(this.capacity * OUT_STRIDE);
    }
    return this.accOut;
  }

  /** The exact terms (allocated zero at the first sum that reaches 2^53). */
  ensureFix(): Float64Array {
    if (this.accFix === null) {
      const extra = this.committed * FIX_STRIDE * 8;
      this.budget.charge(extra, this.name, this.count);
      this.bytes += extra;
      this.accFix = new Float64Array(this.capacity * FIX_STRIDE);
    }
    return this.accFix;
  }

  /** exact − double of sum `k` (FIX_STRIDE order) of entry `e`. */
  fixOf(e: number, k: number): number {
    return this.accFix ? this.accFix[e * FIX_STRIDE + k]! : 0;
  }

  /**
   * The rare path of accumulate, once sum `k` (FIX_STRIDE order) of entry `e` reaches 2^53: keeps the rounding
   * error of `s = old + x` and the added row's own fix.
   */
  exactTerm(e: number, k: number, old: number, x: number, s: number, rowFix: number): void {
    const f = this.ensureFix();
    const i = e * FIX_STRIDE + k;
    f[i] = f[i]! + sumError(old, x, s) + rowFix;
  }

  /** Out packets / bytes of entry `e` (0 while no out counter was non-zero). */
  outPackets(e: number): number {
    return this.accOut ? this.accOut[e * OUT_STRIDE]! : 0;
  }

  outBytes(e: number): number {
    return this.accOut ? this.accOut[e * OUT_STRIDE + 1]! : 0;
  }

  private growSlots(): void {
    const old = this.mask + 1;
    const st = this.stride;
    this.budget.charge(old * st * 4, this.name, this.count);
    this.bytes += old * st * 4;
    this.rehash(old * 2);
    this.growAt = old;
  }

  /** Rebuilds the slot array with `n` slots from the keys (width 1–2) or the cached hashes. */
  private rehash(n: number): void {
    const st = this.stride;
    const slots = new Uint32Array(n * st);
    const mask = n - 1;
    const hashes = this.hashes;
    const keys = this.keys;
    const w = this.width;
    for (let e = 0; e < this.count; e++) {
      const h = w === 1 ? hashWord(keys[e]!) : w === 2 ? hash2(keys[2 * e]!, keys[2 * e + 1]!) : hashes[e]!;
      let s = h & mask;
      while (slots[st * s] !== 0) s = (s + 1) & mask;
      slots[st * s] = e + 1;
      if (w === 1) {
        slots[st * s + 1] = keys[e]!;
      } else if (w === 2) {
        slots[st * s + 1] = keys[2 * e]!;
        slots[st * s + 2] = keys[2 * e + 1]!;
      } else {
        slots[st * s + 1] = h;
      }
    }
    this.slots = slots;
    this.mask = mask;
  }

  /**
   * Adds the counters of rows `rows[0..m)` (whose entry indices are `idx[0..m)`) from the batch columns.
   * A flows value of 0 counts as 1 (nfdump: `aggr_flows ? aggr_flows : 1`).
   */
  accumulate(
    idx: Int32Array,
    rows: Uint32Array,
    m: number,
    flowsCol: Float64Array,
    inPk: Float64Array,
    inBy: Float64Array,
    outPk: Float64Array,
    outBy: Float64Array,
    firstCol: Float64Array,
    lastCol: Float64Array,
    fix: FixColumns | null = null,
  ): void {
    const acc = this.acc;
    let touch = 0;
    for (let j = 0; j < m; j++) {
      if (j % TOUCH_RUN === 0) {
        // load the run's accumulators first (independent loads overlap their misses; see lookup1)
        const end = Math.min(m, j + TOUCH_RUN);
        for (let i = j; i < end; i++) touch += acc[idx[i]! * 5 + 4]!;
        this.touchedAcc = touch;
      }
      const a = idx[j]! * 5;
      const r = rows[j]!;
      const f0 = flowsCol[r]!;
      const f = f0 === 0 ? 1 : f0;
      const p = inPk[r]!;
      const b = inBy[r]!;
      const o0 = acc[a]!;
      const o1 = acc[a + 1]!;
      const o2 = acc[a + 2]!;
      const s0 = o0 + f;
      const s1 = o1 + p;
      const s2 = o2 + b;
      acc[a] = s0;
      acc[a + 1] = s1;
      acc[a + 2] = s2;
      // sums stay exact below 2^53 (and a value with a fix is itself ≥ 2^53): the rare exact path past it
      if (s0 >= TWO53 || s1 >= TWO53 || s2 >= TWO53) {
        const e = idx[j]!;
        this.exactTerm(e, 0, o0, f, s0, fix === null ? 0 : fix.flowsFix[r]! | 0);
        this.exactTerm(e, 1, o1, p, s1, fix === null ? 0 : fix.inPacketsFix[r]! | 0);
        this.exactTerm(e, 2, o2, b, s2, fix === null ? 0 : fix.inBytesFix[r]! | 0);
      }
      const t0 = firstCol[r]!;
      const t1 = lastCol[r]!;
      if (t0 < acc[a + 3]!) acc[a + 3] = t0;
      if (t1 > acc[a + 4]!) acc[a + 4] = t1;
    }
    let out = this.accOut;
    if (out === null) {
      let any = 0;
      for (let j = 0; j < m; j++) {
        const r = rows[j]!;
        if (outPk[r]! !== 0 || outBy[r]! !== 0) {
          any = 1;
          break;
        }
      }
      if (any === 0) return;
      out = this.ensureOut();
    }
    for (let j = 0; j < m; j++) {
      const o = idx[j]! * 2;
      const r = rows[j]!;
      const p = outPk[r]!;
      const b = outBy[r]!;
      const o0 = out[o]!;
      const o1 = out[o + 1]!;
      const s0 = o0 + p;
      const s1 = o1 + b;
      out[o] = s0;
      out[o + 1] = s1;
      if (s0 >= TWO53 || s1 >= TWO53) {
        const e = idx[j]!;
        this.exactTerm(e, 3, o0, p, s0, fix === null ? 0 : fix.outPacketsFix[r]! | 0);
        this.exactTerm(e, 4, o1, b, s1, fix === null ? 0 : fix.outBytesFix[r]! | 0);
      }
    }
  }

  /** Adds the accumulators of entry `e` of `src` (ACC_STRIDE layout; out counters `srcOut`) into entry `d`. */
  addEntry(
    d: number,
    src: Float64Array,
    e: number,
    srcOut: Float64Array | null = null,
    srcFix: Float64Array | null = null,
  ): void {
    const acc = this.acc;
    const a = d * ACC_STRIDE;
    const b = e * ACC_STRIDE;
    for (let i = 0; i < 3; i++) {
      const o = acc[a + i]!;
      const x = src[b + i]!;
      const s = o + x;
      acc[a + i] = s;
      const xf = srcFix === null ? 0 : srcFix[e * FIX_STRIDE + i]!;
      if (s >= TWO53 || xf !== 0) this.exactTerm(d, i, o, x, s, xf);
    }
    if (src[b + A_FIRST]! < acc[a + A_FIRST]!) acc[a + A_FIRST] = src[b + A_FIRST]!;
    if (src[b + A_LAST]! > acc[a + A_LAST]!) acc[a + A_LAST] = src[b + A_LAST]!;
    if (srcOut !== null) {
      const out = this.ensureOut();
      const o = d * OUT_STRIDE;
      const q = e * OUT_STRIDE;
      for (let i = 0; i < 2; i++) {
        const old = out[o + i]!;
        const x = srcOut[q + i]!;
        const s = old + x;
        out[o + i] = s;
        const xf = srcFix === null ? 0 : srcFix[e * FIX_STRIDE + 3 + i]!;
        if (s >= TWO53 || xf !== 0) this.exactTerm(d, 3 + i, old, x, s, xf);
      }
    }
  }

  /** Adds every entry of `other` (same width) into this table. */
  merge(other: KeyTable | KeyTableState): void {
    if (other.width !== this.width)
      throw new RangeError(`statistics: cannot merge key width ${other.width} into ${this.width}`);
    const w = this.width;
    for (let e = 0; e < other.count; e++)
      this.addEntry(this.findOrInsert(other.keys, e * w), other.acc, e, other.accOut, other.accFix);
  }

  /** A copy of the state trimmed to `count` entries (its buffers can go in a postMessage transfer list). */
  exportState(): KeyTableState {
    const n = this.count;
    return {
      width: this.width,
      count: n,
      keys: this.keys.slice(0, n * this.width),
      hashes: this.hashes.slice(0, this.width > 2 ? n : 0),
      acc: this.acc.slice(0, n * ACC_STRIDE),
      accOut: this.accOut ? this.accOut.slice(0, n * OUT_STRIDE) : null,
      accFix: this.accFix ? this.accFix.slice(0, n * FIX_STRIDE) : null,
    };
  }

  /** Releases the memory charged to the budget (the table must not be used afterwards). */
  dispose(): void {
    this.budget.charge(-this.bytes, this.name, this.count);
    this.bytes = 0;
  }
}

/** The ArrayBuffers of a state, for a postMessage transfer list. */
export function stateBuffers(s: KeyTableState): ArrayBuffer[] {
  const out = [s.keys.buffer as ArrayBuffer, s.hashes.buffer as ArrayBuffer, s.acc.buffer as ArrayBuffer];
  if (s.accOut) out.push(s.accOut.buffer as ArrayBuffer);
  if (s.accFix) out.push(s.accFix.buffer as ArrayBuffer);
  return out;
}

function grownU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function grownF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
