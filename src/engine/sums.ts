// SPDX-License-Identifier: BSD-3-Clause
// The footer's sums over a block's passing rows, shared by the main thread's scan and the scan workers.
//
// Sums are exact (record/u64.ts): a double plus an integer error term. Fast path: the block's sums stay below
// 2^53, so every value added was exact and had no fix; otherwise the block is summed again exactly.

import type { RecordBatch } from "../record/batch.js";
import { ExactSum, sumError, TWO53 } from "../record/u64.js";
import { nativeDecoder, type NativeEncoder } from "../store/native-encode.js";

let nativeSums: NativeEncoder["sums"] | null | undefined;
/** sums, first, last of the native loop */
const state = new Float64Array(5);

/** Totals a scan keeps for the summary line (RunCounts, BlockCounts); `*Fix` = exact − double (record/u64.ts). */
export interface RowSums {
  bytes: number;
  packets: number;
  flows: number;
  bytesFix: number;
  packetsFix: number;
  flowsFix: number;
  first: number;
  last: number;
}

/**
 * Adds the selected rows to the footer totals (locals in the loop: no property writes per row): native/encode.c's
 * loop (the same additions in the same order), else the one here (no addon, TSFLOW_WRITER=js).
 */
export function sumRows(batch: RecordBatch, sel: Uint32Array, k: number, counts: RowSums): void {
  const c = batch.cols;
  const inBytes = c.inBytes;
  const inPackets = c.inPackets;
  const flows = c.flows;
  const mf = c.msecFirst;
  const ml = c.msecLast;
  let bytes = 0;
  let packets = 0;
  let nflows = 0;
  let first = counts.first;
  let last = counts.last;
  const nat = nativeSums === undefined ? (nativeSums = nativeDecoder()?.sums ?? null) : nativeSums;
  if (nat !== null) {
    state[3] = first;
    state[4] = last;
    nat(inBytes, inPackets, flows, mf, ml, k === batch.length ? null : sel, k, state);
    bytes = state[0]!;
    packets = state[1]!;
    nflows = state[2]!;
    first = state[3]!;
    last = state[4]!;
  } else if (k === batch.length) {
    for (let i = 0; i < k; i++) {
      bytes += inBytes[i]!;
      packets += inPackets[i]!;
      nflows += flows[i]! || 1;
      const f = mf[i]!;
      const l = ml[i]!;
      if (f < first) first = f;
      if (l > last) last = l;
    }
  } else {
    for (let j = 0; j < k; j++) {
      const i = sel[j]!;
      bytes += inBytes[i]!;
      packets += inPackets[i]!;
      nflows += flows[i]! || 1;
      const f = mf[i]!;
      const l = ml[i]!;
      if (f < first) first = f;
      if (l > last) last = l;
    }
  }
  counts.first = first;
  counts.last = last;
  if (bytes < TWO53 && packets < TWO53 && nflows < TWO53) {
    addSum(counts, "bytes", "bytesFix", bytes, 0);
    addSum(counts, "packets", "packetsFix", packets, 0);
    addSum(counts, "flows", "flowsFix", nflows, 0);
    return;
  }
  // rare: a value or the block's sum reached 2^53
  const all = k === batch.length;
  const b = exactColumnSum(inBytes, c.inBytesFix, sel, k, all, false);
  addSum(counts, "bytes", "bytesFix", b.s, b.e);
  const p = exactColumnSum(inPackets, c.inPacketsFix, sel, k, all, false);
  addSum(counts, "packets", "packetsFix", p.s, p.e);
  const f = exactColumnSum(flows, c.flowsFix, sel, k, all, true);
  addSum(counts, "flows", "flowsFix", f.s, f.e);
}

type SumKey = "bytes" | "packets" | "flows";
type FixKey = "bytesFix" | "packetsFix" | "flowsFix";

/** counts[key] += s exactly (the rounding error and `e` go to counts[fix]). */
export function addSum(counts: RowSums, key: SumKey, fix: FixKey, s: number, e: number): void {
  const a = counts[key];
  const t = a + s;
  counts[key] = t;
  if (t >= TWO53) counts[fix] += sumError(a, s, t);
  if (e !== 0) counts[fix] += e;
}

/** Exact sum of a counter column (value + fix) over the selected rows; `flows` counts 0 as 1. */
function exactColumnSum(
  v: Float64Array,
  fix: Uint32Array,
  sel: Uint32Array,
  k: number,
  all: boolean,
  flows: boolean,
): ExactSum {
  const acc = new ExactSum();
  for (let j = 0; j < k; j++) {
    const i = all ? j : sel[j]!;
    const x = v[i]!;
    acc.addExact(flows && x === 0 ? 1 : x, fix[i]! | 0);
  }
  return acc;
}

/** A statistics sink (StatsQuery): its engines, the first of which sums the rows it counts. */
export interface CountingSink {
  readonly accumulators: readonly {
    readonly totals: { flows: number; inPackets: number; inBytes: number; first: number; last: number };
  }[];
  add(batch: RecordBatch, sel: Uint32Array, n: number): void;
}

/**
 * sink.add, and the rows summed into the footer's totals `counts`: from the first statistic's totals when there is
 * one (it sums the same rows in its own pass: one pass over the rows instead of two), else with sumRows.
 */
export function addCounting(
  sink: CountingSink,
  batch: RecordBatch,
  sel: Uint32Array,
  n: number,
  counts: RowSums,
): void {
  const first = sink.accumulators[0];
  if (first === undefined) {
    sumRows(batch, sel, n, counts);
    sink.add(batch, sel, n);
    return;
  }
  const t = first.totals;
  const flows0 = t.flows;
  const packets0 = t.inPackets;
  const bytes0 = t.inBytes;
  sink.add(batch, sel, n);
  if (t.flows < TWO53 && t.inPackets < TWO53 && t.inBytes < TWO53) {
    // integer sums below 2^53: the totals grew by exactly this block's
    addSum(counts, "flows", "flowsFix", t.flows - flows0, 0);
    addSum(counts, "packets", "packetsFix", t.inPackets - packets0, 0);
    addSum(counts, "bytes", "bytesFix", t.inBytes - bytes0, 0);
    if (t.first < counts.first) counts.first = t.first;
    if (t.last > counts.last) counts.last = t.last;
  } else sumRows(batch, sel, n, counts); // totals past 2^53: the block's exact sums (record/u64.ts)
}
