// SPDX-License-Identifier: BSD-3-Clause
// The footer's sums over a block's passing rows, shared by the main thread's scan and the scan workers.

import type { RecordBatch } from "../record/batch.js";

/** Totals a scan keeps for the summary line (RunCounts, BlockCounts). */
export interface RowSums {
  bytes: number;
  packets: number;
  flows: number;
  first: number;
  last: number;
}

/** Adds the selected rows to the footer totals (locals in the loop: no property writes per row). */
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
  if (k === batch.length) {
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
  counts.bytes += bytes;
  counts.packets += packets;
  counts.flows += nflows;
  counts.first = first;
  counts.last = last;
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
  // integer sums: the totals grow by exactly this block's
  counts.flows += t.flows - flows0;
  counts.packets += t.inPackets - packets0;
  counts.bytes += t.inBytes - bytes0;
  if (t.first < counts.first) counts.first = t.first;
  if (t.last > counts.last) counts.last = t.last;
}
