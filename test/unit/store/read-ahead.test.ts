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

/**
 * Every block of `f` in order, each read with the next one posted to the read-ahead (`ahead`) or not: rows
 * (copied), the errors reported, and the blocks taken from the read-ahead.
 */
function readAll(
  f: string,
  ahead: boolean,
  how: "all" | "some" | "lazy",
): { batches: (RecordBatch | undefined)[]; errors: StoreError[]; hits: number } {
  const errors: StoreError[] = [];
  const r = FlowFileReader.open(f, { onError: (e) => errors.push(e) });
  const batches: (RecordBatch | undefined)[] = [];
  for (let i = 0; i < r.blockCount; i++) {
    const next = ahead ? i + 1 : undefined;
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

function expectSame(f: string, how: "all" | "some" | "lazy"): { hits: number; errors: StoreError[] } {
  const plain = readAll(f, false, how);
  const ahead = readAll(f, true, how);
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
