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
// bytes …) hands LZ4 long runs of equal high bytes. The writer keeps the LZ4 output only when it saves ≥ 1/8.
//
// Hot-path note: the decoders are split so that every loop sees one typed-array type (V8 inline caches stay
// monomorphic): unpack into a Uint32Array scratch, then finish into Float64Array by a dedicated loop, or in
// place in the scratch followed by TypedArray#set for u8/u16/u32 columns.

import { TRANSFORM } from "./format.js";

/** Analysis of one width-1 column of a block. */
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

/** Writer scratch, reused across columns and blocks. */
export class PlanScratch {
  values: Float64Array;
  index: Uint8Array;
  readonly dict: Float64Array;
  dictSize: number;
  constructor() {
    this.values = new Float64Array(0);
    this.index = new Uint8Array(0);
    this.dict = new Float64Array(MAX_DICT);
    this.dictSize = 0;
  }
  load(a: Uint8Array | Uint16Array | Uint32Array | Float64Array, n: number): Float64Array {
    if (this.values.length < n) {
      this.values = new Float64Array(n);
      this.index = new Uint8Array(n);
    }
    const v = this.values.subarray(0, n);
    v.set(a.subarray(0, n)); // one C++ conversion loop; the analysis below then sees only Float64Array
    return v;
  }
}

/** Chooses the transform of a width-1 column of `n` rows (values already loaded into the scratch). */
export function planColumn(
  v: Float64Array,
  n: number,
  elementBytes: number,
  isFloat: boolean,
  s: PlanScratch,
): ColumnPlan {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  let nan = false;
  let allZero = true;
  let sumDelta = 0;
  let maxZz = 0;
  let prev = n > 0 ? v[0]! : 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (x !== 0) allZero = false;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== x) nan = true;
    else if (isFloat && Math.floor(x) !== x) integral = false;
    const d = x - prev;
    const zz = d >= 0 ? 2 * d : -2 * d - 1;
    if (zz > maxZz) maxZz = zz;
    sumDelta += zz;
    prev = x;
  }
  if (n === 0 || allZero) {
    return { transform: TRANSFORM.raw, width: elementBytes, base: 0, min: 0, max: 0, ranged: true, allZero: true };
  }
  if (nan) {
    return { transform: TRANSFORM.raw, width: elementBytes, base: 0, min: 0, max: 0, ranged: false, allZero: false };
  }
  const raw: ColumnPlan = {
    transform: TRANSFORM.raw,
    width: elementBytes,
    base: 0,
    min,
    max,
    ranged: true,
    allZero: false,
  };
  // dictionary of ≤ 16 distinct values (exact for any f64, also fractions; -0 is kept as +0 … see dict note)
  const k = distinct(v, n, s);
  if (k > 0) {
    const bits = k === 1 ? 0 : k === 2 ? 1 : k <= 4 ? 2 : 4;
    if (bits < elementBytes * 8)
      return { transform: TRANSFORM.dict, width: bits, base: k, min, max, ranged: true, allZero: false };
  }
  if (elementBytes === 1 || !integral) return raw;
  let sumFor = 0;
  for (let i = 0; i < n; i++) sumFor += v[i]! - min;
  const wFor = widthFor(max - min);
  const wDelta = maxZz < 0x80000000 ? widthFor(maxZz) : 0;
  // delta when it needs fewer bytes, or the same bytes but much smaller values (sorted columns)
  if (wDelta !== 0 && (wFor === 0 || wDelta < wFor || (wDelta === wFor && sumDelta * 4 < sumFor))) {
    return { transform: TRANSFORM.delta, width: wDelta, base: v[0]!, min, max, ranged: true, allZero: false };
  }
  if (wFor === 0 || wFor > elementBytes) return raw;
  return { transform: TRANSFORM.for, width: wFor, base: min, min, max, ranged: true, allZero: false };
}

/** Distinct values (≤ MAX_DICT) into s.dict and per-row indexes into s.index; 0 when there are more. */
function distinct(v: Float64Array, n: number, s: PlanScratch): number {
  const dict = s.dict;
  const index = s.index;
  let k = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (k > 0 && dict[last] === x) {
      index[i] = last;
      continue;
    }
    let j = 0;
    while (j < k && dict[j] !== x) j++;
    if (j === k) {
      if (k === MAX_DICT) return 0;
      dict[k++] = x;
    }
    index[i] = j;
    last = j;
  }
  s.dictSize = k;
  return k;
}

/** Applies a `for`, `delta` or `dict` plan to the loaded values. */
export function encodePlanned(v: Float64Array, n: number, plan: ColumnPlan, s: PlanScratch): Uint8Array {
  if (plan.transform === TRANSFORM.dict) {
    const k = plan.base;
    const bits = plan.width;
    const out = new Uint8Array(k * 8 + ((n * bits + 7) >>> 3));
    const dv = new DataView(out.buffer);
    for (let j = 0; j < k; j++) dv.setFloat64(j * 8, s.dict[j]!, true);
    if (bits > 0) {
      const per = 8 / bits;
      const index = s.index;
      for (let i = 0; i < n; i++) {
        const p = k * 8 + Math.floor(i / per);
        out[p] = out[p]! | (index[i]! << ((i % per) * bits));
      }
    }
    return out;
  }
  const w = plan.width;
  const out = new Uint8Array(n * w);
  const delta = plan.transform === TRANSFORM.delta;
  let prev = plan.base;
  const base = plan.base;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    let u: number;
    if (delta) {
      const d = x - prev;
      prev = x;
      u = d >= 0 ? 2 * d : -2 * d - 1;
    } else {
      u = x - base;
    }
    out[i] = u & 0xff;
    if (w > 1) {
      out[n + i] = (u >>> 8) & 0xff;
      if (w > 2) {
        out[2 * n + i] = (u >>> 16) & 0xff;
        out[3 * n + i] = u >>> 24;
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
