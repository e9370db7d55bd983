// SPDX-License-Identifier: BSD-3-Clause
// Text, csv and json layout of `-s` statistics tables (nfdump 1.7.1 nfstat.c PrintElementStat,
// PrintStatLine, PrintCvsStatLine). The statistics engine computes the rows; this module only prints them:
//
//   Top 5 Src IP Addr ordered by bytes:
//   Date first seen                 Duration Proto       Src IP Addr    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp
//   2025-12-31 23:58:37.349     00:03:55.394 any            10.0.0.0      864( 4.3)    12340( 3.8)    6.7 M( 3.8)       52   228723   545
//   <blank line>
//
// Percentages are relative to the run's totals (an `ip` statistic counts a flow for both sides, so they can
// sum above 100). With -q the title and header go, the rows and the blank line stay (csv keeps its header).

import {
  bits,
  bytesPerPacket,
  condenseV6,
  durationPlain,
  durationString,
  fixed1,
  formatNumber,
  intString,
  localDateTime,
  localTimeMs,
  msToSeconds3,
  protoString,
  sumText,
  truncU64,
  wrapped,
} from "./text.js";
import { exactOf, TWO53 } from "../record/u64.js";

const U64 = 1n << 64n;

/** One row of a statistic: the element value as text plus its counters. */
export interface StatRow {
  /** The element value as text: `10.0.0.1`, full IPv6 text, `443`, `aa:bb:…`, … */
  readonly key: string;
  /** IP protocol of the row (printed when the table is split by protocol). */
  readonly proto: number;
  /** min msecFirst / max msecLast of the flows of this element (ms). */
  readonly first: number;
  readonly last: number;
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
  /** exact − double of flows, packets and bytes once a sum reached 2^53 (record/u64.ts); absent = 0 */
  readonly flowsFix?: number;
  readonly packetsFix?: number;
  readonly bytesFix?: number;
}

export interface StatTableSpec {
  /** nfdump's element header text: `Src IP Addr`, `Dst Port`, `Protocol`, `Src AS`, … */
  readonly element: string;
  /** order name as given: `flows`, `packets`, `bytes`, `pps`, `bps`, `bpp`, `ipkg`, … */
  readonly order: string;
  /** -n (0 = all): printed in the title */
  readonly topN: number;
  /** the value is an IP address (IPv6 condensing, -6 layout) */
  readonly isAddress?: boolean;
  /** `:p` or `-s proto`: print the protocol instead of `any` */
  readonly byProto?: boolean;
  /** which counters the csv header names (default from the order: flows/i* = in, o* = out, else in+out) */
  readonly inout?: "in" | "out" | "inout";
}

export interface StatTotals {
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
  /** exact − double of the totals once they reached 2^53 (record/u64.ts); absent = 0 */
  readonly flowsFix?: number;
  readonly packetsFix?: number;
  readonly bytesFix?: number;
}

export interface StatPrintOptions {
  readonly plain?: boolean;
  readonly longV6?: boolean;
  readonly quiet?: boolean;
}

interface Derived {
  readonly durMs: number;
  readonly pps: number;
  readonly bps: number;
  readonly bpp: number;
  readonly flowsP: number;
  readonly packetsP: number;
  readonly bytesP: number;
}

function derive(r: StatRow, t: StatTotals): Derived {
  const durMs = r.last - r.first;
  const d = durMs / 1000;
  return {
    durMs,
    pps: d !== 0 ? truncU64(wrapped(r.packets, r.packetsFix ?? 0) / d) : 0,
    bps: d !== 0 ? truncU64(bits(r.bytes, r.bytesFix ?? 0) / d) : 0,
    bpp: bytesPerPacket(r.bytes, r.bytesFix ?? 0, r.packets, r.packetsFix ?? 0),
    flowsP: percent(r.flows, r.flowsFix ?? 0, t.flows, t.flowsFix ?? 0),
    packetsP: percent(r.packets, r.packetsFix ?? 0, t.packets, t.packetsFix ?? 0),
    bytesP: percent(r.bytes, r.bytesFix ?? 0, t.bytes, t.bytesFix ?? 0),
  };
}

/**
 * A row's share of a total as nfdump computes it: `(double)(value * 100) / (double)total` in uint64 arithmetic
 * (value × 100 and the total wrap to 64 bits; a total of 0 gives 0). Sums past 2^64 print nfdump's numbers
 * (above 100 or tiny), never Infinity or NaN.
 */
export function percent(v: number, vFix: number, t: number, tFix: number): number {
  if (v < 2 ** 46 && t < TWO53 && vFix === 0 && tFix === 0) return t ? (v * 100) / t : 0;
  const total = exactOf(t, tFix) % U64;
  return total === 0n ? 0 : Number((exactOf(v, vFix) * 100n) % U64) / Number(total);
}

const pct = (x: number): string => fixed1(x).padStart(4);

function inoutOf(spec: StatTableSpec): "in" | "out" | "inout" {
  if (spec.inout) return spec.inout;
  if (spec.order === "flows" || spec.order.startsWith("i")) return "in";
  if (spec.order.startsWith("o")) return "out";
  return "inout";
}

/** The text table (title, header, rows, blank line) as nfdump 1.7.1 prints it. */
export function formatStatTable(
  spec: StatTableSpec,
  rows: readonly StatRow[],
  totals: StatTotals,
  opts: StatPrintOptions = {},
): string {
  const plain = opts.plain ?? false;
  const v6layout = (opts.longV6 ?? false) && (spec.isAddress ?? false);
  let s = "";
  if (!opts.quiet) {
    s +=
      spec.topN !== 0
        ? `Top ${spec.topN} ${spec.element} ordered by ${spec.order}:\n`
        : `Top ${spec.element} ordered by ${spec.order}:\n`;
    s += `Date first seen                 Duration Proto ${spec.element.padStart(v6layout ? 39 : 17)}    Flows(%)     Packets(%)       Bytes(%)         pps      bps   bpp\n`;
  }
  for (const r of rows) {
    const d = derive(r, totals);
    const proto = spec.byProto ? protoString(r.proto, plain) : "any";
    let key = r.key;
    if (spec.isAddress && !(opts.longV6 ?? false) && key.includes(":")) key = condenseV6(key);
    const n = (x: number): string => formatNumber(x, plain, true).padStart(8);
    // under -N a sum from 2^53 up prints exactly; scaled, the sum wrapped to 64 bits as nfdump's (`18446744.1 T`)
    const x = (v: number, e: number | undefined): string =>
      plain ? sumText(v, e ?? 0).padStart(8) : n(wrapped(v, e ?? 0));
    const dur = v6layout
      ? (d.durMs / 1000).toFixed(3).padStart(9)
      : (plain ? durationPlain(d.durMs) : durationString(d.durMs)).padStart(9);
    s +=
      `${localTimeMs(r.first)} ${dur} ${proto.padEnd(5)} ${key.padStart(v6layout ? 39 : 17)} ` +
      `${x(r.flows, r.flowsFix)}(${pct(d.flowsP)}) ${x(r.packets, r.packetsFix)}(${pct(d.packetsP)}) ${x(r.bytes, r.bytesFix)}(${pct(d.bytesP)}) ` +
      `${n(d.pps)} ${n(d.bps)} ${intString(d.bpp).padStart(5)}\n`;
  }
  return `${s}\n`;
}

/** `-s … -o csv` (1.7.1): header, rows, blank line. */
export function formatStatTableCsv(
  spec: StatTableSpec,
  rows: readonly StatRow[],
  totals: StatTotals,
  opts: StatPrintOptions = {},
): string {
  const plain = opts.plain ?? false;
  const io = inoutOf(spec);
  let s =
    io === "in"
      ? "ts,te,td,pr,val,fl,flP,ipkt,ipktP,ibyt,ibytP,ipps,ibps,ibpp\n"
      : io === "out"
        ? "ts,te,td,pr,val,fl,flP,opkt,opktP,obyt,obytP,opps,obps,obpp\n"
        : "ts,te,td,pr,val,fl,flP,pkt,pktP,byt,bytP,pps,bps,bpp\n";
  for (const r of rows) {
    const d = derive(r, totals);
    const proto = spec.byProto ? protoString(r.proto, plain) : "any";
    s +=
      `${localDateTime(Math.floor(r.first / 1000))},${localDateTime(Math.floor(r.last / 1000))},${msToSeconds3(d.durMs)},${proto},${r.key},` +
      `${sumText(r.flows, r.flowsFix ?? 0)},${fixed1(d.flowsP)},${sumText(r.packets, r.packetsFix ?? 0)},${fixed1(d.packetsP)},${sumText(r.bytes, r.bytesFix ?? 0)},${fixed1(d.bytesP)},` +
      `${intString(d.pps)},${intString(d.bps)},${intString(d.bpp)}\n`;
  }
  return `${s}\n`;
}

/**
 * JSON form of a statistic (tsflow's own; 1.7.1 had none): one object per table with the rows in order.
 * Keys follow nfdump master's csv names.
 */
export function formatStatTableJson(spec: StatTableSpec, rows: readonly StatRow[], totals: StatTotals): string {
  const items = rows.map((r) => {
    const d = derive(r, totals);
    return (
      `{"first":"${localTimeMs(r.first)}","last":"${localTimeMs(r.last)}","duration":${msToSeconds3(d.durMs)},` +
      `"proto":${spec.byProto ? r.proto : `"any"`},"value":${JSON.stringify(r.key)},"flows":${sumText(r.flows, r.flowsFix ?? 0)},` +
      `"flows_pct":${fixed1(d.flowsP)},"packets":${sumText(r.packets, r.packetsFix ?? 0)},"packets_pct":${fixed1(d.packetsP)},` +
      `"bytes":${sumText(r.bytes, r.bytesFix ?? 0)},"bytes_pct":${fixed1(d.bytesP)},"pps":${intString(d.pps)},"bps":${intString(d.bps)},"bpp":${intString(d.bpp)}}`
    );
  });
  return `{"stat":${JSON.stringify(spec.element)},"order":${JSON.stringify(spec.order)},"top":${spec.topN},"rows":[${items.join(",")}]}\n`;
}

/**
 * The text table's fields as cells (tsweb): the columns of formatStatTable, each count and its percentage in
 * separate cells, the same numbers as the text (-N: plain).
 */
export function statTableCells(
  spec: StatTableSpec,
  rows: readonly StatRow[],
  totals: StatTotals,
  opts: StatPrintOptions = {},
): { columns: string[]; rows: string[][] } {
  const plain = opts.plain ?? false;
  const columns = [
    "Date first seen",
    "Duration",
    "Proto",
    spec.element,
    "Flows",
    "Flows %",
    "Packets",
    "Packets %",
    "Bytes",
    "Bytes %",
    "pps",
    "bps",
    "bpp",
  ];
  const out = rows.map((r) => {
    const d = derive(r, totals);
    let key = r.key;
    if (spec.isAddress && !(opts.longV6 ?? false) && key.includes(":")) key = condenseV6(key);
    const n = (x: number): string => formatNumber(x, plain, true).trim();
    return [
      localTimeMs(r.first),
      (plain ? durationPlain(d.durMs) : durationString(d.durMs)).trim(),
      spec.byProto ? protoString(r.proto, plain) : "any",
      key,
      n(wrapped(r.flows, r.flowsFix ?? 0)),
      fixed1(d.flowsP),
      n(wrapped(r.packets, r.packetsFix ?? 0)),
      fixed1(d.packetsP),
      n(wrapped(r.bytes, r.bytesFix ?? 0)),
      fixed1(d.bytesP),
      n(d.pps),
      n(d.bps),
      intString(d.bpp),
    ];
  });
  return { columns, rows: out };
}
