// SPDX-License-Identifier: BSD-3-Clause
// CSV outputs:
//   csv          nfdump 1.7.5+ style: header `firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,
//                bytes,flows`, millisecond timestamps, numeric protocol, no trailing summary (spreadsheet-clean)
//   csv:<fmt>    user columns, comma-separated %tokens, header from each token's csv name (master output_csv.c)
//   csv-legacy   nfdump 1.7.1's fixed 48-column `-o csv` (seconds-only times, `0-0-0` MPLS, trailing Summary
//                block printed by summary.ts csvLegacySummary())
//   pipe         nfdump 1.7.1 `-o pipe` (addresses as four 32-bit words)
//
// RFC 4180: a field is quoted only when it contains a comma, quote, CR or LF (none of our number, address and
// time columns can; the check guards free-text columns). `engine: "stringify"` routes rows through
// csv-stringify instead of the direct writer — kept for the benchmark (bench/format.mjs) and as a fallback.

import { createRequire } from "node:module";

// csv-stringify is loaded on first use: most runs never take the stringify engine, and loading it costs
// startup time on every tsdump run.
let stringifyFn: ((rows: unknown[][]) => string) | undefined;
function stringify(rows: unknown[][]): string {
  stringifyFn ??= (createRequire(import.meta.url)("csv-stringify/sync") as { stringify: (rows: unknown[][]) => string })
    .stringify;
  return stringifyFn(rows);
}
import type { RecordBatch } from "../record/batch.js";
import { V6_BIT, type AddrColumnName, type PhysicalName } from "../record/schema.js";
import { addrColumns, counterColumns, DURATION_COLUMNS, type FormatColumn } from "./columns.js";
import { FormatError } from "./errors.js";
import { icmpCodeOf, icmpTypeOf, tokenColumns } from "./fmt.js";
import { BufferedOutput, OUTPUT_RECORD_MAX, writeAsciiTo, type Output } from "./out.js";
import { ViewCache, type BatchView } from "./view.js";
import { putAscii, putCounterRight, putIPv4Right, putUIntRight, putUIntZero } from "./bytes.js";
import { fixName, type ExactCounter } from "../record/u64.js";
import { compileRows, addrCode, timeCode, uintCode, type RowCode, type RowPart, type RowsWriter } from "./rows.js";
import {
  bits,
  bytesPerPacket,
  counterText,
  durationSeconds,
  flagsString,
  formatIPv4,
  formatIPv6,
  intString,
  localDateTime,
  localTimeMs,
  macString,
  maskV4Net,
  maskV6Net,
  mplsString,
  msPart,
  msToSeconds3,
  protoString,
  secOf,
  truncU64,
} from "./text.js";

type W = (b: BatchView, i: number) => string;

function fullAddr(col: AddrColumnName): W {
  const bit = V6_BIT[col];
  const words = `${col}6` as const;
  return (b, i) => ((b.cols.v6Flags[i]! & bit) !== 0 ? formatIPv6(b.cols[words], i * 4) : formatIPv4(b.cols[col][i]!));
}

/** A u64 counter, exact from 2^53 up (record/u64.ts). */
const exactNum =
  (name: ExactCounter): W =>
  (b, i) =>
    counterText(b.cols[name], b.cols[fixName(name)], i);

const num =
  (get: (b: BatchView, i: number) => number): W =>
  (b, i) =>
    intString(get(b, i));

function dur(b: BatchView, i: number): number {
  return b.cols.msecLast[i]! - b.cols.msecFirst[i]!;
}

function netOf(col: "srcAddr" | "dstAddr", mask: "srcMask" | "dstMask"): W {
  const bit = V6_BIT[col];
  const tmp = new Uint32Array(4);
  return (b, i) => {
    const m = b.cols[mask][i]!;
    if ((b.cols.v6Flags[i]! & bit) !== 0) {
      maskV6Net(b.cols[`${col}6`], i * 4, m, tmp);
      return `${formatIPv6(tmp, 0)}/${m}`;
    }
    return `${formatIPv4(maskV4Net(b.cols[col][i]!, m))}/${m}`;
  };
}

/** csv:<fmt> tokens: token → [header, writer] (master output_csv.c names; schema csv keys for plain columns). */
const CSV_TOKENS: ReadonlyMap<string, readonly [string, W]> = new Map<string, readonly [string, W]>([
  ["%ts", ["firstSeen", (b, i) => localTimeMs(b.cols.msecFirst[i]!)]],
  ["%tfs", ["firstSeen", (b, i) => localTimeMs(b.cols.msecFirst[i]!)]],
  ["%te", ["lastSeen", (b, i) => localTimeMs(b.cols.msecLast[i]!)]],
  ["%tr", ["received", (b, i) => localTimeMs(b.cols.msecReceived[i]!)]],
  ["%tsr", ["firstSeen", (b, i) => `${secOf(b.cols.msecFirst[i]!)}.${msPart(b.cols.msecFirst[i]!)}`]],
  ["%ter", ["lastSeen", (b, i) => `${secOf(b.cols.msecLast[i]!)}.${msPart(b.cols.msecLast[i]!)}`]],
  ["%trr", ["received", (b, i) => `${secOf(b.cols.msecReceived[i]!)}.${msPart(b.cols.msecReceived[i]!)}`]],
  ["%td", ["duration", (b, i) => msToSeconds3(dur(b, i))]],
  ["%tds", ["duration", (b, i) => msToSeconds3(dur(b, i))]],
  ["%pr", ["proto", num((b, i) => b.cols.proto[i]!)]],
  ["%sa", ["srcAddr", fullAddr("srcAddr")]],
  ["%da", ["dstAddr", fullAddr("dstAddr")]],
  ["%sn", ["srcNet", netOf("srcAddr", "srcMask")]],
  ["%dn", ["dstNet", netOf("dstAddr", "dstMask")]],
  ["%sp", ["srcPort", num((b, i) => b.cols.srcPort[i]!)]],
  ["%dp", ["dstPort", num((b, i) => b.cols.dstPort[i]!)]],
  ["%it", ["icmpType", num(icmpTypeOf)]],
  ["%ic", ["icmpCode", num(icmpCodeOf)]],
  ["%pkt", ["packets", exactNum("inPackets")]],
  ["%ipkt", ["inPackets", exactNum("inPackets")]],
  ["%opkt", ["outPackets", exactNum("outPackets")]],
  ["%byt", ["bytes", exactNum("inBytes")]],
  ["%ibyt", ["inBytes", exactNum("inBytes")]],
  ["%obyt", ["outBytes", exactNum("outBytes")]],
  ["%fl", ["flows", num((b, i) => b.cols.flows[i]! || 1)]],
  ["%flg", ["flags", (b, i) => flagsString(b.cols.proto[i]! === 6 ? b.cols.tcpFlags[i]! : 0)]],
  ["%tos", ["tos", num((b, i) => b.cols.srcTos[i]!)]],
  ["%stos", ["srcTos", num((b, i) => b.cols.srcTos[i]!)]],
  ["%dtos", ["dstTos", num((b, i) => b.cols.dstTos[i]!)]],
  ["%in", ["input", num((b, i) => b.cols.input[i]!)]],
  ["%out", ["output", num((b, i) => b.cols.output[i]!)]],
  ["%sas", ["srcAS", num((b, i) => b.cols.srcAs[i]!)]],
  ["%das", ["dstAS", num((b, i) => b.cols.dstAs[i]!)]],
  ["%nas", ["nextAS", num((b, i) => b.cols.nextAs[i]!)]],
  ["%pas", ["prevAS", num((b, i) => b.cols.prevAs[i]!)]],
  ["%nh", ["nextIP", fullAddr("nextHop")]],
  ["%nhb", ["bgpNextIP", fullAddr("bgpNextHop")]],
  ["%ra", ["routerIP", fullAddr("exporterAddr")]],
  ["%exp", ["exporterID", num((b, i) => b.cols.exporterId[i]!)]],
  ["%eng", ["engine", (b, i) => `${b.cols.engineType[i]!}/${b.cols.engineId[i]!}`]],
  ["%svln", ["srcVlan", num((b, i) => b.cols.srcVlan[i]!)]],
  ["%dvln", ["dstVlan", num((b, i) => b.cols.dstVlan[i]!)]],
  ["%smk", ["srcMask", num((b, i) => b.cols.srcMask[i]!)]],
  ["%dmk", ["dstMask", num((b, i) => b.cols.dstMask[i]!)]],
  ["%dir", ["direction", (b, i) => (b.cols.direction[i]! ? "E" : "I")]],
  ["%fwd", ["fwdStatus", num((b, i) => b.cols.fwdStatus[i]!)]],
  ["%bfd", ["biDirection", num((b, i) => b.cols.biflowDirection[i]!)]],
  ["%end", ["endReason", num((b, i) => b.cols.flowEndReason[i]!)]],
  ["%ismc", ["inSrcMac", (b, i) => macString(b.cols.inSrcMac[i]!)]],
  ["%odmc", ["outDstMac", (b, i) => macString(b.cols.outDstMac[i]!)]],
  ["%idmc", ["inDstMac", (b, i) => macString(b.cols.inDstMac[i]!)]],
  ["%osmc", ["outSrcMac", (b, i) => macString(b.cols.outSrcMac[i]!)]],
  ["%odid", ["obsDomainID", num((b, i) => b.cols.observationDomain[i]!)]],
  ["%ivrf", ["ingressVrf", num((b, i) => b.cols.ingressVrf[i]!)]],
  ["%evrf", ["egressVrf", num((b, i) => b.cols.egressVrf[i]!)]],
  ["%xsa", ["xlateSrcAddr", fullAddr("xlateSrcAddr")]],
  ["%xda", ["xlateDstAddr", fullAddr("xlateDstAddr")]],
  ["%xsp", ["xlateSrcPort", num((b, i) => b.cols.xlateSrcPort[i]!)]],
  ["%xdp", ["xlateDstPort", num((b, i) => b.cols.xlateDstPort[i]!)]],
  ["%tevt", ["eventTime", (b, i) => localTimeMs(b.cols.msecEvent[i]!)]],
  ["%nfv", ["nfVersion", num((b, i) => b.cols.nfVersion[i]!)]],
  ["%sr", ["sampling", num((b, i) => b.cols.samplingInterval[i]!)]],
  [
    "%bps",
    [
      "bps",
      (b, i) => {
        const d = dur(b, i) / 1000;
        return intString(d !== 0 ? truncU64(bits(b.cols.inBytes[i]!, b.cols.inBytesFix[i]! | 0) / d) : 0);
      },
    ],
  ],
  [
    "%pps",
    [
      "pps",
      (b, i) => {
        const d = dur(b, i) / 1000;
        return intString(d !== 0 ? truncU64(b.cols.inPackets[i]! / d) : 0);
      },
    ],
  ],
  [
    "%bpp",
    [
      "bpp",
      (b, i) => {
        const c = b.cols;
        const by = c.inBytes[i]!;
        const p = c.inPackets[i]!;
        // from 2^53 up: u64 division of the exact values (record/u64.ts)
        if (by < 9007199254740992 && p < 9007199254740992) return intString(p ? Math.floor(by / p) : 0);
        return intString(bytesPerPacket(by, c.inBytesFix[i]! | 0, p, c.inPacketsFix[i]! | 0));
      },
    ],
  ],
  ...([1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const).map(
    (k) => [`%mpls${k}`, [`mpls${k}`, (b: BatchView, i: number) => mplsString(b.cols[`mpls${k}`][i]!, 0)]] as const,
  ),
]);

/** Every token csv:<fmt> takes. */
export const CSV_TOKEN_NAMES: readonly string[] = [...CSV_TOKENS.keys()];

type B = (b: BatchView, i: number, o: BufferedOutput) => void;

const exactB =
  (name: ExactCounter): B =>
  (b, i, o) => {
    putCounterRight(o, b.cols[name], b.cols[fixName(name)], i, 0);
  };

const uintB =
  (get: (b: BatchView, i: number) => number): B =>
  (b, i, o) => {
    putUIntRight(o, get(b, i), 0);
  };

function timeB(col: "msecFirst" | "msecLast" | "msecReceived"): B {
  return (b, i, o) => {
    const ms = b.cols[col][i]!;
    putAscii(o, localDateTime(secOf(ms)));
    o.buf[o.pos++] = 46;
    putUIntZero(o, ((ms % 1000) + 1000) % 1000, 3);
  };
}

function addrB(col: AddrColumnName): B {
  const bit = V6_BIT[col];
  const words = `${col}6` as const;
  return (b, i, o) => {
    if ((b.cols.v6Flags[i]! & bit) === 0) putIPv4Right(o, b.cols[col][i]!, 0);
    else putAscii(o, formatIPv6(b.cols[words], i * 4));
  };
}

/** Byte writers of the common csv tokens (the rest print their string writer's text). */
const CSV_BYTES: ReadonlyMap<string, B> = new Map<string, B>([
  ["%ts", timeB("msecFirst")],
  ["%te", timeB("msecLast")],
  ["%tr", timeB("msecReceived")],
  [
    "%td",
    (b, i, o) => {
      const ms = dur(b, i);
      if (ms >= 0 && (ms | 0) === ms) {
        putUIntRight(o, Math.floor(ms / 1000), 0);
        o.buf[o.pos++] = 46;
        putUIntZero(o, ms % 1000, 3);
      } else putAscii(o, msToSeconds3(ms));
    },
  ],
  ["%pr", uintB((b, i) => b.cols.proto[i]!)],
  ["%sa", addrB("srcAddr")],
  ["%da", addrB("dstAddr")],
  ["%nh", addrB("nextHop")],
  ["%ra", addrB("exporterAddr")],
  ["%sp", uintB((b, i) => b.cols.srcPort[i]!)],
  ["%dp", uintB((b, i) => b.cols.dstPort[i]!)],
  ["%pkt", exactB("inPackets")],
  ["%byt", exactB("inBytes")],
  ["%opkt", exactB("outPackets")],
  ["%obyt", exactB("outBytes")],
  ["%fl", uintB((b, i) => b.cols.flows[i]! || 1)],
  ["%in", uintB((b, i) => b.cols.input[i]!)],
  ["%out", uintB((b, i) => b.cols.output[i]!)],
  ["%sas", uintB((b, i) => b.cols.srcAs[i]!)],
  ["%das", uintB((b, i) => b.cols.dstAs[i]!)],
]);

/** Generated code of the common csv tokens (rows.ts): usual values inline, the rest through their byte writer. */
const CSV_CODE: ReadonlyMap<string, (slow: B) => RowCode> = new Map<string, (slow: B) => RowCode>([
  ["%ts", (slow) => timeCode("msecFirst", slow)],
  ["%te", (slow) => timeCode("msecLast", slow)],
  ["%tr", (slow) => timeCode("msecReceived", slow)],
  [
    "%td",
    (slow) => ({
      cols: ["msecFirst", "msecLast"],
      slow,
      code:
        "const ms = c_msecLast[i] - c_msecFirst[i]; " +
        "if (ms >= 0 && (ms | 0) === ms) { " +
        "const s = (ms / 1000) | 0; p = putDec(buf, p, s); buf[p] = 46; p = put3(buf, p + 1, ms - s * 1000); " +
        "} else $SLOW",
    }),
  ],
  ["%pr", (slow) => uintCode("proto", 0, slow)],
  ["%sa", () => addrCode("srcAddr", 0, false)],
  ["%da", () => addrCode("dstAddr", 0, false)],
  ["%nh", () => addrCode("nextHop", 0, false)],
  ["%ra", () => addrCode("exporterAddr", 0, false)],
  ["%sp", (slow) => uintCode("srcPort", 0, slow)],
  ["%dp", (slow) => uintCode("dstPort", 0, slow)],
  ["%pkt", (slow) => uintCode("inPackets", 0, slow)],
  ["%byt", (slow) => uintCode("inBytes", 0, slow)],
  ["%opkt", (slow) => uintCode("outPackets", 0, slow)],
  ["%obyt", (slow) => uintCode("outBytes", 0, slow)],
  ["%fl", (slow) => uintCode("flows", 0, slow, true)],
  ["%in", (slow) => uintCode("input", 0, slow)],
  ["%out", (slow) => uintCode("output", 0, slow)],
  ["%sas", (slow) => uintCode("srcAs", 0, slow)],
  ["%das", (slow) => uintCode("dstAs", 0, slow)],
]);

/** The physical columns of a csv token: fmt's, but `%dp` prints the port as is and `%sr` is csv's own. */
function csvTokenColumns(token: string): readonly FormatColumn[] {
  if (token === "%dp") return ["dstPort"];
  if (token === "%sr") return ["samplingInterval"];
  return tokenColumns(token);
}

/** Composite tokens nfdump master rejects in csv:<fmt>. */
const CSV_REJECTED = new Set([
  "%sap",
  "%dap",
  "%gsa",
  "%gda",
  "%gsap",
  "%gdap",
  "%gra",
  "%ttl",
  "%ipl",
  "%opl",
  "%n",
  "%xsap",
  "%xdap",
]);

/** The default `-o csv` columns (nfdump 1.7.5+). */
export const CSV_DEFAULT_FORMAT = "%ts,%td,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%fl";

/** RFC 4180 field: quoted (with doubled quotes) only when it contains `,`, `"`, CR or LF. */
export function csvField(s: string): string {
  for (let k = 0; k < s.length; k++) {
    const ch = s.charCodeAt(k);
    if (ch === 44 || ch === 34 || ch === 10 || ch === 13) return `"${s.replace(/"/g, '""')}"`;
  }
  return s;
}

export type CsvEngine = "direct" | "stringify";

/** `csv` and `csv:<fmt>`: header line (also with -q, as nfdump master) + one row per record, no summary. */
export class CsvFormatter {
  private readonly writers: W[];
  private readonly bytes: B[];
  private readonly views = new ViewCache();
  readonly header: string;
  private readonly engine: CsvEngine;
  private readonly row: string[];
  /** the row layout of the generated writer (direct engine) */
  private readonly parts: RowPart[];
  private rows: RowsWriter | null = null;
  /** The physical columns the rows read. */
  readonly columns: ReadonlySet<FormatColumn>;

  /** @throws FormatError ERR_FORMAT_CSV_TOKEN for unknown or composite tokens. */
  constructor(format: string = CSV_DEFAULT_FORMAT, engine: CsvEngine = "direct") {
    const tokens = format.split(",").map((t) => t.trim());
    this.writers = [];
    this.bytes = [];
    this.parts = [];
    const names: string[] = [];
    const columns = new Set<FormatColumn>();
    for (const t of tokens) {
      if (CSV_REJECTED.has(t))
        throw new FormatError("ERR_FORMAT_CSV_TOKEN", `csv format: token ${t} is not allowed in csv output`);
      const def = CSV_TOKENS.get(t);
      if (!def) throw new FormatError("ERR_FORMAT_CSV_TOKEN", `csv format: unknown token '${t}'`);
      names.push(def[0]);
      for (const name of csvTokenColumns(t)) columns.add(name);
      const sw = def[1];
      this.writers.push(sw);
      const bw: B =
        CSV_BYTES.get(t) ??
        ((b, i, o) => {
          putAscii(o, csvField(sw(b, i)));
        });
      this.bytes.push(bw);
      if (this.parts.length > 0) this.parts.push(",");
      this.parts.push(CSV_CODE.get(t)?.(bw) ?? bw);
    }
    this.header = names.join(",");
    this.columns = columns;
    this.engine = engine;
    this.row = new Array<string>(this.writers.length).fill("");
  }

  prolog(out: Output): void {
    out.write(`${this.header}\n`);
  }

  private readonly one = new Uint32Array(1);

  record(batch: RecordBatch, i: number, out: Output): void {
    this.one[0] = i;
    this.records(batch, this.one, 1, out);
  }

  records(batch: RecordBatch, sel: ArrayLike<number> | null, n: number, out: Output): void {
    // (a csv: list of more fields than the output reserves room for goes through the text path below)
    const reserve = 64 * this.bytes.length + 2;
    if (this.engine === "direct" && out instanceof BufferedOutput && reserve <= OUTPUT_RECORD_MAX) {
      this.rows ??= compileRows(this.parts, reserve);
      this.rows(this.views.of(batch), sel, n, out);
      return;
    }
    for (let j = 0; j < n; j++) this.recordText(batch, sel === null ? j : sel[j]!, out);
  }

  private recordText(batch: RecordBatch, i: number, out: Output): void {
    const b = this.views.of(batch);
    const ws = this.writers;
    if (this.engine === "stringify") {
      for (let k = 0; k < ws.length; k++) this.row[k] = ws[k]!(b, i);
      out.write(stringify([this.row]));
      return;
    }
    let s = csvField(ws[0]!(b, i));
    for (let k = 1; k < ws.length; k++) s += `,${csvField(ws[k]!(b, i))}`;
    out.write(`${s}\n`);
  }

  epilog(): void {
    // spreadsheet-clean: no trailing summary
  }
}

/** nfdump 1.7.1 `-o csv` header (48 columns). */
export const CSV_LEGACY_HEADER =
  "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr";

const SA = fullAddr("srcAddr");
const DA = fullAddr("dstAddr");
const NH = fullAddr("nextHop");
const NHB = fullAddr("bgpNextHop");
const RA = fullAddr("exporterAddr");

/** nfdump 1.7.1 `-o csv` rows; the trailing `Summary` block comes from summary.ts (csvLegacySummary). */
export class CsvLegacyFormatter {
  readonly columns: ReadonlySet<PhysicalName> = new Set<PhysicalName>([
    ...DURATION_COLUMNS,
    ...addrColumns("srcAddr"),
    ...addrColumns("dstAddr"),
    ...addrColumns("nextHop"),
    ...addrColumns("bgpNextHop"),
    ...addrColumns("exporterAddr"),
    ...counterColumns("inPackets"),
    ...counterColumns("inBytes"),
    ...counterColumns("outPackets"),
    ...counterColumns("outBytes"),
    ...(["srcPort", "dstPort", "proto", "tcpFlags", "fwdStatus", "srcTos", "input", "output", "srcAs"] as const),
    ...(["dstAs", "srcMask", "dstMask", "dstTos", "direction", "srcVlan", "dstVlan", "inSrcMac"] as const),
    ...(["outDstMac", "inDstMac", "outSrcMac", "engineType", "engineId", "exporterId", "msecReceived"] as const),
    ...(["mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9", "mpls10"] as const),
  ]);
  private readonly quiet: boolean;
  constructor(quiet = false) {
    this.quiet = quiet;
  }

  prolog(out: Output): void {
    if (!this.quiet) out.write(`${CSV_LEGACY_HEADER}\n`);
  }

  private readonly views = new ViewCache();

  record(batch: RecordBatch, i: number, out: Output): void {
    const b = this.views.of(batch);
    const c = b.cols;
    const m = (v: number): string => `${v >>> 4}-${(v & 0xf) >>> 1}-${v & 1}`;
    writeAsciiTo(
      out,
      `${localDateTime(secOf(c.msecFirst[i]!))},${localDateTime(secOf(c.msecLast[i]!))},${durationSeconds(dur(b, i)).toFixed(3)},${SA(b, i)},${DA(b, i)},` +
        `${c.srcPort[i]!},${c.dstPort[i]!},${protoString(c.proto[i]!, false)},${flagsString(c.tcpFlags[i]!)},${c.fwdStatus[i]!},` +
        `${c.srcTos[i]!},${counterText(c.inPackets, c.inPacketsFix, i)},${counterText(c.inBytes, c.inBytesFix, i)},${counterText(c.outPackets, c.outPacketsFix, i)},${counterText(c.outBytes, c.outBytesFix, i)},` +
        `${c.input[i]!},${c.output[i]!},${c.srcAs[i]!},${c.dstAs[i]!},${c.srcMask[i]!},${c.dstMask[i]!},${c.dstTos[i]!},${c.direction[i]!},` +
        `${NH(b, i)},${NHB(b, i)},${c.srcVlan[i]!},${c.dstVlan[i]!},${macString(c.inSrcMac[i]!)},${macString(c.outDstMac[i]!)},` +
        `${macString(c.inDstMac[i]!)},${macString(c.outSrcMac[i]!)},${m(c.mpls1[i]!)},${m(c.mpls2[i]!)},${m(c.mpls3[i]!)},` +
        `${m(c.mpls4[i]!)},${m(c.mpls5[i]!)},${m(c.mpls6[i]!)},${m(c.mpls7[i]!)},${m(c.mpls8[i]!)},${m(c.mpls9[i]!)},${m(c.mpls10[i]!)},` +
        `    0.000,    0.000,    0.000,${RA(b, i)},${c.engineType[i]!}/${c.engineId[i]!},${c.exporterId[i]!},${localTimeMs(c.msecReceived[i]!)}\n`,
    );
  }

  epilog(): void {
    // the Summary block is printed by the caller with the run's totals (summary.ts)
  }
}

/** nfdump 1.7.1 `-o pipe`. */
export class PipeFormatter {
  readonly columns: ReadonlySet<PhysicalName> = new Set<PhysicalName>([
    ...DURATION_COLUMNS,
    ...addrColumns("srcAddr"),
    ...addrColumns("dstAddr"),
    ...counterColumns("inPackets"),
    ...counterColumns("inBytes"),
    ...(["proto", "srcPort", "dstPort", "srcAs", "dstAs", "input", "output", "tcpFlags", "srcTos"] as const),
  ]);

  prolog(): void {
    // no header
  }

  private readonly views = new ViewCache();

  record(batch: RecordBatch, i: number, out: Output): void {
    const c = this.views.of(batch).cols;
    const f6 = c.v6Flags[i]!;
    let sa: string;
    let da: string;
    let af: string;
    if ((f6 & V6_BIT.srcAddr) !== 0) {
      af = "10";
      const o = i * 4;
      sa = `${c.srcAddr6[o]!}|${c.srcAddr6[o + 1]!}|${c.srcAddr6[o + 2]!}|${c.srcAddr6[o + 3]!}`;
      da = `${c.dstAddr6[o]!}|${c.dstAddr6[o + 1]!}|${c.dstAddr6[o + 2]!}|${c.dstAddr6[o + 3]!}`;
    } else {
      af = "2";
      sa = `0|0|0|${c.srcAddr[i]!}`;
      da = `0|0|0|${c.dstAddr[i]!}`;
    }
    writeAsciiTo(
      out,
      `${af}|${intString(c.msecFirst[i]!)}|${intString(c.msecLast[i]!)}|${c.proto[i]!}|${sa}|${c.srcPort[i]!}|${da}|${c.dstPort[i]!}|` +
        `${c.srcAs[i]!}|${c.dstAs[i]!}|${c.input[i]!}|${c.output[i]!}|${c.tcpFlags[i]!}|${c.srcTos[i]!}|${counterText(c.inPackets, c.inPacketsFix, i)}|${counterText(c.inBytes, c.inBytesFix, i)}\n`,
    );
  }

  epilog(): void {
    // nothing
  }
}
