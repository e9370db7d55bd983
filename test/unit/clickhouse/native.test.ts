// Native blocks of tsdump --clickhouse: the same values as RowBinary (tscapd's format), row for row, in the
// flow table's sort order (timeFirst, exporterAddr).
import { describe, expect, it } from "vitest";
import { NativeChunk, sortOrder } from "../../../src/clickhouse/native.js";
import { RowBinaryBuffer, rowWidth, usedColumns } from "../../../src/clickhouse/rowbinary.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { parseIPv6 } from "../../../src/record/ip.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Reads a Native block back: per column its name, type and bytes per row. */
function readNative(pieces: readonly Uint8Array[]): {
  rows: number;
  cols: { name: string; type: string; data: Uint8Array }[];
} {
  const all = Buffer.concat(pieces);
  let at = 0;
  const varUInt = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = all[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return n;
    }
  };
  const str = (): string => {
    const len = varUInt();
    const s = all.subarray(at, at + len).toString();
    at += len;
    return s;
  };
  const ncols = varUInt();
  const rows = varUInt();
  const width = (type: string): number =>
    ({ UInt8: 1, UInt16: 2, UInt32: 4, UInt64: 8, "FixedString(16)": 16 })[type] ?? NaN;
  const cols = [];
  for (let c = 0; c < ncols; c++) {
    const name = str();
    const type = str();
    const n = rows * width(type);
    cols.push({ name, type, data: all.subarray(at, at + n) });
    at += n;
  }
  expect(at).toBe(all.length);
  return { rows, cols };
}

/** A batch with IPv4, IPv6 and absent addresses, two exporters, times out of order, big counters and MACs. */
function mixedBatch(): RecordBatch {
  const b = new RecordBatch(64);
  for (let i = 0; i < 40; i++) {
    const r = b.addRow();
    // seconds run backwards in steps, two rows per second, exporters alternating out of order
    b.cols.msecFirst[r] = 1_767_225_600_000 + (20 - Math.floor(i / 2)) * 1000 + (i % 7) * 100;
    b.cols.msecLast[r] = b.cols.msecFirst[r] + 2 ** 33;
    if (i % 2 === 0) b.cols.exporterAddr[r] = 0x0a000002;
    else parseIPv6("2001:db8::5", b.cols.exporterAddr6, r * 4); // its v6Flags bit is set by the test
    if (i % 3 === 0) {
      expect(parseIPv6(`2001:db8::${i + 1}`, b.cols.srcAddr6, r * 4)).toBe(true);
    } else b.cols.srcAddr[r] = i % 5 === 0 ? 0 : 0xc0a80000 + i;
    b.cols.srcPort[r] = 1000 + i;
    b.cols.proto[r] = i % 2 === 0 ? 6 : 17;
    b.cols.inBytes[r] = 2 ** 60;
    b.cols.inBytesFix[r] = i; // 2^60 + i
    b.cols.inPackets[r] = i + 1;
    b.cols.inSrcMac[r] = 0x0200_0000_0000 + i;
  }
  return b;
}

describe("Native", () => {
  it("carries the same values as RowBinary for every row, in the order (second of msecFirst, exporter bytes)", async () => {
    const { CH_COLUMNS } = await import("../../../src/clickhouse/schema.js");
    const srcBit = 1 << CH_COLUMNS.find((c) => c.name === "srcAddr")!.v6bit;
    const expBit = 1 << CH_COLUMNS.find((c) => c.name === "exporterAddr")!.v6bit;
    const b = mixedBatch();
    for (let r = 0; r < b.length; r++) {
      b.cols.v6Flags[r] = (r % 3 === 0 ? srcBit : 0) | (r % 2 === 1 ? expBit : 0);
    }
    const cols = usedColumns([b]);
    expect(cols.map((c) => c.name)).toContain("exporterAddr");
    const rows = Uint32Array.from({ length: b.length }, (_, i) => i).filter((i) => i !== 7); // a filter dropped row 7
    const chunk = new NativeChunk(cols, 100);
    // in two pieces, as blocks arrive
    chunk.add(b, rows.subarray(0, 10), 10);
    chunk.add(b, rows.subarray(10), rows.length - 10);
    const { pieces, setId } = chunk.seal();
    setId(0x01020304, 0x05060708);
    const block = readNative(pieces);
    expect(block.rows).toBe(rows.length);
    expect(block.cols.map((c) => c.name)).toEqual(cols.map((c) => c.name));
    expect(block.cols.map((c) => c.type)).toEqual(cols.map((c) => c.chType));

    // RowBinary of every kept row, one row at a time
    const w = rowWidth(cols);
    const want = new Map<string, number>();
    for (const r of rows) {
      const rb = new RowBinaryBuffer(cols, 1);
      rb.append(b, Uint32Array.of(r), 1, 0x01020304, 0x05060708);
      const key = hex(rb.bytes());
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    // the Native block's rows, reassembled column by column into the RowBinary layout
    const got = new Map<string, number>();
    const keys: [number, string][] = [];
    for (let k = 0; k < block.rows; k++) {
      const row = new Uint8Array(w);
      let off = 0;
      for (let c = 0; c < cols.length; c++) {
        const width = cols[c]!.width;
        row.set(block.cols[c]!.data.subarray(k * width, (k + 1) * width), off);
        off += width;
      }
      const key = hex(row);
      got.set(key, (got.get(key) ?? 0) + 1);
      const msec = Number(Buffer.from(block.cols[0]!.data.subarray(k * 8, k * 8 + 8)).readBigUInt64LE());
      const exp = block.cols.find((c) => c.name === "exporterAddr")!.data.subarray(k * 16, k * 16 + 16);
      keys.push([Math.floor(msec / 1000), hex(exp)]);
    }
    expect(got).toEqual(want);
    const sorted = [...keys].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
    expect(keys).toEqual(sorted);
    expect(keys[0]![0]).toBeLessThan(keys.at(-1)![0]);
    // IPv4-mapped exporter (::ffff:10.0.0.2) sorts before 2001:db8::5 within a second, as the bytes compare
    expect(keys.slice(0, 2).map((k) => k[1])).toEqual([
      "00000000000000000000ffff0a000002",
      "20010db8000000000000000000000005",
    ]);
  });

  it("sortOrder: null when in order already, else a permutation by key (counting sort and, for wide ranges, comparison sort)", () => {
    const ms = Float64Array.of(5000, 5999, 7000, 7001);
    expect(sortOrder(ms, Uint32Array.of(0, 0, 0, 1), 2, 4)).toBeNull();
    expect([...sortOrder(Float64Array.of(9000, 1000, 1500, 1000), Uint32Array.of(0, 1, 0, 0), 2, 4)!]).toEqual([
      2, 3, 1, 0,
    ]);
    // a range of seconds too wide for counting: the comparison sort, same answer
    const wide = Float64Array.of(4e12, 1000, 2e12, 1000);
    expect([...sortOrder(wide, Uint32Array.of(0, 1, 0, 0), 2, 4)!]).toEqual([3, 1, 2, 0]);
  });
});
