// SPDX-License-Identifier: BSD-3-Clause
// The nfdump `fmt:` engine: a format string of %tokens and literal text, compiled once into an array of small
// writer functions (one per token, nfdump's token_list), plus the header line nfdump prints above it.
// `line`, `long`, `extended`, `biline`, `bilong`, `nsel`, `nel` are predefined formats of this engine and
// `%line` inside a user format expands to its definition (nfdump RecursiveReplace, same quirks).
//
// Token matching copies nfdump 1.7.1 ParseOutputFormat(): tokens are tried in table order and a token matches
// when the next character is not a letter — so `%mpls10` is `%mpls1` followed by the literal `0`, as in nfdump.
// Widths and texts are output_fmt.c's (1.7.1 NSEL build).

import { rawElementOf, RecordBatch } from "../record/batch.js";
import { ViewCache, type BatchView } from "./view.js";
import {
  compileRows,
  addrCode,
  timeCode,
  uintCode,
  type ByteWriter,
  type RowCode,
  type RowPart,
  type RowsWriter,
} from "./rows.js";
import { OUTPUT_RECORD_MAX, type BufferedOutput } from "./out.js";
import {
  putAscii,
  putCounterRight,
  putIPv4Right,
  putLeft,
  putRight,
  putUIntLeft,
  putUIntRight,
  putUIntZero,
} from "./bytes.js";
import { fixName, TWO53, type ExactCounter } from "../record/u64.js";
import { V6_BIT, type AddrColumnName } from "../record/schema.js";
import {
  addrColumns,
  counterColumns,
  DURATION_COLUMNS,
  type FormatColumn,
  ICMP_COLUMNS,
  RAW_ELEMENTS,
} from "./columns.js";
import { FormatError } from "./errors.js";
import { userText } from "./json.js";
import {
  bits,
  bytesPerPacket,
  counterText,
  condenseV6,
  durationString,
  localDateTime,
  counter8,
  durationFast,
  padNum,
  port5,
  durationPlain,
  durationSeconds,
  flagsString,
  formatIPv4,
  formatIPv6,
  intString,
  localTimeMs,
  macString,
  maskV4Net,
  maskV6Net,
  mplsString,
  msToSeconds3,
  protoString,
  secOf,
  msPart,
  truncU64,
} from "./text.js";

/** Writes one field of row `i`. */
export type FieldWriter = (b: BatchView, i: number) => string;

export interface FmtOptions {
  /** -N: plain numbers, numeric protocol, duration in seconds. */
  readonly plain?: boolean;
  /** -6 / `line6`: full IPv6 addresses in 39-character columns. */
  readonly longV6?: boolean;
}

/** The predefined formats of nfdump 1.7.1 (printmap, NSEL build), in printmap order (matters for `%name`). */
export const PREDEFINED_FORMATS: readonly (readonly [string, string])[] = [
  ["line", "%ts %td %pr %sap -> %dap %pkt %byt %fl"],
  ["long", "%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %fl"],
  ["extended", "%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %pps %bps %bpp %fl"],
  ["biline", "%ts %td %pr %sap <-> %dap %opkt %ipkt %obyt %ibyt %fl"],
  ["bilong", "%ts %td %pr %sap <-> %dap %flg %tos %opkt %ipkt %obyt %ibyt %fl"],
  ["nsel", "%tevt %evt %xevt %pr %sap -> %dap %xsap -> %xdap %ibyt %obyt"],
  ["nel", "%tevt %nevt %pr %sap -> %dap %nsap -> %ndap"],
];

interface Ctx {
  readonly plain: boolean;
  readonly longV6: boolean;
  /** %cnt: running record counter of this formatter. */
  counter: number;
}

interface TokenDef {
  readonly token: string;
  readonly isAddress: boolean;
  readonly header: string;
  readonly make: (ctx: Ctx) => FieldWriter;
}

// ── address helpers ──────────────────────────────────────────────────────────────────────────────────

function addrText(b: BatchView, col: AddrColumnName, i: number, longV6: boolean): string {
  const c = b.cols;
  if ((c.v6Flags[i]! & V6_BIT[col]) !== 0) {
    const s = formatIPv6(c[`${col}6`], i * 4);
    return longV6 ? s : condenseV6(s);
  }
  return formatIPv4(c[col][i]!);
}

function isV6(b: BatchView, col: AddrColumnName, i: number): boolean {
  return (b.cols.v6Flags[i]! & V6_BIT[col]) !== 0;
}

function addr(col: AddrColumnName): (ctx: Ctx) => FieldWriter {
  return (ctx) => {
    const w = ctx.longV6 ? 39 : 16;
    const lv6 = ctx.longV6;
    return (b, i) => addrText(b, col, i, lv6).padStart(w);
  };
}

function icmpPort(b: BatchView, i: number): string {
  const c = b.cols;
  const p = c.proto[i]!;
  const dp = c.dstPort[i]!;
  if (p === 1 || p === 58) {
    if (dp === 0 && (c.icmpType[i]! !== 0 || c.icmpCode[i]! !== 0)) return `${c.icmpType[i]!}.${c.icmpCode[i]!}`;
    return `${dp >>> 8}.${dp & 0xff}`;
  }
  return intString(dp);
}

/** ICMP type of an ICMP flow (the icmpType column, else the high byte of dstPort); the column otherwise. */
export function icmpTypeOf(b: BatchView, i: number): number {
  const c = b.cols;
  const p = c.proto[i]!;
  if ((p === 1 || p === 58) && c.icmpType[i]! === 0 && c.icmpCode[i]! === 0) return c.dstPort[i]! >>> 8;
  return c.icmpType[i]!;
}

/** ICMP code, same rules as icmpTypeOf. */
export function icmpCodeOf(b: BatchView, i: number): number {
  const c = b.cols;
  const p = c.proto[i]!;
  if ((p === 1 || p === 58) && c.icmpType[i]! === 0 && c.icmpCode[i]! === 0) return c.dstPort[i]! & 0xff;
  return c.icmpCode[i]!;
}

function addrPort(col: AddrColumnName, port: "srcPort" | "dstPort" | "xlateSrcPort" | "xlateDstPort", icmp: boolean) {
  return (ctx: Ctx): FieldWriter => {
    const w = ctx.longV6 ? 39 : 16;
    const lv6 = ctx.longV6;
    return (b, i) => {
      if (!icmp) {
        const p = b.cols[port][i]!;
        return `${addrText(b, col, i, lv6).padStart(w)}${isV6(b, col, i) ? "." : ":"}${port5(p)}`;
      }
      const pt = icmpPort(b, i);
      return `${addrText(b, col, i, lv6).padStart(w)}${isV6(b, col, i) ? "." : ":"}${pt.length < 5 ? pt.padEnd(5) : pt}`;
    };
  };
}

function net(col: "srcAddr" | "dstAddr", mask: "srcMask" | "dstMask") {
  return (ctx: Ctx): FieldWriter => {
    const w = ctx.longV6 ? 39 : 16;
    const lv6 = ctx.longV6;
    const tmp = new Uint32Array(4);
    return (b, i) => {
      const m = b.cols[mask][i]!;
      let s: string;
      if (isV6(b, col, i)) {
        maskV6Net(b.cols[`${col}6`], i * 4, m, tmp);
        s = formatIPv6(tmp, 0);
        if (!lv6) s = condenseV6(s);
      } else {
        // nfdump: 0xffffffff << (32 - mask) on a 32-bit int; mask 0 shifts by 32 (a no-op on x86)
        const v = b.cols[col][i]!;
        s = formatIPv4(m === 0 ? v : maskV4Net(v, m));
      }
      return `${s.padStart(w)}/${String(m).padEnd(2)}`;
    };
  };
}

// ── number helpers ───────────────────────────────────────────────────────────────────────────────────

const u = (width: number, get: (b: BatchView, i: number) => number) => (): FieldWriter => (b, i) =>
  padNum(get(b, i), width);

/** A u64 counter column: scaled as nfdump, or with -N its exact value (record/u64.ts). */
const exactCounter =
  (name: ExactCounter) =>
  (ctx: Ctx): FieldWriter => {
    const plain = ctx.plain;
    const fx = fixName(name);
    return (b, i) => {
      const v = b.cols[name][i]!;
      return plain && v >= TWO53 ? counterText(b.cols[name], b.cols[fx], i).padStart(8) : counter8(v, plain);
    };
  };

const lit = (s: string) => (): FieldWriter => () => s;

function durationMs(b: BatchView, i: number): number {
  return b.cols.msecLast[i]! - b.cols.msecFirst[i]!;
}

export const FW_EVENT = ["IGNORE", "CREATE", "DELETE", "DENIED", "ALERT", "UPDATE"];
// prettier-ignore
export const NAT_EVENT = [
  "INVALID", "ADD", "DELETE", "EXHAUST", "ADD44", "DEL44", "ADD64", "DEL64", "ADD44BIB", "DEL44BIB", "ADD64BIB",
  "DEL64BIB", "PEXHAUST", "QUOTAEXH", "ADDADDR", "DELADDR", "ADDPBLK", "DELPBLK", "THRESHLD",
];

function eventText(b: BatchView, i: number): string {
  const c = b.cols;
  const xevt = c.fwXEvent[i]!;
  const ev = c.fwEvent[i]! || c.natEvent[i]!;
  if (xevt !== 0) return FW_EVENT[ev] ?? "UNKNOWN";
  return NAT_EVENT[ev] ?? "INVALID";
}

/** Raw element (0, `id`) of row i of the view's batch (NSEL values kept raw: connection id, ACLs, user name). */
function rawOf(b: BatchView, i: number, id: number): Uint8Array | undefined {
  const batch = b.batch ?? (b instanceof RecordBatch ? b : undefined);
  return batch === undefined ? undefined : rawElementOf(batch, i, 0, id);
}

/** A value of fewer than 4 bytes, right-aligned in 4 (a short connection id). */
function padded4(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(4);
  out.set(x.subarray(0, 4), 4 - Math.min(4, x.length));
  return out;
}

/** Up to 4 big-endian bytes at `k` of `x` as an unsigned integer (0 past the end). */
function beWord(x: Uint8Array | undefined, k: number): number {
  if (x === undefined || x.length < k + 4) return 0;
  return ((x[k]! << 24) | (x[k + 1]! << 16) | (x[k + 2]! << 8) | x[k + 3]!) >>> 0;
}

export function xeventText(x: number): string {
  switch (x) {
    case 0:
      return "Ignore";
    case 1001:
      return "I-ACL";
    case 1002:
      return "E-ACL";
    case 1003:
      return "Adap";
    case 1004:
      return "No Syn";
    default:
      return String(x);
  }
}

function nfVersion(v: number): string {
  if (v === 0) return "FLO";
  if (v === 133) return "Sv5"; // sFlow v5 (nfdump: 0x80 | 5)
  if (v & 0x80) return `Sv${v & 0x0f}`;
  if (v & 0x40) return `Pv${v & 0x0f}`;
  return `Nv${v & 0x0f}`;
}

function mpls(k: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10) {
  const col = `mpls${k}` as const;
  return (): FieldWriter => (b, i) => mplsString(b.cols[col][i]!, 8);
}

// ── the token table (nfdump 1.7.1 format_token_list order) ───────────────────────────────────────────

const T = (token: string, isAddress: boolean, header: string, make: (ctx: Ctx) => FieldWriter): TokenDef => ({
  token,
  isAddress,
  header,
  make,
});

const firstSeen = (): FieldWriter => (b, i) => localTimeMs(b.cols.msecFirst[i]!);
const evt = (): FieldWriter => (b, i) => eventText(b, i).padStart(7);

export const FMT_TOKENS: readonly TokenDef[] = [
  T("%nfv", false, "Ver", () => (b, i) => nfVersion(b.cols.nfVersion[i]!)),
  T("%cnt", false, "Count", (ctx) => () => String(++ctx.counter).padStart(5)),
  T("%tfs", false, "Date first seen        ", firstSeen),
  T("%ts", false, "Date first seen        ", firstSeen),
  T(
    "%tsr",
    false,
    "Date first seen (raw)    ",
    () => (b, i) => `${secOf(b.cols.msecFirst[i]!)}.${msPart(b.cols.msecFirst[i]!)}`,
  ),
  T("%te", false, "Date last seen         ", () => (b, i) => localTimeMs(b.cols.msecLast[i]!)),
  // 1.7.1 prints msecLast % 100 here (sic)
  T(
    "%ter",
    false,
    "Date last seen (raw)     ",
    () => (b, i) => `${secOf(b.cols.msecLast[i]!)}.${msPart(b.cols.msecLast[i]! % 100)}`,
  ),
  T("%tr", false, "Date flow received     ", () => (b, i) => localTimeMs(b.cols.msecReceived[i]!)),
  T("%trr", false, "Date flow received (raw)  ", () => (b, i) => msToSeconds3(b.cols.msecReceived[i]!)),
  T("%td", false, "    Duration    ", (ctx) =>
    ctx.plain ? (b, i) => durationPlain(durationMs(b, i)) : (b, i) => durationFast(durationMs(b, i)),
  ),
  T("%tds", false, "    Duration    ", () => (b, i) => durationPlain(durationMs(b, i))),
  T(
    "%exp",
    false,
    "Exp ID",
    u(6, (b, i) => b.cols.exporterId[i]!),
  ),
  T("%pr", false, "Proto", (ctx) => {
    const plain = ctx.plain;
    return (b, i) => protoString(b.cols.proto[i]!, plain).padEnd(5);
  }),
  T("%sa", true, "     Src IP Addr", addr("srcAddr")),
  T("%da", true, "     Dst IP Addr", addr("dstAddr")),
  T("%sn", true, "        Src Network", net("srcAddr", "srcMask")),
  T("%dn", true, "        Dst Network", net("dstAddr", "dstMask")),
  T("%nh", true, "     Next-hop IP", addr("nextHop")),
  T("%nhb", true, " BGP next-hop IP", addr("bgpNextHop")),
  T("%ra", true, "       Router IP", addr("exporterAddr")),
  T("%sap", true, "     Src IP Addr:Port ", addrPort("srcAddr", "srcPort", false)),
  T("%dap", true, "     Dst IP Addr:Port ", addrPort("dstAddr", "dstPort", true)),
  T(
    "%sp",
    false,
    "Src Pt",
    u(6, (b, i) => b.cols.srcPort[i]!),
  ),
  T("%dp", false, "Dst Pt", () => (b, i) => {
    const p = b.cols.proto[i]!;
    return p === 1 || p === 58 ? icmpPort(b, i).padStart(6) : padNum(b.cols.dstPort[i]!, 6);
  }),
  T("%it", false, "ICMP-T", u(6, icmpTypeOf)),
  T("%ic", false, "ICMP-C", u(6, icmpCodeOf)),
  T(
    "%sas",
    false,
    "Src AS",
    u(6, (b, i) => b.cols.srcAs[i]!),
  ),
  T(
    "%das",
    false,
    "Dst AS",
    u(6, (b, i) => b.cols.dstAs[i]!),
  ),
  T("%nas", false, "Next AS", () => (b, i) => ` ${intString(b.cols.nextAs[i]!).padStart(6)}`),
  T("%pas", false, "Prev AS", () => (b, i) => ` ${intString(b.cols.prevAs[i]!).padStart(6)}`),
  T(
    "%in",
    false,
    " Input",
    u(6, (b, i) => b.cols.input[i]!),
  ),
  T("%inam", false, " Input interface name", lit("")),
  T(
    "%out",
    false,
    "Output",
    u(6, (b, i) => b.cols.output[i]!),
  ),
  T("%onam", false, "Output interface name", lit("")),
  T("%pkt", false, " Packets", exactCounter("inPackets")),
  T("%ipkt", false, "  In Pkt", exactCounter("inPackets")),
  T("%opkt", false, " Out Pkt", exactCounter("outPackets")),
  T("%byt", false, "   Bytes", exactCounter("inBytes")),
  T("%ibyt", false, " In Byte", exactCounter("inBytes")),
  T("%obyt", false, "Out Byte", exactCounter("outBytes")),
  T(
    "%fl",
    false,
    "Flows",
    u(5, (b, i) => b.cols.flows[i]! || 1),
  ),
  T("%flg", false, "   Flags", () => (b, i) => flagsString(b.cols.proto[i]! === 6 ? b.cols.tcpFlags[i]! : 0)),
  T(
    "%tos",
    false,
    "Tos",
    u(3, (b, i) => b.cols.srcTos[i]!),
  ),
  T(
    "%stos",
    false,
    "STos",
    u(4, (b, i) => b.cols.srcTos[i]!),
  ),
  T(
    "%dtos",
    false,
    "DTos",
    u(4, (b, i) => b.cols.dstTos[i]!),
  ),
  T("%dir", false, "Dir", () => (b, i) => (b.cols.direction[i]! ? "  E" : "  I")),
  T(
    "%smk",
    false,
    "SMask",
    u(5, (b, i) => b.cols.srcMask[i]!),
  ),
  T(
    "%dmk",
    false,
    "DMask",
    u(5, (b, i) => b.cols.dstMask[i]!),
  ),
  T(
    "%fwd",
    false,
    "Fwd",
    u(3, (b, i) => b.cols.fwdStatus[i]!),
  ),
  T(
    "%bfd",
    false,
    "Bfd",
    u(3, (b, i) => b.cols.biflowDirection[i]!),
  ),
  T(
    "%end",
    false,
    "End",
    u(3, (b, i) => b.cols.flowEndReason[i]!),
  ),
  T(
    "%svln",
    false,
    "SVlan",
    u(5, (b, i) => b.cols.srcVlan[i]!),
  ),
  T(
    "%dvln",
    false,
    "DVlan",
    u(5, (b, i) => b.cols.dstVlan[i]!),
  ),
  T("%ismc", false, "  In src MAC Addr", () => (b, i) => macString(b.cols.inSrcMac[i]!)),
  T("%odmc", false, " Out dst MAC Addr", () => (b, i) => macString(b.cols.outDstMac[i]!)),
  T("%idmc", false, "  In dst MAC Addr", () => (b, i) => macString(b.cols.inDstMac[i]!)),
  T("%osmc", false, " Out src MAC Addr", () => (b, i) => macString(b.cols.outSrcMac[i]!)),
  T("%mpls1", false, " MPLS lbl 1 ", mpls(1)),
  T("%mpls2", false, " MPLS lbl 2 ", mpls(2)),
  T("%mpls3", false, " MPLS lbl 3 ", mpls(3)),
  T("%mpls4", false, " MPLS lbl 4 ", mpls(4)),
  T("%mpls5", false, " MPLS lbl 5 ", mpls(5)),
  T("%mpls6", false, " MPLS lbl 6 ", mpls(6)),
  T("%mpls7", false, " MPLS lbl 7 ", mpls(7)),
  T("%mpls8", false, " MPLS lbl 8 ", mpls(8)),
  T("%mpls9", false, " MPLS lbl 9 ", mpls(9)),
  T("%mpls10", false, " MPLS lbl 10", mpls(10)),
  T("%mpls", false, `${" ".repeat(47)}MPLS labels 1-10${" ".repeat(67)}`, () => (b, i) => {
    const c = b.cols;
    const all = [c.mpls1, c.mpls2, c.mpls3, c.mpls4, c.mpls5, c.mpls6, c.mpls7, c.mpls8, c.mpls9, c.mpls10];
    let s = "";
    for (const a of all) s += `${mplsString(a[i]!, 8)} `;
    return s;
  }),
  T("%bps", false, "     bps", (ctx) => {
    const plain = ctx.plain;
    return (b, i) => {
      const d = durationSeconds(durationMs(b, i));
      return counter8(d !== 0 ? truncU64(bits(b.cols.inBytes[i]!, b.cols.inBytesFix[i]! | 0) / d) : 0, plain);
    };
  }),
  T("%pps", false, "     pps", (ctx) => {
    const plain = ctx.plain;
    return (b, i) => {
      const d = durationSeconds(durationMs(b, i));
      return counter8(d !== 0 ? truncU64(b.cols.inPackets[i]! / d) : 0, plain);
    };
  }),
  T("%bpp", false, "   Bpp", () => (b, i) => {
    const c = b.cols;
    return padNum(bytesPerPacket(c.inBytes[i]!, c.inBytesFix[i]! | 0, c.inPackets[i]!, c.inPacketsFix[i]! | 0), 6);
  }),
  T(
    "%eng",
    false,
    " engine",
    () => (b, i) => `${intString(b.cols.engineType[i]!).padStart(3)}/${intString(b.cols.engineId[i]!).padEnd(3)}`,
  ),
  T("%lbl", false, "           label", lit("          <none>")),
  T("%sc", false, "SC", lit("..")),
  T("%dc", false, "DC", lit("..")),
  T("%sloc", false, "Src IP location info", lit("")),
  T("%dloc", false, "Dst IP location info", lit("")),
  T("%n", false, "", lit("\n")),
  T("%nbid", false, "nbar ID", lit(" 0..0")),
  T("%ja3", false, "                             ja3", lit(" ".repeat(32))),
  T("%sni", false, "sni name", lit("      ")),
  T("%nbnam", false, "nbar name", lit("<no info>")),
  T("%odid", false, "obsDomainID", () => (b, i) => `0x${b.cols.observationDomain[i]!.toString(16).padStart(9, "0")}`),
  T("%opid", false, "  obsPointID", lit("0x0000000000")),
  T(
    "%vrf",
    false,
    "  I-VRF-ID",
    u(10, (b, i) => b.cols.ingressVrf[i]!),
  ),
  T(
    "%ivrf",
    false,
    "  I-VRF-ID",
    u(10, (b, i) => b.cols.ingressVrf[i]!),
  ),
  T("%ivrfnam", false, "  I-VRF-Name", lit("")),
  T(
    "%evrf",
    false,
    "  E-VRF-ID",
    u(10, (b, i) => b.cols.egressVrf[i]!),
  ),
  T("%evrfnam", false, "  E-VRF-Name", lit("")),
  T("%nfc", false, "   Conn-ID", () => (b, i) => {
    const id = rawOf(b, i, 148);
    return intString(id === undefined ? 0 : id.length >= 4 ? beWord(id, 0) : beWord(padded4(id), 0)).padStart(10);
  }),
  T("%tevt", false, "Event time             ", () => (b, i) => localTimeMs(b.cols.msecEvent[i]!)),
  T("%evt", false, " Event", evt),
  T("%xevt", false, " XEvent", () => (b, i) => xeventText(b.cols.fwXEvent[i]!).padStart(7)),
  T("%sgt", false, "  SGT  ", lit("    0")),
  T("%msec", false, "   Event Time", () => (b, i) => intString(b.cols.msecEvent[i]!).padStart(13)),
  // nfdump 1.7.1 prints the ingress ACL words as `0x%-8x` and the egress ones as `%10u`
  T("%iacl", false, "Ingress ACL                     ", () => (b, i) => {
    const x = rawOf(b, i, 33000);
    return [0, 4, 8].map((k) => `0x${beWord(x, k).toString(16).padEnd(8)}`).join(" ");
  }),
  T("%eacl", false, "Egress ACL                      ", () => (b, i) => {
    const x = rawOf(b, i, 33001);
    return [0, 4, 8].map((k) => intString(beWord(x, k)).padStart(10)).join(" ");
  }),
  T("%xsa", false, "   X-late Src IP", addr("xlateSrcAddr")),
  T("%xda", false, "   X-late Dst IP", addr("xlateDstAddr")),
  T(
    "%xsp",
    false,
    "XsPort",
    u(6, (b, i) => b.cols.xlateSrcPort[i]!),
  ),
  T(
    "%xdp",
    false,
    "XdPort",
    u(6, (b, i) => b.cols.xlateDstPort[i]!),
  ),
  T("%xsap", true, "   X-Src IP Addr:Port ", addrPort("xlateSrcAddr", "xlateSrcPort", false)),
  T("%xdap", true, "   X-Dst IP Addr:Port ", addrPort("xlateDstAddr", "xlateDstPort", false)),
  T("%uname", false, "UserName", () => (b, i) => {
    const x = rawOf(b, i, 40000);
    const name = x === undefined ? "" : userText(x);
    return name === "" ? "<empty>" : name;
  }),
  T("%nevt", false, " Event", evt),
  T("%nsa", false, "   X-late Src IP", addr("xlateSrcAddr")),
  T("%nda", false, "   X-late Dst IP", addr("xlateDstAddr")),
  T(
    "%nsp",
    false,
    "XsPort",
    u(6, (b, i) => b.cols.xlateSrcPort[i]!),
  ),
  T(
    "%ndp",
    false,
    "XdPort",
    u(6, (b, i) => b.cols.xlateDstPort[i]!),
  ),
  T("%nsap", true, "   X-Src IP Addr:Port ", addrPort("xlateSrcAddr", "xlateSrcPort", false)),
  T("%ndap", true, "   X-Dst IP Addr:Port ", addrPort("xlateDstAddr", "xlateDstPort", false)),
  T(
    "%pbstart",
    false,
    "Pb-Start",
    u(7, (b, i) => b.cols.pbStart[i]!),
  ),
  T(
    "%pbend",
    false,
    "Pb-End",
    u(7, (b, i) => b.cols.pbEnd[i]!),
  ),
  T(
    "%pbstep",
    false,
    "Pb-Step",
    u(7, (b, i) => b.cols.pbStep[i]!),
  ),
  T(
    "%pbsize",
    false,
    "Pb-Size",
    u(7, (b, i) => b.cols.pbSize[i]!),
  ),
  T("%cl", false, "C Latency", lit("    0.000")),
  T("%sl", false, "S latency", lit("    0.000")),
  T("%al", false, "A latency", lit("    0.000")),
];

/**
 * The physical columns each token reads (its string writer, byte writer and generated code alike), and the raw
 * elements for the tokens printing them (%nfc, %iacl, %eacl, %uname). Fixed texts read none.
 */
const TOKEN_COLUMNS: ReadonlyMap<string, readonly FormatColumn[]> = new Map<string, readonly FormatColumn[]>([
  ["%nfc", [RAW_ELEMENTS]],
  ["%iacl", [RAW_ELEMENTS]],
  ["%eacl", [RAW_ELEMENTS]],
  ["%uname", [RAW_ELEMENTS]],
  ["%nfv", ["nfVersion"]],
  ["%tfs", ["msecFirst"]],
  ["%ts", ["msecFirst"]],
  ["%tsr", ["msecFirst"]],
  ["%te", ["msecLast"]],
  ["%ter", ["msecLast"]],
  ["%tr", ["msecReceived"]],
  ["%trr", ["msecReceived"]],
  ["%td", DURATION_COLUMNS],
  ["%tds", DURATION_COLUMNS],
  ["%exp", ["exporterId"]],
  ["%pr", ["proto"]],
  ["%sa", addrColumns("srcAddr")],
  ["%da", addrColumns("dstAddr")],
  ["%sn", [...addrColumns("srcAddr"), "srcMask"]],
  ["%dn", [...addrColumns("dstAddr"), "dstMask"]],
  ["%nh", addrColumns("nextHop")],
  ["%nhb", addrColumns("bgpNextHop")],
  ["%ra", addrColumns("exporterAddr")],
  ["%sap", [...addrColumns("srcAddr"), "srcPort"]],
  ["%dap", [...addrColumns("dstAddr"), ...ICMP_COLUMNS]],
  ["%sp", ["srcPort"]],
  ["%dp", ICMP_COLUMNS],
  ["%it", ICMP_COLUMNS],
  ["%ic", ICMP_COLUMNS],
  ["%sas", ["srcAs"]],
  ["%das", ["dstAs"]],
  ["%nas", ["nextAs"]],
  ["%pas", ["prevAs"]],
  ["%in", ["input"]],
  ["%out", ["output"]],
  ["%pkt", counterColumns("inPackets")],
  ["%ipkt", counterColumns("inPackets")],
  ["%opkt", counterColumns("outPackets")],
  ["%byt", counterColumns("inBytes")],
  ["%ibyt", counterColumns("inBytes")],
  ["%obyt", counterColumns("outBytes")],
  ["%fl", ["flows"]],
  ["%flg", ["proto", "tcpFlags"]],
  ["%tos", ["srcTos"]],
  ["%stos", ["srcTos"]],
  ["%dtos", ["dstTos"]],
  ["%dir", ["direction"]],
  ["%smk", ["srcMask"]],
  ["%dmk", ["dstMask"]],
  ["%fwd", ["fwdStatus"]],
  ["%bfd", ["biflowDirection"]],
  ["%end", ["flowEndReason"]],
  ["%svln", ["srcVlan"]],
  ["%dvln", ["dstVlan"]],
  ["%ismc", ["inSrcMac"]],
  ["%odmc", ["outDstMac"]],
  ["%idmc", ["inDstMac"]],
  ["%osmc", ["outSrcMac"]],
  ...([1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const).map((k) => [`%mpls${k}`, [`mpls${k}`]] as const),
  ["%mpls", ["mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9", "mpls10"]],
  ["%bps", [...DURATION_COLUMNS, ...counterColumns("inBytes")]],
  ["%pps", [...DURATION_COLUMNS, "inPackets"]],
  ["%bpp", [...counterColumns("inBytes"), ...counterColumns("inPackets")]],
  ["%eng", ["engineType", "engineId"]],
  ["%odid", ["observationDomain"]],
  ["%vrf", ["ingressVrf"]],
  ["%ivrf", ["ingressVrf"]],
  ["%evrf", ["egressVrf"]],
  ["%tevt", ["msecEvent"]],
  ["%evt", ["fwXEvent", "fwEvent", "natEvent"]],
  ["%nevt", ["fwXEvent", "fwEvent", "natEvent"]],
  ["%xevt", ["fwXEvent"]],
  ["%msec", ["msecEvent"]],
  ["%xsa", addrColumns("xlateSrcAddr")],
  ["%nsa", addrColumns("xlateSrcAddr")],
  ["%xda", addrColumns("xlateDstAddr")],
  ["%nda", addrColumns("xlateDstAddr")],
  ["%xsp", ["xlateSrcPort"]],
  ["%nsp", ["xlateSrcPort"]],
  ["%xdp", ["xlateDstPort"]],
  ["%ndp", ["xlateDstPort"]],
  ["%xsap", [...addrColumns("xlateSrcAddr"), "xlateSrcPort"]],
  ["%nsap", [...addrColumns("xlateSrcAddr"), "xlateSrcPort"]],
  ["%xdap", [...addrColumns("xlateDstAddr"), "xlateDstPort"]],
  ["%ndap", [...addrColumns("xlateDstAddr"), "xlateDstPort"]],
  ["%pbstart", ["pbStart"]],
  ["%pbend", ["pbEnd"]],
  ["%pbstep", ["pbStep"]],
  ["%pbsize", ["pbSize"]],
]);

/** The physical columns a token reads (none for the tokens absent from TOKEN_COLUMNS). */
export function tokenColumns(token: string): readonly FormatColumn[] {
  return TOKEN_COLUMNS.get(token) ?? [];
}

// ── byte writers for the hot tokens (everything else goes through its string writer) ─────────────────

function timeBytes(col: "msecFirst" | "msecLast" | "msecReceived" | "msecEvent") {
  return (): ByteWriter => (b, i, o) => {
    const ms = b.cols[col][i]!;
    putAscii(o, localDateTime(secOf(ms)));
    o.buf[o.pos++] = 46;
    putUIntZero(o, ((ms % 1000) + 1000) % 1000, 3);
  };
}

function addrBytes(col: AddrColumnName) {
  return (ctx: Ctx): ByteWriter => {
    const w = ctx.longV6 ? 39 : 16;
    const lv6 = ctx.longV6;
    const bit = V6_BIT[col];
    return (b, i, o) => {
      if ((b.cols.v6Flags[i]! & bit) === 0) putIPv4Right(o, b.cols[col][i]!, w);
      else putRight(o, addrText(b, col, i, lv6), w);
    };
  };
}

function addrPortBytes(
  col: AddrColumnName,
  port: "srcPort" | "dstPort" | "xlateSrcPort" | "xlateDstPort",
  icmp: boolean,
) {
  return (ctx: Ctx): ByteWriter => {
    const w = ctx.longV6 ? 39 : 16;
    const lv6 = ctx.longV6;
    const bit = V6_BIT[col];
    return (b, i, o) => {
      const c = b.cols;
      const v6 = (c.v6Flags[i]! & bit) !== 0;
      if (!v6) putIPv4Right(o, c[col][i]!, w);
      else putRight(o, addrText(b, col, i, lv6), w);
      o.buf[o.pos++] = v6 ? 46 : 58;
      const p = c.proto[i]!;
      if (icmp && (p === 1 || p === 58)) putLeft(o, icmpPort(b, i), 5);
      else putUIntLeft(o, c[port][i]!, 5);
    };
  };
}

function counterBytes(get: (b: BatchView, i: number) => number) {
  return (ctx: Ctx): ByteWriter => {
    const plain = ctx.plain;
    return (b, i, o) => {
      const n = get(b, i);
      if (n < 1000000 || plain) putUIntRight(o, n, 8);
      else putRight(o, counter8(n, false), 8);
    };
  };
}

function exactCounterBytes(name: ExactCounter) {
  return (ctx: Ctx): ByteWriter => {
    const plain = ctx.plain;
    const fx = fixName(name);
    return (b, i, o) => {
      const v = b.cols[name];
      const n = v[i]!;
      if (n < 1000000 || plain) putCounterRight(o, v, b.cols[fx], i, 8);
      else putRight(o, counter8(n, false), 8);
    };
  };
}

function uBytes(width: number, get: (b: BatchView, i: number) => number) {
  return (): ByteWriter => (b, i, o) => {
    putUIntRight(o, get(b, i), width);
  };
}

const BYTE_TOKENS: ReadonlyMap<string, (ctx: Ctx) => ByteWriter> = new Map<string, (ctx: Ctx) => ByteWriter>([
  ["%ts", timeBytes("msecFirst")],
  ["%tfs", timeBytes("msecFirst")],
  ["%te", timeBytes("msecLast")],
  ["%tr", timeBytes("msecReceived")],
  [
    "%td",
    (ctx) =>
      ctx.plain
        ? (b, i, o) => {
            putAscii(o, durationPlain(durationMs(b, i)));
          }
        : (b, i, o) => {
            const ms = durationMs(b, i);
            if (ms >= 0 && ms < 86_400_000 && (ms | 0) === ms) {
              const sec = (ms / 1000) | 0;
              putAscii(o, "    ");
              putUIntZero(o, (sec / 3600) | 0, 2);
              o.buf[o.pos++] = 58;
              putUIntZero(o, ((sec / 60) | 0) % 60, 2);
              o.buf[o.pos++] = 58;
              putUIntZero(o, sec % 60, 2);
              o.buf[o.pos++] = 46;
              putUIntZero(o, ms % 1000, 3);
            } else putAscii(o, durationString(ms));
          },
  ],
  [
    "%pr",
    (ctx) => {
      const plain = ctx.plain;
      return (b, i, o) => {
        putLeft(o, protoString(b.cols.proto[i]!, plain), 5);
      };
    },
  ],
  ["%sa", addrBytes("srcAddr")],
  ["%da", addrBytes("dstAddr")],
  ["%nh", addrBytes("nextHop")],
  ["%ra", addrBytes("exporterAddr")],
  ["%sap", addrPortBytes("srcAddr", "srcPort", false)],
  ["%dap", addrPortBytes("dstAddr", "dstPort", true)],
  ["%pkt", exactCounterBytes("inPackets")],
  ["%ipkt", exactCounterBytes("inPackets")],
  ["%opkt", exactCounterBytes("outPackets")],
  ["%byt", exactCounterBytes("inBytes")],
  ["%ibyt", exactCounterBytes("inBytes")],
  ["%obyt", exactCounterBytes("outBytes")],
  [
    "%bps",
    counterBytes((b, i) => {
      const d = durationSeconds(durationMs(b, i));
      return d !== 0 ? truncU64(bits(b.cols.inBytes[i]!, b.cols.inBytesFix[i]! | 0) / d) : 0;
    }),
  ],
  [
    "%pps",
    counterBytes((b, i) => {
      const d = durationSeconds(durationMs(b, i));
      return d !== 0 ? truncU64(b.cols.inPackets[i]! / d) : 0;
    }),
  ],
  [
    "%bpp",
    uBytes(6, (b, i) => {
      const c = b.cols;
      return bytesPerPacket(c.inBytes[i]!, c.inBytesFix[i]! | 0, c.inPackets[i]!, c.inPacketsFix[i]! | 0);
    }),
  ],
  ["%fl", uBytes(5, (b, i) => b.cols.flows[i]! || 1)],
  ["%tos", uBytes(3, (b, i) => b.cols.srcTos[i]!)],
  ["%sp", uBytes(6, (b, i) => b.cols.srcPort[i]!)],
  ["%in", uBytes(6, (b, i) => b.cols.input[i]!)],
  ["%out", uBytes(6, (b, i) => b.cols.output[i]!)],
  ["%sas", uBytes(6, (b, i) => b.cols.srcAs[i]!)],
  ["%das", uBytes(6, (b, i) => b.cols.dstAs[i]!)],
  [
    "%flg",
    () => (b, i, o) => {
      putAscii(o, flagsString(b.cols.proto[i]! === 6 ? b.cols.tcpFlags[i]! : 0));
    },
  ],
]);

/**
 * Generated code for the tokens of the common layouts (line, long, extended, …): the usual values inline,
 * the rest through the token's byte writer (`slow`). See rows.ts.
 */
const ROW_CODE: ReadonlyMap<string, (ctx: Ctx, slow: ByteWriter) => RowCode> = new Map<
  string,
  (ctx: Ctx, slow: ByteWriter) => RowCode
>([
  ["%ts", (_, slow) => timeCode("msecFirst", slow)],
  ["%tfs", (_, slow) => timeCode("msecFirst", slow)],
  ["%te", (_, slow) => timeCode("msecLast", slow)],
  ["%tr", (_, slow) => timeCode("msecReceived", slow)],
  [
    "%td",
    (ctx, slow) =>
      ctx.plain
        ? { cols: [], code: "$SLOW", slow }
        : {
            cols: ["msecFirst", "msecLast"],
            slow,
            // `    HH:MM:SS.mmm` below one day (the byte writer's fast path)
            code:
              "const ms = c_msecLast[i] - c_msecFirst[i]; " +
              "if (ms >= 0 && ms < 86400000 && (ms | 0) === ms) { " +
              "const sec = (ms / 1000) | 0; buf[p] = 32; buf[p + 1] = 32; buf[p + 2] = 32; buf[p + 3] = 32; " +
              "p = put2(buf, p + 4, (sec / 3600) | 0); buf[p++] = 58; p = put2(buf, p, ((sec / 60) | 0) % 60); " +
              "buf[p++] = 58; p = put2(buf, p, sec % 60); buf[p++] = 46; p = put3(buf, p, ms % 1000); " +
              "} else $SLOW",
          },
  ],
  [
    "%pr",
    (ctx) => ({
      cols: ["proto"],
      code: `p = putTable(buf, p, ${ctx.plain ? "PROTO5_PLAIN" : "PROTO5"}, c_proto[i], 5);`,
    }),
  ],
  ["%sa", (ctx) => addrCode("srcAddr", ctx.longV6 ? 39 : 16, !ctx.longV6)],
  ["%da", (ctx) => addrCode("dstAddr", ctx.longV6 ? 39 : 16, !ctx.longV6)],
  ["%nh", (ctx) => addrCode("nextHop", ctx.longV6 ? 39 : 16, !ctx.longV6)],
  ["%ra", (ctx) => addrCode("exporterAddr", ctx.longV6 ? 39 : 16, !ctx.longV6)],
  ["%sap", (ctx, slow) => addrPortCode("srcAddr", "srcPort", false, ctx.longV6, slow)],
  ["%dap", (ctx, slow) => addrPortCode("dstAddr", "dstPort", true, ctx.longV6, slow)],
  ["%pkt", (ctx, slow) => counterCode("inPackets", ctx.plain, slow)],
  ["%ipkt", (ctx, slow) => counterCode("inPackets", ctx.plain, slow)],
  ["%opkt", (ctx, slow) => counterCode("outPackets", ctx.plain, slow)],
  ["%byt", (ctx, slow) => counterCode("inBytes", ctx.plain, slow)],
  ["%ibyt", (ctx, slow) => counterCode("inBytes", ctx.plain, slow)],
  ["%obyt", (ctx, slow) => counterCode("outBytes", ctx.plain, slow)],
  ["%fl", (_, slow) => uintCode("flows", 5, slow, true)],
  ["%tos", (_, slow) => uintCode("srcTos", 3, slow)],
  ["%sp", (_, slow) => uintCode("srcPort", 6, slow)],
  ["%in", (_, slow) => uintCode("input", 6, slow)],
  ["%out", (_, slow) => uintCode("output", 6, slow)],
  ["%sas", (_, slow) => uintCode("srcAs", 6, slow)],
  ["%das", (_, slow) => uintCode("dstAs", 6, slow)],
  [
    "%flg",
    () => ({
      cols: ["proto", "tcpFlags"],
      code: "p = putTable(buf, p, FLAGS8, c_proto[i] === 6 ? c_tcpFlags[i] : 0, 8);",
    }),
  ],
]);

/** `%sap`/`%dap`: an IPv4 address right-aligned, `:`, the port left-aligned in 5 (ICMP and IPv6 rows: `slow`). */
function addrPortCode(
  col: AddrColumnName,
  port: "srcPort" | "dstPort",
  icmp: boolean,
  longV6: boolean,
  slow: ByteWriter,
): RowCode {
  const test = icmp ? `c_proto[i] !== 1 && c_proto[i] !== 58` : "true";
  const w = longV6 ? 39 : 16;
  return {
    cols: icmp ? [col, port, "v6Flags", "proto"] : [col, port, "v6Flags"],
    slow,
    code:
      `if (${test}) { ` +
      `if ((c_v6Flags[i] & ${V6_BIT[col]}) === 0) { p = putIPv4(buf, p, c_${col}[i], ${w}); buf[p++] = 58; } ` +
      `else { p = putIPv6(buf, p, cols.${col}6, i * 4, ${w}, ${longV6 ? "false" : "true"}); buf[p++] = 46; } ` +
      `p = putDecLeft(buf, p, c_${port}[i], 5); ` +
      `} else $SLOW`,
  };
}

/** A u64 counter in 8 columns: integers below 1,000,000 (any below 2^32 with -N) inline, scaled ones `slow`. */
function counterCode(col: ExactCounter, plain: boolean, slow: ByteWriter): RowCode {
  return {
    cols: [col],
    slow,
    code: `const v = c_${col}[i]; if (v >>> 0 === v${plain ? "" : " && v < 1000000"}) p = putDecRight(buf, p, v, 8); else $SLOW`,
  };
}

function isAlpha(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z]/.test(ch);
}

/** nfdump RecursiveReplace(): `%<name>` of a predefined format expands once per name, first occurrence only. */
export function expandPredefined(format: string): string {
  let f = format;
  for (const [name, def] of PREDEFINED_FORMATS) {
    const s = f.indexOf(name);
    if (s <= 0) continue;
    if (isAlpha(f[s + name.length])) continue;
    if (f[s - 1] !== "%") continue;
    f = f.slice(0, s - 1) + def + f.slice(s + name.length);
  }
  return f;
}

/** A compiled fmt: the header line and a record function. */
export interface CompiledFmt {
  readonly header: string;
  /** The line for row `i` without the trailing newline. */
  line(b: RecordBatch | BatchView, i: number): string;
  /** Writes the line for row `i` plus a newline straight into the output buffer. */
  emit(b: RecordBatch | BatchView, i: number, o: BufferedOutput): void;
  /**
   * Writes the lines of rows `sel[0..n)` (rows 0..n when `sel` is null), each with a newline, straight into the
   * output buffer: the fast path, one generated function per format (rows.ts).
   */
  emitRows(b: RecordBatch | BatchView, sel: ArrayLike<number> | null, n: number, o: BufferedOutput): void;
  /** One title per %token (the header's words, trimmed), for tables that show the fields as cells. */
  readonly columns: readonly string[];
  /** The fields of row `i`, one per %token, as line() prints them without padding (literal text left out). */
  cells(b: RecordBatch | BatchView, i: number): string[];
  /** The physical columns the format reads. */
  readonly physical: ReadonlySet<FormatColumn>;
}

/**
 * Compiles an nfdump format string (`%ts %td %pr …`) into writer functions.
 * @throws FormatError ERR_FORMAT_TOKEN for an unknown %token (nfdump: "Output format parse error at: …").
 */
export function compileFmt(format: string, opts: FmtOptions = {}): CompiledFmt {
  const ctx: Ctx = { plain: opts.plain ?? false, longV6: opts.longV6 ?? false, counter: 0 };
  const f = expandPredefined(format);
  const writers: FieldWriter[] = [];
  // the row layout for the generated writer: literal text and one part per token
  const parts: RowPart[] = [];
  // lits[k] is printed before writers[k]; lits[writers.length] after the last one
  const lits: string[] = [""];
  const columns: string[] = [];
  const physical = new Set<FormatColumn>();
  let header = "";
  let c = 0;
  while (c < f.length) {
    if (f[c] === "%") {
      let found: TokenDef | undefined;
      for (const t of FMT_TOKENS) {
        const len = t.token.length;
        if (f.length - c >= len && !isAlpha(f[c + len]) && f.startsWith(t.token, c)) {
          found = t;
          break;
        }
      }
      if (!found) throw new FormatError("ERR_FORMAT_TOKEN", `output format parse error at: ${f.slice(c)}`);
      const sw = found.make(ctx);
      writers.push(sw);
      for (const name of tokenColumns(found.token)) physical.add(name);
      const bw = BYTE_TOKENS.get(found.token);
      const slow: ByteWriter = bw
        ? bw(ctx)
        : (b, i, o) => {
            putAscii(o, sw(b, i));
          };
      parts.push(lits[lits.length - 1]!, ROW_CODE.get(found.token)?.(ctx, slow) ?? slow);
      lits.push("");
      header += ctx.longV6 && found.isAddress ? " ".repeat(23) + found.header : found.header;
      columns.push(found.header.trim());
      c += found.token.length;
    } else {
      const p = f.indexOf("%", c);
      const end = p < 0 ? f.length : p;
      const text = f.slice(c, end);
      lits[lits.length - 1] = lits[lits.length - 1]! + text;
      header += " ".repeat(text.length);
      c = end;
    }
  }
  parts.push(lits[lits.length - 1]!);
  const n = writers.length;
  const pre = lits[0]!;
  const post = lits.slice(1);
  const views = new ViewCache();
  const line = (batch: RecordBatch | BatchView, i: number): string => {
    const b = views.of(batch);
    let s = pre;
    for (let k = 0; k < n; k++) s += writers[k]!(b, i) + post[k]!;
    return s;
  };
  const cells = (batch: RecordBatch | BatchView, i: number): string[] => {
    const b = views.of(batch);
    const out = new Array<string>(n);
    for (let k = 0; k < n; k++) out[k] = writers[k]!(b, i).trim();
    return out;
  };
  // Room one record can take: generous per token (the longest writers are %mpls and IPv6 texts), all literals.
  const reserve = 160 * n + lits.reduce((a, l) => a + l.length, 0) + 2;
  // a format wider than the output's reserve (OUTPUT_RECORD_MAX: thousands of tokens or a huge literal; nfdump
  // takes any length) is written as text
  if (reserve > OUTPUT_RECORD_MAX) {
    const wide = (batch: RecordBatch | BatchView, i: number, o: BufferedOutput): void => {
      o.writeAscii(`${line(batch, i)}\n`);
    };
    const wideRows = (
      batch: RecordBatch | BatchView,
      sel: ArrayLike<number> | null,
      count: number,
      o: BufferedOutput,
    ): void => {
      for (let j = 0; j < count && !o.stopped; j++) wide(batch, sel === null ? j : sel[j]!, o);
    };
    return { header, line, emit: wide, emitRows: wideRows, columns, cells, physical };
  }
  // compiled on first use: -A and -s tables compile formats only for their headers and cells
  let rows: RowsWriter | null = null;
  const emitRows = (
    batch: RecordBatch | BatchView,
    sel: ArrayLike<number> | null,
    count: number,
    o: BufferedOutput,
  ): void => {
    rows ??= compileRows(parts, reserve);
    rows(views.of(batch), sel, count, o);
  };
  const one = new Uint32Array(1);
  const emit = (batch: RecordBatch | BatchView, i: number, o: BufferedOutput): void => {
    one[0] = i;
    emitRows(batch, one, 1, o);
  };
  return { header, line, emit, emitRows, columns, cells, physical };
}
