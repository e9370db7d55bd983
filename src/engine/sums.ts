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
