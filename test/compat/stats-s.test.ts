// Compatibility of `-s` statistics with nfdump 1.7.1: the same flows (an nfcapd file for nfdump, the batch
// loaded from it for us) must give the same keys, flows, packets, bytes, first/last, pps/bps/bpp, in the same
// order of values. Ties: nfdump orders equal values by khash bucket order + an unstable quicksort; we order
// them by key, so rows with equal order values may be permuted — everything else must match exactly.
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordBatch } from "../../src/record/batch.js";
import { parseStatSpec } from "../../src/stats/elements.js";
import { MemoryBudget } from "../../src/stats/key-table.js";
import { StatAccumulator, type StatRow } from "../../src/stats/topn.js";
import {
  captureWithNfcapd,
  syntheticStream,
  loadNfdumpFlows,
  nfdump,
  NFDUMP_MISSING,
  readDatagramStream,
} from "../helpers/nfdump.js";

interface NfRow {
  ts: string;
  te: string;
  td: string;
  proto: number | "any";
  val: string;
  fl: number;
  pkt: number;
  byt: number;
  pps: number;
  bps: number;
  bpp: number;
}

interface NfTable {
  header: string;
  rows: NfRow[];
}

/** Parses nfdump 1.7.1 `-s … -o csv -q -N` output: one table per order. */
function parseStatCsv(text: string): NfTable[] {
  const tables: NfTable[] = [];
  let cur: NfTable | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("ts,te,td,pr,val")) {
      cur = { header: line, rows: [] };
      tables.push(cur);
      continue;
    }
    if (!cur || line.trim() === "") continue;
    const f = line.split(",");
    if (f.length !== 14) throw new Error(`unexpected nfdump csv line: ${line}`);
    const pr = f[3]!.trim();
    cur.rows.push({
      ts: f[0]!,
      te: f[1]!,
      td: f[2]!,
      proto: pr === "any" ? "any" : Number(pr),
      val: f[4]!.trim(),
      fl: Number(f[5]),
      pkt: Number(f[7]),
      byt: Number(f[9]),
      pps: Number(f[11]),
      bps: Number(f[12]),
      bpp: Number(f[13]),
    });
  }
  return tables;
}

function utcSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function ourKey(r: StatRow, split: boolean): string {
  return `${r.keyText}|${split ? r.proto : "any"}`;
}

/** Runs `-s spec -n n` through nfdump and our accumulator and compares as described in the header. */
async function compareStat(file: string, batch: RecordBatch, specText: string, n: number): Promise<number> {
  const out = await nfdump(["-r", file, "-q", "-N", "-o", "csv", "-s", specText, "-n", String(n)]);
  const nfTables = parseStatCsv(out);
  const spec = parseStatSpec(specText);
  if (spec.type !== "element") throw new Error("element stats only");
  const acc = new StatAccumulator(spec, new MemoryBudget(1 << 30));
  // feed in blocks with a selection vector, as tsdump does
  const sel = new Uint32Array(batch.length);
  for (let i = 0; i < batch.length; i++) sel[i] = i;
  for (let s = 0; s < batch.length; s += 5000) acc.add(batch, sel.subarray(s), Math.min(5000, batch.length - s));
  expect(nfTables.length).toBe(spec.orders.length);
  let compared = 0;
  spec.orders.forEach((order, t) => {
    const nf = nfTables[t]!;
    const inoutPrefix = order.inout === 0 ? "i" : order.inout === 1 ? "o" : "";
    expect(nf.header).toBe(
      `ts,te,td,pr,val,fl,flP,${inoutPrefix}pkt,${inoutPrefix}pktP,${inoutPrefix}byt,${inoutPrefix}bytP,${inoutPrefix}pps,${inoutPrefix}bps,${inoutPrefix}bpp`,
    );
    const all = acc.top(0, order);
    const top = acc.top(n, order);
    expect(top.rows.length).toBe(nf.rows.length);
    const byKey = new Map(all.rows.map((r) => [ourKey(r, spec.protoSplit), r]));
    const nfKeys = new Set<string>();
    nf.rows.forEach((x, i) => {
      const key = `${x.val}|${x.proto}`;
      nfKeys.add(key);
      const r = byKey.get(key);
      expect(r, `${specText}: nfdump row ${i} ${key} missing in ours`).toBeDefined();
      const got = {
        ts: utcSeconds(r!.first),
        te: utcSeconds(r!.last),
        td: ((r!.last - r!.first) / 1000).toFixed(3),
        fl: r!.flows,
        pkt: r!.packets,
        byt: r!.bytes,
        pps: r!.pps,
        bps: r!.bps,
        bpp: r!.bpp,
      };
      expect(got, `${specText} row ${i} ${key}`).toEqual({
        ts: x.ts,
        te: x.te,
        td: x.td,
        fl: x.fl,
        pkt: x.pkt,
        byt: x.byt,
        pps: x.pps,
        bps: x.bps,
        bpp: x.bpp,
      });
      // same sequence of order values: only rows with equal values may be permuted
      expect(top.rows[i]!.orderValue, `${specText} order value at ${i}`).toBe(r!.orderValue);
      compared++;
    });
    // rows strictly better than the last printed value are the same set
    if (nf.rows.length > 0) {
      const boundary = top.rows[top.rows.length - 1]!.orderValue;
      const ours = top.rows.filter((r) => r.orderValue !== boundary).map((r) => ourKey(r, spec.protoSplit));
      for (const k of ours) expect(nfKeys.has(k), `${specText}: ${k} not in nfdump's top ${n}`).toBe(true);
    }
  });
  return compared;
}

const SPECS_V9 = [
  "ip/bytes",
  "srcip/flows",
  "srcip",
  "dstip/bpp",
  "dstport/packets",
  "proto",
  "proto/bytes",
  "srcas/bytes",
  "dstas/flows",
  "as/packets",
  "port:p/bytes",
  "srcport/flows",
  "port/bytes/flows",
  "srcip:p/bytes",
  "dstip/pps",
  "srcip/bps",
  "tos",
  "dsttos",
  "if/flows",
  "inif/bytes",
  "outif",
  "srcmask",
  "mask/bytes",
  "nhip",
  "router/bytes",
  "dir",
  "srcvlan",
  "vlan",
  "insrcmac",
  "mpls1",
  "dstport:p/bpp",
  "ip/ipkg",
  "dstip/obyte",
];

describe.skipIf(NFDUMP_MISSING !== undefined)(
  `-s statistics vs nfdump 1.7.1${NFDUMP_MISSING === undefined ? "" : ` (skipped: ${NFDUMP_MISSING})`}`,
  () => {
    let v9file = "";
    let v9: RecordBatch;
    let v5file = "";
    let v5: RecordBatch;

    beforeAll(async () => {
      const s9 = await syntheticStream({ flows: 30000, proto: "v9", seed: 7 });
      v9file = await captureWithNfcapd("stats-v9-30000-7", () => readDatagramStream(s9));
      v9 = await loadNfdumpFlows(v9file);
      const s5 = await syntheticStream({ flows: 20000, proto: "v5", seed: 11 });
      v5file = await captureWithNfcapd("stats-v5-20000-11", () => readDatagramStream(s5));
      v5 = await loadNfdumpFlows(v5file);
    }, 120_000);

    it.each(SPECS_V9)("v9: -s %s -n 15", async (spec) => {
      const compared = await compareStat(v9file, v9, spec, 15);
      expect(compared).toBeGreaterThan(0);
    });

    it.each(["ip/bytes", "srcport/flows", "dstip/packets", "as/bytes", "port:p/flows", "nhip/bytes", "proto/packets"])(
      "v5: -s %s -n 20",
      async (spec) => {
        const compared = await compareStat(v5file, v5, spec, 20);
        expect(compared).toBeGreaterThan(0);
      },
    );

    it("v9: -s srcip -n 0 lists every key with nfdump's numbers", async () => {
      const compared = await compareStat(v9file, v9, "srcip/bytes", 0);
      expect(compared).toBeGreaterThan(1000);
    });
  },
);
