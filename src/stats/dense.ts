// SPDX-License-Identifier: BSD-3-Clause
// DenseCounts: the small-domain fast path of a statistic. Keys below `domain` (ports, protocol, ToS, 2-byte AS
// numbers, interface indices …) index Float64Array accumulators directly — no hashing, no probing, no entry
// indices — in one pass over the rows that also sums the statistic's totals. Keys at or above `domain` (4-byte
// AS numbers, large interface indices) are handed back as "spilled" rows for the hash table.
//
//   acc  Float64Array(domain * ACC_STRIDE)  per key [flows, inPackets, inBytes, first, last] (KeyTable's
//                                           layout), all zero at first; a key is present when its flows
//                                           counter is > 0 (every counted row adds at least 1: a flows value of
//                                           0 counts as 1), and its first row sets first and last (so the
//                                           arrays need no ±Infinity fill)
//   out  Float64Array(domain * OUT_STRIDE)  per key [outPackets, outBytes], allocated at the first non-zero
//                                           out counter, else null
//   seen Uint32Array(domain / 32)           a bit per key counted since the last settle: settling visits and
//                                           clears those keys only, so the pages of keys never counted are
//                                           never touched (each first touch of a fresh page is a page fault)
//
// `settleInto` moves the keys into a KeyTable (ascending key order; merges, exports and top-N read the table
// only) and clears the arrays. Memory is charged to the query's MemoryBudget like a table's.

import { sumError, TWO53 } from "../record/u64.js";
import { loadNativeAddon } from "../util/native-addon.js";
import { ACC_STRIDE, FIX_STRIDE, type FixColumns, type KeyTable, type MemoryBudget, OUT_STRIDE } from "./key-table.js";

/**
 * native/encode.c `dense`: accumulate's loop over rows[0, j) for the common rows; returns j (m when done). state:
 * the running totals [flows, inPackets, inBytes, outPackets, outBytes, first, last] and the spill count.
 */
type NativeDense = (
  keys: Uint8Array | Uint16Array | Uint32Array,
  rows: Uint32Array,
  m: number,
  flows: Float64Array,
  inPackets: Float64Array,
  inBytes: Float64Array,
  outPackets: Float64Array,
  outBytes: Float64Array,
  first: Float64Array,
  last: Float64Array,
  acc: Float64Array,
  out: Float64Array,
  domain: number,
  spill: Uint32Array,
  state: Float64Array,
  seen: Uint32Array,
) => number;

/** The native loop, or null (addon not built, or TSFLOW_WRITER=js as for the reader's native decoders). */
export function nativeDense(): NativeDense | null {
  if (process.env["TSFLOW_WRITER"] === "js") return null;
  const a = loadNativeAddon("tsflow_encode.node");
  return typeof a === "string" ? null : ((a as { dense?: NativeDense }).dense ?? null);
}
/** The native loop's running totals before a call: sums 0, first +∞, last −∞, nothing spilled. */
const STATE0 = Float64Array.of(0, 0, 0, 0, 0, Infinity, -Infinity, 0);
/** `out` before the first out counter: the native loop stops at the row that needs it. */
const NO_OUT = new Float64Array(0);

/** Sums of the counted rows (a StatAccumulator's totals). */
export interface DenseTotals {
  flows: number;
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  first: number;
  last: number;
}

export class DenseCounts {
  readonly domain: number;
  readonly name: string;
  readonly budget: MemoryBudget;
  acc: Float64Array;
  out: Float64Array | null = null;
  /** exact − double per key [flows, inPackets, inBytes, outPackets, outBytes] once a sum reaches 2^53 (KeyTable). */
  fix: Float64Array | null = null;
  /** a bit per key counted since the last settle (key k: bit k & 31 of word k >>> 5) */
  private readonly seen: Uint32Array;
  /** Some key was counted since the last settle. */
  dirty = false;
  private bytes: number;
  private readonly key = new Uint32Array(1);
  /** native/encode.c's loop (null: not built, TSFLOW_WRITER=js, or turned off) and its running totals */
  private readonly native: NativeDense | null;
  private readonly state = new Float64Array(8);

  /** `opts.native: false` keeps the JS loop (tests compare the two). */
  constructor(domain: number, budget: MemoryBudget, name: string, opts: { native?: boolean } = {}) {
    this.native = opts.native === false ? null : nativeDense();
    this.domain = domain;
    this.name = name;
    this.budget = budget;
    this.bytes = domain * ACC_STRIDE * 8;
    budget.charge(this.bytes, name, 0);
    this.acc = new Float64Array(domain * ACC_STRIDE);
    this.seen = new Uint32Array(Math.ceil(domain / 32));
  }

  /** Bytes charged for the dense arrays. */
  memoryBytes(): number {
    return this.bytes;
  }

  /**
   * Counts rows `rows[0..m)` whose key `keyCol[row]` is below the domain; the others go to `spill` (returns
   * how many). Adds every row (also the spilled ones) to `totals` when given.
   */
  accumulate(
    keyCol: Uint8Array | Uint16Array | Uint32Array,
    rows: Uint32Array,
    m: number,
    flowsCol: Float64Array,
    inPk: Float64Array,
    inBy: Float64Array,
    outPk: Float64Array,
    outBy: Float64Array,
    firstCol: Float64Array,
    lastCol: Float64Array,
    totals: DenseTotals | null,
    spill: Uint32Array,
    fix: FixColumns | null = null,
  ): number {
    const acc = this.acc;
    const seen = this.seen;
    const domain = this.domain;
    let out = this.out;
    let tf = 0;
    let tp = 0;
    let tb = 0;
    let top = 0;
    let tob = 0;
    let tfirst = Infinity;
    let tlast = -Infinity;
    let s = 0;
    let j0 = 0;
    const nat = this.native;
    if (nat !== null) {
      // the common rows in C (no JIT warm-up); the loop below takes over where it stopped (a sum reaching
      // 2^53, the first out counters)
      const st = this.state;
      st.set(STATE0);
      j0 = nat(
        keyCol,
        rows,
        m,
        flowsCol,
        inPk,
        inBy,
        outPk,
        outBy,
        firstCol,
        lastCol,
        acc,
        out ?? NO_OUT,
        domain,
        spill,
        st,
        seen,
      );
      tf = st[0]!;
      tp = st[1]!;
      tb = st[2]!;
      top = st[3]!;
      tob = st[4]!;
      tfirst = st[5]!;
      tlast = st[6]!;
      s = st[7]!;
    }
    for (let j = j0; j < m; j++) {
      const r = rows[j]!;
      const f0 = flowsCol[r]!;
      const f = f0 === 0 ? 1 : f0;
      const p = inPk[r]!;
      const b = inBy[r]!;
      const op = outPk[r]!;
      const ob = outBy[r]!;
      const t0 = firstCol[r]!;
      const t1 = lastCol[r]!;
      tf += f;
      tp += p;
      tb += b;
      top += op;
      tob += ob;
      if (t0 < tfirst) tfirst = t0;
      if (t1 > tlast) tlast = t1;
      const k = keyCol[r]!;
      if (k >= domain) {
        spill[s++] = r;
        continue;
      }
      const a = k * 5;
      const o0 = acc[a]!;
      const o1 = acc[a + 1]!;
      const o2 = acc[a + 2]!;
      const fl = o0 + f;
      const s1 = o1 + p;
      const s2 = o2 + b;
      acc[a] = fl;
      acc[a + 1] = s1;
      acc[a + 2] = s2;
      // exact below 2^53; the rare path keeps rounding errors and the row's fixes (record/u64.ts)
      if (fl >= TWO53 || s1 >= TWO53 || s2 >= TWO53) {
        this.exactTerm(k, 0, o0, f, fl, fix === null ? 0 : fix.flowsFix[r]! | 0);
        this.exactTerm(k, 1, o1, p, s1, fix === null ? 0 : fix.inPacketsFix[r]! | 0);
        this.exactTerm(k, 2, o2, b, s2, fix === null ? 0 : fix.inBytesFix[r]! | 0);
      }
      if (fl === f) {
        // the key's first row (its flows counter was 0)
        acc[a + 3] = t0;
        acc[a + 4] = t1;
        seen[k >>> 5] = seen[k >>> 5]! | (1 << (k & 31));
      } else {
        if (t0 < acc[a + 3]!) acc[a + 3] = t0;
        if (t1 > acc[a + 4]!) acc[a + 4] = t1;
      }
      if (op !== 0 || ob !== 0) {
        out ??= this.ensureOut();
        const o = k * 2;
        const q0 = out[o]!;
        const q1 = out[o + 1]!;
        out[o] = q0 + op;
        out[o + 1] = q1 + ob;
        if (out[o] >= TWO53 || out[o + 1]! >= TWO53) {
          this.exactTerm(k, 3, q0, op, out[o], fix === null ? 0 : fix.outPacketsFix[r]! | 0);
          this.exactTerm(k, 4, q1, ob, out[o + 1]!, fix === null ? 0 : fix.outBytesFix[r]! | 0);
        }
      }
    }
    if (m > s) this.dirty = true;
    if (totals !== null) {
      totals.flows += tf;
      totals.inPackets += tp;
      totals.inBytes += tb;
      totals.outPackets += top;
      totals.outBytes += tob;
      if (tfirst < totals.first) totals.first = tfirst;
      if (tlast > totals.last) totals.last = tlast;
    }
    return s;
  }

  private exactTerm(key: number, k: number, old: number, x: number, s: number, rowFix: number): void {
    if (this.fix === null) {
      const extra = this.domain * FIX_STRIDE * 8;
      this.budget.charge(extra, this.name, 0);
      this.bytes += extra;
      this.fix = new Float64Array(this.domain * FIX_STRIDE);
    }
    const i = key * FIX_STRIDE + k;
    this.fix[i] = this.fix[i]! + sumError(old, x, s) + rowFix;
  }

  private ensureOut(): Float64Array {
    const extra = this.domain * OUT_STRIDE * 8;
    this.budget.charge(extra, this.name, 0);
    this.bytes += extra;
    this.out = new Float64Array(this.domain * OUT_STRIDE);
    return this.out;
  }

  /**
   * Adds every counted key to `t` (a width-1 table keyed by the value), in ascending key order, and clears
   * the counters.
   */
  settleInto(t: KeyTable): void {
    if (!this.dirty) return;
    const acc = this.acc;
    const out = this.out;
    const fix = this.fix;
    const key = this.key;
    const seen = this.seen;
    for (let w = 0; w < seen.length; w++) {
      let bits = seen[w]!;
      if (bits === 0) continue;
      seen[w] = 0;
      // the word's keys in ascending order: lowest set bit first
      while (bits !== 0) {
        const low = bits & -bits;
        const v = w * 32 + (31 - Math.clz32(low));
        bits ^= low;
        if (acc[v * ACC_STRIDE]! > 0) {
          key[0] = v;
          t.addEntry(t.findOrInsert(key, 0), acc, v, out, fix);
        }
        acc.fill(0, v * ACC_STRIDE, (v + 1) * ACC_STRIDE);
        if (out) out.fill(0, v * OUT_STRIDE, (v + 1) * OUT_STRIDE);
        if (fix) fix.fill(0, v * FIX_STRIDE, (v + 1) * FIX_STRIDE);
      }
    }
    this.dirty = false;
  }

  /** Releases the memory charged to the budget. */
  dispose(): void {
    this.budget.charge(-this.bytes, this.name, 0);
    this.bytes = 0;
  }
}
