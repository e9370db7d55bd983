// SPDX-License-Identifier: BSD-3-Clause
// Column transforms before compression, and their inverses (docs/file-format.md §4).
//
// Per-column LZ4 on raw values compresses time and counter columns poorly (an f64 millisecond time has six
// bytes that change from row to row) and decompresses slowly on low-entropy data (many short matches). So each
// width-1 column of a block is first re-coded, choosing per block:
//   dict   ≤ 16 distinct values: the values (f64 each) + 0/1/2/4-bit indices     (proto, tos, masks, AS, ifIndex)
//   delta  zig-zag delta from the previous row, 1/2/4 bytes, byte-shuffled          (msecReceived, sorted ids)
//   for    value − block minimum, 1/2/4 bytes, byte-shuffled                         (times, counters, addresses)
//   raw    the array's bytes (u8 columns with many values, fractional or NaN f64, ranges ≥ 2^32)
// `<addr>6` columns keep only the IPv6 rows' words (sparse6). Byte-shuffling (all low bytes, then all second
// bytes …) hands LZ4 long runs of equal high bytes. The writer keeps the LZ4 output only when it saves ≥ 1/4.
//
// Encoding (collector hot path, every stored column of every block): at most three passes over the column
// in its own typed array, no conversion to f64 and no trial encodings. Pass 1a collects the distinct values while
// there are ≤ 16 (a 1024-slot hash, u8 columns a 256-entry table; a run of equal values costs one compare) and
// writes each row's dictionary index; most columns of a block are dictionary columns and end here. A column with
// more values leaves pass 1a after a few rows; pass 1b then gathers min, max, sum, max |step| and sum |step|, and
// the transform follows from those numbers alone; pass 2 writes it. The delta width comes from 2·max|step|, an
// upper bound of the largest zig-zag value, so it is never too narrow. f64 columns are checked for NaN in pass 1
// and for integral values in pass 2 (a fraction anywhere: raw).
// One function per array type keeps every loop's inline caches monomorphic.
//
// Native: the collector's writer (block.ts encodeColumns) runs these encoders in C (native/encode.c through
// native-encode.ts), with the same passes and the same results byte for byte (test/unit/store/codec-native.test.ts
// compares them on random and real columns). The functions here are the reference and the fallback: addon not
// built, or TSFLOW_WRITER=js. The decoders below are JS only.
//
// Hot-path note: the decoders are split so that every loop sees one typed-array type (V8 inline caches stay
// monomorphic): unpack into a Uint32Array scratch, then finish into Float64Array by a dedicated loop, or in
// place in the scratch followed by TypedArray#set for u8/u16/u32 columns.

import { TRANSFORM } from "./format.js";
import type { ColumnArena } from "./native-encode.js";

/** The transform chosen for one width-1 column of a block (PlanScratch.plan, overwritten per column). */
export interface ColumnPlan {
  transform: number;
  /** for/delta: bytes per element (1, 2, 4); dict: bits per index (0, 1, 2, 4); raw: element size */
  width: number;
  /** for: the minimum; delta: the first value; dict: the number of dictionary values */
  base: number;
  min: number;
  max: number;
  /** false when min/max are meaningless (NaN present) */
  ranged: boolean;
  allZero: boolean;
}

export const MAX_DICT = 16;

const widthFor = (range: number): number => (range < 0x100 ? 1 : range < 0x10000 ? 2 : range < 0x100000000 ? 4 : 0);

/**
 * Hash slots for the distinct-value count. ≤ 16 values in 1024 slots: a probe almost never collides. (64 slots,
 * load ≤ 1/4, collided often enough on real AS numbers and ifIndexes that the probe loop's mispredictions doubled
 * the time of a dictionary column.)
 */
const SLOTS = 1024;
const SLOT_SHIFT = 22; // 32 − log2(SLOTS)

/** Writer scratch, reused across columns and blocks (one per writer; not shared between threads). */
export class PlanScratch {
  /** the last column's plan */
  readonly plan: ColumnPlan;
  /** per-row dictionary index of the last column (valid when plan.transform is dict) */
  index: Uint8Array;
  readonly dict: Float64Array;
  /** open addressing: dictionary index + 1, 0 = empty */
  readonly slots: Int8Array;
  /** u8 columns: value → dictionary index + 1 */
  readonly byteSlots: Int8Array;
  // pass-1 statistics of the last column
  min: number;
  max: number;
  sum: number;
  maxStep: number;
  sumStep: number;
  /** distinct values (≤ MAX_DICT), 0 when there are more */
  distinct: number;
  nan: boolean;
  /** the native encoder's output memory (block.ts encodeColumns; created at first use) */
  arena: ColumnArena | undefined;
  /** the native encoder's plan (native-encode.ts PLAN slots) */
  readonly nativePlan: Float64Array;

  constructor() {
    this.plan = { transform: 0, width: 0, base: 0, min: 0, max: 0, ranged: true, allZero: false };
    this.index = new Uint8Array(0);
    this.dict = new Float64Array(MAX_DICT);
    this.slots = new Int8Array(SLOTS);
    this.byteSlots = new Int8Array(256);
    this.min = 0;
    this.max = 0;
    this.sum = 0;
    this.maxStep = 0;
    this.sumStep = 0;
    this.distinct = 0;
    this.nan = false;
    this.arena = undefined;
    this.nativePlan = new Float64Array(8);
  }

  /** Sets the plan from the statistics gathered for the column. */
  setPlan(transform: number, width: number, base: number): ColumnPlan {
    const p = this.plan;
    p.transform = transform;
    p.width = width;
    p.base = base;
    p.min = this.nan ? 0 : this.min;
    p.max = this.nan ? 0 : this.max;
    p.ranged = !this.nan;
    p.allZero = false;
    return p;
  }

  /** Sizes the index scratch for n rows. */
  prepare(n: number): void {
    if (this.index.length < n) this.index = new Uint8Array(Math.max(n, 1024));
  }
}

/**
 * Encodes the first `n` rows of a width-1 column. Returns the transformed bytes (for, delta or dict), or null
 * when the column is to be stored raw (the caller copies its bytes); `s.plan` holds the choice, min and max.
 * An all-zero column (or n = 0) gives null with `plan.allZero` set.
 */
export function encodeColumn(
  a: Uint8Array | Uint16Array | Uint32Array | Float64Array,
  n: number,
  s: PlanScratch,
): Uint8Array | null {
  s.prepare(n);
  if (a instanceof Float64Array) return encodeF64(a, n, s);
  if (a instanceof Uint32Array) return encodeU32(a, n, s);
  if (a instanceof Uint16Array) return encodeU16(a, n, s);
  return encodeU8(a, n, s);
}

/**
 * The transform for pass-1 statistics: dict when ≤ 16 values need fewer bits than the element, else delta when it
 * needs fewer bytes than for (or as many, but much smaller values: sorted columns), else for, else raw.
 */
function choose(s: PlanScratch, n: number, elementBytes: number): ColumnPlan {
  const p = s.plan;
  // all zero (-0 counts as zero, as before: such a column is not stored)
  if (n === 0 || (s.distinct === 1 && s.dict[0] === 0)) {
    p.transform = TRANSFORM.raw;
    p.width = elementBytes;
    p.base = 0;
    p.min = 0;
    p.max = 0;
    p.ranged = true;
    p.allZero = true;
    return p;
  }
  if (s.nan) return s.setPlan(TRANSFORM.raw, elementBytes, 0);
  const k = s.distinct;
  if (k > 0) {
    const bits = k === 1 ? 0 : k === 2 ? 1 : k <= 4 ? 2 : 4;
    if (bits < elementBytes * 8) return s.setPlan(TRANSFORM.dict, bits, k);
  }
  if (elementBytes === 1) return s.setPlan(TRANSFORM.raw, 1, 0);
  const wFor = widthFor(s.max - s.min);
  const zzMax = 2 * s.maxStep; // ≥ every zig-zag delta
  const wDelta = zzMax < 0x80000000 ? widthFor(zzMax) : 0;
  const sumFor = s.sum - n * s.min;
  const sumDelta = 2 * s.sumStep;
  if (wDelta !== 0 && (wFor === 0 || wDelta < wFor || (wDelta === wFor && sumDelta * 4 < sumFor)))
    return s.setPlan(TRANSFORM.delta, wDelta, Number.NaN); // base: the first value, set by the caller
  if (wFor === 0 || wFor > elementBytes) return s.setPlan(TRANSFORM.raw, elementBytes, 0);
  return s.setPlan(TRANSFORM.for, wFor, s.min);
}

/** dict: the f64 values, then the indexes packed LSB first. */
function packDict(s: PlanScratch, n: number): Uint8Array {
  const k = s.plan.base;
  const bits = s.plan.width;
  const out = new Uint8Array(k * 8 + ((n * bits + 7) >>> 3));
  new Float64Array(out.buffer, 0, k).set(s.dict.subarray(0, k));
  const off = k * 8;
  const index = s.index;
  // one output byte per step: 8, 4 or 2 indexes (fewer in the last byte)
  const per = bits === 0 ? 0 : 8 / bits;
  for (let b = 0, i = 0; i < n && per > 0; b++, i += per) {
    let x = 0;
    const m = Math.min(per, n - i);
    for (let j = 0; j < m; j++) x |= index[i + j]! << (j * bits);
    out[off + b] = x;
  }
  return out;
}

/** Finds or adds x in the dictionary; returns its index, or -1 when it would be the 17th value. */
function dictSlot(x: number, h: number, s: PlanScratch): number {
  const slots = s.slots;
  const dict = s.dict;
  let e = slots[h]!;
  while (e !== 0 && dict[e - 1] !== x) {
    h = (h + 1) & (SLOTS - 1);
    e = slots[h]!;
  }
  if (e !== 0) return e - 1;
  const k = s.distinct;
  if (k === MAX_DICT) return -1;
  dict[k] = x;
  s.distinct = k + 1;
  slots[h] = k + 1;
  return k;
}

/** min/max (and NaN) from the dictionary when every row is in it: no per-row statistics needed. */
function dictStats(s: PlanScratch): void {
  const dict = s.dict;
  let min = Infinity;
  let max = -Infinity;
  let nan = false;
  for (let j = 0; j < s.distinct; j++) {
    const x = dict[j]!;
    if (x !== x) nan = true;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  s.min = min;
  s.max = max;
  s.sum = 0;
  s.maxStep = 0;
  s.sumStep = 0;
  s.nan = nan;
}

// ── u8 ──

function encodeU8(v: Uint8Array, n: number, s: PlanScratch): Uint8Array | null {
  const table = s.byteSlots;
  table.fill(0);
  const index = s.index;
  const dict = s.dict;
  let k = 0;
  let i = 0;
  for (; i < n; i++) {
    const x = v[i]!;
    let e = table[x]!;
    if (e === 0) {
      if (k === MAX_DICT) break;
      dict[k] = x;
      e = ++k;
      table[x] = e;
    }
    index[i] = e - 1;
  }
  let min = 255;
  let max = 0;
  if (i < n) {
    k = 0; // more than 16 values: raw
    for (let j = 0; j < n; j++) {
      const x = v[j]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  } else {
    for (let j = 0; j < k; j++) {
      const x = dict[j]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  s.min = min;
  s.max = max;
  s.sum = 0;
  s.maxStep = 0;
  s.sumStep = 0;
  s.distinct = k;
  s.nan = false;
  const p = choose(s, n, 1);
  return p.transform === TRANSFORM.dict ? packDict(s, n) : null;
}

// ── u16 ──

function encodeU16(v: Uint16Array, n: number, s: PlanScratch): Uint8Array | null {
  if (n === 0) return (choose(s, 0, 2), null);
  // pass 1a: the dictionary while there are ≤ 16 values (high-cardinality columns leave after a few rows)
  s.slots.fill(0);
  s.distinct = 0;
  const index = s.index;
  let last = -1;
  let lastJ = 0;
  let i = 0;
  for (; i < n; i++) {
    const x = v[i]!;
    if (x !== last) {
      const j = dictSlot(x, Math.imul(x, 0x9e3779b1) >>> SLOT_SHIFT, s);
      if (j < 0) break;
      last = x;
      lastJ = j;
    }
    index[i] = lastJ;
  }
  if (i === n) {
    dictStats(s);
  } else {
    s.distinct = 0;
    // pass 1b: range and steps
    let min = v[0]!;
    let max = v[0]!;
    let sum = 0;
    let prev = v[0]!;
    let maxStep = 0;
    let sumStep = 0;
    for (let r = 0; r < n; r++) {
      const x = v[r]!;
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      const st = Math.abs(x - prev);
      prev = x;
      if (st > maxStep) maxStep = st;
      sumStep += st;
    }
    s.min = min;
    s.max = max;
    s.sum = sum;
    s.maxStep = maxStep;
    s.sumStep = sumStep;
    s.nan = false;
  }
  const p = choose(s, n, 2);
  if (p.transform === TRANSFORM.dict) return packDict(s, n);
  if (p.transform === TRANSFORM.delta) {
    p.base = v[0]!;
    return deltaU16(v, n, p.width);
  }
  if (p.transform === TRANSFORM.for) return forU16(v, n, p.base, p.width);
  return null;
}

function forU16(v: Uint16Array, n: number, base: number, w: number): Uint8Array {
  const out = new Uint8Array(n * w);
  if (w === 1) for (let i = 0; i < n; i++) out[i] = v[i]! - base;
  else
    for (let i = 0; i < n; i++) {
      const u = v[i]! - base;
      out[i] = u;
      out[n + i] = u >>> 8;
    }
  return out;
}

function deltaU16(v: Uint16Array, n: number, w: number): Uint8Array {
  const out = new Uint8Array(n * w);
  let prev = v[0]!;
  if (w === 1)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = x - prev;
      prev = x;
      out[i] = (d << 1) ^ (d >> 31);
    }
  else if (w === 2)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = x - prev;
      prev = x;
      const z = (d << 1) ^ (d >> 31);
      out[i] = z;
      out[n + i] = z >>> 8;
    }
  else
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = x - prev;
      prev = x;
      const z = (d << 1) ^ (d >> 31);
      out[i] = z;
      out[n + i] = z >>> 8;
      out[2 * n + i] = z >>> 16;
      out[3 * n + i] = z >>> 24;
    }
  return out;
}

// ── u32 ──

function encodeU32(v: Uint32Array, n: number, s: PlanScratch): Uint8Array | null {
  if (n === 0) return (choose(s, 0, 4), null);
  // pass 1a: the dictionary while there are ≤ 16 values (high-cardinality columns leave after a few rows)
  s.slots.fill(0);
  s.distinct = 0;
  const index = s.index;
  let last = -1;
  let lastJ = 0;
  let i = 0;
  for (; i < n; i++) {
    const x = v[i]!;
    if (x !== last) {
      const j = dictSlot(x, Math.imul(x, 0x9e3779b1) >>> SLOT_SHIFT, s);
      if (j < 0) break;
      last = x;
      lastJ = j;
    }
    index[i] = lastJ;
  }
  if (i === n) {
    dictStats(s);
  } else {
    s.distinct = 0;
    // pass 1b: range and steps
    let min = v[0]!;
    let max = v[0]!;
    let sum = 0;
    let prev = v[0]!;
    let maxStep = 0;
    let sumStep = 0;
    for (let r = 0; r < n; r++) {
      const x = v[r]!;
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      const st = Math.abs(x - prev);
      prev = x;
      if (st > maxStep) maxStep = st;
      sumStep += st;
    }
    s.min = min;
    s.max = max;
    s.sum = sum;
    s.maxStep = maxStep;
    s.sumStep = sumStep;
    s.nan = false;
  }
  const p = choose(s, n, 4);
  if (p.transform === TRANSFORM.dict) return packDict(s, n);
  if (p.transform === TRANSFORM.delta) {
    p.base = v[0]!;
    return deltaU32(v, n, p.width);
  }
  if (p.transform === TRANSFORM.for) return forU32(v, n, p.base, p.width);
  return null;
}

function forU32(v: Uint32Array, n: number, base: number, w: number): Uint8Array {
  const out = new Uint8Array(n * w);
  if (w === 1) for (let i = 0; i < n; i++) out[i] = v[i]! - base;
  else if (w === 2)
    for (let i = 0; i < n; i++) {
      const u = v[i]! - base;
      out[i] = u;
      out[n + i] = u >>> 8;
    }
  else
    for (let i = 0; i < n; i++) {
      const u = v[i]! - base;
      out[i] = u;
      out[n + i] = u >>> 8;
      out[2 * n + i] = u >>> 16;
      out[3 * n + i] = u >>> 24;
    }
  return out;
}

/** |step| < 2^30 (choose() guarantees it), so the step fits an int32 and zig-zags without branches. */
function deltaU32(v: Uint32Array, n: number, w: number): Uint8Array {
  const out = new Uint8Array(n * w);
  let prev = v[0]!;
  if (w === 1)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = (x - prev) | 0;
      prev = x;
      out[i] = (d << 1) ^ (d >> 31);
    }
  else if (w === 2)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = (x - prev) | 0;
      prev = x;
      const z = (d << 1) ^ (d >> 31);
      out[i] = z;
      out[n + i] = z >>> 8;
    }
  else
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const d = (x - prev) | 0;
      prev = x;
      const z = (d << 1) ^ (d >> 31);
      out[i] = z;
      out[n + i] = z >>> 8;
      out[2 * n + i] = z >>> 16;
      out[3 * n + i] = z >>> 24;
    }
  return out;
}

// ── f64 (times and counters) ──

function encodeF64(v: Float64Array, n: number, s: PlanScratch): Uint8Array | null {
  if (n === 0) return (choose(s, 0, 8), null);
  // pass 1a: the dictionary while there are ≤ 16 values (high-cardinality columns leave after a few rows)
  s.slots.fill(0);
  s.distinct = 0;
  const index = s.index;
  let last = Number.NaN;
  let lastJ = 0;
  let i = 0;
  for (; i < n; i++) {
    const x = v[i]!;
    if (x !== last) {
      // ToInt32 of any double (NaN → 0) hashes; equality is checked on the f64 values
      const j = dictSlot(x, Math.imul(x | 0, 0x9e3779b1) >>> SLOT_SHIFT, s);
      if (j < 0) break;
      last = x;
      lastJ = j;
    }
    index[i] = lastJ;
  }
  if (i === n) {
    dictStats(s);
  } else {
    s.distinct = 0;
    // pass 1b: range and steps
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let prev = v[0]!;
    let maxStep = 0;
    let sumStep = 0;
    let nan = false;
    for (let r = 0; r < n; r++) {
      const x = v[r]!;
      if (x < min) min = x;
      if (x > max) max = x;
      if (x !== x) nan = true;
      sum += x;
      const st = Math.abs(x - prev);
      prev = x;
      if (st > maxStep) maxStep = st;
      sumStep += st;
    }
    s.min = min;
    s.max = max;
    s.sum = sum;
    s.maxStep = maxStep;
    s.sumStep = sumStep;
    s.nan = nan;
  }
  const p = choose(s, n, 8);
  if (p.transform === TRANSFORM.dict) return packDict(s, n);
  let out: Uint8Array | null = null;
  if (p.transform === TRANSFORM.delta) {
    p.base = v[0]!;
    out = deltaF64(v, n, p.width);
  } else if (p.transform === TRANSFORM.for) out = forF64(v, n, p.base, p.width);
  if (out === null && p.transform !== TRANSFORM.raw) s.setPlan(TRANSFORM.raw, 8, 0); // a fraction: raw
  return out;
}

/** null when some value is not an integer (for/delta keep integers only). */
function forF64(v: Float64Array, n: number, base: number, w: number): Uint8Array | null {
  const out = new Uint8Array(n * w);
  if (w === 1)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (Math.floor(x) !== x) return null;
      out[i] = x - base;
    }
  else if (w === 2)
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (Math.floor(x) !== x) return null;
      const u = x - base;
      out[i] = u;
      out[n + i] = u >>> 8;
    }
  else
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (Math.floor(x) !== x) return null;
      const u = x - base;
      out[i] = u;
      out[n + i] = u >>> 8;
      out[2 * n + i] = u >>> 16;
      out[3 * n + i] = u >>> 24;
    }
  return out;
}

function deltaF64(v: Float64Array, n: number, w: number): Uint8Array | null {
  const out = new Uint8Array(n * w);
  let prev = v[0]!;
  if (Math.floor(prev) !== prev) return null;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (Math.floor(x) !== x) return null;
    const d = (x - prev) | 0; // |d| < 2^30, exact
    prev = x;
    const z = (d << 1) ^ (d >> 31);
    out[i] = z;
    if (w > 1) {
      out[n + i] = z >>> 8;
      if (w > 2) {
        out[2 * n + i] = z >>> 16;
        out[3 * n + i] = z >>> 24;
      }
    }
  }
  return out;
}

// ── decoding (reader hot path) ───────────────────────────────────────────────────────────────────────────

/** Un-shuffles n elements of w bytes at src[off] into tmp[0, n) (w = 1, 2 or 4). */
export function unshuffle(src: Uint8Array, off: number, n: number, w: number, tmp: Uint32Array): void {
  if (w === 1) {
    for (let i = 0; i < n; i++) tmp[i] = src[off + i]!;
  } else if (w === 2) {
    const o1 = off + n;
    for (let i = 0; i < n; i++) tmp[i] = src[off + i]! | (src[o1 + i]! << 8);
  } else {
    const o1 = off + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++)
      tmp[i] = src[off + i]! | (src[o1 + i]! << 8) | (src[o2 + i]! << 16) | (src[o3 + i]! << 24);
  }
}

/** for → integer column: tmp[i] += base in place (the caller then copies with TypedArray#set). */
export function finishForU32(tmp: Uint32Array, n: number, base: number): void {
  if (base === 0) return;
  for (let i = 0; i < n; i++) tmp[i] = tmp[i]! + base;
}

/** delta → f64: prefix sums of the zig-zag deltas from base. */
export function finishDeltaF64(tmp: Uint32Array, n: number, base: number, out: Float64Array): void {
  let prev = base;
  for (let i = 0; i < n; i++) {
    const z = tmp[i]!;
    prev += (z >>> 1) ^ -(z & 1);
    out[i] = prev;
  }
}

/** delta → integer column, in place. */
export function finishDeltaU32(tmp: Uint32Array, n: number, base: number): void {
  let prev = base;
  for (let i = 0; i < n; i++) {
    const z = tmp[i]!;
    prev += (z >>> 1) ^ -(z & 1);
    tmp[i] = prev;
  }
}

/** `<addr>6` words of the rows whose v6Flags has `bit`, packed in row order. */
export function encodeSparse6(words: Uint32Array, flags: Uint8Array, n: number, bit: number): Uint8Array {
  let k = 0;
  for (let i = 0; i < n; i++) if ((flags[i]! & bit) !== 0) k++;
  const out = new Uint32Array(k * 4);
  let o = 0;
  for (let i = 0; i < n; i++) {
    if ((flags[i]! & bit) !== 0) {
      out[o] = words[i * 4]!;
      out[o + 1] = words[i * 4 + 1]!;
      out[o + 2] = words[i * 4 + 2]!;
      out[o + 3] = words[i * 4 + 3]!;
      o += 4;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * Inverse of encodeSparse6: scatters `count` packed rows (u32 × 4, little-endian, 4-aligned at `src[off]`)
 * into `out` (zeroed here for the first n rows). Returns false when the v6 rows of `flags` do not number `count`.
 */
export function decodeSparse6(
  src: Uint32Array,
  count: number,
  flags: Uint8Array,
  n: number,
  bit: number,
  out: Uint32Array,
): boolean {
  out.fill(0, 0, n * 4);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if ((flags[i]! & bit) !== 0) {
      if (k >= count) return false;
      const p = k * 4;
      const o = i * 4;
      out[o] = src[p]!;
      out[o + 1] = src[p + 1]!;
      out[o + 2] = src[p + 2]!;
      out[o + 3] = src[p + 3]!;
      k++;
    }
  }
  return k === count;
}

/** Narrowing copies, one per target type (TypedArray#set across element types is a slow generic path in V8). */
export function copyToU8(tmp: Uint32Array, n: number, out: Uint8Array): void {
  for (let i = 0; i < n; i++) out[i] = tmp[i]!;
}

export function copyToU16(tmp: Uint32Array, n: number, out: Uint16Array): void {
  for (let i = 0; i < n; i++) out[i] = tmp[i]!;
}

// ── fused decoders: one pass from the stored bytes into the column, one function per output type ───────────
// (the split functions above stay for rarely used combinations; these cover what the writer produces)

/** dict → Uint8Array column in one pass. */
export function dictToU8(
  src: Uint8Array,
  off: number,
  n: number,
  bits: number,
  dict: Uint32Array,
  out: Uint8Array,
): void {
  if (bits === 0) out.fill(dict[0]!, 0, n);
  else if (bits === 1) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 3)]! >>> (i & 7)) & 1]!;
  else if (bits === 2) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 2)]! >>> ((i & 3) << 1)) & 3]!;
  else for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 1)]! >>> ((i & 1) << 2)) & 15]!;
}

/** dict → Uint16Array column in one pass. */
export function dictToU16(
  src: Uint8Array,
  off: number,
  n: number,
  bits: number,
  dict: Uint32Array,
  out: Uint16Array,
): void {
  if (bits === 0) out.fill(dict[0]!, 0, n);
  else if (bits === 1) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 3)]! >>> (i & 7)) & 1]!;
  else if (bits === 2) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 2)]! >>> ((i & 3) << 1)) & 3]!;
  else for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 1)]! >>> ((i & 1) << 2)) & 15]!;
}

/** dict → Uint32Array column in one pass. */
export function dictToU32(
  src: Uint8Array,
  off: number,
  n: number,
  bits: number,
  dict: Uint32Array,
  out: Uint32Array,
): void {
  if (bits === 0) out.fill(dict[0]!, 0, n);
  else if (bits === 1) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 3)]! >>> (i & 7)) & 1]!;
  else if (bits === 2) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 2)]! >>> ((i & 3) << 1)) & 3]!;
  else for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 1)]! >>> ((i & 1) << 2)) & 15]!;
}

/** dict → Float64Array column in one pass. */
export function dictToF64(
  src: Uint8Array,
  off: number,
  n: number,
  bits: number,
  dict: Float64Array,
  out: Float64Array,
): void {
  if (bits === 0) out.fill(dict[0]!, 0, n);
  else if (bits === 1) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 3)]! >>> (i & 7)) & 1]!;
  else if (bits === 2) for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 2)]! >>> ((i & 3) << 1)) & 3]!;
  else for (let i = 0; i < n; i++) out[i] = dict[(src[off + (i >>> 1)]! >>> ((i & 1) << 2)) & 15]!;
}

/** for → Uint16Array column (base + shuffled 1- or 2-byte values) in one pass. */
export function forToU16(src: Uint8Array, off: number, n: number, w: number, base: number, out: Uint16Array): void {
  if (w === 1) for (let i = 0; i < n; i++) out[i] = base + src[off + i]!;
  else {
    const o1 = off + n;
    for (let i = 0; i < n; i++) out[i] = base + (src[off + i]! | (src[o1 + i]! << 8));
  }
}

/** for → Uint32Array column in one pass. */
export function forToU32(src: Uint8Array, off: number, n: number, w: number, base: number, out: Uint32Array): void {
  if (w === 1) for (let i = 0; i < n; i++) out[i] = base + src[off + i]!;
  else if (w === 2) {
    const o1 = off + n;
    for (let i = 0; i < n; i++) out[i] = base + (src[off + i]! | (src[o1 + i]! << 8));
  } else {
    const o1 = off + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++)
      out[i] = base + ((src[off + i]! | (src[o1 + i]! << 8) | (src[o2 + i]! << 16) | (src[o3 + i]! << 24)) >>> 0);
  }
}

/** for → Float64Array column in one pass. */
export function forToF64(src: Uint8Array, off: number, n: number, w: number, base: number, out: Float64Array): void {
  if (w === 1) for (let i = 0; i < n; i++) out[i] = base + src[off + i]!;
  else if (w === 2) {
    const o1 = off + n;
    for (let i = 0; i < n; i++) out[i] = base + (src[off + i]! | (src[o1 + i]! << 8));
  } else {
    const o1 = off + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++)
      out[i] = base + ((src[off + i]! | (src[o1 + i]! << 8) | (src[o2 + i]! << 16) | (src[o3 + i]! << 24)) >>> 0);
  }
}

// ── row-sparse decoders: only the rows a filter passed (late materialisation of a needle's output columns) ──

/**
 * for → the rows `rows[0, k)` of the column (other rows of `out` are left as they were). The stored bytes are
 * random access (byte-shuffled planes of n bytes each), so a needle that passed 2 rows of 16 K reads 2 values.
 */
export function forRows(
  src: Uint8Array,
  off: number,
  n: number,
  w: number,
  base: number,
  rows: Uint32Array,
  k: number,
  out: Uint8Array | Uint16Array | Uint32Array | Float64Array,
): void {
  const o1 = off + n;
  const o2 = o1 + n;
  const o3 = o2 + n;
  for (let j = 0; j < k; j++) {
    const i = rows[j]!;
    const v =
      w === 1
        ? src[off + i]!
        : w === 2
          ? src[off + i]! | (src[o1 + i]! << 8)
          : (src[off + i]! | (src[o1 + i]! << 8) | (src[o2 + i]! << 16) | (src[o3 + i]! << 24)) >>> 0;
    out[i] = base + v;
  }
}

/** dict → the rows `rows[0, k)` of the column (indices of `bits` bits after the dictionary). */
export function dictRows(
  src: Uint8Array,
  off: number,
  bits: number,
  dict: Float64Array,
  rows: Uint32Array,
  k: number,
  out: Uint8Array | Uint16Array | Uint32Array | Float64Array,
): void {
  for (let j = 0; j < k; j++) {
    const i = rows[j]!;
    const x =
      bits === 0
        ? 0
        : bits === 1
          ? (src[off + (i >>> 3)]! >>> (i & 7)) & 1
          : bits === 2
            ? (src[off + (i >>> 2)]! >>> ((i & 3) << 1)) & 3
            : (src[off + (i >>> 1)]! >>> ((i & 1) << 2)) & 15;
    out[i] = dict[x]!;
  }
}
