// Compatibility of -A / -a aggregation and -O sorting with nfdump 1.7.1 on the same flows. nfdump's aggregated
// records are read from `-o pipe` (exact ms times, addresses as numbers, counters) zipped with a second run
// printing `%fl` (pipe has no flow count); both runs print the same records in the same order.
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordBatch } from "../../src/record/batch.js";
import { Aggregator, fiveTupleAggregation, parseAggregation } from "../../src/stats/aggregate.js";
import { MemoryBudget } from "../../src/stats/key-table.js";
import { orderValue, parseRecordOrder } from "../../src/stats/orders.js";
import { RecordSorter } from "../../src/stats/sort.js";
import {
  captureWithNfcapd,
  syntheticStream,
  loadNfdumpFlows,
  nfdump,
  NFDUMP_MISSING,
  readDatagramStream,
} from "../helpers/nfdump.js";

interface AggRow {
  key: string;
  first: number;
  last: number;
  packets: number;
  bytes: number;
  flows: number;
}

/** Key of a pipe line: af | proto | src words | sport | dst words | dport | srcas | dstas | in | out | tos. */
function pipeRow(line: string, flows: number): AggRow {
  const p = line.split("|").map(Number);
  const key = [
    p[0],
    p[3],
    p[4],
    p[5],
    p[6],
    p[7],
    p[8],
    p[9],
    p[10],
    p[11],
    p[12],
    p[13],
    p[14],
    p[15],
    p[16],
    p[17],
    p[19],
  ].join("|");
  return { key, first: p[1]!, last: p[2]!, packets: p[20]!, bytes: p[21]!, flows };
}

function batchRows(batches: Iterable<RecordBatch>): AggRow[] {
  const out: AggRow[] = [];
  for (const b of batches) {
    const c = b.cols;
    for (let r = 0; r < b.length; r++) {
      const v6 = b.isV6("srcAddr", r) || b.isV6("dstAddr", r);
      const sa = b.isV6("srcAddr", r) ? [...c.srcAddr6.subarray(r * 4, r * 4 + 4)] : [0, 0, 0, c.srcAddr[r]!];
      const da = b.isV6("dstAddr", r) ? [...c.dstAddr6.subarray(r * 4, r * 4 + 4)] : [0, 0, 0, c.dstAddr[r]!];
      const key = [
        v6 ? 10 : 2,
        c.proto[r],
        ...sa,
        c.srcPort[r],
        ...da,
        c.dstPort[r],
        c.srcAs[r],
        c.dstAs[r],
        c.input[r],
        c.output[r],
        c.srcTos[r],
      ].join("|");
      out.push({
        key,
        first: c.msecFirst[r]!,
        last: c.msecLast[r]!,
        packets: c.inPackets[r]!,
        bytes: c.inBytes[r]!,
        flows: c.flows[r]!,
      });
    }
  }
  return out;
}

async function nfdumpAggregated(file: string, args: string[], filter?: string): Promise<AggRow[]> {
  const tail = filter ? [filter] : [];
  const [pipe, fl] = await Promise.all([
    nfdump(["-r", file, "-q", "-o", "pipe", ...args, ...tail]),
    nfdump(["-r", file, "-q", "-N", "-o", "fmt:%fl", ...args, ...tail]),
  ]);
  const p = pipe.split("\n").filter((l) => /^\d+\|/.test(l));
  const f = fl
    .split("\n")
    .filter((l) => /^\s*\d+\s*$/.test(l))
    .map(Number);
  expect(f.length).toBe(p.length);
  return p.map((l, i) => pipeRow(l, f[i]!));
}

function selection(batch: RecordBatch, keep: (r: number) => boolean): [Uint32Array, number] {
  const sel = new Uint32Array(batch.length);
  let n = 0;
  for (let r = 0; r < batch.length; r++) if (keep(r)) sel[n++] = r;
  return [sel, n];
}

/** Drops the address family from the keys (nfdump prints the family of some merged flow when no address is a key). */
function withoutFamily(rows: AggRow[]): AggRow[] {
  return rows.map((r) => ({ ...r, key: r.key.slice(r.key.indexOf("|") + 1) }));
}

/**
 * Our rows must equal nfdump's: every nfdump row is one of ours (`all` = our whole aggregation) with the same
 * numbers, and `top` (our output under the same -O/-n) has the same length and sequence of order values (rows
 * with equal values may be permuted: nfdump's sort is unstable).
 */
function expectSameAggregation(
  top: AggRow[],
  theirs: AggRow[],
  orderText?: string,
  all: AggRow[] = top,
  family = true,
): void {
  if (!family) {
    top = withoutFamily(top);
    theirs = withoutFamily(theirs);
    all = withoutFamily(all);
  }
  expect(top.length).toBe(theirs.length);
  const byKey = new Map(all.map((r) => [r.key, r]));
  expect(byKey.size).toBe(all.length);
  for (const t of theirs) expect(byKey.get(t.key), `row ${t.key}`).toEqual(t);
  const ours = top;
  if (orderText) {
    const { order } = parseRecordOrder(orderText);
    const val = (r: AggRow): number => orderValue(order, r.flows, r.packets, r.bytes, 0, 0, r.first, r.last);
    expect(ours.map(val)).toEqual(theirs.map(val));
  }
}

describe.skipIf(NFDUMP_MISSING !== undefined)(
  `-A / -a / -O vs nfdump 1.7.1${NFDUMP_MISSING === undefined ? "" : ` (skipped: ${NFDUMP_MISSING})`}`,
  () => {
    let file = "";
    let batch: RecordBatch;
    let v5file = "";
    let v5: RecordBatch;

    beforeAll(async () => {
      const s9 = await syntheticStream({ flows: 30000, proto: "v9", seed: 7 });
      file = await captureWithNfcapd("stats-v9-30000-7", () => readDatagramStream(s9));
      batch = await loadNfdumpFlows(file);
      const s5 = await syntheticStream({ flows: 20000, proto: "v5", seed: 11 });
      v5file = await captureWithNfcapd("stats-v5-20000-11", () => readDatagramStream(s5));
      v5 = await loadNfdumpFlows(v5file);
    }, 120_000);

    const cases: [string, string, string | undefined, number][] = [
      ["srcip,dstip", "bytes", undefined, 20],
      ["srcip,dstip", "flows", undefined, 25],
      ["proto,dstport", "packets", undefined, 0],
      ["srcip", "flows", undefined, 30],
      ["dstip,dstport", "bpp", undefined, 15],
      ["srcas,dstas", "bytes", undefined, 0],
      ["srcip4/24", "flows", "inet", 0],
      ["dstip4/16,proto", "bytes", "inet", 0],
      ["srcip6/48", "bytes", "inet6", 0],
      ["srcport,proto", "pps", undefined, 10],
      // nfdump 1.7.1 does not order by -O bps/ibps/obps at all (its output stays in hash order): bytes instead
      ["inif,outif", "bytes", undefined, 0],
      ["inif,outif", "ipps", undefined, 0],
      ["tos,proto", "tstart", undefined, 0],
      ["srcip,proto", "tend", undefined, 12],
      ["srcnet", "bytes", "inet", 0],
    ];

    it.each(cases)("v9: -A %s -O %s (filter %s, -n %i)", async (keys, orderText, filter, n) => {
      const args = ["-A", keys, "-O", orderText];
      if (n > 0) args.push("-n", String(n));
      const theirs = await nfdumpAggregated(file, args, filter);
      const [sel, count] = selection(batch, (r) =>
        filter === "inet" ? !batch.isV6("srcAddr", r) : filter === "inet6" ? batch.isV6("srcAddr", r) : true,
      );
      const agg = new Aggregator(parseAggregation(keys), new MemoryBudget(1 << 30));
      for (let s = 0; s < count; s += 7000) agg.add(batch, sel.subarray(s), Math.min(7000, count - s));
      const { order, ascending } = parseRecordOrder(orderText);
      const ours = batchRows(agg.toBatches(order, ascending, n));
      const hasAddr = /ip|net/.test(keys);
      expectSameAggregation(ours, theirs, orderText, batchRows(agg.toBatches()), hasAddr);
    });

    it("v9: -A proto,dstport without -O gives nfdump's groups", async () => {
      const theirs = await nfdumpAggregated(file, ["-A", "proto,dstport"]);
      const agg = new Aggregator(parseAggregation("proto,dstport"));
      agg.add(batch, null, batch.length);
      expectSameAggregation(batchRows(agg.toBatches()), theirs, undefined, undefined, false);
    });

    it("v5: -a -O bytes -n 20 and the full -a", async () => {
      for (const n of [20, 0]) {
        const args = ["-a", "-O", "bytes"];
        if (n) args.push("-n", String(n));
        const theirs = await nfdumpAggregated(v5file, args);
        const agg = new Aggregator(fiveTupleAggregation());
        agg.add(v5, null, v5.length);
        const { order } = parseRecordOrder("bytes");
        const ours = batchRows(agg.toBatches(order, false, n));
        expectSameAggregation(ours, theirs, "bytes", batchRows(agg.toBatches()));
      }
    });

    it("v5: -A srcip,dstport -O flows -n 20", async () => {
      const theirs = await nfdumpAggregated(v5file, ["-A", "srcip,dstport", "-O", "flows", "-n", "20"]);
      const agg = new Aggregator(parseAggregation("srcip,dstport"));
      agg.add(v5, null, v5.length);
      expectSameAggregation(
        batchRows(agg.toBatches(parseRecordOrder("flows").order, false, 20)),
        theirs,
        "flows",
        batchRows(agg.toBatches()),
      );
    });

    it.each([
      ["bytes", 20],
      ["packets", 0],
      ["tstart", 15],
    ] as const)("v9: plain listing -O %s -n %i", async (orderText, n) => {
      const args = ["-O", orderText];
      if (n) args.push("-n", String(n));
      const pipe = await nfdump(["-r", file, "-q", "-o", "pipe", ...args]);
      const theirs = pipe
        .split("\n")
        .filter((l) => /^\d+\|/.test(l))
        .map((l) => pipeRow(l, 1));
      const { order, ascending } = parseRecordOrder(orderText);
      const sorter = new RecordSorter(order, ascending, n);
      for (let s = 0; s < batch.length; s += 9000) sorter.add(batch, null, 0);
      const sel = new Uint32Array(batch.length);
      for (let i = 0; i < batch.length; i++) sel[i] = i;
      for (let s = 0; s < batch.length; s += 9000) sorter.add(batch, sel.subarray(s), Math.min(9000, batch.length - s));
      const ours = batchRows(sorter.toBatches());
      expect(ours.length).toBe(theirs.length);
      const val = (r: AggRow): number => orderValue(order, 1, r.packets, r.bytes, 0, 0, r.first, r.last);
      expect(ours.map(val)).toEqual(theirs.map(val));
      // same records (as multisets: equal order values may be permuted)
      const key = (r: AggRow): string => `${r.key}|${r.first}|${r.last}|${r.packets}|${r.bytes}`;
      expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
    });
  },
);
