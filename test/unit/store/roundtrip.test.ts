// SPDX-License-Identifier: BSD-3-Clause
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { protoClass } from "../../../src/record/schema.js";
import { cloneBatch, expectSameRows, randomBatch, rng, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A file of three blocks: every column with IPv6 and raw elements, some IPv6 rows, huge and fractional values. */
function mixedFile(
  name: string,
  codec: "lz4" | "none",
  seed: number,
  sizes: readonly [number, number, number],
  v6: number,
): { input: RecordBatch[]; r: FlowFileReader } {
  const file = path.join(dir, name);
  const input = [
    randomBatch(seed, sizes[0], { allColumns: true, v6: 0.3, extras: true }),
    randomBatch(seed + 1, sizes[1], { v6 }),
    randomBatch(seed + 2, sizes[2], { huge: true, fractions: true }),
  ];
  const w = FlowFileWriter.open(file, { codec });
  for (const b of input) w.appendBatchSync(b);
  w.closeSync();
  return { input, r: FlowFileReader.open(file) };
}

function readAll(file: string): { batches: RecordBatch[]; reader: FlowFileReader } {
  const reader = FlowFileReader.open(file);
  const batches: RecordBatch[] = [];
  for (const b of reader.batches()) batches.push(cloneBatch(b)); // a batch is valid until the next step
  reader.close();
  return { batches, reader };
}

describe("store round trip", () => {
  for (const codec of ["lz4", "none"] as const) {
    it(`random batches of every column type, IPv4 and IPv6, raw elements (${codec})`, () => {
      const file = path.join(dir, `all-${codec}`);
      const w = FlowFileWriter.open(file, { codec, ident: "test", creator: "vitest" });
      const input = [
        randomBatch(1, 1000, { allColumns: true, v6: 0.3, extras: true }),
        randomBatch(2, 1, {}),
        randomBatch(3, 5000, { v6: 0.1 }),
        randomBatch(4, 300, { huge: true, fractions: true }),
      ];
      for (const b of input) w.appendBatchSync(b);
      w.closeSync();
      const { batches, reader } = readAll(file);
      expect(reader.errors).toEqual([]);
      expect(reader.hasFooter).toBe(true);
      expect(reader.header().codec).toBe(codec);
      expect(reader.header().ident).toBe("test");
      expect(reader.header().creator).toBe("vitest");
      const cmp = expectSameRows(batches, input);
      expect(cmp.mismatches).toEqual([]);
      expect(cmp.rows).toBe(6301);
    });
  }

  it("the header's strings read back as written: ASCII, UTF-8, empty, and longer than the short-string path", () => {
    for (const [ident, creator] of [
      ["Zürich-edge-1", "tscapd \u{1F680} 0.1"],
      ["", "c".repeat(64)],
      ["x".repeat(65), "ascii then é"],
      ["é".repeat(40), "a".repeat(300)],
    ] as const) {
      const file = path.join(dir, "strings");
      const w = FlowFileWriter.open(file, { ident, creator });
      w.appendBatchSync(randomBatch(5, 10, {}));
      w.closeSync();
      const r = FlowFileReader.open(file);
      expect([r.header().ident, r.header().creator]).toEqual([ident, creator]);
      expect(r.header().columns.map((c) => c.name)).toContain("srcAddr");
      r.close();
    }
  });

  it("blocks appended with compress: false (the collector's writer when behind) mix with LZ4 blocks and read the same", () => {
    const file = path.join(dir, "mixed-compress");
    const w = FlowFileWriter.open(file, { codec: "lz4" });
    const input = [
      randomBatch(11, 3000, { allColumns: true, v6: 0.2, extras: true }),
      randomBatch(12, 3000, { allColumns: true, v6: 0.2, extras: true }),
      randomBatch(13, 3000, { v6: 0.1 }),
    ];
    w.appendBatchSync(input[0]!);
    w.appendBatchSync(input[1]!, { compress: false });
    w.appendBatchSync(input[2]!);
    const zero = w.lastZero;
    w.closeSync();
    const { batches, reader } = readAll(file);
    expect(reader.errors).toEqual([]);
    const cmp = expectSameRows(batches, input);
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.rows).toBe(9000);
    // the all-zero columns the writer reports are exactly the ones that are zero in the batch
    expect(zero.size).toBeGreaterThan(0);
    let nonZero = 0;
    for (const [name, col] of Object.entries(input[2]!.cols)) {
      const used = (col as Uint8Array).subarray(0, 3000 * ((col as Uint8Array).length / input[2]!.capacity));
      const allZero = used.every((x) => x === 0);
      if (!allZero) nonZero++;
      expect(zero.has(name), name).toBe(allZero);
    }
    expect(nonZero).toBeGreaterThan(0);
  });

  it("empty blocks and empty files", () => {
    const empty = path.join(dir, "empty");
    FlowFileWriter.open(empty).closeSync();
    const r = FlowFileReader.open(empty);
    expect(r.blockCount).toBe(0);
    expect([...r.batches()]).toEqual([]);
    expect(r.stats().rows).toBe(0);
    expect(r.stats().totalFlows).toBe(0);
    r.close();

    const withEmpty = path.join(dir, "with-empty-block");
    const w = FlowFileWriter.open(withEmpty);
    w.appendBatchSync(new RecordBatch(10));
    const b = randomBatch(7, 10);
    w.appendBatchSync(b);
    w.appendBatchSync(new RecordBatch(10));
    w.closeSync();
    const r2 = FlowFileReader.open(withEmpty);
    const lens = [...r2.batches()].map((x) => x.length);
    expect(lens).toEqual([0, 10, 0]);
    expect(r2.errors).toEqual([]);
    r2.close();
  });

  it("statistics record: the sums equal a row-by-row sum in row order (fractional counters, several blocks)", () => {
    const file = path.join(dir, "stats-sums");
    const r = rng(99);
    const protos = [6, 17, 1, 58, 47, 50, 0, 132];
    const ref = { flows: [0, 0, 0, 0], packets: [0, 0, 0, 0], bytes: [0, 0, 0, 0], first: 0, last: 0, outP: 0 };
    const w = FlowFileWriter.open(file);
    for (let blk = 0; blk < 3; blk++) {
      const b = new RecordBatch(500);
      for (let k = 0; k < 500; k++) {
        const i = b.addRow();
        const proto = protos[Math.floor(r() * protos.length)]!;
        b.cols.proto[i] = proto;
        b.cols.inPackets[i] = Math.floor(r() * 1000) * (r() < 0.3 ? 1.37 : 1); // sampled: fractional
        b.cols.inBytes[i] = Math.floor(r() * 1e9) / 3;
        b.cols.flows[i] = Math.floor(r() * 3);
        b.cols.msecFirst[i] = r() < 0.1 ? 0 : 1e12 + Math.floor(r() * 1e6);
        b.cols.msecLast[i] = b.cols.msecFirst[i] + Math.floor(r() * 1000);
        b.cols.outPackets[i] = Math.floor(r() * 10);
        const c = protoClass(proto);
        ref.flows[c]! += b.cols.flows[i] > 0 ? b.cols.flows[i] : 1;
        ref.packets[c]! += b.cols.inPackets[i];
        ref.bytes[c]! += b.cols.inBytes[i];
        const t0 = b.cols.msecFirst[i];
        if (t0 > 0 && (ref.first === 0 || t0 < ref.first)) ref.first = t0;
        ref.last = Math.max(ref.last, b.cols.msecLast[i]);
      }
      let outP = 0;
      for (let i = 0; i < b.length; i++) outP += b.cols.outPackets[i]!;
      ref.outP += outP;
      w.appendBatchSync(b);
    }
    w.closeSync();
    const rd = FlowFileReader.open(file);
    const s = rd.stats();
    expect([s.flows, s.packets, s.bytes, s.msecFirst, s.msecLast, s.outPackets]).toEqual([
      ref.flows,
      ref.packets,
      ref.bytes,
      ref.first,
      ref.last,
      ref.outP,
    ]);
    rd.close();
  });

  it("statistics record: flows, packets, bytes per protocol class, first/last, exporters", () => {
    const file = path.join(dir, "stats");
    const b = new RecordBatch(8);
    const rows: [number, number, number, number, number, number][] = [
      // proto, packets, bytes, flows, first, last
      [6, 10, 1000, 1, 5000, 6000],
      [17, 2, 100, 0, 4000, 9000],
      [1, 1, 84, 1, 7000, 7000],
      [58, 3, 200, 1, 7000, 7001],
      [47, 5, 500, 3, 0, 0],
    ];
    for (const [proto, pk, by, fl, f, l] of rows) {
      const i = b.addRow();
      b.cols.proto[i] = proto;
      b.cols.inPackets[i] = pk;
      b.cols.inBytes[i] = by;
      b.cols.flows[i] = fl;
      b.cols.msecFirst[i] = f;
      b.cols.msecLast[i] = l;
      b.cols.outBytes[i] = 1;
    }
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(b);
    w.addExporterStats({
      address: "192.0.2.1",
      id: 1,
      packets: 100,
      flows: 5,
      sequenceErrors: 2,
      badPackets: 1,
      templateMisses: 3,
      extra: { noTemplate: 7 },
    });
    w.closeSync();
    const r = FlowFileReader.open(file);
    const s = r.stats();
    expect(s.flows).toEqual([1, 1, 2, 3]);
    expect(s.packets).toEqual([10, 2, 4, 5]);
    expect(s.bytes).toEqual([1000, 100, 284, 500]);
    expect(s.totalFlows).toBe(7);
    expect(s.totalBytes).toBe(1884);
    expect(s.outBytes).toBe(5);
    expect(s.msecFirst).toBe(4000);
    expect(s.msecLast).toBe(9000);
    expect(s.rows).toBe(5);
    expect(s.exporters).toEqual([
      {
        address: "192.0.2.1",
        id: 1,
        domain: 0,
        version: 0,
        packets: 100,
        flows: 5,
        sequenceErrors: 2,
        badPackets: 1,
        templateMisses: 3,
        samplingInterval: 0,
        extra: { noTemplate: 7 },
      },
    ]);
    expect(r.blockInfo(0)).toMatchObject({ rows: 5, msecFirst: 0, msecLast: 9000 });
    r.close();
  });

  it("counters near 2^53 and times survive exactly", () => {
    const file = path.join(dir, "huge");
    const b = new RecordBatch(4);
    const vals = [2 ** 53 - 1, 2 ** 53 - 2, 0, 2 ** 32 + 5];
    for (const v of vals) {
      const i = b.addRow();
      b.cols.inBytes[i] = v;
      b.cols.inPackets[i] = 2 ** 53 - 1 - v;
      b.cols.msecFirst[i] = 1_795_435_500_123 + i;
    }
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(b);
    w.closeSync();
    const r = FlowFileReader.open(file);
    const got = r.readBlock(0)!;
    expect(Array.from(got.cols.inBytes)).toEqual(vals);
    expect(Array.from(got.cols.inPackets)).toEqual(vals.map((v) => 2 ** 53 - 1 - v));
    expect(r.stats().bytes[3]).toBe(vals.reduce((a, v) => a + v, 0));
    r.close();
  });

  it("absent columns read as zero and are listed in batch.absent", () => {
    const file = path.join(dir, "absent");
    const b = new RecordBatch(3);
    for (let k = 0; k < 3; k++) {
      const i = b.addRow();
      b.cols.dstPort[i] = 443;
    }
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(b);
    w.closeSync();
    const r = FlowFileReader.open(file);
    const got = r.readBlock(0)!;
    expect(Array.from(got.cols.dstPort)).toEqual([443, 443, 443]);
    expect(Array.from(got.cols.srcPort)).toEqual([0, 0, 0]);
    expect(got.absent.has("srcPort")).toBe(true);
    expect(got.absent.has("dstPort")).toBe(false);
    expect(got.absent.has("srcAddr6")).toBe(true);
    r.close();
  });
});

describe("column selection", () => {
  it("decodes only the requested columns; the rest read as zero and are listed as absent", () => {
    const file = path.join(dir, "select");
    const src = randomBatch(31, 500, { v6: 0.3, extras: true });
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(src);
    w.closeSync();
    const r = FlowFileReader.open(file);
    const got = r.readBlock(0, new Set(["dstPort", "srcAddr", "extra"]))!;
    expect(Array.from(got.cols.dstPort)).toEqual(Array.from(src.cols.dstPort.subarray(0, 500)));
    expect(Array.from(got.cols.srcAddr)).toEqual(Array.from(src.cols.srcAddr.subarray(0, 500)));
    expect(Array.from(got.cols.srcAddr6)).toEqual(Array.from(src.cols.srcAddr6.subarray(0, 2000)));
    expect(Array.from(got.cols.v6Flags)).toEqual(Array.from(src.cols.v6Flags.subarray(0, 500)));
    expect(Buffer.from(got.extra.subarray(0, got.extraLength))).toEqual(
      Buffer.from(src.extra.subarray(0, src.extraLength)),
    );
    expect(got.absent.has("srcPort")).toBe(true);
    expect(got.cols.srcPort.every((x) => x === 0)).toBe(true);
    expect(got.absent.has("dstPort")).toBe(false);
    const all = r.readBlock(0)!;
    expect(all.absent.has("srcPort")).toBe(false);
    r.close();
  });

  it("readBlockLazy: a formatter that caches its view per batch prints each block's own rows", async () => {
    const { createFormatter, StringOutput } = await import("../../../src/format/index.js");
    const file = path.join(dir, "lazy-format");
    // blocks of equal size: the reader's scratch arrays are the same objects from block to block
    const input = [randomBatch(51, 1100, { v6: 0.2 }), randomBatch(52, 1100, { v6: 0.2 }), randomBatch(53, 1100)];
    const w = FlowFileWriter.open(file);
    for (const b of input) w.appendBatchSync(b);
    w.closeSync();
    const render = (read: (r: FlowFileReader, i: number) => RecordBatch): string => {
      const r = FlowFileReader.open(file);
      const f = createFormatter("extended");
      const out = new StringOutput();
      for (let i = 0; i < r.blockCount; i++) {
        const b = read(r, i);
        for (let k = 0; k < b.length; k += 7) f.record(b, k, out);
      }
      r.close();
      return out.text();
    };
    const eager = render((r, i) => r.readBlock(i)!);
    const lazy = render((r, i) => r.readBlockLazy(i, new Set(["srcAddr"]))!);
    expect(lazy.split("\n").length).toBeGreaterThan(200);
    expect(lazy).toBe(eager);
  });

  it("readBlockLazy: every column equals readBlock's, in any order of first access, IPv6 words included", () => {
    for (const codec of ["lz4", "none"] as const) {
      const { input, r } = mixedFile(`lazy-${codec}`, codec, 41, [700, 300, 200], 0.5);
      const lazy: RecordBatch[] = [];
      for (let i = 0; i < r.blockCount; i++) {
        const b = r.readBlockLazy(i, new Set(["dstPort"]))!;
        // the IPv6 words first (they need v6Flags, not decoded yet), then the rest in schema order
        expect(b.cols.dstAddr6.length).toBe(b.length * 4);
        lazy.push(cloneBatch(b));
      }
      const eager: RecordBatch[] = [];
      for (let i = 0; i < r.blockCount; i++) eager.push(cloneBatch(r.readBlock(i)!));
      expect(expectSameRows(lazy, eager).mismatches).toEqual([]);
      expect(expectSameRows(lazy, input).mismatches).toEqual([]);
      // a column the block does not store is absent and zero, as with readBlock
      const b = r.readBlockLazy(1, new Set(["srcPort"]))!;
      expect([...b.absent].sort()).toEqual([...r.readBlock(1)!.absent].sort());
      expect(r.errors).toEqual([]);
      r.close();
    }
  });
  it("readBlockLazy: compressible IPv6 words read before v6Flags keep their values (LZ4 decoder memory reused)", () => {
    // real traffic's IPv6 words compress, so they are inflated into the LZ4 decoder's memory, which v6Flags'
    // own inflate (triggered by the words' first access) must not overwrite before the words are scattered
    const file = path.join(dir, "lazy-v6-compressible");
    const input = [randomBatch(43, 4000, { v6: 0.05, v6Hosts: 20 }), randomBatch(44, 3000, { v6: 0.1, v6Hosts: 5 })];
    const w = FlowFileWriter.open(file, { codec: "lz4" });
    for (const b of input) w.appendBatchSync(b);
    w.closeSync();
    const r = FlowFileReader.open(file);
    const lazy: RecordBatch[] = [];
    for (let i = 0; i < r.blockCount; i++) {
      const b = r.readBlockLazy(i, new Set(["proto"]))!;
      expect(b.cols.srcAddr6.length).toBe(b.length * 4); // the words first, v6Flags not decoded yet
      lazy.push(cloneBatch(b));
    }
    expect(expectSameRows(lazy, input).mismatches).toEqual([]);
    expect(r.errors).toEqual([]);
    r.close();
  });
});

describe("row-sparse lazy decoding", () => {
  it("lazyRows: the passing rows of every column equal readBlock's; few rows decode row by row, many whole", () => {
    for (const codec of ["lz4", "none"] as const) {
      const { input, r } = mixedFile(`rows-${codec}`, codec, 61, [4000, 3000, 2000], 0.1);
      const names = Object.keys(input[0]!.cols) as (keyof RecordBatch["cols"])[];
      for (const step of [97, 3]) {
        const before = r.rowDecodedColumns;
        for (let i = 0; i < r.blockCount; i++) {
          const eager = cloneBatch(r.readBlock(i)!);
          const b = r.readBlockLazy(i, new Set(["dstPort"]))!;
          const rows: number[] = [];
          for (let row = 5; row < b.length; row += step) rows.push(row);
          r.lazyRows(Uint32Array.from(rows), rows.length);
          const bad: string[] = [];
          for (const name of names) {
            const got = b.cols[name];
            const want = eager.cols[name];
            const width = got.length / b.length;
            for (const row of rows)
              for (let x = 0; x < width; x++)
                if (!Object.is(got[row * width + x], want[row * width + x])) bad.push(`${name}[${row}]`);
          }
          expect(bad.slice(0, 5)).toEqual([]);
        }
        const rowDecoded = r.rowDecodedColumns - before;
        // one row in 97: most width-1 columns (for/dict) decode row by row; one in 3: every column whole
        if (step === 97) expect(rowDecoded).toBeGreaterThan(3 * 10);
        else expect(rowDecoded).toBe(0);
      }
      expect(r.errors).toEqual([]);
      r.close();
    }
  });
});

describe("writer lifecycle", () => {
  it("close never replaces an existing slot file: suffix .1, or fail, or replace on request", () => {
    const final = path.join(dir, "tscapd.202611231205");
    fs.writeFileSync(final, "earlier");
    const w1 = FlowFileWriter.open(path.join(dir, "tscapd.current.1"));
    w1.appendBatchSync(randomBatch(5, 10));
    expect(w1.closeSync({ finalPath: final })).toBe(`${final}.1`);
    expect(fs.readFileSync(final, "utf8")).toBe("earlier");
    expect(fs.existsSync(path.join(dir, "tscapd.current.1"))).toBe(false);
    const w2 = FlowFileWriter.open(path.join(dir, "tscapd.current.2"));
    expect(() => w2.closeSync({ finalPath: final, ifExists: "fail" })).toThrow(
      expect.objectContaining({ code: "ERR_STORE_IO" }),
    );
    const w3 = FlowFileWriter.open(path.join(dir, "tscapd.current.3"));
    expect(w3.closeSync({ finalPath: final, ifExists: "replace" })).toBe(final);
    const rr = FlowFileReader.open(final);
    expect(rr.blockCount).toBe(0);
    rr.close();
  });

  it("a closed writer refuses further use", () => {
    const w = FlowFileWriter.open(path.join(dir, "state"));
    w.appendBatchSync(randomBatch(6, 100));
    w.closeSync();
    expect(() => {
      w.appendBatchSync(randomBatch(7, 10));
    }).toThrow(expect.objectContaining({ code: "ERR_STORE_STATE" }));
    expect(w.rows).toBe(100);
  });

  it("setStats overrides the time window (idle slot) and exporters keep extra counters", () => {
    const f = path.join(dir, "idle");
    const w = FlowFileWriter.open(f);
    w.setStats({ msecFirst: 1_795_435_500_000, msecLast: 1_795_435_500_000 });
    w.closeSync();
    const r = FlowFileReader.open(f);
    expect([r.stats().msecFirst, r.stats().msecLast, r.stats().rows]).toEqual([
      1_795_435_500_000, 1_795_435_500_000, 0,
    ]);
    r.close();
  });
});
