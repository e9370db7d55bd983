// SPDX-License-Identifier: BSD-3-Clause
// A seeded pseudo-random source for the synthetic flow generator: xoshiro128** (32-bit state words, so no
// BigInt), seeded through splitmix32. The same seed gives the same sequence on every platform and Node version.

/** Bounded Zipf samplers by (n, exponent): cumulative weights, built once per shape. */
const zipfTables = new Map<string, Float64Array>();

function zipfTable(n: number, a: number): Float64Array {
  const key = `${n}:${a}`;
  let t = zipfTables.get(key);
  if (t === undefined) {
    t = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) t[k] = sum += Math.pow(k + 1, -a);
    zipfTables.set(key, t);
  }
  return t;
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box–Muller makes normals in pairs; the second waits here. */
  private spare = NaN;

  constructor(seed: number) {
    let x = seed >>> 0 || 0x9e3779b9;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    // the high half of a 53-bit seed mixes in too, so seeds above 2^32 differ
    x = (x ^ Math.floor(seed / 0x100000000)) >>> 0;
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo));
  }

  /** An index into `cumulative` (cumulative weights, last = total) drawn by weight. */
  weighted(cumulative: Float64Array): number {
    const u = this.float() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A Zipf-ranked index in [0, n): rank k has weight (k + 1)^-a. */
  zipf(n: number, a: number): number {
    return this.weighted(zipfTable(n, a));
  }

  /** A standard normal deviate (Box–Muller). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Cumulative weights for Random.weighted. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) out[i] = sum += weights[i]!;
  return out;
}
