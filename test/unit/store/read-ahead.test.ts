// SPDX-License-Identifier: BSD-3-Clause
// The reader's read-ahead (store/read-ahead.ts, native/encode.c): blocks read, checked and inflated on another
// thread give the same rows, and the same reports for damaged blocks, as blocks the reader reads itself.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordBatch } from "../../../src/record/batch.js";
import { columnTable, columnTargets } from "../../../src/store/column-table.js";
import type { StoreError } from "../../../src/store/errors.js";
import { BLOCK_HEADER_BYTES, crcOf, parseBlockHeader, type BlockHeader } from "../../../src/store/format.js";
import { COLUMN_FLAG_UNCOMPRESSED } from "../../../src/store/block.js";
import type { ReadOrder } from "../../../src/store/read-ahead.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { cloneBatch, expectSameRows, randomBatch, rng, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const BLOCKS = 6;
let file = "";
let bytes: Uint8Array;
let offsets: { offset: number; length: number }[] = [];

beforeAll(() => {
  file = path.join(dir, "good");
  const w = FlowFileWriter.open(file, { ident: "ahead" });
  for (let k = 0; k < BLOCKS; k++) w.appendBatchSync(randomBatch(70 + k, 900 + 131 * k, { v6: 0.2, extras: k === 3 }));
  w.closeSync();
  bytes = new Uint8Array(fs.readFileSync(file));
  const r = FlowFileReader.open(file);
  offsets = Array.from({ length: r.blockCount }, (_, i) => r.blockInfo(i));
  r.close();
});

const SOME = new Set(["srcAddr", "dstPort", "inBytes", "msecFirst", "extra"]);

type Ahead = "none" | "next" | "order";

/** The order of every block of a file of `n` blocks (a scan without filter). */
function everyBlock(n: number): ReadOrder {
  return { next: (b) => (b + 1 < n ? b + 1 : undefined) };
}

/**
 * Every block of `f` in order, each read with the next one posted to the read-ahead (`next`), with the order of
 * the blocks (`order`: the next few posted, as a scan does) or neither: rows (copied), the errors reported, and
 * the blocks taken from the read-ahead. `before(r, i)` runs before block i is read.
 */
function readAll(
  f: string,
  ahead: Ahead,
  how: "all" | "some" | "lazy",
  before?: (r: FlowFileReader, i: number) => void,
): { batches: (RecordBatch | undefined)[]; errors: StoreError[]; hits: number } {
  const errors: StoreError[] = [];
  const r = FlowFileReader.open(f, { onError: (e) => errors.push(e) });
  const batches: (RecordBatch | undefined)[] = [];
  const order = everyBlock(r.blockCount);
  for (let i = 0; i < r.blockCount; i++) {
    before?.(r, i);
    const next = ahead === "next" ? i + 1 : ahead === "order" ? order : undefined;
    const b =
      how === "all"
        ? r.readBlock(i, undefined, next)
        : how === "some"
          ? r.readBlock(i, SOME, next)
          : r.readBlockLazy(i, SOME, next);
    batches.push(b === undefined ? undefined : cloneBatch(b));
  }
  const hits = r.aheadHits;
  r.close();
  return { batches, errors, hits };
}

function expectSame(
  f: string,
  how: "all" | "some" | "lazy",
  mode: Ahead = "next",
  before?: (r: FlowFileReader, i: number) => void,
): { hits: number; errors: StoreError[] } {
  const plain = readAll(f, "none", how, before);
  const ahead = readAll(f, mode, how, before);
  expect(ahead.batches.map((b) => b === undefined)).toEqual(plain.batches.map((b) => b === undefined));
  const defined = (bs: (RecordBatch | undefined)[]): RecordBatch[] =>
    bs.filter((b): b is RecordBatch => b !== undefined);
  expect(expectSameRows(defined(ahead.batches), defined(plain.batches)).mismatches).toEqual([]);
  const report = (e: StoreError): unknown[] => [e.code, e.message, e.file, e.block, e.offset];
  expect(ahead.errors.map(report)).toEqual(plain.errors.map(report));
  return { hits: ahead.hits, errors: ahead.errors };
}

function withData(name: string, data: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

/** Block `b`'s header and its column table (the compressed entries first). */
function tableOf(
  data: Uint8Array,
  b: { offset: number },
): { h: BlockHeader; d: number; lz4: { at: number; storedLength: number }[] } {
  const r = FlowFileReader.open(file);
  const cols = r.header().columns;
  r.close();
  const block = data.subarray(b.offset);
  const h = parseBlockHeader(block, 0) as BlockHeader;
  const d = BLOCK_HEADER_BYTES + h.zoneLength;
  const entries = columnTable(block, d, h, cols, columnTargets(cols), () => {
    throw new Error("bad table");
  })!;
  return { h, d, lz4: entries.filter((e) => (e.flags & COLUMN_FLAG_UNCOMPRESSED) === 0 && e.storedLength > 16) };
}

/** Writes both CRCs of the block at `off` again (after a change that should pass them). */
function fixCrcs(data: Uint8Array, off: number, h: BlockHeader): void {
  const v = new DataView(data.buffer, data.byteOffset + off);
  const d = BLOCK_HEADER_BYTES + h.zoneLength;
  v.setUint32(8, crcOf(data, off + d, off + d + h.dataLength), true);
  v.setUint32(4, crcOf(data, off + 8, off + d), true);
}

describe("read-ahead", () => {
  it("gives the rows of the reader's own reads: every column, a selection, lazy columns", () => {
    for (const how of ["all", "some", "lazy"] as const) {
      const { hits, errors } = expectSame(file, how);
      expect(hits, how).toBe(BLOCKS - 1);
      expect(errors).toEqual([]);
    }
  });

  it("a block whose data checksum fails: the same report (file, block, offset), the next block still read ahead", () => {
    const data = bytes.slice();
    const b = offsets[2]!;
    data[b.offset + b.length - 20]! ^= 0x10;
    const { hits, errors } = expectSame(withData("flip-data", data), "some");
    expect(errors.map((e) => [e.code, e.block])).toEqual([["ERR_STORE_CHECKSUM", 2]]);
    expect(hits).toBe(BLOCKS - 1);
  });

  it("a column whose LZ4 data does not decode (both checksums right): reported with its offset, as without", () => {
    const data = bytes.slice();
    const b = offsets[1]!;
    const { h, lz4 } = tableOf(data, b);
    expect(lz4.length).toBeGreaterThan(0);
    const e = lz4[0]!;
    // literal lengths that run past the end of the data
    data.fill(0xff, b.offset + e.at + 4, b.offset + e.at + e.storedLength);
    fixCrcs(data, b.offset, h);
    for (const how of ["all", "lazy"] as const) {
      const { errors } = expectSame(withData("bad-lz4", data), how);
      expect(
        errors.map((x) => [x.code, x.block, x.offset]),
        how,
      ).toEqual([["ERR_STORE_CORRUPT", 1, b.offset + e.at]]);
      expect(errors[0]!.message).toContain("lz4 data does not decode");
    }
  });

  it("a file cut inside a block, and single flipped bits anywhere: the same rows and reports", () => {
    const last = offsets[BLOCKS - 1]!;
    expectSame(withData("cut", bytes.slice(0, last.offset + 100)), "some");
    const r = rng(7);
    for (let t = 0; t < 24; t++) {
      const data = bytes.slice();
      const at = offsets[0]!.offset + Math.floor(r() * (last.offset + last.length - offsets[0]!.offset));
      data[at]! ^= 1 << Math.floor(r() * 8);
      expectSame(withData("flip-any", data), t % 2 === 0 ? "all" : "lazy");
    }
  });

  it("a read ahead of another block than the next read is dropped: the reader reads that block itself", () => {
    const errors: StoreError[] = [];
    const r = FlowFileReader.open(file, { onError: (e) => errors.push(e) });
    const plain = FlowFileReader.open(file);
    try {
      r.readBlock(0, SOME, 3); // block 3 posted, block 1 read next
      const got = cloneBatch(r.readBlock(1, SOME, 2)!);
      expect(r.aheadHits).toBe(0);
      expect(expectSameRows([got], [cloneBatch(plain.readBlock(1, SOME)!)]).mismatches).toEqual([]);
      const next = cloneBatch(r.readBlock(2, SOME)!); // posted by the previous read
      expect(r.aheadHits).toBe(1);
      expect(expectSameRows([next], [cloneBatch(plain.readBlock(2, SOME)!)]).mismatches).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      r.close();
      plain.close();
    }
  });
});

describe("read-ahead queue (the order of the blocks given, as a scan does)", () => {
  it("queues the next three blocks, takes every block after the first from it: the same rows", () => {
    for (const how of ["all", "some", "lazy"] as const) {
      const { hits, errors } = expectSame(file, how, "order");
      expect(hits, how).toBe(BLOCKS - 1);
      expect(errors).toEqual([]);
    }
    const r = FlowFileReader.open(file);
    try {
      r.readBlock(0, SOME, everyBlock(r.blockCount));
      expect(r.aheadQueued).toBe(3);
      r.readBlock(1, SOME, everyBlock(r.blockCount));
      expect(r.aheadQueued).toBe(3); // block 1 taken, block 4 posted
      expect(r.aheadHits).toBe(1);
    } finally {
      r.close(); // with jobs queued: dropped before the file is closed
    }
  });

  it("damage in a block deep in the queue (posted three reads before it is decoded): the same report", () => {
    const data = bytes.slice();
    const b = offsets[4]!;
    data[b.offset + b.length - 20]! ^= 0x04;
    const { hits, errors } = expectSame(withData("deep-data", data), "some", "order");
    expect(errors.map((e) => [e.code, e.block, e.offset])).toEqual([
      ["ERR_STORE_CHECKSUM", 4, b.offset + BLOCK_HEADER_BYTES + tableOf(data, b).h.zoneLength],
    ]);
    expect(hits).toBe(BLOCKS - 1);
  });

  it("errors in two queued blocks (a data checksum, then LZ4 data that does not decode): both reported, in order", () => {
    const data = bytes.slice();
    const b2 = offsets[2]!;
    data[b2.offset + b2.length - 20]! ^= 0x10;
    const b3 = offsets[3]!;
    const { h, lz4 } = tableOf(data, b3);
    const e = lz4[0]!;
    data.fill(0xff, b3.offset + e.at + 4, b3.offset + e.at + e.storedLength);
    fixCrcs(data, b3.offset, h);
    const f = withData("two-bad", data);
    for (const how of ["all", "lazy"] as const) {
      const { errors, hits } = expectSame(f, how, "order");
      expect(hits, how).toBe(BLOCKS - 1);
      expect(
        errors.map((x) => [x.code, x.block]),
        how,
      ).toEqual([
        ["ERR_STORE_CHECKSUM", 2],
        ["ERR_STORE_CORRUPT", 3],
      ]);
      expect(errors[1]!.offset).toBe(b3.offset + e.at);
    }
  });

  it("a file truncated under the reader: before the first read, and mid-scan with jobs queued: the same reports", () => {
    const f = path.join(dir, "shrinking");
    /** Both ways, each on the whole file cut at `cut` before block `at` is read: the reports. */
    const cutAt = (at: number, cut: number, how: "some" | "all"): { errors: StoreError[]; hits: number } => {
      const runs = (["none", "order"] as const).map((mode) => {
        fs.writeFileSync(f, bytes);
        return readAll(f, mode, how, (_r, i) => {
          if (i === at) fs.truncateSync(f, cut);
        });
      });
      const [plain, ahead] = runs as [ReturnType<typeof readAll>, ReturnType<typeof readAll>];
      expect(ahead.batches.map((b) => b === undefined)).toEqual(plain.batches.map((b) => b === undefined));
      const report = (e: StoreError): unknown[] => [e.code, e.message, e.file, e.block, e.offset];
      expect(ahead.errors.map(report)).toEqual(plain.errors.map(report));
      return ahead;
    };
    // cut inside block 3 once the reader is open: the queued jobs of blocks 3–5 read short
    const early = cutAt(0, offsets[3]!.offset + 100, "some");
    expect(early.errors.map((e) => e.block)).toEqual([3, 4, 5]);
    expect(early.hits).toBe(BLOCKS - 1); // blocks 3–5 taken short, read again by the reader to report them
    // cut inside block 5 after block 1 is read: block 5 is posted (reading block 2) after the cut
    const late = cutAt(2, offsets[5]!.offset + 100, "all");
    expect(late.errors.map((e) => e.block)).toEqual([5]);
    expect(late.hits).toBe(BLOCKS - 1);
  });

  it("jobs posted for another column set are dropped: the reader reads the block itself", () => {
    const r = FlowFileReader.open(file);
    const plain = FlowFileReader.open(file);
    const order = everyBlock(r.blockCount);
    try {
      r.readBlock(0, SOME, order);
      const got = cloneBatch(r.readBlock(1, undefined, order)!);
      expect(r.aheadHits).toBe(0);
      expect(expectSameRows([got], [cloneBatch(plain.readBlock(1)!)]).mismatches).toEqual([]);
      const next = cloneBatch(r.readBlock(2, undefined, order)!);
      expect(r.aheadHits).toBe(1);
      expect(expectSameRows([next], [cloneBatch(plain.readBlock(2)!)]).mismatches).toEqual([]);
    } finally {
      r.close();
      plain.close();
    }
  });

  it("TSFLOW_READAHEAD sets the queue's depth (0: off)", () => {
    const saved = process.env["TSFLOW_READAHEAD"];
    try {
      for (const [v, queued, hits] of [
        ["1", 1, BLOCKS - 1],
        ["0", 0, 0],
      ] as const) {
        process.env["TSFLOW_READAHEAD"] = v;
        const r = FlowFileReader.open(file);
        const order = everyBlock(r.blockCount);
        r.readBlock(0, SOME, order);
        expect(r.aheadQueued, v).toBe(queued);
        for (let i = 1; i < r.blockCount; i++) r.readBlock(i, SOME, order);
        expect(r.aheadHits, v).toBe(hits);
        r.close();
      }
    } finally {
      if (saved === undefined) delete process.env["TSFLOW_READAHEAD"];
      else process.env["TSFLOW_READAHEAD"] = saved;
    }
  });
});
