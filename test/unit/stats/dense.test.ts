// The small-domain fast path of -s (DenseCounts): on random data it must give exactly what the hash tables
// give — every order, ties broken by key, the key 0, flows of 0 counted as 1, out counters, 32-bit values
// beyond the dense domain (4-byte AS numbers) falling back to the table, merges between the two paths.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { parseStatSpec, type ElementStatSpec } from "../../../src/stats/elements.js";
import { DenseCounts, nativeDense, type DenseTotals } from "../../../src/stats/dense.js";
import { KeyTable, MemoryBudget } from "../../../src/stats/key-table.js";
import { DENSE_U32_DOMAIN, StatAccumulator, type StatTable, transferList } from "../../../src/stats/topn.js";

interface Row {
  port: number;
  port2: number;
  proto: number;
  tos: number;
  as: number;
  as2: number;
  inIf: number;
  flows: number;
  pkts: number;
  bytes: number;
  out: number;
  first: number;
  dur: number;
}

/** Few distinct values per field, so that many rows share keys and many keys share counters (ties). */
const rowArb: fc.Arbitrary<Row> = fc.record({
  port: fc.constantFrom(0, 1, 53, 443, 65535),
  port2: fc.constantFrom(0, 80, 8080, 65534),
  proto: fc.constantFrom(0, 6, 17, 255),
  tos: fc.constantFrom(0, 3, 255),
  as: fc.constantFrom(0, 1, 65535, DENSE_U32_DOMAIN, 4_200_000_000, 0xffffffff),
  as2: fc.constantFrom(0, 15169, 65536, 131072),
  inIf: fc.constantFrom(0, 2, 70_000),
  flows: fc.constantFrom(0, 1, 1, 1, 3),
  pkts: fc.constantFrom(1, 2, 10),
  bytes: fc.constantFrom(40, 100, 1500),
  out: fc.constantFrom(0, 0, 0, 5),
  first: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_100 }),
  dur: fc.constantFrom(0, 1, 1000),
});

function batchOf(rows: readonly Row[]): RecordBatch {
  const b = new RecordBatch(Math.max(1, rows.length));
  for (const x of rows) {
    const r = b.addRow();
    const c = b.cols;
    c.srcPort[r] = x.port;
    c.dstPort[r] = x.port2;
    c.proto[r] = x.proto;
    c.srcTos[r] = x.tos;
    c.srcAs[r] = x.as;
    c.dstAs[r] = x.as2;
    c.input[r] = x.inIf;
    c.output[r] = x.as % 100_000;
    c.flows[r] = x.flows;
    c.inPackets[r] = x.pkts;
    c.inBytes[r] = x.bytes;
    c.outPackets[r] = x.out;
    c.outBytes[r] = x.out * 10;
    c.msecFirst[r] = x.first;
    c.msecLast[r] = x.first + x.dur;
  }
  return b;
}

function spec(text: string): ElementStatSpec {
  const s = parseStatSpec(text);
  if (s.type !== "element") throw new Error("not an element statistic");
  return s;
}

function plain(t: StatTable): unknown {
  return { distinct: t.distinct, rows: t.rows.map((r) => ({ ...r })), totals: t.totals };
}

const DENSE = [
  "srcport/bytes",
  "dstport/flows",
  "port/packets",
  "proto/bytes",
  "tos/flows",
  "srcas/bytes",
  "as/flows",
  "dstas/pps",
  "inif/bpp",
  "if/obytes",
  "srcas/bytes/flows/packets",
];
const HASHED = ["srcport:p/bytes", "srcas:p/flows", "srcip/bytes"];

describe("stats: small-domain fast path", () => {
  it("is used for scalar keys without :p only", () => {
    for (const t of DENSE) expect(new StatAccumulator(spec(t)).usesDense).toBe(true);
    for (const t of HASHED) expect(new StatAccumulator(spec(t)).usesDense).toBe(false);
    expect(new StatAccumulator(spec("srcport"), new MemoryBudget(), { dense: false }).usesDense).toBe(false);
  });

  it("equals the hash path on random data, with a selection, in several batches and through merges", () => {
    fc.assert(
      fc.property(
        fc.array(rowArb, { minLength: 1, maxLength: 400 }),
        fc.array(fc.boolean(), { minLength: 400, maxLength: 400 }),
        fc.nat(),
        fc.constantFrom(...DENSE),
        fc.integer({ min: 0, max: 12 }),
        (rows, pick, cut, text, n) => {
          const s = spec(text);
          const k = cut % (rows.length + 1);
          const dense = new StatAccumulator(s);
          const hashed = new StatAccumulator(s, new MemoryBudget(), { dense: false });
          const part2 = new StatAccumulator(s);
          expect(dense.usesDense).toBe(true);
          const b1 = batchOf(rows.slice(0, k));
          const sel = Uint32Array.from(
            rows
              .slice(0, k)
              .map((_, i) => i)
              .filter((i) => pick[i]),
          );
          dense.add(b1, sel, sel.length);
          hashed.add(b1, sel, sel.length);
          const b2 = batchOf(rows.slice(k));
          part2.add(b2, null, rows.length - k);
          hashed.add(b2, null, rows.length - k);
          // a worker's state (dense keys settled into its table) merged into the dense accumulator
          const state = structuredClone(part2.exportState(), { transfer: transferList(part2.exportState()) });
          dense.merge(state);
          for (const o of s.orders) expect(plain(dense.top(n, o))).toEqual(plain(hashed.top(n, o)));
          expect(dense.totals).toEqual(hashed.totals);
          expect(dense.size).toBe(hashed.size);
          // and the other way round: a hashed state into a fresh dense accumulator that also counts rows
          const again = new StatAccumulator(s);
          again.add(b1, sel, sel.length);
          const h2 = new StatAccumulator(s, new MemoryBudget(), { dense: false });
          h2.add(b2, null, rows.length - k);
          again.merge(h2.exportState());
          for (const o of s.orders) expect(plain(again.top(n, o))).toEqual(plain(hashed.top(n, o)));
        },
      ),
      { numRuns: 120 },
    );
  });

  it("keeps counting after the table was read (settle, then more rows)", () => {
    const rows: Row[] = Array.from({ length: 50 }, (_, i) => ({
      port: i % 7,
      port2: 0,
      proto: 6,
      tos: 0,
      as: i % 3 === 0 ? 4_200_000_000 + (i % 5) : i % 4,
      as2: 0,
      inIf: 0,
      flows: i % 9 === 0 ? 0 : 1,
      pkts: 1 + (i % 4),
      bytes: 100 * (1 + (i % 4)),
      out: i % 10 === 0 ? 2 : 0,
      first: 1_700_000_000_000 + i,
      dur: i % 3,
    }));
    for (const text of ["srcport/bytes", "srcas/bytes", "srcas/flows"]) {
      const s = spec(text);
      const dense = new StatAccumulator(s);
      const hashed = new StatAccumulator(s, new MemoryBudget(), { dense: false });
      for (let i = 0; i < rows.length; i += 10) {
        const b = batchOf(rows.slice(i, i + 10));
        dense.add(b, null, b.length);
        hashed.add(b, null, b.length);
        expect(plain(dense.top(0, s.orders[0]!))).toEqual(plain(hashed.top(0, s.orders[0]!)));
      }
      // the 4-byte AS numbers beyond the dense domain are there, with their own counters
      if (text.startsWith("srcas")) {
        const t = dense.top(0, s.orders[0]!);
        expect(
          t.rows
            .filter((r) => r.value >= DENSE_U32_DOMAIN)
            .map((r) => r.value)
            .sort(),
        ).toEqual([4_200_000_000, 4_200_000_001, 4_200_000_002, 4_200_000_003, 4_200_000_004]);
        expect(t.rows.find((r) => r.value === 0)?.flows).toBe(
          rows.filter((r) => r.as === 0).reduce((a, r) => a + (r.flows || 1), 0),
        );
      }
    }
  });

  it("falls back to the hash table when the budget has no room for the dense arrays", () => {
    const s = spec("srcport/bytes");
    const small = new StatAccumulator(s, new MemoryBudget(1024 * 1024));
    const big = new StatAccumulator(s);
    const b = batchOf(
      Array.from({ length: 100 }, (_, i) => ({
        port: i * 600,
        port2: 0,
        proto: 6,
        tos: 0,
        as: 0,
        as2: 0,
        inIf: 0,
        flows: 1,
        pkts: 1,
        bytes: i,
        out: 0,
        first: 0,
        dur: 0,
      })),
    );
    small.add(b, null, b.length);
    big.add(b, null, b.length);
    expect(small.usesDense).toBe(false);
    expect(big.usesDense).toBe(true);
    expect(plain(small.top(5, s.orders[0]!))).toEqual(plain(big.top(5, s.orders[0]!)));
  });

  it("native/encode.c's loop counts as the JS loop, bit for bit: out counters, keys past the domain, sums at 2^53", () => {
    if (process.platform === "linux") expect(typeof nativeDense()).toBe("function");
    let seed = 7;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 5000;
    const domain = 1000;
    const make = (): DenseTotals => ({
      flows: 0,
      inPackets: 0,
      inBytes: 0,
      outPackets: 0,
      outBytes: 0,
      first: Infinity,
      last: -Infinity,
    });
    const js = new DenseCounts(domain, new MemoryBudget(), "js", { native: false });
    const nat = new DenseCounts(domain, new MemoryBudget(), "native");
    const tJs = make();
    const tNat = make();
    for (let round = 0; round < 8; round++) {
      const keys = round % 2 === 0 ? new Uint16Array(n) : new Uint32Array(n);
      const cols = Array.from({ length: 7 }, () => new Float64Array(n));
      const [flows, inPk, inBy, outPk, outBy, first, last] = cols as [
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
      ];
      for (let i = 0; i < n; i++) {
        keys[i] = rnd() < 0.1 ? domain + Math.floor(rnd() * 5000) : Math.floor(rnd() * 50);
        flows[i] = rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 3);
        inPk[i] = 1 + Math.floor(rnd() * 100);
        // fractions (sums that round) and, in round 5, a byte count that takes a key's sum past 2^53
        inBy[i] = round === 5 && i === 2500 ? 2 ** 53 - 10 : Math.floor(rnd() * 1e6) + (rnd() < 0.1 ? 0.3 : 0);
        // out counters from round 3 on: the native loop stops at the first one until `out` exists
        outPk[i] = round >= 3 && rnd() < 0.3 ? Math.floor(rnd() * 10) : 0;
        outBy[i] = outPk[i]! * 100;
        first[i] = 1_700_000_000_000 + Math.floor(rnd() * 1e6);
        last[i] = first[i]! + Math.floor(rnd() * 1e4);
      }
      if (round === 5) keys[2500] = 7;
      const rows = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i === 2500 || rnd() < 0.7);
      const spillJs = new Uint32Array(n);
      const spillNat = new Uint32Array(n);
      const a = js.accumulate(keys, rows, rows.length, flows, inPk, inBy, outPk, outBy, first, last, tJs, spillJs);
      const b = nat.accumulate(keys, rows, rows.length, flows, inPk, inBy, outPk, outBy, first, last, tNat, spillNat);
      expect(b).toBe(a);
      expect(spillNat).toEqual(spillJs);
    }
    const bits = (x: Float64Array | null): string => (x === null ? "null" : Buffer.from(x.buffer).toString("hex"));
    expect(bits(nat.acc)).toBe(bits(js.acc));
    expect(bits(nat.out)).toBe(bits(js.out));
    expect(js.fix).not.toBeNull(); // the 2^53 path ran
    expect(bits(nat.fix)).toBe(bits(js.fix));
    expect(tNat).toEqual(tJs);
  });
  it("settles the keys counted since the last settle (ascending), clears them, and counts afresh after it", () => {
    for (const native of [false, true]) {
      const d = new DenseCounts(65536, new MemoryBudget(), "t", { native });
      const t = new KeyTable(1, new MemoryBudget(), "t");
      // keys on both sides of word and page boundaries, one repeated, in no order
      const run = (keys: number[]): void => {
        const n = keys.length;
        const one = new Float64Array(n).fill(1);
        const bytes = Float64Array.from(keys, (k) => k + 1);
        const first = Float64Array.from(keys, (_, i) => 100 + i);
        d.accumulate(
          Uint32Array.from(keys),
          Uint32Array.from(keys, (_, i) => i),
          n,
          one,
          one,
          bytes,
          new Float64Array(n),
          new Float64Array(n),
          first,
          first,
          null,
          new Uint32Array(n),
        );
        d.settleInto(t);
      };
      run([65535, 31, 32, 0, 31, 4097]);
      expect(Array.from(t.keys.subarray(0, t.count))).toEqual([0, 31, 32, 4097, 65535]);
      run([31, 7]);
      expect(Array.from(t.keys.subarray(0, t.count))).toEqual([0, 31, 32, 4097, 65535, 7]);
      // key 31: rows 1 and 4 of the first run (times 101, 104), row 0 of the second (time 100)
      const e = Array.from(t.keys.subarray(0, t.count)).indexOf(31) * 5;
      expect(Array.from(t.acc.subarray(e, e + 5))).toEqual([3, 3, 96, 100, 104]);
      expect(d.acc.every((x) => x === 0)).toBe(true);
    }
  });

  it("native/encode.c's loop marks each key it counts in the bitmap of counted keys", () => {
    const nat = nativeDense();
    if (process.platform === "linux") expect(nat).not.toBeNull();
    if (nat === null) return; // not built (other platforms): the JS loop alone
    const n = 4;
    const col = new Float64Array(n).fill(1);
    const seen = new Uint32Array(2);
    const st = Float64Array.of(0, 0, 0, 0, 0, Infinity, -Infinity, 0);
    const j = nat(
      Uint16Array.of(3, 40, 3, 63),
      Uint32Array.of(0, 1, 2, 3),
      n,
      col,
      col,
      col,
      new Float64Array(n),
      new Float64Array(n),
      col,
      col,
      new Float64Array(64 * 5),
      new Float64Array(64 * 2),
      64,
      new Uint32Array(n),
      st,
      seen,
    );
    expect(j).toBe(n);
    expect(Array.from(seen)).toEqual([1 << 3, ((1 << 8) | (1 << 31)) >>> 0]);
  });
});
