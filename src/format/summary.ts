// SPDX-License-Identifier: BSD-3-Clause
// The footer nfdump 1.7.1 prints after a listing or statistics (nfdump.c PrintSummary and main):
//   Summary: total flows: N, total bytes: X, total packets: Y, avg bps: A, avg pps: B, avg bpp: C
//   Time window: <first> - <last>                (seconds; "<unknown>" without data)
//   Total flows processed: N, passed: M, Blocks skipped: S, Bytes read: B
//   Sys: 0.0046s User: 0.0000s Wall: 0.0033s flows/second: 1523.4 Runtime: 0.0033s
// and the csv form (`Summary` / `flows,bytes,packets,avg_bps,avg_pps,avg_bpp` / values). The caller collects
// the numbers; these functions only print them, with nfdump's scaling (`175.6 M`) unless -N.

import { bits, formatNumber, intString, localDateTime, sumText, truncU64, wrapped } from "./text.js";

/** Totals of the flows that passed the filter. Times in ms since the epoch (0 = no flows). */
export interface SummaryTotals {
  readonly flows: number;
  readonly bytes: number;
  readonly packets: number;
  /** min msecFirst of the matched flows */
  readonly firstMs: number;
  /** max msecLast of the matched flows */
  readonly lastMs: number;
  /** exact − double of flows, bytes and packets when a sum reached 2^53 (record/u64.ts); 0 when absent */
  readonly flowsFix?: number;
  readonly bytesFix?: number;
  readonly packetsFix?: number;
}

/** avg bps / pps / bpp as nfdump computes them (all 0 when the matched flows span no time). */
export function summaryRates(t: SummaryTotals): { bps: number; pps: number; bpp: number } {
  const duration = t.lastMs ? (t.lastMs - t.firstMs) / 1000 : 0;
  if (duration > 0 && t.lastMs > 0) {
    const bytes = wrapped(t.bytes, t.bytesFix ?? 0);
    const packets = wrapped(t.packets, t.packetsFix ?? 0);
    return {
      // nfdump shifts the uint64 byte sum left by 3: past 2^61 bytes that wraps too
      bps: truncU64(bits(t.bytes, t.bytesFix ?? 0) / duration),
      pps: truncU64(packets / duration),
      bpp: packets ? Math.floor(bytes / packets) : 0,
    };
  }
  return { bps: 0, pps: 0, bpp: 0 };
}

/** `Summary: total flows: …` line (with newline). */
export function summaryLine(t: SummaryTotals, plain = false): string {
  const r = summaryRates(t);
  const f = (n: number): string => formatNumber(n, plain, false);
  // a sum from 2^53 up prints exactly under -N; scaled (`1.2 T`) its double, wrapped to 64 bits as nfdump's
  const x = (n: number, e: number | undefined): string => (plain ? sumText(n, e ?? 0) : f(wrapped(n, e ?? 0)));
  return `Summary: total flows: ${sumText(t.flows, t.flowsFix ?? 0)}, total bytes: ${x(t.bytes, t.bytesFix)}, total packets: ${x(t.packets, t.packetsFix)}, avg bps: ${f(r.bps)}, avg pps: ${f(r.pps)}, avg bpp: ${f(r.bpp)}\n`;
}

/** 1.7.1 `-o csv` trailing block (three lines). */
export function csvLegacySummary(t: SummaryTotals): string {
  const r = summaryRates(t);
  return `Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n${sumText(t.flows, t.flowsFix ?? 0)},${sumText(t.bytes, t.bytesFix ?? 0)},${sumText(t.packets, t.packetsFix ?? 0)},${intString(r.bps)},${intString(r.pps)},${intString(r.bpp)}\n`;
}

/** `Time window: …` from the files' first/last seen (ms; seconds are printed), `<unknown>` when first is 0. */
export function timeWindowLine(firstMs: number, lastMs: number): string {
  if (!firstMs && !lastMs) return "Time window: <unknown>\n";
  return `Time window: ${localDateTime(Math.floor(firstMs / 1000))} - ${localDateTime(Math.floor(lastMs / 1000))}\n`;
}

/** `Total flows processed: …` line. */
export function totalLine(processed: number, passed: number, blocksSkipped: number, bytesRead: number): string {
  return `Total flows processed: ${intString(processed)}, passed: ${intString(passed)}, Blocks skipped: ${intString(blocksSkipped)}, Bytes read: ${intString(bytesRead)}\n`;
}

function cfloat(x: number, digits: number): string {
  if (Number.isNaN(x)) return "-nan";
  if (x === Infinity) return "inf";
  return x.toFixed(digits);
}

/** Resource usage of the run (seconds). */
export interface RunTimes {
  readonly sys: number;
  readonly user: number;
  readonly wall: number;
  /** nfdump's Runtime: whole program wall time (defaults to wall) */
  readonly runtime?: number;
}

/** `Sys: …s User: …s Wall: …s flows/second: … Runtime: …s` line; flows/second = processed / wall. */
export function sysLine(times: RunTimes, processed: number): string {
  const fps = processed / times.wall;
  return `Sys: ${cfloat(times.sys, 4)}s User: ${cfloat(times.user, 4)}s Wall: ${cfloat(times.wall, 4)}s flows/second: ${cfloat(fps, 1)} Runtime: ${cfloat(times.runtime ?? times.wall, 4)}s\n`;
}

/** Printed (before the summary) when no flow passed the filter. */
export const NO_MATCHING_FLOWS = "No matching flows\n";

/** Everything nfdump prints after a text listing: Summary, Time window, Total, Sys. */
export function textFooter(
  t: SummaryTotals,
  window: { readonly firstMs: number; readonly lastMs: number },
  counts: {
    readonly processed: number;
    readonly passed: number;
    readonly blocksSkipped: number;
    readonly bytesRead: number;
  },
  times: RunTimes,
  plain = false,
): string {
  return (
    summaryLine(t, plain) +
    timeWindowLine(window.firstMs, window.lastMs) +
    totalLine(counts.processed, counts.passed, counts.blocksSkipped, counts.bytesRead) +
    sysLine(times, counts.processed)
  );
}
