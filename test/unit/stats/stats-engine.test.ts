// Unit and property tests of the statistics engine: parsing, merge(a, b) == add(all), top-N == full sort's
// first N, aggregation merge, the memory bound and the error messages.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { makeBatch, type TestFlow } from "./flows.js";
import { Aggregator, bidirAggregation, parseAggregation } from "../../../src/stats/aggregate.js";
import { parseStatSpec, parseStatSpecs, type ElementStatSpec } from "../../../src/stats/elements.js";
import { StatsError } from "../../../src/stats/errors.js";
import { selectTop, selectTopOf } from "../../../src/stats/heap.js";
import { hash2, hashWords, KeyTable, MemoryBudget } from "../../../src/stats/key-table.js";
import { findOrder, parseRecordOrder } from "../../../src/stats/orders.js";
import { RecordSorter } from "../../../src/stats/sort.js";
import { StatsQuery } from "../../../src/stats/query.js";
import { StatAccumulator, type StatTable, transferList } from "../../../src/stats/topn.js";

type Flow = TestFlow;

const flowArb: fc.Arbitrary<Flow> = fc.record({
  src: fc.integer({ min: 0, max: 40 }),
  dst: fc.integer({ min: 0, max: 40 }),
  v6: fc.boolean(),
  sp: fc.constantFrom(53, 80, 443, 1234, 40000),
  dp: fc.constantFrom(53, 80, 443, 8080),
  proto: fc.constantFrom(6, 17, 1),
  pkts: fc.integer({ min: 1, max: 1000 }),
  bytes: fc.integer({ min: 40, max: 1_500_000 }),
  first: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
  dur: fc.integer({ min: 0, max: 60_000 }),
  as: fc.integer({ min: 0, max: 5 }),
});

function elementSpec(text: string): ElementStatSpec {
  const s = parseStatSpec(text);
  if (s.type !== "element") throw new Error("not an element stat");
  return s;
}

function plain(t: StatTable): unknown[] {
  return t.rows.map((r) => ({ ...r }));
}

const SPECS = ["ip/bytes", "srcip:p/flows", "port/packets", "proto/bpp", "as/pps", "dstport:p/obyte", "srcas/bps"];

describe("stats: -s parsing", () => {
  it("parses elements, :p and orders in nfdump's print order", () => {
    const s = elementSpec("IP:p/bytes/flows");
    expect(s.element.name).toBe("ip");
    expect(s.element.columns).toEqual(["srcAddr", "dstAddr"]);
    expect(s.protoSplit).toBe(true);
    expect(s.orders.map((o) => o.name)).toEqual(["flows", "bytes"]);
    expect(elementSpec("proto").protoSplit).toBe(true);
    expect(elementSpec("srcport").orders.map((o) => o.name)).toEqual(["flows"]);
    expect(parseStatSpec("record/bytes").type).toBe("record");
    expect(elementSpec("dstip/bytes:a").ascending).toBe(true);
  });

  it("rejects unknown elements and orders with a hint", () => {
    expect(() => parseStatSpec("srcpot")).toThrow(/unknown statistic 'srcpot' \(did you mean srcport\?\)/);
    expect(() => parseStatSpec("ip/byte")).toThrow(/unknown order 'byte' \(did you mean bytes/);
    expect(() => parseStatSpec("ip/tstart")).toThrow(StatsError);
    expect(() => parseStatSpec("ip:x")).toThrow(/unknown option ':x'/);
    try {
      parseStatSpec("dstsport");
    } catch (e) {
      expect((e as StatsError).code).toBe("ERR_STATS_UNKNOWN_ELEMENT");
    }
    expect(() => parseStatSpecs(Array.from({ length: 9 }, () => "ip"))).toThrow(/too many -s options/);
  });

  it("resolves 1.7.1 and master order names", () => {
    expect(findOrder("ipackets", true).name).toBe("ipkg");
    expect(parseRecordOrder("tstart").ascending).toBe(true);
    expect(parseRecordOrder("bytes:a").ascending).toBe(true);
    expect(() => parseRecordOrder("byts")).toThrow(/did you mean bytes/);
  });
});

describe("stats: StatAccumulator properties", () => {
  it("merge(a, b) equals add(all) for every order (also through an exported state)", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.constantFrom(...SPECS),
        (flows, cut, text) => {
          const k = cut % (flows.length + 1);
          const spec = elementSpec(text);
          const all = new StatAccumulator(spec);
          all.add(makeBatch(flows), null, flows.length);
          const a = new StatAccumulator(spec);
          const b = new StatAccumulator(spec);
          a.add(makeBatch(flows.slice(0, k)), null, k);
          b.add(makeBatch(flows.slice(k)), null, flows.length - k);
          const state = structuredClone(b.exportState(), { transfer: transferList(b.exportState()) });
          a.merge(state);
          for (const o of spec.orders) expect(plain(a.top(0, o))).toEqual(plain(all.top(0, o)));
          expect(a.totals).toEqual(all.totals);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("top(n) equals the first n of the full sort", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { maxLength: 400 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom(...SPECS),
        (flows, n, text) => {
          const spec = elementSpec(text);
          const acc = new StatAccumulator(spec);
          acc.add(makeBatch(flows), null, flows.length);
          for (const o of spec.orders) {
            const full = acc.top(0, o).rows;
            expect(acc.top(n, o).rows).toEqual(full.slice(0, n));
            // the full list is ordered by value
            for (let i = 1; i < full.length; i++)
              expect(full[i - 1]!.orderValue).toBeGreaterThanOrEqual(full[i]!.orderValue);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("counts two-sided elements once per side and totals once per flow", () => {
    const flows: Flow[] = [
      { src: 1, dst: 2, v6: false, sp: 80, dp: 80, proto: 6, pkts: 10, bytes: 1000, first: 1_000, dur: 1_000, as: 0 },
      { src: 2, dst: 1, v6: false, sp: 53, dp: 443, proto: 17, pkts: 1, bytes: 100, first: 5_000, dur: 0, as: 0 },
    ];
    const acc = new StatAccumulator(elementSpec("ip/bytes"));
    acc.add(makeBatch(flows), null, 2);
    const t = acc.top(10, findOrder("bytes", false));
    expect(t.rows.map((r) => [r.keyText, r.flows, r.bytes, r.first, r.last])).toEqual([
      ["10.0.0.1", 2, 1100 + 250 + 25, 1_000, 5_000],
      ["10.0.0.2", 2, 1100 + 250 + 25, 1_000, 5_000],
    ]);
    expect(acc.totals.flows).toBe(2);
    const port = new StatAccumulator(elementSpec("port"));
    port.add(makeBatch(flows), null, 2);
    const p = port.top(10, findOrder("flows", false)).rows;
    expect(p.map((r) => [r.value, r.flows, r.packets])).toEqual([
      [80, 2, 20],
      [53, 1, 1],
      [443, 1, 1],
    ]);
  });

  it("formats IPv6, MAC, MPLS and protocol split keys", () => {
    const b = makeBatch([
      { src: 1, dst: 2, v6: true, sp: 1, dp: 2, proto: 17, pkts: 1, bytes: 1, first: 0, dur: 0, as: 0 },
    ]);
    b.cols.inSrcMac[0] = 0x0a0b0c0d0e0f;
    b.cols.mpls1[0] = (1234 << 4) | (5 << 1) | 1;
    const ip = new StatAccumulator(elementSpec("srcip:p"));
    ip.add(b, null, 1);
    expect(ip.top(1, findOrder("flows", false)).rows[0]).toMatchObject({
      keyText: "2001::1",
      family: 6,
      proto: 17,
      words: [0x20010000, 0, 0, 1],
    });
    const mac = new StatAccumulator(elementSpec("insrcmac"));
    mac.add(b, null, 1);
    expect(mac.top(1, findOrder("flows", false)).rows[0]!.keyText).toBe("0a:0b:0c:0d:0e:0f");
    const mpls = new StatAccumulator(elementSpec("mpls1"));
    mpls.add(b, null, 1);
    expect(mpls.top(1, findOrder("flows", false)).rows[0]!.keyText).toBe("1234-5-1");
  });

  it("throws ERR_STATS_MEMORY past the budget and reports memory", () => {
    const budget = new MemoryBudget(256 * 1024);
    const acc = new StatAccumulator(elementSpec("srcip"), budget);
    const b = new RecordBatch(50_000);
    for (let i = 0; i < 50_000; i++) {
      b.setV4("srcAddr", b.addRow(), i);
    }
    expect(() => {
      acc.add(b, null, b.length);
    }).toThrow(/statistics: memory limit of 0\.3 MiB exceeded by -s srcip/);
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
    expect(acc.memoryBytes()).toBeGreaterThan(0);
    try {
      acc.add(b, null, b.length);
    } catch (e) {
      expect((e as StatsError).code).toBe("ERR_STATS_MEMORY");
    }
  });
});

describe("stats: KeyTable and heap", () => {
  it("finds every key after growth, in insertion order", () => {
    const t = new KeyTable(3, new MemoryBudget(), "t", 16);
    const k = new Uint32Array(3);
    for (let i = 0; i < 10_000; i++) {
      k.set([i, i * 7, i % 3]);
      expect(t.findOrInsert(k, 0)).toBe(i);
    }
    for (let i = 0; i < 10_000; i += 97) {
      k.set([i, i * 7, i % 3]);
      expect(t.findOrInsert(k, 0)).toBe(i);
    }
    expect(t.count).toBe(10_000);
  });

  it("lookup1/lookupN keep one entry per key across slot growth", () => {
    for (const width of [1, 2]) {
      const t = new KeyTable(width, new MemoryBudget(), "t", 16);
      const keys = new Uint32Array(4096 * width);
      const out = new Int32Array(4096);
      let x = 12345;
      const seen = new Map<string, number>();
      for (let round = 0; round < 40; round++) {
        for (let j = 0; j < 4096; j++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          const v = x % 50_000;
          for (let i = 0; i < width; i++) keys[j * width + i] = v + i;
        }
        t.lookupN(keys, 4096, out);
        for (let j = 0; j < 4096; j++) {
          const k = String(keys[j * width]);
          const prev = seen.get(k);
          if (prev === undefined) seen.set(k, out[j]!);
          else expect(out[j]).toBe(prev);
        }
      }
      expect(t.count).toBe(seen.size);
    }
  });

  it("selectTop equals sorting", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 50 }),
        fc.boolean(),
        (vals, n, asc) => {
          const values = Float64Array.from(vals);
          const ids = Uint32Array.from(vals.map((_, i) => i));
          const full = [...ids].sort((a, b) => (asc ? values[a]! - values[b]! : values[b]! - values[a]!) || a - b);
          expect([...selectTop(ids, values, n, asc, (a, b) => a - b)]).toEqual(full.slice(0, n));
          expect([...selectTopOf(ids.length, (id) => values[id]!, n, asc)]).toEqual(full.slice(0, n));
        },
      ),
    );
  });
});

describe("stats: -A aggregation", () => {
  it("parses keys and masks, with nfdump's errors", () => {
    const s = parseAggregation("srcip4/24,dstport,proto");
    expect(s.parts.map((p) => [p.name, p.column, p.v4Mask >>> 0])).toEqual([
      ["srcip4", "srcAddr", 0xffffff00],
      ["dstport", "dstPort", 0xffffffff],
      ["proto", "proto", 0xffffffff],
    ]);
    expect(s.fmt).toBe("%ts %td %sa %dp %pr %pkt %byt %bps %bpp %fl");
    expect(() => parseAggregation("srcip/24")).toThrow(/need srcip4 or srcip6 for a netmask/);
    expect(() => parseAggregation("srcip4/33")).toThrow(/bad netmask/);
    expect(() => parseAggregation("dstprt")).toThrow(/unknown key 'dstprt' \(did you mean dstport\?\)/);
    expect(() => parseAggregation("proto,proto")).toThrow(/duplicate key/);
  });

  it("merge(a, b) equals add(all)", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.constantFrom("srcip,dstip", "proto,dstport", "srcip4/30,srcas", "srcip6/120,dstip", "srcport"),
        (flows, cut, keys) => {
          const k = cut % (flows.length + 1);
          const all = new Aggregator(parseAggregation(keys));
          all.add(makeBatch(flows), null, flows.length);
          const a = new Aggregator(parseAggregation(keys));
          const b = new Aggregator(parseAggregation(keys));
          a.add(makeBatch(flows.slice(0, k)), null, k);
          b.add(makeBatch(flows.slice(k)), null, flows.length - k);
          a.merge(b.exportState());
          const bytes = findOrder("bytes", true);
          const dump = (g: Aggregator): string[] => {
            const out: string[] = [];
            for (const batch of g.toBatches(bytes, false)) {
              for (let r = 0; r < batch.length; r++) {
                const c = batch.cols;
                out.push(
                  [
                    c.srcAddr[r],
                    c.dstAddr[r],
                    ...c.srcAddr6.subarray(r * 4, r * 4 + 4),
                    c.v6Flags[r],
                    c.srcPort[r],
                    c.dstPort[r],
                    c.proto[r],
                    c.srcAs[r],
                    c.flows[r],
                    c.inBytes[r],
                    c.inPackets[r],
                    c.msecFirst[r],
                    c.msecLast[r],
                  ].join(","),
                );
              }
            }
            return out.sort();
          };
          expect(dump(a)).toEqual(dump(all));
          expect(a.size).toBe(all.size);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("masks keys and zeroes non-key columns", () => {
    const flows: Flow[] = [
      { src: 1, dst: 2, v6: false, sp: 80, dp: 80, proto: 6, pkts: 10, bytes: 1000, first: 1_000, dur: 1_000, as: 3 },
      { src: 3, dst: 9, v6: false, sp: 53, dp: 443, proto: 17, pkts: 1, bytes: 100, first: 500, dur: 0, as: 3 },
    ];
    const g = new Aggregator(parseAggregation("srcip4/30"));
    g.add(makeBatch(flows), null, 2);
    const [out] = [...g.toBatches()];
    expect(out!.length).toBe(1);
    expect(out!.cols.srcAddr[0]).toBe(0x0a000000);
    expect([out!.cols.flows[0], out!.cols.inBytes[0], out!.cols.msecFirst[0], out!.cols.msecLast[0]]).toEqual([
      2, 1100, 500, 2_000,
    ]);
    expect([out!.cols.dstAddr[0], out!.cols.srcPort[0], out!.cols.proto[0], out!.cols.srcAs[0]]).toEqual([0, 0, 0, 0]);
  });
});

describe("stats: RecordSorter", () => {
  it("bounded top-N equals the first N of the full sort (stable ties)", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom("bytes", "flows", "tstart", "duration", "bpp"),
        (flows, n, o) => {
          const { order, ascending } = parseRecordOrder(o);
          const batch = makeBatch(flows);
          const full = new RecordSorter(order, ascending, 0);
          const top = new RecordSorter(order, ascending, n);
          full.add(batch, null, flows.length);
          top.add(batch, null, flows.length);
          const rows = (s: RecordSorter): number[][] => {
            const out: number[][] = [];
            for (const b of s.toBatches())
              for (let r = 0; r < b.length; r++)
                out.push([b.cols.srcAddr[r]!, b.cols.inBytes[r]!, b.cols.msecFirst[r]!, b.cols.msecLast[r]!]);
            return out;
          };
          expect(rows(top)).toEqual(rows(full).slice(0, n));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("stats: StatsQuery", () => {
  const flows: Flow[] = Array.from({ length: 500 }, (_, i) => ({
    src: i % 17,
    dst: (i * 7) % 23,
    v6: i % 9 === 0,
    sp: [53, 80, 443][i % 3]!,
    dp: [80, 8080][i % 2]!,
    proto: [6, 17][i % 2]!,
    pkts: 1 + (i % 13),
    bytes: 100 + i * 31,
    first: 1_000_000 + i * 10,
    dur: (i * 37) % 5000,
    as: i % 4,
  }));

  it("merges worker partial states into the single-thread result", () => {
    const opts = { stats: ["ip/bytes/flows", "dstport:p"], limit: 7 };
    const aggrOpts = { aggregate: "srcip,proto", order: "bytes", limit: 7 };
    const single = new StatsQuery(opts);
    single.add(makeBatch(flows), null, flows.length);
    const singleAggr = new StatsQuery(aggrOpts);
    singleAggr.add(makeBatch(flows), null, flows.length);
    const main = new StatsQuery(opts);
    const mainAggr = new StatsQuery(aggrOpts);
    for (const part of [flows.slice(0, 200), flows.slice(200)]) {
      for (const [o, into] of [
        [opts, main],
        [aggrOpts, mainAggr],
      ] as const) {
        const w = new StatsQuery(o);
        w.add(makeBatch(part), null, part.length);
        into.merge(structuredClone(w.exportState()));
      }
    }
    expect(main.elementTables().map(plain)).toEqual(single.elementTables().map(plain));
    expect(main.elementTables().map((t) => [t.element.name, t.order.name, t.rows.length])).toEqual([
      ["ip", "flows", 7],
      ["ip", "bytes", 7],
      ["dstport", "flows", 2],
    ]);
    const rows = (q: StatsQuery): number[] =>
      [...q.records()].flatMap((b) => [...b.cols.inBytes.subarray(0, b.length)]);
    expect(rows(mainAggr)).toEqual(rows(singleAggr));
    expect(rows(mainAggr).length).toBe(7);
    expect(main.memory().peak).toBeGreaterThan(0);
  });

  it("applies nfdump's option rules", () => {
    expect(() => new StatsQuery({ stats: ["record/bytes"], order: "flows" })).toThrow(/mutually exclusive/);
    expect(() => new StatsQuery({ aggregate: "proto", bidir: 1 })).toThrow(/bidir mode/);
    expect(new StatsQuery({ stats: ["dstport"], aggregate: "proto" }).warnings).toEqual([
      "Warning: Aggregation ignored for element statistics",
    ]);
    expect(new StatsQuery({ stats: ["record/bytes"], fiveTuple: true }).warnings).toEqual([
      "Command line switch -s overwrites -a",
    ]);
    expect(new StatsQuery({ stats: ["ip"] }).statLimit).toBe(10);
    expect(new StatsQuery({ order: "tstart" }).hasRecords).toBe(true);
    const q = new StatsQuery({ stats: ["record/bytes/flows"], limit: 3 });
    q.add(makeBatch(flows), null, flows.length);
    const tables = q.recordTables();
    expect(tables.map((t) => t.order.name)).toEqual(["flows", "bytes"]);
    const top = [...tables[1]!.batches][0]!;
    expect(top.length).toBe(3);
    expect(top.cols.inBytes[0]).toBeGreaterThanOrEqual(top.cols.inBytes[1]!);
  });
});

describe("stats: -b / -B bidirectional aggregation", () => {
  const base: Flow = {
    src: 1,
    dst: 2,
    v6: false,
    sp: 40000,
    dp: 443,
    proto: 6,
    pkts: 10,
    bytes: 1000,
    first: 1_000,
    dur: 1_000,
    as: 0,
  };

  it("merges a reverse flow into the forward group's out counters (IPv4 and IPv6)", () => {
    for (const v6 of [false, true]) {
      const flows: Flow[] = [
        { ...base, v6 },
        { ...base, v6, src: 2, dst: 1, sp: 443, dp: 40000, pkts: 20, bytes: 30_000, first: 1_100, dur: 2_000 },
        { ...base, v6, sp: 40001 },
      ];
      const g = new Aggregator(bidirAggregation(false));
      g.add(makeBatch(flows), null, flows.length);
      const [out] = [...g.toBatches()];
      expect(out!.length).toBe(2);
      const c = out!.cols;
      // packets out of makeBatch: out = in >> 1, bytes out = in >> 2
      expect([
        c.srcPort[0],
        c.dstPort[0],
        c.flows[0],
        c.inPackets[0],
        c.outPackets[0],
        c.inBytes[0],
        c.outBytes[0],
      ]).toEqual([40000, 443, 2, 10 + 10, 5 + 20, 1000 + 7500, 250 + 30_000]);
      expect([c.msecFirst[0], c.msecLast[0]]).toEqual([1_000, 3_100]);
    }
  });

  it("-B turns server-to-client flows around first", () => {
    const flows: Flow[] = [{ ...base, src: 2, dst: 1, sp: 443, dp: 40000 }];
    const g = new Aggregator(bidirAggregation(true));
    g.add(makeBatch(flows), null, 1);
    const [out] = [...g.toBatches()];
    const c = out!.cols;
    expect([c.srcAddr[0], c.dstAddr[0], c.srcPort[0], c.dstPort[0], c.inPackets[0], c.outPackets[0]]).toEqual([
      0x0a000001, 0x0a000002, 40000, 443, 5, 10,
    ]);
  });

  it("hash2 agrees with hashWords (lookup2 and findOrInsert share slots)", () => {
    const k = new Uint32Array([0xdeadbeef, 17]);
    expect(hash2(k[0]!, k[1]!)).toBe(hashWords(k, 0, 2));
    const t = new KeyTable(2, new MemoryBudget());
    const out = new Int32Array(1);
    t.lookupN(k, 1, out);
    expect(t.find(k, 0)).toBe(out[0]);
    expect(t.findOrInsert(k, 0)).toBe(out[0]);
    expect(t.count).toBe(1);
  });
});
