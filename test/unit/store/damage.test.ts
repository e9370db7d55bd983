// SPDX-License-Identifier: BSD-3-Clause
// Damaged files: cut short, flipped bits, wrong magic, future version, recover().
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordBatch } from "../../../src/record/batch.js";
import { STORE_ERROR, StoreError } from "../../../src/store/errors.js";
import { BLOCK_HEADER_BYTES, BlockHeaderFault, parseBlockHeader } from "../../../src/store/format.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { recover } from "../../../src/store/recover.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { cloneBatch, expectSameRows, randomBatch, rng, rowOf, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const BLOCKS = 5;
let file = "";
let bytes: Uint8Array;
let input: RecordBatch[] = [];
let offsets: { offset: number; length: number }[] = [];
let headerLength = 0;

beforeAll(() => {
  file = path.join(dir, "good");
  const w = FlowFileWriter.open(file, { ident: "damage" });
  input = Array.from({ length: BLOCKS }, (_, k) => randomBatch(50 + k, 200 + 37 * k, { v6: 0.2, extras: k === 2 }));
  for (const b of input) w.appendBatchSync(b);
  w.closeSync();
  bytes = new Uint8Array(fs.readFileSync(file)); // a copy: Buffer#slice would share memory
  const r = FlowFileReader.open(file);
  offsets = Array.from({ length: r.blockCount }, (_, i) => r.blockInfo(i));
  headerLength = r.header().length;
  r.close();
});

/** Reads every readable block of `bytes` written to a temp file; returns rows per block and the errors. */
function readDamaged(
  name: string,
  data: Uint8Array,
): { batches: RecordBatch[]; errors: StoreError[]; hasFooter: boolean } {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  const seen: StoreError[] = [];
  const r = FlowFileReader.open(f, { onError: (e) => seen.push(e) });
  const batches: RecordBatch[] = [];
  for (const b of r.batches()) batches.push(cloneBatch(b));
  expect(r.errors).toEqual(seen);
  r.close();
  return { batches, errors: seen, hasFooter: r.hasFooter };
}

let wantKeys: string[] | undefined;

/** The read batches must be whole input batches, in order (a subsequence), never altered rows. */
function expectSubsequence(got: RecordBatch[]): number[] {
  const key = (b: RecordBatch): string => JSON.stringify(Array.from({ length: b.length }, (_, i) => rowOf(b, i)));
  wantKeys ??= input.map(key);
  const want = wantKeys;
  const idx: number[] = [];
  let from = 0;
  for (const b of got) {
    const k = want.indexOf(key(b), from);
    expect(k, "a block was read with contents that were never written").toBeGreaterThanOrEqual(0);
    idx.push(k);
    from = k + 1;
  }
  return idx;
}

describe("files cut short", () => {
  it("at every block boundary: all blocks before the cut, no footer reported", () => {
    for (let k = 0; k <= BLOCKS; k++) {
      const cut = k < BLOCKS ? offsets[k]!.offset : offsets[BLOCKS - 1]!.offset + offsets[BLOCKS - 1]!.length;
      const { batches, errors, hasFooter } = readDamaged(`cut-${k}`, bytes.subarray(0, cut));
      expect(hasFooter).toBe(false);
      expect(expectSubsequence(batches)).toEqual(Array.from({ length: k }, (_, i) => i));
      expect(errors.map((e) => e.code)).toEqual(["ERR_STORE_NO_FOOTER"]);
    }
  });

  it("at random offsets: every complete block before the cut is read, the cut block is reported with its offset", () => {
    const r = rng(7);
    const cuts = Array.from({ length: 25 }, () => headerLength + Math.floor(r() * (bytes.length - headerLength)));
    // also inside every block header (< 32 bytes) and just before each block end
    for (const b of offsets) cuts.push(b.offset + 5, b.offset + 31, b.offset + b.length - 1);
    for (const cut of cuts) {
      const { batches, errors } = readDamaged("cut-random", bytes.subarray(0, cut));
      const complete = offsets.filter((b) => b.offset + b.length <= cut).length;
      expect(expectSubsequence(batches)).toEqual(Array.from({ length: complete }, (_, i) => i));
      const inBlock = offsets.find((b) => cut > b.offset && cut < b.offset + b.length);
      if (inBlock) {
        const t = errors.find((e) => e.code === "ERR_STORE_TRUNCATED");
        expect(t, `cut at ${cut}`).toBeDefined();
        expect(t!.offset).toBe(inBlock.offset);
        expect(t!.block).toBe(complete);
        expect(t!.file).toContain("cut-random");
        expect(t!.message).toMatch(/^store: .*cut-random block \d+ offset \d+: /);
      }
    }
  });

  it("inside the header: open throws ERR_STORE_TRUNCATED", () => {
    const f = path.join(dir, "cut-header");
    fs.writeFileSync(f, bytes.subarray(0, headerLength - 3));
    expect(() => FlowFileReader.open(f)).toThrow(
      expect.objectContaining({ code: "ERR_STORE_TRUNCATED", offset: headerLength - 3 }),
    );
  });
});

describe("flipped bits", () => {
  it("in a block's data: checksum error naming file/block/offset, the other blocks still read", () => {
    const data = bytes.slice();
    const b = offsets[2]!;
    data[b.offset + b.length - 20]! ^= 0x10;
    const { batches, errors } = readDamaged("flip-data", data);
    expect(expectSubsequence(batches)).toEqual([0, 1, 3, 4]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreError);
    expect(errors[0]).toMatchObject({ code: "ERR_STORE_CHECKSUM", block: 2 });
    expect(errors[0]!.offset).toBeGreaterThan(b.offset);
    expect(errors[0]!.offset).toBeLessThan(b.offset + b.length);
    expect(errors[0]!.file).toContain("flip-data");
  });

  it("in a block header without footer: resynchronises on the next block", () => {
    const data = bytes.slice(0, offsets[BLOCKS - 1]!.offset + offsets[BLOCKS - 1]!.length);
    data[offsets[1]!.offset + 13]! ^= 0x01; // row count
    data[offsets[3]!.offset]! ^= 0x01; // magic
    const { batches, errors } = readDamaged("flip-head", data);
    expect(expectSubsequence(batches)).toEqual([0, 2, 4]);
    expect(errors.map((e) => [e.code, e.offset])).toEqual([
      ["ERR_STORE_NO_FOOTER", data.length],
      ["ERR_STORE_CHECKSUM", offsets[1]!.offset],
      ["ERR_STORE_BAD_MAGIC", offsets[3]!.offset],
    ]);
  });

  it("any single bit anywhere after the header: never a throw, never an altered row, always reported", () => {
    const r = rng(99);
    for (let t = 0; t < 60; t++) {
      const data = bytes.slice();
      const at = headerLength + Math.floor(r() * (data.length - headerLength));
      data[at]! ^= 1 << Math.floor(r() * 8);
      const { batches, errors } = readDamaged("flip-any", data);
      expectSubsequence(batches);
      expect(errors.length, `flip at ${at}`).toBeGreaterThan(0);
    }
  });

  it("in the footer: falls back to scanning and still reads every block", () => {
    const data = bytes.slice();
    const footerAt = offsets[BLOCKS - 1]!.offset + offsets[BLOCKS - 1]!.length;
    data[footerAt + 20]! ^= 0x04;
    const { batches, errors, hasFooter } = readDamaged("flip-footer", data);
    expect(hasFooter).toBe(false);
    expect(expectSubsequence(batches)).toEqual([0, 1, 2, 3, 4]);
    expect(errors.map((e) => e.code)).toEqual(["ERR_STORE_CHECKSUM", "ERR_STORE_NO_FOOTER"]);
    expect(errors[0]!.offset).toBe(footerAt + 4);
  });

  it("in the header: open throws a checksum error", () => {
    const f = path.join(dir, "flip-header");
    const data = bytes.slice();
    data[30]! ^= 0x20;
    fs.writeFileSync(f, data);
    expect(() => FlowFileReader.open(f)).toThrow(
      expect.objectContaining({ code: "ERR_STORE_CHECKSUM", block: -1, offset: 0 }),
    );
  });
});

describe("block header faults", () => {
  it("parseBlockHeader names the fault with its error code, not only a message", () => {
    const at = offsets[1]!.offset;
    const head = (): Uint8Array => bytes.slice(at, at + BLOCK_HEADER_BYTES);
    expect(parseBlockHeader(head(), 0)).not.toBeInstanceOf(BlockHeaderFault);
    const magic = head();
    magic[0]! ^= 0x01;
    const rows = head();
    new DataView(rows.buffer).setUint32(12, 0xffffffff, true);
    const zone = head();
    new DataView(zone.buffer).setUint32(20, 3, true);
    const faults = [magic, rows, zone, head().subarray(0, 10)].map((h) => parseBlockHeader(h, 0));
    for (const f of faults) expect(f).toBeInstanceOf(BlockHeaderFault);
    expect(faults.map((f) => (f as BlockHeaderFault).code)).toEqual([
      STORE_ERROR.BAD_MAGIC,
      STORE_ERROR.BAD_LENGTH,
      STORE_ERROR.BAD_LENGTH,
      STORE_ERROR.BAD_LENGTH,
    ]);
    expect((faults[0] as BlockHeaderFault).message).toMatch(/^bad block magic 0x/);
    expect((faults[1] as BlockHeaderFault).message).toBe("impossible row count 4294967295");
  });

  it("with a footer: a block whose magic is damaged is reported as ERR_STORE_BAD_MAGIC, the others read", () => {
    const data = bytes.slice();
    data[offsets[3]!.offset]! ^= 0x01;
    const { batches, errors } = readDamaged("footer-magic", data);
    expect(expectSubsequence(batches)).toEqual([0, 1, 2, 4]);
    expect(errors.map((e) => [e.code, e.block, e.offset])).toEqual([["ERR_STORE_BAD_MAGIC", 3, offsets[3]!.offset]]);
  });
});

describe("foreign and future files", () => {
  it("wrong magic: ERR_STORE_BAD_MAGIC", () => {
    const f = path.join(dir, "magic");
    const data = bytes.slice();
    data.set([0x0c, 0xa5, 0x01, 0x00], 0); // an nfdump file starts A50C
    fs.writeFileSync(f, data);
    expect(() => FlowFileReader.open(f)).toThrow(
      expect.objectContaining({ code: "ERR_STORE_BAD_MAGIC", file: f, offset: 0 }),
    );
    expect(() => FlowFileReader.open(f)).toThrow(/^store: .*\/magic offset 0: not a tsflow file \(magic 0x0001a50c\)$/);
  });

  it("unknown future version: ERR_STORE_VERSION", () => {
    const f = path.join(dir, "future");
    const data = bytes.slice();
    data[4] = 2;
    fs.writeFileSync(f, data);
    expect(() => FlowFileReader.open(f)).toThrow(expect.objectContaining({ code: "ERR_STORE_VERSION", offset: 4 }));
    expect(() => FlowFileReader.open(f)).toThrow(/format version 2 is not supported/);
  });

  it("a tiny or empty file: ERR_STORE_TRUNCATED", () => {
    const f = path.join(dir, "tiny");
    fs.writeFileSync(f, new Uint8Array(3));
    expect(() => FlowFileReader.open(f)).toThrow(expect.objectContaining({ code: "ERR_STORE_TRUNCATED" }));
  });

  it("a missing file: ERR_STORE_IO", () => {
    expect(() => FlowFileReader.open(path.join(dir, "nope"))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_IO" }),
    );
  });
});

describe("recover()", () => {
  it("rebuilds footer and trailer of a killed writer's file, cutting the partial block", () => {
    const f = path.join(dir, "tscapd.current.123");
    const w = FlowFileWriter.open(f, { ident: "rec" });
    for (const b of input) w.appendBatchSync(b);
    w.abort(); // killed: no footer
    const full = fs.readFileSync(f);
    // plus half a block, as if killed during a write
    const partial = bytes.subarray(offsets[0]!.offset, offsets[0]!.offset + Math.floor(offsets[0]!.length / 2));
    fs.writeFileSync(f, Buffer.concat([full, partial]));

    const res = recover(f);
    expect(res.repaired).toBe(true);
    expect(res.blocks).toBe(BLOCKS);
    expect(res.truncatedBytes).toBe(partial.length);
    expect(res.rows).toBe(input.reduce((a, b) => a + b.length, 0));
    expect(res.errors.map((e) => e.code)).toEqual(["ERR_STORE_NO_FOOTER", "ERR_STORE_TRUNCATED"]);

    const r = FlowFileReader.open(f);
    expect(r.hasFooter).toBe(true);
    expect(r.errors).toEqual([]);
    const got: RecordBatch[] = [];
    for (const b of r.batches()) got.push(cloneBatch(b));
    expect(expectSameRows(got, input).mismatches).toEqual([]);
    const ref = FlowFileReader.open(file);
    expect({ ...r.stats(), exporters: [] }).toEqual({ ...ref.stats(), exporters: [] });
    expect(r.header().ident).toBe("rec");
    ref.close();
    r.close();

    // a second recover is a no-op
    expect(recover(f).repaired).toBe(false);
  });

  it("keeps the good blocks around a damaged one", () => {
    const f = path.join(dir, "rec-damaged");
    const data = bytes.slice(0, offsets[BLOCKS - 1]!.offset + offsets[BLOCKS - 1]!.length);
    data[offsets[1]!.offset + offsets[1]!.length - 9]! ^= 0xff;
    fs.writeFileSync(f, data);
    const res = recover(f);
    expect(res.blocks).toBe(BLOCKS - 1);
    const r = FlowFileReader.open(f);
    expect(r.hasFooter).toBe(true);
    const got: RecordBatch[] = [];
    for (const b of r.batches()) got.push(cloneBatch(b));
    expect(expectSubsequence(got)).toEqual([0, 2, 3, 4]);
    r.close();
  });
});
