// `-s` statistics tables: nfdump 1.7.1 computes the rows (taken from its own `-s X -o pipe` output, which carries
// millisecond times and exact counters), stat-table.ts prints them, and the text must equal nfdump's `-s X`
// (and `-o csv`) output for the same command.
import { beforeAll, describe, expect, it } from "vitest";
import { formatStatTable, formatStatTableCsv, type StatRow, type StatTableSpec } from "../../src/format/stat-table.js";
import { formatIPv4, formatIPv6 } from "../../src/format/text.js";
import {
  captureWithNfcapd,
  syntheticStream,
  nfdump,
  NFDUMP_MISSING,
  nfdumpTotals,
  readDatagramStream,
} from "../helpers/nfdump.js";

interface Case {
  readonly stat: string;
  readonly spec: Omit<StatTableSpec, "order" | "topN">;
  readonly args: readonly string[];
  readonly plain?: boolean;
  readonly longV6?: boolean;
}

const CASES: readonly Case[] = [
  { stat: "srcip/bytes", spec: { element: "Src IP Addr", isAddress: true }, args: ["-n", "12"] },
  { stat: "dstip/packets", spec: { element: "Dst IP Addr", isAddress: true }, args: ["-n", "8", "-N"], plain: true },
  { stat: "ip/bytes", spec: { element: "IP Addr", isAddress: true }, args: ["-n", "10", "-6", "inet6"], longV6: true },
  { stat: "ip/flows", spec: { element: "IP Addr", isAddress: true }, args: ["-n", "10", "inet6"] },
  { stat: "dstport", spec: { element: "Dst Port" }, args: ["-n", "10"] },
  { stat: "dstport/bps", spec: { element: "Dst Port" }, args: ["-n", "10"] },
  { stat: "srcport:p/bytes", spec: { element: "Src Port", byProto: true }, args: ["-n", "7"] },
  { stat: "proto", spec: { element: "Protocol", byProto: true }, args: ["-n", "5"] },
  { stat: "proto/bytes", spec: { element: "Protocol", byProto: true }, args: ["-n", "5", "-N"], plain: true },
  { stat: "srcas/pps", spec: { element: "Src AS" }, args: ["-n", "6"] },
  { stat: "inif/bpp", spec: { element: "Input If" }, args: ["-n", "4"] },
];

/** Rows of `nfdump -s X -o pipe` (1.7.1 PrintPipeStatLine). */
function parsePipe(text: string, isAddress: boolean): StatRow[] {
  const rows: StatRow[] = [];
  for (const line of text.split("\n")) {
    if (!/^\d+\|/.test(line)) continue;
    const f = line.split("|");
    const n = f.map(Number);
    if (isAddress) {
      // 1.7.1 prints htonll() of the two 64-bit key halves as 32-bit pieces: undo the byte swap
      const bswap = (v: number): number =>
        (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
      const words = new Uint32Array([bswap(n[5]!), bswap(n[4]!), bswap(n[7]!), bswap(n[6]!)]);
      rows.push({
        key: n[0] === 2 ? formatIPv4(n[7]!) : formatIPv6(words, 0),
        first: n[1]!,
        last: n[2]!,
        proto: n[3]!,
        flows: n[8]!,
        packets: n[9]!,
        bytes: n[10]!,
      });
    } else {
      rows.push({ key: f[4]!, first: n[1]!, last: n[2]!, proto: n[3]!, flows: n[5]!, packets: n[6]!, bytes: n[7]! });
    }
  }
  return rows;
}

describe.skipIf(NFDUMP_MISSING !== undefined)("-s statistic tables vs nfdump 1.7.1", () => {
  let file = "";
  beforeAll(async () => {
    const stream = await syntheticStream({ flows: 6000, proto: "v9", seed: 7 });
    file = await captureWithNfcapd("format-v9-6000-s7", () => readDatagramStream(stream));
  });

  for (const c of CASES) {
    it(`-s ${c.stat} ${c.args.join(" ")}`, async () => {
      const filter = c.args.filter((a) => /^[a-z]/.test(a) && a !== "-N");
      const opts = c.args.filter((a) => !filter.includes(a));
      const totals = await nfdumpTotals(file, filter[0]);
      const pipe = await nfdump(["-r", file, "-s", c.stat, ...opts, "-o", "pipe", ...filter]);
      const rows = parsePipe(pipe, c.spec.isAddress ?? false);
      expect(rows.length).toBeGreaterThan(0);
      const [, order = "flows"] = c.stat.split("/");
      const topN = Number(opts[opts.indexOf("-n") + 1]);
      const spec: StatTableSpec = { ...c.spec, order, topN };
      const text = await nfdump(["-r", file, "-s", c.stat, ...opts, ...filter]);
      const want = text.slice(0, text.indexOf("Summary: total flows"));
      expect(formatStatTable(spec, rows, totals, { plain: c.plain ?? false, longV6: c.longV6 ?? false })).toBe(want);
      const quiet = await nfdump(["-r", file, "-s", c.stat, ...opts, "-q", ...filter]);
      expect(
        formatStatTable(spec, rows, totals, { plain: c.plain ?? false, longV6: c.longV6 ?? false, quiet: true }),
      ).toBe(quiet);
      if (!c.longV6) {
        const csv = await nfdump(["-r", file, "-s", c.stat, ...opts, "-o", "csv", ...filter]);
        expect(formatStatTableCsv(spec, rows, totals, { plain: c.plain ?? false })).toBe(
          csv.slice(0, csv.indexOf("Summary\n")),
        );
      }
    });
  }
});

import { RecordBatch } from "../../src/record/batch.js";
import { aggregateFormat, createFormatter } from "../../src/format/index.js";
import { StringOutput } from "../../src/format/out.js";

/**
 * Aggregated records → a batch: times, keys and counters from `-o pipe` (1.7.1 prints empty JSON objects for
 * aggregated records), the flow counts from `-o fmt:%fl` of the same listing.
 */
function batchFromPipe(pipe: string, flows: string): RecordBatch {
  const lines = pipe.split("\n").filter((l) => /^\d+\|/.test(l));
  const fl = flows
    .split("\n")
    .filter((l) => /^\s*\d+$/.test(l))
    .map(Number);
  expect(fl.length).toBe(lines.length);
  const b = new RecordBatch(Math.max(1, lines.length));
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  for (let k = 0; k < lines.length; k++) {
    const p = lines[k]!.split("|").map(Number);
    const r = b.addRow();
    const c = b.cols;
    c.msecFirst[r] = p[1]!;
    c.msecLast[r] = p[2]!;
    c.proto[r] = p[3]!;
    if (p[0] === 2) {
      b.setV4("srcAddr", r, p[7]!);
      b.setV4("dstAddr", r, p[12]!);
    } else {
      for (let j = 0; j < 4; j++) dv.setUint32(j * 4, p[4 + j]!);
      b.setV6("srcAddr", r, bytes, 0);
      for (let j = 0; j < 4; j++) dv.setUint32(j * 4, p[9 + j]!);
      b.setV6("dstAddr", r, bytes, 0);
    }
    c.srcPort[r] = p[8]!;
    c.dstPort[r] = p[13]!;
    c.srcAs[r] = p[14]!;
    c.dstAs[r] = p[15]!;
    c.input[r] = p[16]!;
    c.output[r] = p[17]!;
    c.tcpFlags[r] = p[18]!;
    c.srcTos[r] = p[19]!;
    c.inPackets[r] = p[20]!;
    c.inBytes[r] = p[21]!;
    c.flows[r] = fl[k]!;
  }
  return b;
}

describe.skipIf(NFDUMP_MISSING !== undefined)("-A aggregated listing layout vs nfdump 1.7.1", () => {
  for (const keys of ["proto,dstport", "srcip,dstip,srcport", "srcip4/24,dstas,inif,outif,tos", "dstip6/48,proto"]) {
    it(`-A ${keys}`, async () => {
      const stream = await syntheticStream({ flows: 6000, proto: "v9", seed: 7 });
      const file = await captureWithNfcapd("format-v9-6000-s7", () => readDatagramStream(stream));
      const args = ["-r", file, "-A", keys, "-O", "bytes", "-n", "25"];
      const batch = batchFromPipe(
        await nfdump([...args, "-o", "pipe"]),
        await nfdump([...args, "-q", "-o", "fmt:%fl"]),
      );
      expect(batch.length).toBeGreaterThan(0);
      const fmt = aggregateFormat(keys.split(","));
      const out = new StringOutput();
      const f = createFormatter(`fmt:${fmt}`);
      f.prolog(out);
      for (let i = 0; i < batch.length; i++) f.record(batch, i, out);
      const text = await nfdump(args);
      expect(out.text()).toBe(text.slice(0, text.indexOf("Summary: total flows")));
    });
  }
});
