// SPDX-License-Identifier: BSD-3-Clause
// Zone maps of a block: building them from a RecordBatch (writer), encoding the zone section, and answering the
// ZoneMap questions of src/record/zone.ts from a parsed section (reader). Every answer is conservative.
//
// Native: ZoneBuilder.encode's per-row work — the v4/v6 masks, per addr column its address set (/24 and /64
// sets, the /64 min/max), the min/max over its IPv4 rows, and the host Bloom filter (both passes) — runs in
// native/zone.c (tsflow_zone.node) when the addon is built: one call per block for the masks and one per addr
// column, writing into this builder's buffers; the headers, range entries and the Bloom seed counter stay here.
// It writes the same bytes as the JS code below (encodeJs), which stays as the fallback (addon not built or not
// loadable, TSFLOW_WRITER=js, arguments the addon refuses) and as the reference of test/unit/store/zone-native.
// Why: these functions were a large part of tscapd's writer thread, and V8 kept re-optimising them.
//
// Zone section (zoneLength bytes, 8-aligned, covered by the block's hdrCrc):
//   0 u16 range count R   2 u8 v4Mask   3 u8 v6Mask   4 u16 set count S   6 u16 Bloom filter count B
//   8 R × range entry (24 B): u16 column id, u8 flags (bit 0: no range, e.g. NaN in an f64 column), u8 0, u32 0,
//                             f64 min, f64 max                 — only for stored width-1 columns
//     S × address set, each 8-aligned:
//        u16 column id (the `<addr>` u32 column), u8 v4State, u8 v6State, u32 n4, u32 n6, u32 0,
//        u32 × 4 min/max of the /64 prefix over IPv6 rows (min hi, min lo, max hi, max lo; 0 when no IPv6 row),
//        n4 × u32 sorted distinct /24 (address >>> 8), zero padding to 8, n6 × (u32 hi, u32 lo) sorted distinct /64
//     B × host Bloom filter (srcAddr, dstAddr), each 8-aligned: u16 column id, u8 probes k, u8 layout (1 =
//        blocked: one u32 word per value), u32 bits m (a multiple of 32, ≥ 64), u32 distinct values (an
//        estimate), u32 seed, then m/8 bytes: W = m/32 little-endian u32 words. Value hash h (bloomHash4/bloomHash6)
//        picks word ⌊h·W/2^32⌋ (bloomWord); k bit positions from h2 = fmix32(h ^ 0x9e3779b9) (bloomMask).
//   v4Mask / v6Mask: bit `v6bit` of an addr column set when some row of the block holds an IPv4 / IPv6 value.
//   state: 0 no value of that family, 1 the set is exact, 2 more distinct prefixes than the limit (set omitted;
//   IPv4 falls back to the column's min/max range, IPv6 to the /64 min/max).
// For addr columns the range entry is over the IPv4 rows only.

import { ADDR_COLUMNS, COLUMN, type AddrColumnName, type PhysicalName } from "../record/schema.js";
import type { ZoneMap } from "../record/zone.js";
import { loadNativeAddon } from "../util/native-addon.js";

export const SET_NONE = 0;
export const SET_EXACT = 1;
export const SET_OVERFLOW = 2;

/** Default limits of distinct prefixes kept per addr column and block. */
export const DEFAULT_V4_SET_LIMIT = 512;
export const DEFAULT_V6_SET_LIMIT = 256;

export const ZONE_NO_RANGE = 1;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The addr columns that get a host Bloom filter: the two a forensic search names. */
export const BLOOM_COLUMNS: readonly AddrColumnName[] = ["srcAddr", "dstAddr"];
/** Bits per distinct value and probes: ≈ 2 % false positives. */
export const BLOOM_BITS_PER_VALUE = 8;
export const BLOOM_PROBES = 5;
/** Ranges of at most this many IPv4 addresses are tested address by address against the Bloom filter. */
const BLOOM_RANGE_PROBE = 16;

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of an IPv4 value (u32) for the host Bloom filter of a block. `seed` differs per block, so that a host the
 * filter of one block wrongly admits is not admitted by every block holding the same neighbours.
 */
export function bloomHash4(a: number, seed: number): number {
  return fmix32((a ^ seed ^ 0x3c6ef372) >>> 0);
}

/** Hash of an IPv6 value (four big-endian u32 words) for the host Bloom filter of a block. */
export function bloomHash6(w0: number, w1: number, w2: number, w3: number, seed: number): number {
  return fmix32((w0 ^ fmix32((w1 ^ fmix32((w2 ^ fmix32((w3 ^ seed ^ 0xa54ff53a) >>> 0)) >>> 0)) >>> 0)) >>> 0);
}

/** The k-bit mask of a value in its word: bit positions (h2 >>> 5j) & 31, h2 = fmix32(h ^ 0x9e3779b9). */
export function bloomMask(h: number, k: number): number {
  const h2 = fmix32((h ^ 0x9e3779b9) >>> 0);
  if (k === 5)
    return (
      ((1 << (h2 & 31)) |
        (1 << ((h2 >>> 5) & 31)) |
        (1 << ((h2 >>> 10) & 31)) |
        (1 << ((h2 >>> 15) & 31)) |
        (1 << ((h2 >>> 20) & 31))) >>>
      0
    );
  let mask = 0;
  for (let j = 0; j < k; j++) mask |= 1 << ((h2 >>> (5 * j)) & 31);
  return mask >>> 0;
}

/** The word of hash h in a filter of w words: ⌊h · w / 2^32⌋. */
export function bloomWord(h: number, w: number): number {
  return Math.floor((h * w) / 4294967296);
}

function bloomTest(words: Uint32Array, k: number, h: number): boolean {
  const mask = bloomMask(h, k);
  return (words[bloomWord(h, words.length)]! & mask) >>> 0 === mask;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

interface Bloom {
  k: number;
  seed: number;
  /** m/32 words (a power of two) */
  words: Uint32Array;
}

/** One block's parsed zone section, with the file's column directory to resolve names. */
/**
 * Per file (its column directory): the entry at which each column id's range was last found, -1 unknown. Blocks of
 * a file list their ranges in the same order, so a lookup usually reads one entry instead of parsing them all.
 */
const RANGE_HINTS = new WeakMap<ReadonlyMap<string, number>, Int32Array>();

export class BlockZoneMap implements ZoneMap {
  readonly rows: number;
  /** the section: the range entries (24 bytes each from byte 8: u16 column id, u8 flags, f64 min at +8, max at +16) */
  private readonly view: DataView;
  /** range entries inside the section */
  private readonly nRanges: number;
  private readonly columnCount: number;
  private readonly hints: Int32Array;
  private readonly v4Mask: number;
  private readonly v6Mask: number;
  private readonly sets: Map<number, AddrSet>;
  private readonly blooms: Map<number, Bloom>;
  private readonly ids: ReadonlyMap<string, number>;

  /**
   * `copy` false: the ranges, address sets and Bloom filters are read from `section` itself (when it is 8-byte
   * aligned), so the zone map is valid only while `section` is unchanged; a verdict taken at once needs no copy.
   */
  constructor(rows: number, columnCount: number, ids: ReadonlyMap<string, number>, section: Uint8Array, copy = true) {
    this.rows = rows;
    this.ids = ids;
    this.columnCount = columnCount;
    let hints = RANGE_HINTS.get(ids);
    if (hints === undefined || hints.length !== columnCount) {
      hints = new Int32Array(columnCount).fill(-1);
      RANGE_HINTS.set(ids, hints);
    }
    this.hints = hints;
    this.sets = new Map();
    this.blooms = new Map();
    // one copy of the section (the reader reuses its buffer), the ranges read from it and the sets and filters
    // views of it: one allocation per block instead of two per address set and one per filter; none when the
    // caller needs no copy
    const own = section.length >= 8 && (copy || section.byteOffset % 8 !== 0) ? section.slice() : section;
    const v = new DataView(own.buffer, own.byteOffset, own.byteLength);
    this.view = v;
    // The caller has checked the CRC; lengths are still checked so a logic error cannot read out of bounds.
    if (section.length < 8) {
      this.nRanges = 0;
      this.v4Mask = 0xff;
      this.v6Mask = 0xff;
      return;
    }
    this.nRanges = Math.min(v.getUint16(0, true), Math.floor((section.length - 8) / 24));
    this.v4Mask = v.getUint8(2);
    this.v6Mask = v.getUint8(3);
    const nSets = v.getUint16(4, true);
    const nBlooms = v.getUint16(6, true);
    let p = 8 + 24 * this.nRanges;
    for (let i = 0; i < nSets && p + 32 <= section.length; i++) {
      const id = v.getUint16(p, true);
      const v4State = v.getUint8(p + 2);
      const v6State = v.getUint8(p + 3);
      const n4 = v4State === SET_EXACT ? v.getUint32(p + 4, true) : 0;
      const n6 = v6State === SET_EXACT ? v.getUint32(p + 8, true) : 0;
      const range6 = new Uint32Array(4);
      for (let k = 0; k < 4; k++) range6[k] = v.getUint32(p + 16 + 4 * k, true);
      p += 32;
      const end4 = p + n4 * 4;
      const start6 = (end4 + 7) & ~7;
      const end6 = start6 + n6 * 8;
      if (end6 > section.length) break;
      let set4: Uint32Array;
      let set6: Uint32Array;
      if (LITTLE_ENDIAN) {
        // views of the section (its copy, or the caller's when aligned): p and start6 are multiples of 8 from
        // its start
        set4 = new Uint32Array(own.buffer, own.byteOffset + p, n4);
        set6 = new Uint32Array(own.buffer, own.byteOffset + start6, n6 * 2);
      } else {
        set4 = new Uint32Array(n4);
        for (let k = 0; k < n4; k++) set4[k] = v.getUint32(p + 4 * k, true);
        set6 = new Uint32Array(n6 * 2);
        for (let k = 0; k < n6 * 2; k++) set6[k] = v.getUint32(start6 + 4 * k, true);
      }
      this.sets.set(id, { v4State, v6State, set4, set6, range6 });
      p = (end6 + 7) & ~7;
    }
    for (let i = 0; i < nBlooms && p + 16 <= section.length; i++) {
      const id = v.getUint16(p, true);
      const k = v.getUint8(p + 2);
      const layout = v.getUint8(p + 3);
      const m = v.getUint32(p + 4, true);
      const w = m / 32;
      const end = p + 16 + m / 8;
      if (m < 64 || m % 32 !== 0 || end > section.length) break;
      // a view of the copy (a copy of its own on big-endian hosts); a layout or probe count we do not know is ignored
      if (layout === 1 && k > 0 && k <= 6) {
        let words: Uint32Array;
        if (LITTLE_ENDIAN && (own.byteOffset + p + 16) % 4 === 0)
          words = new Uint32Array(own.buffer, own.byteOffset + p + 16, w);
        else {
          words = new Uint32Array(w);
          for (let q = 0; q < w; q++) words[q] = v.getUint32(p + 16 + 4 * q, true);
        }
        this.blooms.set(id, { k, seed: v.getUint32(p + 12, true), words });
      }
      p = end;
    }
  }

  min(column: PhysicalName): number | undefined {
    return this.bound(column, 8);
  }

  max(column: PhysicalName): number | undefined {
    return this.bound(column, 16);
  }

  /** The min (at = 8) or max (16) of a column; 0 when absent (all zero), undefined when stored without a range. */
  private bound(column: PhysicalName, at: number): number | undefined {
    const isAddr = (COLUMN as Record<string, { type: string } | undefined>)[column]?.type === "addr";
    if (isAddr && !this.hasV4(column as AddrColumnName)) return undefined;
    const id = this.ids.get(column);
    if (id === undefined || id >= this.columnCount) return 0; // column unknown to the file: all zero
    const p = this.entry(id);
    if (p < 0) return 0;
    if ((this.view.getUint8(p + 2) & ZONE_NO_RANGE) !== 0) return undefined;
    return this.view.getFloat64(p + at, true);
  }

  /** Offset of column `id`'s range entry, -1 when the block lists none (absent: all zero). */
  private entry(id: number): number {
    const v = this.view;
    const h = this.hints[id]!;
    if (h >= 0 && h < this.nRanges && v.getUint16(8 + 24 * h, true) === id) return 8 + 24 * h;
    for (let i = this.nRanges - 1; i >= 0; i--) {
      if (v.getUint16(8 + 24 * i, true) === id) {
        this.hints[id] = i;
        return 8 + 24 * i;
      }
    }
    return -1;
  }

  hasV4(column: AddrColumnName): boolean {
    return (this.v4Mask & bitOf(column)) !== 0;
  }

  hasV6(column: AddrColumnName): boolean {
    return (this.v6Mask & bitOf(column)) !== 0;
  }

  mayContainV4(column: AddrColumnName, lo: number, hi: number): boolean {
    if (!this.hasV4(column)) return false;
    lo = lo >>> 0;
    hi = hi >>> 0;
    if (lo > hi) return false;
    const mn = this.min(column);
    const mx = this.max(column);
    if (mn !== undefined && mx !== undefined && (hi < mn || lo > mx)) return false;
    const id = this.ids.get(column);
    const bloom = id === undefined ? undefined : this.blooms.get(id);
    if (bloom !== undefined && hi - lo < BLOOM_RANGE_PROBE) {
      let any = false;
      for (let a = lo; a <= hi && !any; a++) any = bloomTest(bloom.words, bloom.k, bloomHash4(a, bloom.seed));
      if (!any) return false;
    }
    const s = id === undefined ? undefined : this.sets.get(id);
    if (s === undefined || s.v4State !== SET_EXACT) return true;
    // any /24 in [lo >>> 8, hi >>> 8]?
    const a = s.set4;
    const plo = lo >>> 8;
    const phi = hi >>> 8;
    let l = 0;
    let h = a.length;
    while (l < h) {
      const m = (l + h) >>> 1;
      if (a[m]! < plo) l = m + 1;
      else h = m;
    }
    return l < a.length && a[l]! <= phi;
  }

  mayContainV6(column: AddrColumnName, words: ArrayLike<number>, length: number): boolean {
    if (!this.hasV6(column)) return false;
    if (length <= 0) return true;
    const id = this.ids.get(column);
    if (length >= 128 && id !== undefined) {
      const bloom = this.blooms.get(id);
      if (bloom !== undefined) {
        const h = bloomHash6(words[0]! >>> 0, words[1]! >>> 0, words[2]! >>> 0, words[3]! >>> 0, bloom.seed);
        if (!bloomTest(bloom.words, bloom.k, h)) return false;
      }
    }
    const s = id === undefined ? undefined : this.sets.get(id);
    if (s === undefined) return true;
    // the prefix as a range of /64 values [lo, hi]
    const bits = Math.min(length, 64);
    const w0 = (words[0] ?? 0) >>> 0;
    const w1 = (words[1] ?? 0) >>> 0;
    const m0 = bits >= 32 ? 0xffffffff : bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const m1 = bits <= 32 ? 0 : bits >= 64 ? 0xffffffff : (0xffffffff << (64 - bits)) >>> 0;
    const lo0 = (w0 & m0) >>> 0;
    const lo1 = (w1 & m1) >>> 0;
    const hi0 = (lo0 | ~m0) >>> 0;
    const hi1 = (lo1 | ~m1) >>> 0;
    const r = s.range6;
    // outside [min, max] of the block's /64s?
    if (cmp64(hi0, hi1, r[0]!, r[1]!) < 0 || cmp64(lo0, lo1, r[2]!, r[3]!) > 0) return false;
    if (s.v6State !== SET_EXACT) return true;
    const a = s.set6;
    let l = 0;
    let h = a.length >>> 1;
    while (l < h) {
      const m = (l + h) >>> 1;
      if (cmp64(a[2 * m]!, a[2 * m + 1]!, lo0, lo1) < 0) l = m + 1;
      else h = m;
    }
    return l < a.length >>> 1 && cmp64(a[2 * l]!, a[2 * l + 1]!, hi0, hi1) <= 0;
  }
}

interface AddrSet {
  v4State: number;
  v6State: number;
  set4: Uint32Array;
  set6: Uint32Array;
  range6: Uint32Array;
}

function bitOf(column: AddrColumnName): number {
  const def = (COLUMN as Record<string, { v6bit?: number } | undefined>)[column];
  return def?.v6bit === undefined ? 0 : 1 << def.v6bit;
}

function cmp64(a0: number, a1: number, b0: number, b1: number): number {
  return a0 !== b0 ? a0 - b0 : a1 - b1;
}

// ── building (writer) ────────────────────────────────────────────────────────────────────────────────────

export interface RangeEntry {
  id: number;
  noRange: boolean;
  min: number;
  max: number;
  /** an addr u32 column with IPv6 rows: ZoneBuilder.encode sets the range over its IPv4 rows */
  v4Scan?: boolean;
}

/** native/zone.c (tsflow_zone.node): the per-row work of ZoneBuilder.encode; argument layout in its header. */
interface NativeZone {
  create(v4Limit: number, v6Limit: number): object;
  masks(n: number, v6Flags: Uint8Array, bits: number): number;
  column(
    scratch: object,
    n: number,
    a4: Uint32Array,
    a6: Uint32Array,
    v6Flags: Uint8Array,
    bit: number,
    id: number,
    mode: number,
    seed: number,
    setOut: Uint8Array,
    setOffset: number,
    bloomOut: Uint8Array,
    bloomOffset: number,
    res: Float64Array,
  ): number;
}

let nativeZone: NativeZone | null | undefined;

/** The native zone builder, or null: addon not built or not loadable, or TSFLOW_WRITER=js. */
export function nativeZoneAddon(): NativeZone | null {
  if (nativeZone !== undefined) return nativeZone;
  const addon = process.env["TSFLOW_WRITER"] === "js" ? "" : loadNativeAddon("tsflow_zone.node");
  nativeZone =
    typeof addon === "string" || typeof (addon as Partial<NativeZone>).column !== "function"
      ? null
      : (addon as NativeZone);
  return nativeZone;
}

/** The v6Flags bits of the addr columns. */
const ADDR_BITS = ADDR_COLUMNS.reduce((bits, name) => bits | bitOf(name), 0);
const MODE_RANGE = 0;
const MODE_SET = 1;
const MODE_SET_BLOOM = 2;

/** Scratch buffers reused across blocks by one writer. */
export class ZoneBuilder {
  private scratch4: Uint32Array;
  private idx6: Uint32Array;
  /** open-addressing set of /24s (value + 1; 0 empty), ≥ 4 × (limit + 1) slots */
  private readonly hash4: Int32Array;
  private readonly hashShift: number;
  /** open-addressing set of /64s (index into set6 + 1; 0 empty), ≥ 4 × (limit + 1) slots */
  private readonly hash6: Int32Array;
  private readonly hash6Shift: number;
  /** the distinct /64s of the last addrSet as (hi, lo) pairs, in first-seen order, and their sort order */
  private readonly set6: Uint32Array;
  private readonly order6: Uint32Array;
  /** IPv6 rows of the last addrSet (their indexes stay in idx6), for the Bloom filter */
  private lastK6 = 0;
  /** linear-counting bitmap of the Bloom filter's first pass */
  private bloomWords = new Uint32Array(0);
  /** blocks encoded, for the Bloom filters' per-block seed */
  private blocksBuilt = 0;
  /** hashes of the IPv4 rows, from the first pass to the second */
  private bloomHashes = new Uint32Array(0);
  /** the last addrSet's Bloom seed, bitmap bits and hash count (for bloomOf) */
  private bloomSeed = 0;
  private bloomBits = 64;
  private bloomCount = 0;
  /** the last addrSet's min/max over the IPv4 rows (Infinity/-Infinity: none) */
  private v4Min = Infinity;
  private v4Max = -Infinity;
  private readonly v4Limit: number;
  private readonly v6Limit: number;
  private readonly bloom: boolean;

  /** the native addon and its scratch (null: the JS code below) */
  private readonly nat: NativeZone | null;
  private readonly natScratch: object | null;
  /** the native path's set and Bloom parts of the block being encoded, and one column's results */
  private setOut: Uint8Array = new Uint8Array(4096);
  private bloomOut: Uint8Array = new Uint8Array(4096);
  private readonly natRes = new Float64Array(4);

  /**
   * `bloom`: write host Bloom filters for srcAddr and dstAddr (on by default). `native`: do the per-row work in
   * native/zone.c when the addon is there (same bytes; false: always the JS code, as with TSFLOW_WRITER=js).
   */
  constructor(v4Limit = DEFAULT_V4_SET_LIMIT, v6Limit = DEFAULT_V6_SET_LIMIT, bloom = true, native = true) {
    this.v4Limit = v4Limit;
    this.v6Limit = v6Limit;
    this.bloom = bloom;
    const nat = native ? nativeZoneAddon() : null;
    // limits the JS code handles (non-negative integers; larger ones do not fit its tables anyway)
    const limitsOk = (x: number): boolean => Number.isInteger(x) && x >= 0 && x < 2 ** 30;
    this.nat = nat !== null && limitsOk(v4Limit) && limitsOk(v6Limit) ? nat : null;
    this.natScratch = this.nat === null ? null : this.nat.create(v4Limit, v6Limit);
    this.scratch4 = new Uint32Array(0);
    this.idx6 = new Uint32Array(0);
    let bits = 6;
    while (1 << bits < 4 * (v4Limit + 1)) bits++;
    this.hash4 = new Int32Array(1 << bits);
    this.hashShift = 32 - bits;
    let bits6 = 6;
    while (1 << bits6 < 4 * (v6Limit + 1)) bits6++;
    this.hash6 = new Int32Array(1 << bits6);
    this.hash6Shift = 32 - bits6;
    this.set6 = new Uint32Array(2 * v6Limit);
    this.order6 = new Uint32Array(v6Limit);
  }

  /**
   * Encodes the zone section: `ranges` (already computed by the column encoder for stored width-1 columns),
   * plus v4/v6 masks and the address sets computed here from the batch columns. `sets: false` leaves out the
   * address sets and Bloom filters (the collector's writer when it is behind): the block then answers from its
   * ranges and masks only — never wrongly, it is just pruned less often.
   */
  encode(
    n: number,
    cols: Record<string, ArrayLike<number>>,
    v6Flags: Uint8Array,
    ranges: readonly RangeEntry[],
    addrIds: ReadonlyMap<string, number>,
    zero: ReadonlySet<string>,
    sets = true,
  ): Uint8Array {
    if (this.nat !== null) {
      const out = this.encodeNative(this.nat, n, cols, v6Flags, ranges, addrIds, zero, sets);
      if (out !== null) return out;
    }
    return this.encodeJs(n, cols, v6Flags, ranges, addrIds, zero, sets);
  }

  /** True when encode does its per-row work in native/zone.c. */
  get native(): boolean {
    return this.nat !== null;
  }

  /**
   * encode through native/zone.c: the same bytes as encodeJs. Null when the addon refuses the arguments (e.g. a
   * column that is not a Uint32Array): encodeJs then does the block, with the Bloom seed counter as it was.
   */
  private encodeNative(
    nat: NativeZone,
    n: number,
    cols: Record<string, ArrayLike<number>>,
    v6Flags: Uint8Array,
    ranges: readonly RangeEntry[],
    addrIds: ReadonlyMap<string, number>,
    zero: ReadonlySet<string>,
    sets: boolean,
  ): Uint8Array | null {
    const masks = nat.masks(n, v6Flags, ADDR_BITS);
    if (masks < 0) return null;
    const v4Mask = masks & 0xff;
    const v6Mask = masks >>> 8;
    const blocksBuilt = this.blocksBuilt;
    const res = this.natRes;
    let setLen = 0;
    let bloomLen = 0;
    let setCount = 0;
    let bloomCount = 0;
    for (const name of ADDR_COLUMNS) {
      const id = addrIds.get(name);
      if (id === undefined) continue;
      const bit = bitOf(name);
      if (((v4Mask | v6Mask) & bit) === 0) continue;
      if (!sets && (v6Mask & bit) === 0) continue;
      const a4 = cols[name];
      const a6 = cols[`${name}6`];
      if (!(a4 instanceof Uint32Array) || !(a6 instanceof Uint32Array)) {
        this.blocksBuilt = blocksBuilt;
        return null;
      }
      // as encodeJs: an all-zero IPv4 column without IPv6 rows is done from its first row
      const rows = zero.has(name) && (v6Mask & bit) === 0 ? 1 : n;
      let mode = MODE_RANGE;
      let seed = 0;
      if (sets) {
        mode = MODE_SET;
        if (this.bloom && BLOOM_COLUMNS.includes(name)) {
          mode = MODE_SET_BLOOM;
          seed = fmix32((Math.imul(++this.blocksBuilt, 0x9e3779b1) ^ rows ^ a4[0]! ^ a4[rows >>> 1]!) >>> 0);
        }
      }
      const scratch = this.natScratch!;
      const column = (): number =>
        nat.column(
          scratch,
          rows,
          a4,
          a6,
          v6Flags,
          bit,
          id,
          mode,
          seed,
          this.setOut,
          setLen,
          this.bloomOut,
          bloomLen,
          res,
        );
      let status = column();
      if (status === -2) {
        // an output too small: grow it (keeping the parts already written) and do the column again
        this.setOut = grown(this.setOut, setLen, setLen + res[2]!);
        this.bloomOut = grown(this.bloomOut, bloomLen, bloomLen + res[3]!);
        status = column();
      }
      if (status !== 0) {
        this.blocksBuilt = blocksBuilt;
        return null;
      }
      setLen += res[2]!;
      bloomLen += res[3]!;
      if (mode !== MODE_RANGE) setCount++;
      if (mode === MODE_SET_BLOOM) bloomCount++;
      // a stored column with IPv6 rows: its range is over the IPv4 rows
      if ((v6Mask & bit) !== 0)
        for (const r of ranges) {
          if (r.id !== id || !r.v4Scan) continue;
          const none = res[0]! > res[1]!;
          r.noRange = none;
          r.min = none ? 0 : res[0]!;
          r.max = none ? 0 : res[1]!;
        }
    }
    const out = new Uint8Array(8 + ranges.length * 24 + setLen + bloomLen);
    const p = writeZoneHeader(out, v4Mask, v6Mask, ranges, setCount, bloomCount);
    out.set(this.setOut.subarray(0, setLen), p);
    out.set(this.bloomOut.subarray(0, bloomLen), p + setLen);
    return out;
  }

  /** encode in JS: the fallback and the reference of the native path. */
  private encodeJs(
    n: number,
    cols: Record<string, ArrayLike<number>>,
    v6Flags: Uint8Array,
    ranges: readonly RangeEntry[],
    addrIds: ReadonlyMap<string, number>,
    zero: ReadonlySet<string>,
    sets: boolean,
  ): Uint8Array {
    let v4Mask = 0;
    let v6Mask = 0;
    for (const name of ADDR_COLUMNS) {
      const bit = bitOf(name);
      let any6 = false;
      let any4 = false;
      for (let i = 0; i < n; i++) {
        if ((v6Flags[i]! & bit) !== 0) any6 = true;
        else any4 = true;
        if (any4 && any6) break;
      }
      if (any4) v4Mask |= bit;
      if (any6) v6Mask |= bit;
    }
    const parts: Uint8Array[] = [];
    const blooms: Uint8Array[] = [];
    let setCount = 0;
    for (const name of ADDR_COLUMNS) {
      const id = addrIds.get(name);
      if (id === undefined) continue;
      const bit = bitOf(name);
      if (((v4Mask | v6Mask) & bit) === 0) continue;
      // fast path: an all-zero IPv4 column without IPv6 rows has the one /24 0.0.0.0 (no sort needed)
      const allZero4 = zero.has(name) && (v6Mask & bit) === 0;
      const a4 = cols[name] as Uint32Array;
      const a6 = cols[`${name}6`] as Uint32Array;
      if (sets) {
        const withBloom = this.bloom && BLOOM_COLUMNS.includes(name);
        parts.push(this.addrSet(allZero4 ? 1 : n, a4, a6, v6Flags, bit, id, withBloom));
        setCount++;
        if (withBloom) blooms.push(this.bloomOf(allZero4 ? 1 : n, a6, id));
      } else if ((v6Mask & bit) !== 0) this.v4Range(n, a4, v6Flags, bit);
      // a stored column with IPv6 rows: its range is over the IPv4 rows, found by the scan above
      if ((v6Mask & bit) !== 0)
        for (const r of ranges) {
          if (r.id !== id || !r.v4Scan) continue;
          const none = this.v4Min > this.v4Max;
          r.noRange = none;
          r.min = none ? 0 : this.v4Min;
          r.max = none ? 0 : this.v4Max;
        }
    }
    let size = 8 + ranges.length * 24;
    for (const p of parts) size += p.length;
    for (const p of blooms) size += p.length;
    const out = new Uint8Array(size);
    let p = writeZoneHeader(out, v4Mask, v6Mask, ranges, setCount, blooms.length);
    for (const part of parts) {
      out.set(part, p);
      p += part.length;
    }
    for (const part of blooms) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }

  /**
   * The host Bloom filter of one addr column, after addrSet (which ran with `bloom`) left the hashes of the IPv4
   * rows (a run of one host hashed once) and a linear-counting bitmap of them, and the IPv6 rows' indexes in idx6.
   * The distinct values are estimated from the bitmap, then the filter is built at 8 bits per distinct value.
   */
  private bloomOf(n: number, a6: Uint32Array, id: number): Uint8Array {
    const k = BLOOM_PROBES;
    const seed = this.bloomSeed;
    const i6 = this.idx6;
    const k6 = this.lastK6;
    const bm = this.bloomBits;
    const bw = bm >>> 5;
    const seen = this.bloomWords;
    const hashes = this.bloomHashes;
    const d = this.bloomCount;
    let ones = 0;
    for (let q = 0; q < bw; q++) ones += popcount32(seen[q]!);
    const distinct4 = ones >= bm ? n : Math.round(-bm * Math.log(1 - ones / bm));
    const distinct = Math.max(1, distinct4 + k6);
    // pass 2: the filter
    const w = Math.max(2, Math.ceil((distinct * BLOOM_BITS_PER_VALUE) / 32));
    const out = new Uint8Array(16 + w * 4);
    const v = new DataView(out.buffer);
    v.setUint16(0, id, true);
    v.setUint8(2, k);
    v.setUint8(3, 1);
    v.setUint32(4, w * 32, true);
    v.setUint32(8, distinct, true);
    v.setUint32(12, seed, true);
    const words = new Uint32Array(w);
    for (let i = 0; i < d; i++) {
      const h = hashes[i]!;
      const q = bloomWord(h, w);
      words[q] = words[q]! | bloomMask(h, k);
    }
    for (let i = 0; i < k6; i++) {
      const r = i6[i]! * 4;
      const h = bloomHash6(a6[r]!, a6[r + 1]!, a6[r + 2]!, a6[r + 3]!, seed);
      const q = bloomWord(h, w);
      words[q] = words[q]! | bloomMask(h, k);
    }
    for (let q = 0; q < w; q++) v.setUint32(16 + 4 * q, words[q]!, true);
    return out;
  }

  /** v4Min/v4Max of an addr column over its IPv4 rows, without building its address set. */
  private v4Range(n: number, a4: Uint32Array, flags: Uint8Array, bit: number): void {
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) {
      if ((flags[i]! & bit) === 0) {
        const a = a4[i]!;
        if (a < mn) mn = a;
        if (a > mx) mx = a;
      }
    }
    this.v4Min = mn;
    this.v4Max = mx;
  }

  /**
   * The address set of one addr column (layout in the header comment). The same pass over the rows finds the
   * column's min/max over its IPv4 rows (v4Min/v4Max) and, with `bloom`, the first pass of the Bloom filter
   * (bloomOf): the hash of each IPv4 row (a run of one host costs a compare) and a linear-counting bitmap.
   */
  private addrSet(
    n: number,
    a4: Uint32Array,
    a6: Uint32Array,
    flags: Uint8Array,
    bit: number,
    id: number,
    bloom: boolean,
  ): Uint8Array {
    if (this.scratch4.length < n) {
      this.scratch4 = new Uint32Array(n);
      this.idx6 = new Uint32Array(n);
    }
    // Bloom filter, pass 1: a seed per block, deterministic, and different per block and per file (block counter
    // and sample values); a bitmap of one bit per row rounded up to a power of two
    let seed = 0;
    let bm = 64;
    let bmask = 0;
    let seen = this.bloomWords;
    let hashes = this.bloomHashes;
    if (bloom) {
      seed = fmix32((Math.imul(++this.blocksBuilt, 0x9e3779b1) ^ n ^ a4[0]! ^ a4[n >>> 1]!) >>> 0);
      while (bm < n) bm *= 2;
      const bw = bm >>> 5;
      if (this.bloomWords.length < bw) this.bloomWords = new Uint32Array(bw);
      seen = this.bloomWords.subarray(0, bw);
      seen.fill(0);
      bmask = bm - 1;
      if (this.bloomHashes.length < n) this.bloomHashes = new Uint32Array(Math.max(n, 1024));
      hashes = this.bloomHashes;
    }
    let d = 0;
    let lastA = -1;
    let mn = Infinity;
    let mx = -Infinity;
    // IPv4 /24s
    let k4 = 0;
    let k6 = 0;
    const s4 = this.scratch4;
    const i6 = this.idx6;
    // distinct /24s through a hash set (a run of one prefix costs a compare), stopping at the limit; only the
    // distinct ones are sorted (collector hot path: sorting every row cost more than the rest of the zone map)
    const hash = this.hash4;
    hash.fill(0);
    const mask = hash.length - 1;
    const shift = this.hashShift;
    const limit = this.v4Limit;
    let d4 = 0;
    let last = -1;
    for (let i = 0; i < n; i++) {
      if ((flags[i]! & bit) !== 0) {
        i6[k6++] = i;
        continue;
      }
      k4++;
      const a = a4[i]!;
      if (a < mn) mn = a;
      if (a > mx) mx = a;
      if (bloom && a !== lastA) {
        lastA = a;
        const h = bloomHash4(a, seed);
        hashes[d++] = h;
        const b = h & bmask;
        seen[b >>> 5] = seen[b >>> 5]! | (1 << (b & 31));
      }
      const p = a >>> 8;
      if (p === last || d4 > limit) continue;
      last = p;
      let h = Math.imul(p, 0x9e3779b1) >>> shift;
      let e = hash[h]!;
      while (e !== 0 && e !== p + 1) {
        h = (h + 1) & mask;
        e = hash[h]!;
      }
      if (e === 0) {
        hash[h] = p + 1;
        s4[d4++] = p; // d4 ≤ limit + 1 ≤ n: the (limit + 1)th marks the overflow
      }
    }
    this.lastK6 = k6;
    this.v4Min = mn;
    this.v4Max = mx;
    this.bloomSeed = seed;
    this.bloomBits = bm;
    this.bloomCount = d;
    const v4 = s4.subarray(0, d4).sort();
    const v4State = k4 === 0 ? SET_NONE : d4 > limit ? SET_OVERFLOW : SET_EXACT;
    // IPv6 /64s: distinct ones through a hash set (a run of one prefix costs a compare), stopping past the limit,
    // and the smallest and largest over every row; only the distinct ones are sorted (sorting the rows with a
    // comparator cost more than the rest of the zone map)
    const set6 = this.set6;
    const hash6 = this.hash6;
    const limit6 = this.v6Limit;
    let d6 = 0;
    let overflow6 = false;
    let minH = 0;
    let minL = 0;
    let maxH = 0;
    let maxL = 0;
    if (k6 > 0) {
      hash6.fill(0);
      const mask6 = hash6.length - 1;
      const shift6 = this.hash6Shift;
      let r = i6[0]! * 4;
      minH = maxH = a6[r]!;
      minL = maxL = a6[r + 1]!;
      let lastH = -1;
      let lastL = -1;
      for (let j = 0; j < k6; j++) {
        r = i6[j]! * 4;
        const h = a6[r]!;
        const l = a6[r + 1]!;
        if (h === lastH && l === lastL) continue;
        lastH = h;
        lastL = l;
        if (h < minH || (h === minH && l < minL)) {
          minH = h;
          minL = l;
        }
        if (h > maxH || (h === maxH && l > maxL)) {
          maxH = h;
          maxL = l;
        }
        if (overflow6) continue;
        let q = Math.imul(h ^ Math.imul(l, 0x85ebca6b), 0x9e3779b1) >>> shift6;
        let e = hash6[q]!;
        while (e !== 0 && (set6[2 * e - 2] !== h || set6[2 * e - 1] !== l)) {
          q = (q + 1) & mask6;
          e = hash6[q]!;
        }
        if (e !== 0) continue;
        if (d6 === limit6) {
          overflow6 = true;
          continue;
        }
        set6[2 * d6] = h;
        set6[2 * d6 + 1] = l;
        hash6[q] = ++d6;
      }
    }
    const order = this.order6.subarray(0, overflow6 ? 0 : d6);
    for (let j = 0; j < order.length; j++) order[j] = j;
    order.sort((x, y) => cmp64(set6[2 * x]!, set6[2 * x + 1]!, set6[2 * y]!, set6[2 * y + 1]!));
    const v6State = k6 === 0 ? SET_NONE : overflow6 ? SET_OVERFLOW : SET_EXACT;
    const n4 = v4State === SET_EXACT ? d4 : 0;
    const n6 = v6State === SET_EXACT ? d6 : 0;
    const start6 = (32 + n4 * 4 + 7) & ~7;
    const size = (start6 + n6 * 8 + 7) & ~7;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint16(0, id, true);
    v.setUint8(2, v4State);
    v.setUint8(3, v6State);
    v.setUint32(4, n4, true);
    v.setUint32(8, n6, true);
    if (k6 > 0) {
      v.setUint32(16, minH, true);
      v.setUint32(20, minL, true);
      v.setUint32(24, maxH, true);
      v.setUint32(28, maxL, true);
    }
    for (let i = 0; i < n4; i++) v.setUint32(32 + 4 * i, v4[i]!, true);
    for (let i = 0; i < n6; i++) {
      const x = order[i]!;
      v.setUint32(start6 + 8 * i, set6[2 * x]!, true);
      v.setUint32(start6 + 8 * i + 4, set6[2 * x + 1]!, true);
    }
    return out;
  }
}

/** Writes the zone section's header and range entries; returns the offset of the address sets. */
function writeZoneHeader(
  out: Uint8Array,
  v4Mask: number,
  v6Mask: number,
  ranges: readonly RangeEntry[],
  setCount: number,
  bloomCount: number,
): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint16(0, ranges.length, true);
  v.setUint8(2, v4Mask);
  v.setUint8(3, v6Mask);
  v.setUint16(4, setCount, true);
  v.setUint16(6, bloomCount, true);
  let p = 8;
  for (const r of ranges) {
    v.setUint16(p, r.id, true);
    v.setUint8(p + 2, r.noRange ? ZONE_NO_RANGE : 0);
    v.setFloat64(p + 8, r.min, true);
    v.setFloat64(p + 16, r.max, true);
    p += 24;
  }
  return p;
}

/** A copy of `buf` at least `need` bytes long (doubling), with its first `keep` bytes. */
function grown(buf: Uint8Array, keep: number, need: number): Uint8Array {
  if (need <= buf.length) return buf;
  const out = new Uint8Array(Math.max(need, 2 * buf.length));
  out.set(buf.subarray(0, keep));
  return out;
}
