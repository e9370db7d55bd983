import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, SCHEMA, V6_BIT } from "../../../src/record/schema.js";

describe("schema", () => {
  it("names every column once and gives addr columns distinct v6 bits", () => {
    const names = SCHEMA.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const bits = Object.values(V6_BIT);
    expect(new Set(bits).size).toBe(bits.length);
    expect(bits.every((b) => b > 0 && b < 256)).toBe(true);
    expect(PHYSICAL_COLUMNS.filter((p) => p.width === 4).map((p) => p.name)).toContain("srcAddr6");
  });
});

describe("RecordBatch", () => {
  it("adds zeroed rows, stops at capacity and resets", () => {
    const b = new RecordBatch(3);
    for (let i = 0; i < 3; i++) {
      const r = b.addRow();
      expect(r).toBe(i);
      expect(b.cols.srcPort[r]).toBe(0);
      b.cols.srcPort[r] = 1000 + i;
      b.cols.inBytes[r] = 2 ** 53 - 1 - i;
    }
    expect(b.addRow()).toBe(-1);
    expect(b.full).toBe(true);
    expect(b.cols.inBytes[0]).toBe(2 ** 53 - 1);
    b.reset();
    expect(b.length).toBe(0);
    expect(b.addRow()).toBe(0);
    expect(b.cols.srcPort[0]).toBe(0);
    expect(b.cols.inBytes[0]).toBe(0);
  });

  it("keeps IPv4 and IPv6 per addr column", () => {
    const b = new RecordBatch(4);
    const r = b.addRow();
    b.setV4("srcAddr", r, 0xc0000201);
    b.setV6("dstAddr", r, Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]), 0);
    expect(b.isV6("srcAddr", r)).toBe(false);
    expect(b.isV6("dstAddr", r)).toBe(true);
    expect(b.cols.srcAddr[r]).toBe(0xc0000201);
    expect(Array.from(b.cols.dstAddr6.subarray(0, 4))).toEqual([0x20010db8, 0, 0, 1]);
    b.setV4("dstAddr", r, 1);
    expect(b.isV6("dstAddr", r)).toBe(false);
  });

  it("stores raw elements per row and copies them with the row", () => {
    const b = new RecordBatch(4);
    b.addRow();
    expect(b.addExtra(9, 12235, Uint8Array.from([1, 2, 3]), 0, 3)).toBe(true);
    b.addRow();
    b.addRow();
    expect(b.addExtra(0, 400, Uint8Array.from([7]), 0, 1)).toBe(true);
    expect(b.extraStart(0)).toBe(0);
    expect(b.extraEnd[0]).toBe(11);
    expect(b.extraStart(1)).toBe(11);
    expect(b.extraEnd[1]).toBe(11);
    expect(b.extraEnd[2]).toBe(20);
    const c = new RecordBatch(4);
    c.copyRowFrom(b, 2);
    expect(Array.from(c.extra.subarray(0, c.extraEnd[0]))).toEqual([0, 0, 0, 0, 1, 144, 0, 1, 7]);
    b.dropLastRow();
    expect(b.length).toBe(2);
    expect(b.extraLength).toBe(11);
  });
});
