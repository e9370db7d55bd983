// SPDX-License-Identifier: BSD-3-Clause
// Column transforms: the writer's choice per column, exact round trips of edge values, schema evolution.
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, type ArrayType, type PhysicalName } from "../../../src/record/schema.js";
import { PlanScratch, encodeColumn, type ColumnPlan } from "../../../src/store/codec.js";
import { TRANSFORM } from "../../../src/store/format.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { expectSameRows, tempDir } from "./helpers.js";

const dir = tempDir("tsflow-codec-");
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function plan(values: number[]): ColumnPlan {
  const s = new PlanScratch();
  encodeColumn(new Float64Array(values), values.length, s);
  return s.plan;
}

describe("transform choice", () => {
  it.each([
    ["constant → dict with 0-bit indexes", [7, 7, 7, 7], TRANSFORM.dict, 0],
    ["two values → 1 bit", [6, 17, 6, 6, 17], TRANSFORM.dict, 1],
    ["16 values → 4 bits", Array.from({ length: 64 }, (_, i) => i % 16), TRANSFORM.dict, 4],
    ["sorted times → delta", Array.from({ length: 400 }, (_, i) => 1.7e12 + Math.floor(i / 3) * 2), TRANSFORM.delta, 1],
    [
      "random times in a minute → for, 2 bytes",
      Array.from({ length: 100 }, (_, i) => 1.7e12 + ((i * 7919) % 60000)),
      TRANSFORM.for,
      2,
    ],
    [
      "counters near 2^53 → for",
      Array.from({ length: 40 }, (_, i) => 2 ** 53 - 1 - ((i * 7919) % 40) * 1000),
      TRANSFORM.for,
      2,
    ],
    ["fractions → raw", Array.from({ length: 40 }, (_, i) => i / 3), TRANSFORM.raw, 8],
    ["range ≥ 2^32 → raw", Array.from({ length: 40 }, (_, i) => i * 2 ** 30), TRANSFORM.raw, 8],
  ] as const)("%s", (_, values, transform, width) => {
    const p = plan([...values]);
    expect([p.transform, p.width]).toEqual([transform, width]);
  });

  it("NaN disables ranges and keeps the raw bytes", () => {
    const p = plan([1, Number.NaN, 3]);
    expect(p.transform).toBe(TRANSFORM.raw);
    expect(p.ranged).toBe(false);
  });

  it("dict packs indexes LSB first after the f64 values", () => {
    const s = new PlanScratch();
    const bytes = encodeColumn(new Uint8Array([5, 9, 9, 5, 9]), 5, s)!;
    const p = s.plan;
    expect(p).toMatchObject({ transform: TRANSFORM.dict, width: 1, base: 2 });
    expect(Array.from(bytes)).toEqual([...new Uint8Array(new Float64Array([5, 9]).buffer), 0b10110]);
  });
});

// The collector's encoder per array type (one code path each): the transform it picks for typical columns, and an
// exact round trip of every width-1 column of the schema through a file for each of those shapes.
const N = 3000;
const { raw, dict, delta } = TRANSFORM;
const FOR = TRANSFORM.for;
/** name, values, expected [transform, width] for u8, u16, u32, f64 (null: the shape does not fit the type) */
const SHAPES: readonly [string, (i: number) => number, ...([number, number] | null)[]][] = [
  ["constant", () => 7, [dict, 0], [dict, 0], [dict, 0], [dict, 0]],
  ["two values", (i) => (i % 2 ? 3 : 200), [dict, 1], [dict, 1], [dict, 1], [dict, 1]],
  ["four values", (i) => [1, 2, 3, 250][i % 4]!, [dict, 2], [dict, 2], [dict, 2], [dict, 2]],
  ["sixteen values", (i) => ((i * 7) % 16) + 100, [dict, 4], [dict, 4], [dict, 4], [dict, 4]],
  ["many bytes", (i) => (i * 37) % 256, [raw, 1], [FOR, 1], [FOR, 1], [FOR, 1]],
  ["sorted, small steps", (i) => 1000 + Math.floor(i / 3) * 5, null, [delta, 1], [delta, 1], [delta, 1]],
  ["sorted, steps of 300", (i) => 1_000_000 + i * 300, null, null, [delta, 2], [delta, 2]],
  ["sorted, steps of 100000", (i) => 1_000_000 + i * 100_000, null, null, [delta, 4], [delta, 4]],
  ["random in 16 bits", (i) => (i * 7919) % 65536, null, [FOR, 2], [FOR, 2], [FOR, 2]],
  ["random in 32 bits", (i) => Math.imul(i, 0x9e3779b1) >>> 0, null, null, [FOR, 4], [FOR, 4]],
  ["times in a minute", (i) => 1.7e12 + ((i * 7919) % 60000), null, null, null, [FOR, 2]],
  ["counters near 2^53", (i) => 2 ** 53 - 1 - ((i * 7919) % 3000) * 1000, null, null, null, [FOR, 4]],
  ["range ≥ 2^32", (i) => (i % 40) * 2 ** 30, null, null, null, [raw, 8]],
  ["a fraction in the last row", (i) => (i === N - 1 ? 0.5 : 1000 + ((i * 37) % 300)), null, null, null, [raw, 8]],
  ["NaN among sorted times", (i) => (i === 17 ? Number.NaN : 1.7e12 + i), null, null, null, [raw, 8]],
];
const TYPES: readonly ArrayType[] = ["u8", "u16", "u32", "f64"];
const ARRAYS = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array } as const;

describe("collector encoder", () => {
  it.each(SHAPES.flatMap(([name, f, ...want]) => TYPES.map((t, k) => [name, t, f, want[k] ?? null] as const)))(
    "%s as %s",
    (_, type, f, want) => {
      if (want === null) return;
      const a = new ARRAYS[type](N);
      for (let i = 0; i < N; i++) a[i] = f(i);
      const s = new PlanScratch();
      const bytes = encodeColumn(a, N, s);
      expect([s.plan.transform, s.plan.width]).toEqual(want);
      expect(bytes === null).toBe(want[0] === raw);
      if (!s.plan.ranged) return;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < N; i++) {
        min = Math.min(min, a[i]!);
        max = Math.max(max, a[i]!);
      }
      expect([s.plan.min, s.plan.max]).toEqual([min, max]);
    },
  );

  it("NaN: raw without a range", () => {
    const s = new PlanScratch();
    encodeColumn(new Float64Array([1, 2, Number.NaN, 4]), 4, s);
    expect(s.plan).toMatchObject({ transform: raw, ranged: false });
  });

  it("an all-zero column is reported, not encoded", () => {
    const s = new PlanScratch();
    for (const t of TYPES) {
      expect(encodeColumn(new ARRAYS[t](100), 100, s)).toBe(null);
      expect(s.plan.allZero).toBe(true);
    }
  });

  it("every width-1 column of the schema survives write + read in every shape", () => {
    const f = path.join(dir, "shapes");
    const w = FlowFileWriter.open(f, { fsync: false });
    const input: RecordBatch[] = [];
    for (const [, fn] of SHAPES) {
      const b = new RecordBatch(N);
      for (let i = 0; i < N; i++) b.addRow();
      for (const pc of PHYSICAL_COLUMNS) {
        if (pc.width !== 1 || pc.name === "v6Flags") continue; // v6Flags 0: every address is IPv4
        const a = b.cols[pc.name as PhysicalName];
        for (let i = 0; i < N; i++) {
          const x = fn(i);
          // the same shape narrowed to the column's type (NaN and fractions only where they fit)
          a[i] = pc.array === "f64" ? x : Number.isFinite(x) ? Math.floor(x) : 0;
        }
      }
      input.push(b);
      w.appendBatchSync(b);
    }
    w.closeSync();
    const r = FlowFileReader.open(f);
    const got: RecordBatch[] = [];
    for (let k = 0; k < input.length; k++) {
      const b = r.readBlock(k)!;
      const copy = new RecordBatch(b.length);
      for (let i = 0; i < b.length; i++) copy.copyRowFrom(b, i);
      got.push(copy);
    }
    expect(r.errors).toEqual([]);
    r.close();
    const cmp = expectSameRows(got, input);
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.rows).toBe(N * SHAPES.length);
  });
});

describe("exact round trips", () => {
  it("any f64 and u32 column values survive write + read (property)", () => {
    const f64 = fc.oneof(
      fc.double({ noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }).map(Number),
      fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, 1.5),
    );
    const col = fc.oneof(
      fc.array(f64, { minLength: 1, maxLength: 60 }),
      fc.array(fc.constantFrom(0, 3, 2 ** 40, -7), { minLength: 1, maxLength: 60 }),
      fc.array(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }), { minLength: 1, maxLength: 60 }),
    );
    const u32 = fc.array(
      fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
      { minLength: 1, maxLength: 60 },
    );
    let k = 0;
    fc.assert(
      fc.property(col, u32, (bytes, ases) => {
        const n = Math.min(bytes.length, ases.length);
        const b = new RecordBatch(n);
        for (let i = 0; i < n; i++) {
          b.addRow();
          b.cols.inBytes[i] = bytes[i]!;
          b.cols.srcAs[i] = ases[i]!;
          b.cols.srcPort[i] = ases[i]! & 0xffff;
        }
        const f = path.join(dir, `prop-${k++ % 4}`);
        const w = FlowFileWriter.open(f, { fsync: false });
        w.appendBatchSync(b);
        w.closeSync();
        const r = FlowFileReader.open(f);
        const got = r.readBlock(0)!;
        const ok =
          r.errors.length === 0 &&
          got.length === n &&
          Array.from(got.cols.inBytes).every((x, i) => x === b.cols.inBytes[i]) &&
          Array.from(got.cols.srcAs).every((x, i) => x === b.cols.srcAs[i]) &&
          Array.from(got.cols.srcPort).every((x, i) => x === b.cols.srcPort[i]);
        r.close();
        return ok;
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});

describe("schema evolution", () => {
  it("skips a column unknown to this schema and reads a column missing from the file as zero", () => {
    const f = path.join(dir, "evolve");
    const b = new RecordBatch(3);
    for (let i = 0; i < 3; i++) {
      b.addRow();
      b.cols.srcTos[i] = 0x20 + i * 3 + (i === 2 ? 100 : 0);
      b.cols.dstPort[i] = 443;
    }
    const w = FlowFileWriter.open(f);
    w.appendBatchSync(b);
    w.closeSync();
    // rename directory column "srcTos" to "srcToz" (a column of some other schema) and fix the header CRC
    const data = new Uint8Array(fs.readFileSync(f));
    const name = Buffer.from("srcTos");
    const at = Buffer.from(data).indexOf(name);
    expect(at).toBeGreaterThan(0);
    data[at + 5] = "z".charCodeAt(0);
    const dv = new DataView(data.buffer);
    const len = dv.getUint32(8, true);
    dv.setUint32(len - 4, crc32(data.subarray(0, len - 4)) >>> 0, true);
    fs.writeFileSync(f, data);
    const r = FlowFileReader.open(f);
    expect(r.header().columns.some((c) => c.name === "srcToz")).toBe(true);
    const got = r.readBlock(0)!;
    expect(r.errors).toEqual([]);
    expect(Array.from(got.cols.srcTos)).toEqual([0, 0, 0]);
    expect(got.absent.has("srcTos")).toBe(true);
    expect(Array.from(got.cols.dstPort)).toEqual([443, 443, 443]);
    r.close();
  });
});
