// SPDX-License-Identifier: BSD-3-Clause
// The overview graphs' data: flows, packets and bytes per second over time, per protocol class and per
// exporter, from the files' statistics records (summarizeFiles: footers only, no flow is read).
//
// Points are the files' slots on a regular grid (the interval is the most common gap between slots); files of
// one slot (-M directories) add up; a slot without a file is null (a gap in the line). More slots than
// MAX_POINTS are merged into buckets of whole slots, so the answer stays small for any span.

import type { FileSummary } from "../api.js";
import { addExactTo, exactOf, u64Text } from "../record/u64.js";

export const MAX_POINTS = 1200;
const PROTO_NAMES = ["TCP", "UDP", "ICMP", "other"] as const;

export interface OverviewSeries {
  /** bucket starts, s since the epoch (uPlot's x) */
  readonly times: number[];
  /** bucket width (s) */
  readonly step: number;
  readonly files: number;
  /** rates per bucket: [series][bucket], null where no file */
  readonly proto: {
    readonly names: readonly string[];
    readonly flows: (number | null)[][];
    readonly packets: (number | null)[][];
    readonly bytes: (number | null)[][];
  };
  /** exporters' counters (bytes are not in the exporter record) */
  readonly exporter: {
    readonly names: readonly string[];
    readonly flows: (number | null)[][];
    readonly packets: (number | null)[][];
  };
  /** totals over the files (doubles: exact below 2^53) */
  readonly totals: { readonly flows: number; readonly packets: number; readonly bytes: number };
  /** the same, exact decimal text wrapped to 64 bits as tsdump's and nfdump's summaries print them */
  readonly totalsText: { readonly flows: string; readonly packets: string; readonly bytes: string };
}

/** The most common positive gap between consecutive distinct slots (ms); 300 s without two slots. */
function slotInterval(slots: readonly number[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < slots.length; i++) {
    const d = slots[i]! - slots[i - 1]!;
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 300_000;
  let bestN = 0;
  for (const [d, n] of counts) if (n > bestN || (n === bestN && d < best)) [best, bestN] = [d, n];
  return best;
}

export function overviewSeries(files: readonly FileSummary[]): OverviewSeries {
  const slots = [...new Set(files.map((f) => f.slot))].sort((a, b) => a - b);
  const interval = slotInterval(slots);
  const first = slots[0] ?? 0;
  const last = slots[slots.length - 1] ?? 0;
  const grid = slots.length === 0 ? 0 : Math.floor((last - first) / interval) + 1;
  const per = Math.max(1, Math.ceil(grid / MAX_POINTS));
  const width = interval * per;
  const buckets = slots.length === 0 ? 0 : Math.floor((last - first) / width) + 1;
  const times = Array.from({ length: buckets }, (_, i) => (first + i * width) / 1000);
  const has = new Uint8Array(buckets);
  const exporterIndex = new Map<string, number>();
  for (const f of files) {
    for (const e of f.exporters) {
      const key = `${e.address}/${e.id}`;
      if (!exporterIndex.has(key)) exporterIndex.set(key, exporterIndex.size);
    }
  }
  const zeros = (k: number): number[][] => Array.from({ length: k }, () => new Array<number>(buckets).fill(0));
  const pf = zeros(4);
  const pp = zeros(4);
  const pb = zeros(4);
  const ef = zeros(exporterIndex.size);
  const ep = zeros(exporterIndex.size);
  const totals = { flows: 0, packets: 0, bytes: 0 };
  const totalsFix = { flows: 0, packets: 0, bytes: 0 };
  for (const f of files) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((f.slot - first) / width)));
    has[b] = 1;
    for (let c = 0; c < 4; c++) {
      pf[c]![b]! += f.flows[c] ?? 0;
      pp[c]![b]! += f.packets[c] ?? 0;
      pb[c]![b]! += f.bytes[c] ?? 0;
      addExactTo(totals, totalsFix, "flows", f.flows[c] ?? 0, f.flowsFix?.[c] ?? 0);
      addExactTo(totals, totalsFix, "packets", f.packets[c] ?? 0, f.packetsFix?.[c] ?? 0);
      addExactTo(totals, totalsFix, "bytes", f.bytes[c] ?? 0, f.bytesFix?.[c] ?? 0);
    }
    for (const e of f.exporters) {
      const k = exporterIndex.get(`${e.address}/${e.id}`)!;
      ef[k]![b]! += e.flows;
      ep[k]![b]! += e.packets;
    }
  }
  const secs = width / 1000;
  const rate = (rows: number[][]): (number | null)[][] =>
    rows.map((r) => r.map((v, i) => (has[i] ? Math.round((v / secs) * 1000) / 1000 : null)));
  return {
    times,
    step: secs,
    files: files.length,
    proto: { names: PROTO_NAMES, flows: rate(pf), packets: rate(pp), bytes: rate(pb) },
    exporter: { names: [...exporterIndex.keys()], flows: rate(ef), packets: rate(ep) },
    totals: {
      flows: totals.flows + totalsFix.flows,
      packets: totals.packets + totalsFix.packets,
      bytes: totals.bytes + totalsFix.bytes,
    },
    totalsText: {
      flows: u64Text(exactOf(totals.flows, totalsFix.flows)),
      packets: u64Text(exactOf(totals.packets, totalsFix.packets)),
      bytes: u64Text(exactOf(totals.bytes, totalsFix.bytes)),
    },
  };
}
