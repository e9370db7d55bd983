// SPDX-License-Identifier: BSD-3-Clause
// Exact unsigned 64-bit counters without BigInt in hot loops.
//
// A counter column (inPackets, inBytes, outPackets, outBytes, flows) is a Float64Array: exact below 2^53, which is
// every value real traffic produces. A value from 2^53 up is stored as its nearest double `v` plus a companion
// column `<name>Fix` (Uint32Array, the signed 32-bit integer `exact − v`, two's complement). Below 2^64 a double's
// spacing is at most 2^11, so the fix fits in ±1024. The fix column is all zero — and so not stored in a file
// block, and marked absent when read — unless a value ≥ 2^53 occurs: ordinary blocks take the plain f64 path.
//
// Sums use the same shape: a double `s` plus an exact integer error term `e` (Knuth's two-sum), updated only
// when `s` reaches 2^53 (a sum of non-negative integers is exact while it stays below).

/** 2^53: doubles hold every integer below it. */
export const TWO53 = 2 ** 53;
const TWO32 = 4294967296;
const U64 = 1n << 64n;
const U64_MAX = U64 - 1n;

/** The counter columns that carry an exact companion column. */
export const EXACT_COUNTERS = ["inPackets", "inBytes", "outPackets", "outBytes", "flows"] as const;
export type ExactCounter = (typeof EXACT_COUNTERS)[number];
export type FixName = `${ExactCounter}Fix`;

/** Name of the companion column of a counter. */
export const fixName = (c: ExactCounter): FixName => `${c}Fix`;

/** `exact − v` for a u64 given as halves `hi`, `lo` whose double is `v` = hi·2^32 + lo (rounded). */
export function u64Fix(hi: number, lo: number, v: number): number {
  const vh = Math.floor(v / TWO32);
  return (hi - vh) * TWO32 + (lo - (v - vh * TWO32));
}

/** The exact integer a double plus its fix stand for (fractions truncated; NaN and ±Infinity as 0). */
export function exactOf(v: number, fix: number): bigint {
  const b = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  // a fix is an integer; a NaN or infinite one (sums of garbage doubles) counts 0
  return fix === 0 || !Number.isFinite(fix) ? b : b + BigInt(Math.trunc(fix));
}

/**
 * Stores exact value `x` into a counter and its fix column at `row`, saturated to [0, 2^64 − 1]
 * (a scaled counter never wraps to a small number).
 */
export function storeExact(v: Float64Array, fix: Uint32Array, row: number, x: bigint): void {
  const y = x < 0n ? 0n : x > U64_MAX ? U64_MAX : x;
  const d = Number(y);
  v[row] = d;
  fix[row] = d < TWO53 ? 0 : Number(y - BigInt(d)) >>> 0;
}

/**
 * Stores an exact sum `s + e` into a counter and its fix column at `row`, wrapped to 64 bits as nfdump's
 * uint64 sums are (an aggregated record).
 */
export function storeSum(v: Float64Array, fix: Uint32Array, row: number, s: number, e: number): void {
  if (e === 0 && s < TWO53) {
    v[row] = s;
    fix[row] = 0;
  } else storeExact(v, fix, row, exactOf(s, e) % U64);
}

/** The rounding error of `s = a + b` (two-sum): `a + b − s`, exactly, for any finite doubles. */
export function sumError(a: number, b: number, s: number): number {
  const bv = s - a;
  return a - (s - bv) + (b - bv);
}

/** Decimal text of an exact value wrapped to 64 bits, as nfdump's uint64 counters and sums print. */
export function u64Text(x: bigint): string {
  return (((x % U64) + U64) % U64).toString();
}

/**
 * An exact running sum (`s` + `e`): add() costs one addition and one comparison while the sum stays below 2^53.
 */
export class ExactSum {
  s = 0;
  e = 0;
  add(x: number): void {
    const a = this.s;
    const s = a + x;
    this.s = s;
    if (s >= TWO53) this.e += sumError(a, x, s);
  }
  /** Adds another sum (or a value with its fix). */
  addExact(s: number, e: number): void {
    this.add(s);
    if (e !== 0) this.e += e;
  }
  reset(): void {
    this.s = 0;
    this.e = 0;
  }
  get exact(): bigint {
    return exactOf(this.s, this.e);
  }
}

const FOLD = 2 ** 51;

/**
 * Adds the exact integer `s + e` (a double and its integer error term) to the exact pair `v[k] + fix[k]` (a sum
 * kept as a double plus `exact − double`). Per block or per file, not per row. Exact while the sum stays below
 * 2^100: the fix is folded back into the double once it reaches 2^51, so it never loses a bit.
 */
export function addExactTo<K extends PropertyKey>(
  v: Record<K, number>,
  fix: Record<K, number>,
  k: K,
  s: number,
  e: number,
): void {
  const a = v[k];
  const t = a + s;
  let f = fix[k] + e;
  if (t >= TWO53) f += sumError(a, s, t);
  if (f >= FOLD || f <= -FOLD) {
    const u = t + f;
    v[k] = u;
    fix[k] = sumError(t, f, u);
  } else {
    v[k] = t;
    fix[k] = f;
  }
}

const TWO64 = 2 ** 64;

/**
 * Exact sums of counter columns (value + fix) over rows [0, n) without BigInt: each value is split into its high
 * and low 32-bit halves, summed separately (at most 2^20 rows per pass, so the half sums stay exact) and added to
 * `v[k] + fix[k]` (addExactTo). NaN, ±Infinity and values ≤ 0 count 0, values past 2^64 count 2^64; fractions are
 * truncated.
 */
export class HalfSums {
  private hi = 0;
  private lo = 0;
  private rows = 0;
  add(x: number, f: number): void {
    if (!(x > 0) || x === Infinity) return;
    if (x > TWO64) {
      // no u64 counter is this large (decoders saturate at 2^64 − 1): a garbage double counts 2^64
      x = TWO64;
      f = 0;
    }
    const h = Math.floor(x / TWO32);
    this.hi += h;
    this.lo += Math.trunc(x - h * TWO32) + f;
    if (++this.rows === 1 << 20) this.flushed();
  }
  private carryS = 0;
  private carryE = 0;
  private flushed(): void {
    const a = this.hi * TWO32;
    const s = a + this.lo;
    const e = sumError(a, this.lo, s);
    const t = this.carryS + s;
    this.carryE += e + sumError(this.carryS, s, t);
    this.carryS = t;
    this.hi = this.lo = this.rows = 0;
  }
  /** Adds the rows summed so far to `v[k] + fix[k]` and starts again. */
  into<K extends PropertyKey>(v: Record<K, number>, fix: Record<K, number>, k: K): void {
    this.flushed();
    addExactTo(v, fix, k, this.carryS, this.carryE);
    this.carryS = this.carryE = 0;
  }
}
