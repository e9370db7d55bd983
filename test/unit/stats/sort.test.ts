// SPDX-License-Identifier: BSD-3-Clause
// RecordSorter without a limit: every row comes out once, ordered by the order's value with ties in input order,
// across the RowStore's chunks and the output batches (more rows than one chunk or batch holds).
import { describe, expect, it } from "vitest";
import { RAW_ELEMENTS, rawElementOf, RecordBatch } from "../../../src/record/batch.js";
import { MemoryBudget } from "../../../src/stats/key-table.js";
import { findOrder } from "../../../src/stats/orders.js";
import { RecordSorter, sortedOrder } from "../../../src/stats/sort.js";

describe("RecordSorter (unbounded)", () => {
  it("40,000 rows in 3 input batches come out sorted by bytes, ties in input order, every column carried", () => {
    const sorter = new RecordSorter(findOrder("bytes", true));
    const want: [number, number][] = [];
    let seq = 0;
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const n of [16384, 16384, 7232]) {
      const b = new RecordBatch(n);
      for (let i = 0; i < n; i++) {
        const r = b.addRow();
        const bytes = Math.floor(rnd() * 500); // many ties
        b.cols.inBytes[r] = bytes;
        b.cols.srcPort[r] = seq & 0xffff;
        b.cols.srcAddr[r] = seq;
        b.cols.srcAddr6.set([seq, 1, 2, 3], r * 4);
        want.push([bytes, seq++]);
      }
      sorter.add(b, null, n);
    }
    want.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const got: [number, number][] = [];
    for (const out of sorter.toBatches()) {
      expect(out.length).toBeLessThanOrEqual(16384);
      for (let i = 0; i < out.length; i++) {
        const s = out.cols.srcAddr[i]!;
        expect(out.cols.srcPort[i]).toBe(s & 0xffff);
        expect([...out.cols.srcAddr6.subarray(i * 4, i * 4 + 4)]).toEqual([s, 1, 2, 3]);
        got.push([out.cols.inBytes[i]!, s]);
      }
    }
    expect(got).toEqual(want);
  });

  it("output batches gather a column only when it is read, and every column type comes out right", () => {
    const sorter = new RecordSorter(findOrder("packets", false));
    const b = new RecordBatch(20000);
    for (let i = 0; i < 20000; i++) {
      const r = b.addRow();
      b.cols.inPackets[r] = (i * 7919) % 20000; // a permutation of 0..19999
      b.cols.proto[r] = i & 0xff; // u8
      b.cols.srcPort[r] = i & 0xffff; // u16
      b.cols.srcAs[r] = i; // u32
      b.cols.msecFirst[r] = 1e12 + i; // f64
      b.cols.dstAddr6.set([i, i + 1, i + 2, i + 3], r * 4); // u32 × 4
    }
    sorter.add(b, null, 20000);
    let next = 0;
    for (const out of sorter.toBatches()) {
      // a lazily gathered batch: formatters read its columns directly (format/view.ts), so only those are copied
      expect(out.lazyColumns).toBe(true);
      const gathered = (name: string): boolean => Object.getOwnPropertyDescriptor(out.cols, name)?.get === undefined;
      expect(gathered("srcAs")).toBe(false);
      for (let i = 0; i < out.length; i++, next++) {
        const src = out.cols.srcAs[i]!;
        expect(out.cols.inPackets[i]).toBe(19999 - next); // largest first
        expect((src * 7919) % 20000).toBe(19999 - next);
        expect(out.cols.proto[i]).toBe(src & 0xff);
        expect(out.cols.srcPort[i]).toBe(src & 0xffff);
        expect(out.cols.msecFirst[i]).toBe(1e12 + src);
        expect([...out.cols.dstAddr6.subarray(i * 4, i * 4 + 4)]).toEqual([src, src + 1, src + 2, src + 3]);
      }
      // the columns read were gathered; one never read (dstAs) was not
      expect(gathered("srcAs")).toBe(true);
      expect(gathered("dstAs")).toBe(false);
    }
    expect(next).toBe(20000);
  });
});

describe("RecordSorter: raw elements (the extra heap) follow their rows", () => {
  /**
   * `n` rows in batches of 5,000: bytes = a seeded value with ties; srcAddr = sequence; past the first batch (a
   * store's chunk starts without raw elements), every third row has raw element (0, 148) holding its sequence
   * number in 1..12 bytes, every fifth also (0, 40000), the rest none.
   */
  function rawBatches(n: number): RecordBatch[] {
    let seed = 11;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const out: RecordBatch[] = [];
    for (let seq = 0; seq < n; ) {
      const b = new RecordBatch(5000);
      for (let i = 0; i < 5000 && seq < n; i++, seq++) {
        const r = b.addRow();
        b.cols.inBytes[r] = Math.floor(rnd() * 300);
        b.cols.srcAddr[r] = seq;
        if (hasId(seq)) b.addExtra(0, 148, valueOf(seq), 0, 1 + (seq % 12));
        if (hasUser(seq)) b.addExtra(0, 40000, valueOf(seq + 1), 0, 4);
      }
      out.push(b);
    }
    return out;
  }
  const hasId = (seq: number): boolean => seq >= 5000 && seq % 3 === 0;
  const hasUser = (seq: number): boolean => seq >= 5000 && seq % 5 === 0;
  const valueOf = (seq: number): Uint8Array => Uint8Array.from({ length: 12 }, (_, k) => (seq >>> (k % 4) * 8) & 0xff);

  /** Checks every row of `batches` carries its own raw elements; returns the sequence numbers in output order. */
  function check(batches: Iterable<RecordBatch>): number[] {
    const seqs: number[] = [];
    for (const out of batches) {
      for (let i = 0; i < out.length; i++) {
        const seq = out.cols.srcAddr[i]!;
        seqs.push(seq);
        const id = rawElementOf(out, i, 0, 148);
        const user = rawElementOf(out, i, 0, 40000);
        expect(id && [...id], `row ${seq}`).toEqual(hasId(seq) ? [...valueOf(seq).subarray(0, 1 + (seq % 12))] : undefined);
        expect(user && [...user], `row ${seq}`).toEqual(hasUser(seq) ? [...valueOf(seq + 1).subarray(0, 4)] : undefined);
      }
    }
    return seqs;
  }

  function wanted(batches: RecordBatch[]): number[] {
    const rows = batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => [b.cols.inBytes[i]!, b.cols.srcAddr[i]!]));
    rows.sort((a, b) => b[0]! - a[0]! || a[1]! - b[1]!);
    return rows.map((r) => r[1]!);
  }

  const N = 40000; // more than two of the store's chunks
  const BATCHES = rawBatches(N);
  const WANT = wanted(BATCHES);

  it.each([
    ["every column", undefined],
    ["a selection naming the raw elements", new Set(["inBytes", "srcAddr", RAW_ELEMENTS])],
  ])("unlimited, keeping %s: each row's raw elements, through shared (transient) output batches", (_, columns) => {
    const budget = new MemoryBudget();
    const sorter = new RecordSorter(findOrder("bytes", false), false, 0, budget);
    if (columns !== undefined) sorter.keepColumns(columns);
    for (const b of BATCHES) sorter.add(b, null, b.length);
    expect(check(sorter.toBatches(2048, true))).toEqual(WANT);
    expect(check(sorter.toBatches(7000))).toEqual(WANT);
    sorter.dispose();
    expect(budget.used).toBe(0);
  });

  it("a selection without the raw elements keeps none (the rows read as having none)", () => {
    const sorter = new RecordSorter(findOrder("bytes", false));
    sorter.keepColumns(new Set(["inBytes", "srcAddr"]));
    for (const b of BATCHES) sorter.add(b, null, b.length);
    for (const out of sorter.toBatches()) expect(out.extraLength).toBe(0);
  });

  it.each([1, 7, 1000, 30000])("-n %i: the best rows with their raw elements (slots replaced, heap compacted)", (n) => {
    const budget = new MemoryBudget();
    const sorter = new RecordSorter(findOrder("bytes", false), false, n, budget);
    // random values: slots are replaced all along the input
    for (const b of BATCHES) sorter.add(b, null, b.length);
    expect(check(sorter.toBatches(500))).toEqual(WANT.slice(0, n));
    sorter.dispose();
    expect(budget.used).toBe(0);
  });
});

describe("sortedOrder (the unlimited sort's permutation)", () => {
  /** The order Uint32Array.sort with the comparator gave before. */
  function byComparator(v: Float64Array, asc: boolean): number[] {
    const ids = Uint32Array.from({ length: v.length }, (_, i) => i);
    ids.sort((a, b) => {
      if (v[a] !== v[b]) return asc ? v[a]! - v[b]! : v[b]! - v[a]!;
      return a - b;
    });
    return [...ids];
  }

  it.each([true, false])(
    "ascending=%s: as the comparator sort for ties, -0, negatives, fractions, huge values and infinities",
    (asc) => {
      let seed = 99;
      const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const pick = [0, -0, 1, -1, 0.5, -2.25, 2 ** 53, 2 ** 64, 1.7e12, Infinity, -Infinity, 5e-324, 40, 40];
      const v = new Float64Array(70000);
      for (let i = 0; i < v.length; i++) {
        const k = i % 3;
        v[i] =
          k === 0 ? pick[Math.floor(rnd() * pick.length)]! : k === 1 ? Math.floor(rnd() * 1000) : rnd() * 1e15 - 5e14;
      }
      expect([...sortedOrder(v, v.length, asc)]).toEqual(byComparator(v, asc));
    },
  );

  it("values with a NaN keep the comparator's order", () => {
    const v = new Float64Array([3, NaN, 1, 2, NaN, 0]);
    expect([...sortedOrder(v, 6, true)]).toEqual(byComparator(v, true));
  });

  it("sorts only the first n values; 0 and 1 rows", () => {
    const v = new Float64Array([5, 1, 9, 7]);
    expect([...sortedOrder(v, 3, false)]).toEqual([2, 0, 1]);
    expect([...sortedOrder(v, 1, true)]).toEqual([0]);
    expect([...sortedOrder(v, 0, true)]).toEqual([]);
  });
});
