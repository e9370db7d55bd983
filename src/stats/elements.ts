// SPDX-License-Identifier: BSD-3-Clause
// The -s statistic elements and the `-s elem[:p][/order[/order…]]` parser.
//
// Element names and header texts follow nfdump 1.7.1's StatParameters[] (src/nfdump/nfstat.c), including
// its quirks: `tos` counts the source ToS only (as `srctos`), `inmac` only the in-source MAC (header
// "In Src Mac"), `srcmac` = in-src + out-src, `dstmac` = out-dst + in-dst, `outmac` = out-src + out-dst.
// Two-sided elements (ip, port, as, if, mask, vlan, srcmac, dstmac, outmac, xip, xport) count a flow once for
// every side, as nfdump does. Later additions (flags, minttl, maxttl, mac, NAT names of 1.7.5+) are accepted too.

import { COLUMN, type ColumnName } from "../record/schema.js";
import { didYouMean, StatsError } from "./errors.js";
import { findOrder, type OrderDef, parseDirection } from "./orders.js";

/** How a key value is shown. */
export type KeyKind = "number" | "hex" | "addr" | "mac" | "mpls" | "event" | "proto" | "flags";

/** Columns a statistic may count: scalar integers, addresses, MACs. */
export type StatColumn = ColumnName;

export interface StatElement {
  readonly name: string;
  /** nfdump's header text ("Src IP Addr"); the formatter right-aligns it. */
  readonly header: string;
  readonly kind: KeyKind;
  /** One column per side; a flow is counted once for each. */
  readonly columns: readonly StatColumn[];
}

const e = (name: string, header: string, kind: KeyKind, ...columns: StatColumn[]): StatElement => ({
  name,
  header,
  kind,
  columns,
});

export const STAT_ELEMENTS: readonly StatElement[] = [
  e("srcip", "Src IP Addr", "addr", "srcAddr"),
  e("dstip", "Dst IP Addr", "addr", "dstAddr"),
  e("ip", "IP Addr", "addr", "srcAddr", "dstAddr"),
  e("nhip", "Nexthop IP", "addr", "nextHop"),
  e("nhbip", "Nexthop BGP IP", "addr", "bgpNextHop"),
  e("router", "Router IP", "addr", "exporterAddr"),
  e("srcport", "Src Port", "number", "srcPort"),
  e("dstport", "Dst Port", "number", "dstPort"),
  e("port", "Port", "number", "srcPort", "dstPort"),
  e("proto", "Protocol", "proto", "proto"),
  e("tos", "Tos", "number", "srcTos"),
  e("srctos", "Tos", "number", "srcTos"),
  e("dsttos", "Dst Tos", "number", "dstTos"),
  e("dir", "Dir", "number", "direction"),
  e("srcas", "Src AS", "number", "srcAs"),
  e("dstas", "Dst AS", "number", "dstAs"),
  e("prevas", "Prev AS", "number", "prevAs"),
  e("nextas", "Next AS", "number", "nextAs"),
  e("as", "AS", "number", "srcAs", "dstAs"),
  e("inif", "Input If", "number", "input"),
  e("outif", "Output If", "number", "output"),
  e("if", "In/Out If", "number", "input", "output"),
  e("srcmask", "Src Mask", "number", "srcMask"),
  e("dstmask", "Dst Mask", "number", "dstMask"),
  e("mask", "Mask", "number", "srcMask", "dstMask"),
  e("srcvlan", "Src Vlan", "number", "srcVlan"),
  e("dstvlan", "Dst Vlan", "number", "dstVlan"),
  e("vlan", "Vlan", "number", "srcVlan", "dstVlan"),
  e("insrcmac", "In Src Mac", "mac", "inSrcMac"),
  e("outdstmac", "Out Dst Mac", "mac", "outDstMac"),
  e("indstmac", "In Dst Mac", "mac", "inDstMac"),
  e("outsrcmac", "Out Src Mac", "mac", "outSrcMac"),
  e("srcmac", "Src Mac", "mac", "inSrcMac", "outSrcMac"),
  e("dstmac", "Dst Mac", "mac", "outDstMac", "inDstMac"),
  e("inmac", "In Src Mac", "mac", "inSrcMac"),
  e("outmac", "Out Src Mac", "mac", "outSrcMac", "outDstMac"),
  e("mac", "Mac Addr", "mac", "inSrcMac", "outDstMac", "inDstMac", "outSrcMac"),
  e("mpls1", " MPLS lab 1", "mpls", "mpls1"),
  e("mpls2", " MPLS lab 2", "mpls", "mpls2"),
  e("mpls3", " MPLS lab 3", "mpls", "mpls3"),
  e("mpls4", " MPLS lab 4", "mpls", "mpls4"),
  e("mpls5", " MPLS lab 5", "mpls", "mpls5"),
  e("mpls6", " MPLS lab 6", "mpls", "mpls6"),
  e("mpls7", " MPLS lab 7", "mpls", "mpls7"),
  e("mpls8", " MPLS lab 8", "mpls", "mpls8"),
  e("mpls9", " MPLS lab 9", "mpls", "mpls9"),
  e("mpls10", "MPLS lab 10", "mpls", "mpls10"),
  e("odid", "obs domainID", "hex", "observationDomain"),
  e("event", " Event", "event", "fwEvent"),
  e("nevent", " Event", "event", "natEvent"),
  e("nat", "NAT Event", "event", "natEvent"),
  e("xevent", "X-Event", "number", "fwXEvent"),
  e("xsrcip", "X-Src IP Addr", "addr", "xlateSrcAddr"),
  e("xdstip", "X-Dst IP Addr", "addr", "xlateDstAddr"),
  e("xip", "X-IP Addr", "addr", "xlateSrcAddr", "xlateDstAddr"),
  e("xsrcport", " X-Src Port", "number", "xlateSrcPort"),
  e("xdstport", " X-Dst Port", "number", "xlateDstPort"),
  e("xport", "X-Port", "number", "xlateSrcPort", "xlateDstPort"),
  e("nsrcip", "X-Src IP Addr", "addr", "xlateSrcAddr"),
  e("ndstip", "X-Dst IP Addr", "addr", "xlateDstAddr"),
  e("nsrcport", " X-Src Port", "number", "xlateSrcPort"),
  e("ndstport", " X-Dst Port", "number", "xlateDstPort"),
  e("natsrcip", "X-Src IP Addr", "addr", "xlateSrcAddr"),
  e("natdstip", "X-Dst IP Addr", "addr", "xlateDstAddr"),
  e("natip", "X-IP Addr", "addr", "xlateSrcAddr", "xlateDstAddr"),
  e("natsrcport", "X-Src Port", "number", "xlateSrcPort"),
  e("natdstport", "X-Dst Port", "number", "xlateDstPort"),
  e("natport", "X-Port", "number", "xlateSrcPort", "xlateDstPort"),
  e("ivrf", " I-vrf-ID", "number", "ingressVrf"),
  e("evrf", " E-vrf-ID", "number", "egressVrf"),
  e("flags", "TCPflags", "flags", "tcpFlags"),
  e("minttl", "minTTL", "number", "ipMinTtl"),
  e("maxttl", "maxTTL", "number", "ipMaxTtl"),
  e("sysid", "SysID", "number", "exporterId"),
];

const BY_NAME = new Map(STAT_ELEMENTS.map((x) => [x.name, x]));

/** Maximum -s options per run (nfdump MaxStats). */
export const MAX_STATS = 8;

/** A parsed `-s` element statistic. */
export interface ElementStatSpec {
  readonly type: "element";
  readonly text: string;
  readonly element: StatElement;
  /** `:p` given (always for `proto`): one row per (value, protocol). */
  readonly protoSplit: boolean;
  /** The requested orders in nfdump's print order (table order, not command-line order), de-duplicated. */
  readonly orders: readonly OrderDef[];
  /** Sort ascending (master's `order:a`; 1.7.1 parses it but ignores it for more than 100 entries). */
  readonly ascending: boolean;
}

/** `-s record[/order…]`: a flow-record listing sorted by the orders (uses -A/-a aggregation when given). */
export interface RecordStatSpec {
  readonly type: "record";
  readonly text: string;
  readonly orders: readonly OrderDef[];
  readonly ascending: boolean;
}

export type StatSpec = ElementStatSpec | RecordStatSpec;

/**
 * Parses one `-s` argument: `elem[:p][/order[:a|:d][/order…]]`, names case-insensitive; the default order is
 * `flows`.
 * @throws StatsError ERR_STATS_UNKNOWN_ELEMENT / ERR_STATS_UNKNOWN_ORDER (with "did you mean"), ERR_STATS_BAD_SPEC.
 */
export function parseStatSpec(text: string): StatSpec {
  const parts = text.trim().split("/");
  const head = parts[0] ?? "";
  const colon = head.indexOf(":");
  const name = (colon >= 0 ? head.slice(0, colon) : head).toLowerCase();
  const opt = colon >= 0 ? head.slice(colon + 1) : undefined;
  if (name === "") throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: empty statistic in '${text}'`);
  const isRecord = name === "record";
  const element = BY_NAME.get(name);
  if (!isRecord && !element) {
    throw new StatsError(
      "ERR_STATS_UNKNOWN_ELEMENT",
      `statistics: unknown statistic '${name}'${didYouMean(name, ["record", ...BY_NAME.keys()])}`,
    );
  }
  if (opt !== undefined && opt !== "p") {
    throw new StatsError(
      "ERR_STATS_BAD_SPEC",
      `statistics: unknown option ':${opt}' in '${text}' (only :p splits by protocol)`,
    );
  }
  const orderTexts = parts.length > 1 ? parts.slice(1) : ["flows"];
  const orders: OrderDef[] = [];
  let ascending: boolean | undefined;
  for (const t of orderTexts) {
    if (t === "") throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: empty order in '${text}'`);
    const [oname = "", dir] = t.split(":");
    const order = findOrder(oname, isRecord);
    ascending = parseDirection(dir, order.ascending, text);
    if (!orders.includes(order)) orders.push(order);
  }
  orders.sort((a, b) => a.index - b.index);
  if (isRecord) return { type: "record", text, orders, ascending: ascending ?? false };
  return {
    type: "element",
    text,
    element: element!,
    protoSplit: opt === "p" || name === "proto",
    orders,
    ascending: ascending ?? false,
  };
}

/** Parses several `-s` options (at most MAX_STATS element statistics, as nfdump). */
export function parseStatSpecs(texts: readonly string[]): StatSpec[] {
  const specs = texts.map((t) => parseStatSpec(t));
  if (specs.filter((s) => s.type === "element").length > MAX_STATS) {
    throw new StatsError("ERR_STATS_TOO_MANY", `statistics: too many -s options (at most ${MAX_STATS} per run)`);
  }
  return specs;
}

/** Words of u32 a value of this column takes in a key (1 for scalars and IPv4; the v6 table uses 4). */
export function columnKind(col: StatColumn): "scalar" | "addr" | "mac" | "f64" {
  const t = COLUMN[col].type;
  if (t === "addr") return "addr";
  if (t === "mac") return "mac";
  if (t === "f64") return "f64";
  return "scalar";
}
