// Hash-partitioned aggregation (tsdump -A with workers), table reservation and lazy out counters.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RecordBatch } from "../../../src/record/batch.js";
import { makeBatch, type TestFlow } from "./flows.js";
import {
  Aggregator,
  type AggregatorPart,
  forwardedTransferList,
  ORDINAL_BLOCK,
  parseAggregation,
  partTransferList,
} from "../../../src/stats/aggregate.js";
import { KeyTable, MemoryBudget } from "../../../src/stats/key-table.js";
import { findOrder } from "../../../src/stats/orders.js";

type Flow = TestFlow;

// few distinct values: many equal order values, so the tie rule (first-seen order) decides
const flowArb: fc.Arbitrary<Flow> = fc.record({
  src: fc.integer({ min: 0, max: 30 }),
  dst: fc.integer({ min: 0, max: 30 }),
  v6: fc.boolean(),
  dp: fc.constantFrom(53, 80, 443),
  proto: fc.constantFrom(6, 17),
  pkts: fc.integer({ min: 1, max: 3 }),
  bytes: fc.constantFrom(100, 200, 300),
  out: fc.constantFrom(0, 0, 0, 7),
  first: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_100 }),
  dur: fc.integer({ min: 0, max: 50 }),
});

/** The rows of `batches` in order, as text. */
function dump(batches: Iterable<RecordBatch>): string[] {
  const out: string[] = [];
  for (const b of batches) {
    const c = b.cols;
    for (let r = 0; r < b.length; r++) {
      out.push(
        [
          c.srcAddr[r],
          c.dstAddr[r],
          ...c.srcAddr6.subarray(r * 4, r * 4 + 4),
          ...c.dstAddr6.subarray(r * 4, r * 4 + 4),
          c.v6Flags[r],
          c.dstPort[r],
          c.proto[r],
          c.flows[r],
          c.inPackets[r],
          c.inBytes[r],
          c.outPackets[r],
          c.outBytes[r],
          c.msecFirst[r],
          c.msecLast[r],
        ].join(","),
      );
    }
  }
  return out;
}

/** Splits `flows` into blocks at the cut points. */
function blocks(flows: readonly Flow[], cuts: readonly number[]): Flow[][] {
  const at = [...new Set(cuts.map((c) => c % (flows.length + 1)))].sort((a, b) => a - b);
  const out: Flow[][] = [];
  let prev = 0;
  for (const c of [...at, flows.length]) {
    out.push(flows.slice(prev, c));
    prev = c;
  }
  return out;
}

/**
 * The partitions of `bs`: every partition sees every block (`forward` false), or partition 0 reads the blocks
 * and forwards the other rows, as tsdump's workers do (`share0` of the hash space for partition 0). Each then
 * exports `pick(p)` or everything.
 */
function partitioned(
  keys: string,
  parts: number,
  bs: readonly Flow[][],
  pick?: (a: Aggregator) => Uint32Array,
  forward = false,
  share0 = 1 / parts,
): AggregatorPart[] {
  const aggs = Array.from({ length: parts }, (_, p) => {
    const a = new Aggregator(parseAggregation(keys));
    a.partition(p, parts, { forward: forward && p === 0, share0 });
    return a;
  });
  bs.forEach((flows, seq) => {
    for (const [p, a] of aggs.entries()) {
      if (forward && p > 0) continue;
      a.ordinalBase = seq * ORDINAL_BLOCK;
      a.add(makeBatch(flows), null, flows.length);
    }
    if (forward) {
      for (const f of aggs[0]!.takeForwarded()) {
        aggs[f.part]!.addForwarded(structuredClone(f, { transfer: forwardedTransferList(f) }));
      }
    }
  });
  return aggs.map((a) => {
    const part = a.exportPart(pick ? pick(a) : undefined);
    // the part crosses a thread boundary in tsdump: the transfer list must be valid
    return structuredClone(part, { transfer: partTransferList(part) });
  });
}

const KEYS = ["srcip,dstip", "proto,dstport", "srcip4/28,dstport", "dstip6/120,proto", "srcip"];

describe("stats: hash-partitioned aggregation", () => {
  it("merged partitions equal one aggregator fed every row (first-seen order, out counters)", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { minLength: 0, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom(...KEYS),
        fc.boolean(),
        fc.double({ min: 0.05, max: 0.9, noNaN: true }),
        (flows, cuts, parts, keys, forward, share0) => {
          const bs = blocks(flows, cuts);
          const one = new Aggregator(parseAggregation(keys));
          for (const b of bs) one.add(makeBatch(b), null, b.length);
          const merged = Aggregator.fromParts(
            parseAggregation(keys),
            new MemoryBudget(),
            partitioned(keys, parts, bs, undefined, forward, share0),
          );
          expect(merged.size).toBe(one.size);
          expect(dump(merged.toBatches())).toEqual(dump(one.toBatches()));
          const bytes = findOrder("bytes", true);
          expect(dump(merged.toBatches(bytes, false))).toEqual(dump(one.toBatches(bytes, false)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("the top N of merged per-partition top Ns equal the top N of all (ties in first-seen order)", () => {
    fc.assert(
      fc.property(
        fc.array(flowArb, { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(...KEYS),
        fc.constantFrom("bytes", "flows", "packets", "tstart", "bpp"),
        fc.boolean(),
        fc.boolean(),
        (flows, cuts, parts, n, keys, orderName, asc, forward) => {
          const bs = blocks(flows, cuts);
          const order = findOrder(orderName, true);
          const one = new Aggregator(parseAggregation(keys));
          for (const b of bs) one.add(makeBatch(b), null, b.length);
          const top = (a: Aggregator): Uint32Array => Uint32Array.from(a.entryOrder(order, asc, n)).sort();
          const merged = Aggregator.fromParts(
            parseAggregation(keys),
            new MemoryBudget(),
            partitioned(keys, parts, bs, top, forward),
          );
          expect(dump(merged.toBatches(order, asc, n))).toEqual(dump(one.toBatches(order, asc, n)));
          // without -O: the first N groups in first-seen order
          const firstN = (a: Aggregator): Uint32Array => Uint32Array.from(a.entryOrder(undefined, undefined, n));
          const mergedFirst = Aggregator.fromParts(
            parseAggregation(keys),
            new MemoryBudget(),
            partitioned(keys, parts, bs, firstN, forward),
          );
          expect(dump(mergedFirst.toBatches(undefined, undefined, n))).toEqual(
            dump(one.toBatches(undefined, undefined, n)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a merged aggregator is read-only; -a and -b do not partition", () => {
    const spec = parseAggregation("srcip");
    const merged = Aggregator.fromParts(spec, new MemoryBudget(), partitioned("srcip", 2, [[]]));
    const b = makeBatch([
      { src: 1, dst: 2, v6: false, dp: 80, proto: 6, pkts: 1, bytes: 100, out: 0, first: 1, dur: 0 },
    ]);
    expect(() => {
      merged.add(b, null, 1);
    }).toThrow(/read-only/);
    expect(() => {
      new Aggregator(parseAggregation("srcip,dstip", true)).partition(0, 2);
    }).toThrow(RangeError);
  });
});

describe("stats: KeyTable reserve and out counters", () => {
  it("a reserved table finds the same entries as a growing one, without growing", () => {
    for (const width of [1, 2, 5]) {
      const grown = new KeyTable(width, new MemoryBudget(), "g", 16);
      const reserved = new KeyTable(width, new MemoryBudget(), "r", 16);
      reserved.reserve(30_000);
      const slots = reserved.slots;
      const keys = new Uint32Array(4096 * width);
      const a = new Int32Array(4096);
      const b = new Int32Array(4096);
      let x = 99;
      for (let round = 0; round < 6; round++) {
        for (let j = 0; j < 4096 * width; j++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          keys[j] = x % 20_000;
        }
        grown.lookupN(keys, 4096, a);
        reserved.lookupN(keys, 4096, b);
        expect(b).toEqual(a);
      }
      expect(reserved.count).toBe(grown.count);
      expect(reserved.slots).toBe(slots); // no rehash
      expect(reserved.keys.subarray(0, reserved.count * width)).toEqual(grown.keys.subarray(0, grown.count * width));
    }
  });

  it("reserve is a hint: past the memory budget the table still grows", () => {
    const budget = new MemoryBudget(4 * 1024 * 1024);
    const t = new KeyTable(2, budget, "t", 16);
    t.reserve(10_000_000);
    expect(t.capacity).toBeLessThan(10_000_000);
    const k = new Uint32Array(2);
    for (let i = 0; i < 5000; i++) {
      k[0] = i;
      k[1] = i * 3;
      expect(t.findOrInsert(k, 0)).toBe(i);
    }
    expect(budget.used).toBeLessThanOrEqual(budget.limit);
  });

  it("out counters exist only once one is non-zero, and add up after that", () => {
    const a = new Aggregator(parseAggregation("srcip"));
    const f = { src: 1, dst: 2, v6: false, dp: 80, proto: 6, pkts: 1, bytes: 100, out: 0, first: 1, dur: 0 };
    a.add(makeBatch([f, { ...f, src: 2 }]), null, 2);
    expect(a.t4.accOut).toBeNull();
    a.add(
      makeBatch([
        { ...f, out: 3 },
        { ...f, src: 3 },
      ]),
      null,
      2,
    );
    expect(a.t4.accOut).not.toBeNull();
    const rows = [...a.toBatches()];
    const c = rows[0]!.cols;
    expect([...c.outPackets.subarray(0, 3)]).toEqual([3, 0, 0]);
    expect([...c.outBytes.subarray(0, 3)]).toEqual([30, 0, 0]);
    expect([...c.flows.subarray(0, 3)]).toEqual([2, 1, 1]);
  });
});
