// SPDX-License-Identifier: BSD-3-Clause
// The writer's native column encoders (native/encode.c via native-encode.ts) against codec.ts, their reference:
// the same plan and the same bytes for every column — random columns of every type, transform and width, edge
// values (NaN, fractions, -0, ±Infinity, ≥ 2^31 in u32, ≥ 2^53 in f64), synthetic-like and decoded synthetic blocks —
// and files written natively read back equal to the TS path's (byte-identical without LZ4).
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { warmupBatch } from "../../../src/capd/writer-warmup.js";
import { DecoderState, decodeDatagram } from "../../../src/decode/index.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, type PhysicalName } from "../../../src/record/schema.js";
import {
  PlanScratch,
  dictToF64,
  dictToU16,
  dictToU32,
  dictToU8,
  encodeColumn,
  encodeSparse6,
  finishDeltaF64,
  forToF64,
  forToU16,
  forToU32,
  unshuffle,
} from "../../../src/store/codec.js";
import {
  ENCODE_SLACK,
  PLAN,
  nativeCompress,
  nativeDecoder,
  nativeEncoder,
  setWriterPath,
  type NativeEncoder,
} from "../../../src/store/native-encode.js";
import { crcOf } from "../../../src/store/format.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { cloneBatch, expectSameRows, randomBatch, rng, tempDir } from "./helpers.js";

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

const dir = tempDir("tsflow-codec-native-");
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  setWriterPath(undefined);
});

const linux = process.platform === "linux";

/** codec.ts as block.ts uses it: plan slots as native-encode.ts PLAN, and the stored bytes. */
function tsEncode(col: Column, n: number): { plan: Float64Array; bytes: Uint8Array | null } {
  const s = new PlanScratch();
  const coded = encodeColumn(col, n, s);
  const p = s.plan;
  const rawBytes = new Uint8Array(col.buffer, col.byteOffset, n * col.BYTES_PER_ELEMENT);
  let zeroBytes = 1;
  for (let i = 0; i < rawBytes.length; i++) if (rawBytes[i] !== 0) zeroBytes = 0;
  const plan = Float64Array.of(p.transform, p.width, p.base, p.min, p.max, +p.ranged, +p.allZero, zeroBytes);
  return { plan, bytes: p.allZero ? null : (coded ?? rawBytes.slice()) };
}

/** native encoder at an odd offset inside a larger output (bytes around it must stay untouched). */
function nativeEncode(e: NativeEncoder, col: Column, n: number): { plan: Float64Array; bytes: Uint8Array | null } {
  const off = 13;
  const cap = n * col.BYTES_PER_ELEMENT + ENCODE_SLACK;
  const out = new Uint8Array(off + cap + 16).fill(0xa5);
  const plan = new Float64Array(8).fill(-7);
  const len = e.encode(col, n, out, off, plan);
  let touched = 0;
  for (let i = 0; i < off; i++) if (out[i] !== 0xa5) touched++;
  for (let i = off + cap; i < out.length; i++) if (out[i] !== 0xa5) touched++;
  if (touched !== 0) expect(`${touched} bytes outside the output range written`).toBe("");
  const skip = plan[PLAN.zeroBytes] !== 0 || plan[PLAN.allZero] !== 0;
  if (skip) expect(len).toBe(0);
  return { plan, bytes: skip ? null : out.slice(off, off + len) };
}

const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString("hex"));
/** bit-exact plan (distinguishes -0 from 0) */
const planBits = (p: Float64Array): string => Buffer.from(p.buffer, p.byteOffset, 64).toString("hex");

const counts: Record<string, number> = {};

function compare(e: NativeEncoder, col: Column, n: number, what: string): void {
  const want = tsEncode(col, n);
  const got = nativeEncode(e, col, n);
  if (planBits(got.plan) !== planBits(want.plan) || hex(got.bytes) !== hex(want.bytes)) {
    // the failing column in full, then the assertion
    expect({ what, n, column: Array.from(col.subarray(0, Math.min(n, 64))), plan: Array.from(got.plan) }).toEqual({
      what,
      n,
      column: Array.from(col.subarray(0, Math.min(n, 64))),
      plan: Array.from(want.plan),
    });
    expect(hex(got.bytes)).toBe(hex(want.bytes));
  }
  const t = want.plan[PLAN.allZero] ? "zero" : ["raw", "for", "delta", "", "dict"][want.plan[0]!]!;
  const key = `${col.constructor.name} ${t} ${want.plan[PLAN.width]}`;
  counts[key] = (counts[key] ?? 0) + 1;
}

const SIZES = [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 255, 1000, 1023, 4097];

/** Random integer columns that land in every transform: value generators by kind. */
function intColumn(r: () => number, n: number, limit: number, kind: number): number[] {
  const out: number[] = [];
  const base = Math.floor(r() * limit);
  const pick = (m: number): number => Math.floor(r() * m);
  switch (kind) {
    case 0: {
      // dictionary of k values (k 1..18, some over 16)
      const k = 1 + pick(18);
      const vals = Array.from({ length: k }, () => (r() < 0.2 ? 0 : pick(limit)));
      for (let i = 0; i < n; i++) out.push(vals[r() < 0.5 ? pick(Math.min(k, 2)) : pick(k)]!);
      break;
    }
    case 1: {
      // for: base + range of 2^8, 2^16, 2^32
      const range = [0x100, 0x10000, 0x100000000][pick(3)]!;
      const lo = Math.min(base, Math.max(0, limit - range));
      for (let i = 0; i < n; i++) out.push(Math.min(limit - 1, lo + pick(range)));
      break;
    }
    case 2: {
      // sorted with small steps (delta 1/2/4), occasionally descending
      const step = [4, 60, 200, 30000, 5_000_000][pick(5)]!;
      let x = pick(limit);
      const dir = r() < 0.2 ? -1 : 1;
      for (let i = 0; i < n; i++) {
        out.push(x);
        x = Math.max(0, Math.min(limit - 1, x + dir * pick(step)));
      }
      break;
    }
    case 3: {
      // random walk around a value ≥ 2^31 (u32) or anywhere
      let x = limit > 0x10000 ? 0x80000000 + pick(0x7fff0000) : pick(limit);
      for (let i = 0; i < n; i++) {
        out.push(x);
        x = Math.max(0, Math.min(limit - 1, x + pick(513) - 256));
      }
      break;
    }
    case 4: {
      // constant steps: delta and for of the same width (the sumDelta · 4 < sumFor tie-break)
      const step = 1 + pick(3);
      const start = pick(Math.max(1, limit - n * step));
      for (let i = 0; i < n; i++) out.push(Math.min(limit - 1, start + i * step + (r() < 0.05 ? pick(40) : 0)));
      break;
    }
    case 5: {
      // mostly zero, a few others
      for (let i = 0; i < n; i++) out.push(r() < 0.03 ? pick(limit) : 0);
      break;
    }
    default:
      for (let i = 0; i < n; i++) out.push(pick(limit));
  }
  return out;
}

function sizeOf(r: () => number): number {
  return r() < 0.6 ? SIZES[Math.floor(r() * SIZES.length)]! : Math.floor(r() * 20000);
}

/** The column in an array with room after n (the encoders must only read the first n). */
function inArray<T extends Column>(make: (len: number) => T, values: number[], pad: number): T {
  const a = make(values.length + pad);
  for (let i = 0; i < values.length; i++) a[i] = values[i]!;
  for (let i = values.length; i < a.length; i++) a[i] = 77;
  return a;
}

describe.skipIf(!linux)("native column encoders (native/encode.c) against codec.ts", () => {
  const e = nativeEncoder();

  it("are built (npm run build) with liblz4's compressor", () => {
    expect(e).not.toBeNull();
    expect(nativeCompress()).not.toBeNull();
  });

  it("u8 columns: dict 1..16 values, raw, all zero — same plans and bytes", () => {
    const r = rng(11);
    for (let t = 0; t < 4000; t++) {
      const n = sizeOf(r);
      const values = intColumn(r, n, 256, Math.floor(r() * 7));
      compare(
        e!,
        inArray((l) => new Uint8Array(l), values, t % 3),
        n,
        "u8",
      );
    }
  });

  it("u16 columns: dict, for 1/2, delta 1/2, raw — same plans and bytes", () => {
    const r = rng(12);
    for (let t = 0; t < 4000; t++) {
      const n = sizeOf(r);
      const values = intColumn(r, n, 0x10000, Math.floor(r() * 7));
      compare(
        e!,
        inArray((l) => new Uint16Array(l), values, t % 3),
        n,
        "u16",
      );
    }
  });

  it("u32 columns: dict, for 1/2/4, delta 1/2/4, values ≥ 2^31 — same plans and bytes", () => {
    const r = rng(13);
    for (let t = 0; t < 5000; t++) {
      const n = sizeOf(r);
      const values = intColumn(r, n, 0x100000000, Math.floor(r() * 7));
      if (r() < 0.1 && n > 0) values[Math.floor(r() * n)] = 0xffffffff;
      compare(
        e!,
        inArray((l) => new Uint32Array(l), values, t % 3),
        n,
        "u32",
      );
    }
  });

  it("columns of ≥ 2^21 rows (sums past 2^53: the native encoder sums in double there, as codec.ts)", () => {
    const r = rng(17);
    const n = 2 ** 21 + 3;
    const big = new Uint32Array(n);
    for (let i = 0; i < n; i++) big[i] = 2 ** 32 - 1 - Math.floor(r() * 0x8000) * (1 + (i & 1));
    compare(e!, big, n, "u32 big");
    for (let i = 0; i < n; i++) big[i] = 2 ** 31 + (i >>> 3) * 3;
    compare(e!, big, n, "u32 big sorted");
    const u16 = new Uint16Array(n);
    for (let i = 0; i < n; i++) u16[i] = 65535 - Math.floor(r() * 300);
    compare(e!, u16, n, "u16 big");
  });

  it("f64 columns: integers as u32, times, huge, negative, NaN, fractions, -0, ±Infinity — same plans and bytes", () => {
    const r = rng(14);
    const specials = [Number.NaN, 0.5, -0, -1, Infinity, -Infinity, 2 ** 53, 2 ** 60, -(2 ** 40), 1e-300, 2 ** 32];
    for (let t = 0; t < 8000; t++) {
      const n = sizeOf(r);
      let values = intColumn(r, n, 0x100000000, Math.floor(r() * 7));
      const shift = [0, 0, 1.7e12, 2 ** 53 - 2 ** 33, -(2 ** 31), -(2 ** 52), 2 ** 60, 2 ** 32][Math.floor(r() * 8)]!;
      values = values.map((x) => x + shift);
      if (r() < 0.15) values = values.map((x) => (r() < 0.5 ? -x : x));
      const m = r();
      if (m < 0.35 && n > 0) {
        const k = 1 + Math.floor(r() * 3);
        for (let j = 0; j < k; j++) values[Math.floor(r() * n)] = specials[Math.floor(r() * specials.length)]!;
      } else if (m < 0.45) values = values.map((x) => x / 4);
      else if (m < 0.5) values = values.map((x) => (x === shift ? -0 : x));
      compare(
        e!,
        inArray((l) => new Float64Array(l), values, t % 3),
        n,
        "f64",
      );
    }
    // dictionaries of special values, -0 first or after 0, NaN repeated
    const dicts = [[-0], [-0, 0], [0, -0, 5], [Number.NaN], [Number.NaN, Number.NaN, 1], [Infinity, 1], [0.25, 3]];
    for (const d of dicts)
      for (const n of [1, 2, 3, 17, 40]) {
        const values = Array.from({ length: n }, (_, i) => d[i % d.length]!);
        compare(e!, Float64Array.from(values), n, "f64 dict");
      }
  });

  it("exact ties of sumDelta · 4 and sumFor (delta and for of one width) choose as codec.ts", () => {
    const r = rng(16);
    const wf = (x: number): number => (x < 0x100 ? 1 : x < 0x10000 ? 2 : 4);
    let ties = 0;
    for (let t = 0; t < 400_000 && ties < 60; t++) {
      const n = 20 + Math.floor(r() * 30);
      const scale = [1, 1, 300][t % 3]!;
      const v: number[] = [];
      let x = Math.floor(r() * 60);
      for (let i = 0; i < n; i++) {
        v.push(x * scale);
        x = Math.max(0, Math.min(120, x + Math.floor(r() * 9) - 4));
      }
      if (new Set(v).size <= 16) continue;
      let sum = 0;
      let sumStep = 0;
      let maxStep = 0;
      for (let i = 0; i < n; i++) {
        sum += v[i]!;
        const st = Math.abs(v[i]! - v[Math.max(0, i - 1)]!);
        sumStep += st;
        maxStep = Math.max(maxStep, st);
      }
      const min = Math.min(...v);
      if (wf(Math.max(...v) - min) !== wf(2 * maxStep) || 8 * sumStep !== sum - n * min) continue;
      ties++;
      compare(e!, Uint16Array.from(v), n, "u16 tie");
      compare(e!, Uint32Array.from(v), n, "u32 tie");
      compare(e!, Float64Array.from(v), n, "f64 tie");
    }
    expect(ties).toBe(60);
  });

  it("cover every transform and width of each type", () => {
    const want = [
      "Uint8Array dict 0",
      "Uint8Array dict 1",
      "Uint8Array dict 2",
      "Uint8Array dict 4",
      "Uint8Array raw 1",
      "Uint8Array zero 1",
      "Uint16Array for 1",
      "Uint16Array for 2",
      "Uint16Array delta 1",
      "Uint16Array delta 2",
      "Uint16Array dict 4",
      "Uint32Array for 1",
      "Uint32Array for 2",
      "Uint32Array for 4",
      "Uint32Array delta 1",
      "Uint32Array delta 2",
      "Uint32Array delta 4",
      "Float64Array for 1",
      "Float64Array for 2",
      "Float64Array for 4",
      "Float64Array delta 1",
      "Float64Array delta 2",
      "Float64Array delta 4",
      "Float64Array raw 8",
      "Float64Array dict 4",
      "Float64Array zero 8",
    ];
    for (const k of want) expect(counts[k] ?? 0, k).toBeGreaterThan(5);
  });

  it("sparse6: the IPv6 rows' words in row order; -2 for all-zero words", () => {
    const r = rng(15);
    for (let t = 0; t < 1500; t++) {
      const n = sizeOf(r) % 3000;
      const words = new Uint32Array(n * 4 + 8);
      const flags = new Uint8Array(n + 3);
      const share = [0, 0.01, 0.3, 1][t % 4]!;
      for (let i = 0; i < n; i++) {
        flags[i] = Math.floor(r() * 256) & ~0x06;
        if (r() < share) flags[i] = flags[i]! | (r() < 0.5 ? 2 : 4);
        if (r() < 0.7) for (let k = 0; k < 4; k++) words[i * 4 + k] = Math.floor(r() * 2 ** 32);
      }
      const bit = r() < 0.5 ? 2 : 4;
      const out = new Uint8Array(n * 16 + 32).fill(0xa5);
      const len = e!.sparse6(words, flags, n, bit, out, 7);
      const zero = words.subarray(0, n * 4).every((w) => w === 0);
      if (zero) expect(len).toBe(-2);
      else expect(hex(out.slice(7, 7 + len))).toBe(hex(encodeSparse6(words, flags, n, bit)));
    }
  });

  it("forF64 and forU32 (the reader's decoders) read `for` columns back as codec.ts, bit for bit", () => {
    const d = nativeDecoder();
    expect(d).not.toBeNull();
    const r = rng(18);
    const bases = [0, 1, 1_795_435_500_000, -7, 0.5, 2 ** 53 - 1, 1e300, -0];
    for (const w of [1, 2, 4]) {
      for (const base of bases) {
        for (const n of [0, 1, 7, 1000, 16384]) {
          const off = Math.floor(r() * 9);
          const src = new Uint8Array(off + n * w + 3);
          for (let i = 0; i < src.length; i++) src[i] = Math.floor(r() * 256);
          const want = new Float64Array(n + 2).fill(42);
          const got = new Float64Array(n + 2).fill(42);
          forToF64(src, off, n, w, base, want);
          d!.forF64!(src, off, n, w, base, got);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `w ${w} base ${base} n ${n}`).toBe(true);
        }
      }
    }
    // forU32: integer bases in [0, 2^32), sums past 2^32 wrap as a Uint32Array store does
    for (const w of [1, 2, 4]) {
      for (const base of [0, 1, 65535, 2 ** 31, 2 ** 32 - 1, 3_000_000_000]) {
        for (const n of [0, 1, 7, 1000, 16384]) {
          const off = Math.floor(r() * 9);
          const src = new Uint8Array(off + n * w + 3);
          for (let i = 0; i < src.length; i++) src[i] = Math.floor(r() * 256);
          const want = new Uint32Array(n + 2).fill(42);
          const got = new Uint32Array(n + 2).fill(42);
          forToU32(src, off, n, w, base, want);
          d!.forU32!(src, off, n, w, base, got);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `u32 w ${w} base ${base} n ${n}`).toBe(true);
        }
      }
    }
    expect(() => {
      d!.forU32!(new Uint8Array(8), 0, 2, 4, 0.5, new Uint32Array(2));
    }).toThrow(RangeError);
    expect(() => {
      d!.forU32!(new Uint8Array(8), 0, 2, 4, 2 ** 32, new Uint32Array(2));
    }).toThrow(RangeError);
    const src = new Uint8Array(100);
    expect(() => {
      d!.forF64!(src, 0, 26, 4, 0, new Float64Array(26));
    }).toThrow(RangeError);
    expect(() => {
      d!.forF64!(src, 0, 10, 3, 0, new Float64Array(10));
    }).toThrow(RangeError);
    expect(() => {
      d!.forF64!(src, 0, 10, 4, 0, new Float64Array(9));
    }).toThrow(RangeError);
    expect(() => {
      d!.forF64!(src, 0, 10, 4, 0, new Uint32Array(10) as unknown as Float64Array);
    }).toThrow(RangeError);
  });

  it("forU16 and deltaF64 (the reader's decoders of ports and delta columns) read them back as codec.ts", () => {
    const d = nativeDecoder();
    expect(typeof d?.forU16).toBe("function");
    expect(typeof d?.deltaF64).toBe("function");
    const r = rng(29);
    for (const w of [1, 2, 4]) {
      for (const n of [0, 1, 7, 1000, 16384]) {
        const off = Math.floor(r() * 9);
        const src = new Uint8Array(off + n * w + 3);
        for (let i = 0; i < src.length; i++) src[i] = Math.floor(r() * 256);
        // forU16: integer bases in [0, 2^32), sums past 2^16 wrap as a Uint16Array store does
        for (const base of w === 4 ? [] : [0, 1, 65535, 70_000, 2 ** 32 - 1]) {
          const want = new Uint16Array(n + 2).fill(42);
          const got = new Uint16Array(n + 2).fill(42);
          forToU16(src, off, n, w, base, want);
          d!.forU16!(src, off, n, w, base, got);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `u16 w ${w} base ${base} n ${n}`).toBe(true);
        }
        // deltaF64: running sums in double from any base (times in ms, fractions, huge, negative)
        for (const base of [0, 1_795_435_500_000, -7.5, 2 ** 53 - 3, 1e300]) {
          const want = new Float64Array(n + 2).fill(42);
          const got = new Float64Array(n + 2).fill(42);
          const tmp = new Uint32Array(n);
          unshuffle(src, off, n, w, tmp);
          finishDeltaF64(tmp, n, base, want);
          d!.deltaF64!(src, off, n, w, base, got);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `delta w ${w} base ${base} n ${n}`).toBe(
            true,
          );
        }
      }
    }
    expect(() => {
      d!.forU16!(new Uint8Array(8), 0, 2, 4, 0, new Uint16Array(2));
    }).toThrow(RangeError);
    expect(() => {
      d!.forU16!(new Uint8Array(8), 0, 2, 2, -1, new Uint16Array(2));
    }).toThrow(RangeError);
    expect(() => {
      d!.deltaF64!(new Uint8Array(8), 0, 3, 4, 0, new Float64Array(3));
    }).toThrow(RangeError);
    expect(() => {
      d!.deltaF64!(new Uint8Array(8), 0, 2, 4, 0, new Float64Array(1));
    }).toThrow(RangeError);
  });

  it("dict (the reader's decoder of dict columns) reads them back as codec.ts dictTo*, bit for bit", () => {
    const d = nativeDecoder();
    expect(typeof d?.dict).toBe("function");
    const dict = d!.dict!;
    const r = rng(23);
    // u32 values past 2^16 and 2^31 (truncated by u8/u16 stores as codec.ts's typed-array stores truncate)
    const ints = Uint32Array.from({ length: 16 }, (_, j) => (j * 0x9e3779b1 + (j === 3 ? 2 ** 31 : 0)) >>> 0);
    const f64s = Float64Array.from({ length: 16 }, (_, j) => (j === 5 ? NaN : j === 6 ? -0 : j * 1e12 + 0.25));
    const same = (a: Column, b: Column): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    for (const bits of [0, 1, 2, 4]) {
      for (const n of [0, 1, 7, 9, 1000, 16384]) {
        const off = Math.floor(r() * 9);
        const src = new Uint8Array(off + Math.ceil((n * Math.max(bits, 1)) / 8) + 2);
        for (let i = 0; i < src.length; i++) src[i] = Math.floor(r() * 256);
        const at = `bits ${bits} n ${n}`;
        const w8 = new Uint8Array(n + 2).fill(42);
        const g8 = w8.slice();
        dictToU8(src, off, n, bits, ints, w8);
        dict(src, off, n, bits, ints, g8);
        expect(same(g8, w8), `u8 ${at}`).toBe(true);
        const w16 = new Uint16Array(n + 2).fill(42);
        const g16 = w16.slice();
        dictToU16(src, off, n, bits, ints, w16);
        dict(src, off, n, bits, ints, g16);
        expect(same(g16, w16), `u16 ${at}`).toBe(true);
        const w32 = new Uint32Array(n + 2).fill(42);
        const g32 = w32.slice();
        dictToU32(src, off, n, bits, ints, w32);
        dict(src, off, n, bits, ints, g32);
        expect(same(g32, w32), `u32 ${at}`).toBe(true);
        const wf = new Float64Array(n + 2).fill(42);
        const gf = wf.slice();
        dictToF64(src, off, n, bits, f64s, wf);
        dict(src, off, n, bits, f64s, gf);
        expect(same(gf, wf), `f64 ${at}`).toBe(true);
      }
    }
    const src = new Uint8Array(10);
    const bad: [number, Uint32Array | Float64Array, Column][] = [
      [21, ints, new Uint32Array(21)], // 11 bytes of codes
      [8, ints, new Uint32Array(7)],
      [8, ints.subarray(0, 8), new Uint32Array(8)],
      [8, ints, new Float64Array(8)],
      [8, f64s, new Uint32Array(8)],
    ];
    for (const [n, values, out] of bad) {
      expect(() => {
        dict(src, 0, n, 4, values, out);
      }).toThrow(RangeError);
    }
  });

  it("crc32 (the reader's block checksums) equals node:zlib's crc32 at every length, offset and seed", () => {
    const d = nativeDecoder();
    const crc = d?.crc32;
    // exported where the CPU has PCLMULQDQ (every x86-64 machine this runs on)
    expect(typeof crc).toBe(process.arch === "x64" ? "function" : typeof crc);
    if (crc === undefined) return;
    const r = rng(31);
    const buf = new Uint8Array(70_000);
    for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(r() * 256);
    // every length around the folding's 64- and 16-byte steps, then random ranges up to a block column's size
    const cases: [number, number, number][] = [];
    for (let len = 0; len <= 300; len++) cases.push([len % 13, len, len % 3 === 0 ? 0 : Math.floor(r() * 2 ** 32)]);
    for (let k = 0; k < 300; k++) {
      const off = Math.floor(r() * 1000);
      cases.push([off, Math.floor(r() * (buf.length - off)), Math.floor(r() * 2 ** 32)]);
    }
    cases.push([0, buf.length, 0], [0, buf.length, 0xffffffff]);
    for (const [off, len, seed] of cases) {
      const want = zlibCrc32(buf.subarray(off, off + len), seed) >>> 0;
      expect(crc(buf, off, len, seed), `off ${off} len ${len} seed ${seed}`).toBe(want);
    }
    // all-zero and all-ones data (folding constants meet the extremes)
    for (const fill of [0, 255]) {
      const b = new Uint8Array(4096 + 48).fill(fill);
      expect(crc(b, 0, b.length, 0)).toBe(zlibCrc32(b) >>> 0);
    }
    expect(() => crc(buf, 69_999, 2, 0)).toThrow(RangeError);
    expect(() => crc(buf, -1, 2, 0)).toThrow(RangeError);
    // the reader's crcOf (format.ts) takes it, with subarray's clamping
    expect(crcOf(buf, 10, 5000, 7)).toBe(zlibCrc32(buf.subarray(10, 5000), 7) >>> 0);
    expect(crcOf(buf, 69_990, 80_000)).toBe(zlibCrc32(buf.subarray(69_990)) >>> 0);
    expect(crcOf(buf, 500, 400)).toBe(0);
  });

  it("reject arguments outside the arrays or of the wrong type (never read or write out of bounds)", () => {
    const plan = new Float64Array(8);
    const col = new Uint32Array(100);
    const out = new Uint8Array(100 * 4 + ENCODE_SLACK);
    expect(e!.encode(col, 100, out, 0, plan)).toBe(0);
    expect(() => e!.encode(col, 101, out, 0, plan)).toThrow(RangeError);
    expect(() => e!.encode(col, 100, out, 1, plan)).toThrow(RangeError);
    expect(() => e!.encode(col, -1, out, 0, plan)).toThrow(RangeError);
    expect(() => e!.encode(col, 1.5, out, 0, plan)).toThrow(RangeError);
    expect(() => e!.encode(new Int32Array(4) as unknown as Uint32Array, 4, out, 0, plan)).toThrow(RangeError);
    expect(() => e!.encode(col, 100, out, 0, new Float64Array(7))).toThrow(RangeError);
    expect(() => e!.encode(col, 100, new Uint16Array(999) as unknown as Uint8Array, 0, plan)).toThrow(RangeError);
    const flags = new Uint8Array(10);
    expect(() => e!.sparse6(new Uint32Array(39), flags, 10, 2, new Uint8Array(160), 0)).toThrow(RangeError);
    expect(() => e!.sparse6(new Uint32Array(40), flags, 11, 2, new Uint8Array(176), 0)).toThrow(RangeError);
    expect(() => e!.sparse6(new Uint32Array(40), flags, 10, 2, new Uint8Array(159), 0)).toThrow(RangeError);
    const lz4 = nativeCompress()!;
    const src = new Uint8Array(1000);
    expect(() => lz4(src, 1, 1000, new Uint8Array(2000), 0, 750)).toThrow(RangeError);
    expect(() => lz4(src, 0, 1000, new Uint8Array(2000), 1500, 750)).toThrow(RangeError);
    // 1000 zero bytes: u32 size + a short LZ4 block, decodable by lz4-napi's format (size prefix + block)
    const dst = new Uint8Array(750);
    const got = lz4(src, 0, 1000, dst, 0, 750);
    expect(got).toBeGreaterThan(4);
    expect(got).toBeLessThan(750);
    expect(new DataView(dst.buffer).getUint32(0, true)).toBe(1000);
    // incompressible: nothing kept
    const r = rng(3);
    const noise = Uint8Array.from({ length: 1000 }, () => Math.floor(r() * 256));
    expect(lz4(noise, 0, 1000, dst, 0, 750)).toBe(0);
  });
});

/** The first `blocks` full batches of the synthetic stream bench/ingest builds in the temp directory, when it is there. */
function syntheticBatches(blocks: number): RecordBatch[] {
  const file = path.join(tmpdir(), "tsflow-ingest-3m-v9.bin");
  if (!fs.existsSync(file)) return [];
  const fd = fs.openSync(file, "r");
  const data = Buffer.alloc(8 << 20);
  const got = fs.readSync(fd, data, 0, data.length, 0);
  fs.closeSync(fd);
  const state = new DecoderState();
  const kept: RecordBatch[] = [];
  const sink = {
    batch: new RecordBatch(16384),
    flush(): void {
      kept.push(this.batch);
      this.batch = new RecordBatch(16384);
    },
  };
  for (let o = 0, i = 0; o + 4 <= got && kept.length < blocks; i++) {
    const len = data.readUInt32BE(o);
    if (o + 4 + len > got) break;
    decodeDatagram(data.subarray(o + 4, o + 4 + len), { address: "127.0.0.1", port: 2055 }, 1.764e12 + i, state, sink);
    o += 4 + len;
  }
  return kept;
}

function columnsOf(b: RecordBatch): { name: string; col: Column }[] {
  return PHYSICAL_COLUMNS.filter((pc) => pc.width === 1).map((pc) => ({
    name: pc.name,
    col: b.cols[pc.name as PhysicalName],
  }));
}

describe.skipIf(!linux)("native writer on real blocks", () => {
  const real = [...[0, 1, 2].map((b) => warmupBatch(b)), ...syntheticBatches(4)];

  it("encodes every column of synthetic-like and decoded synthetic blocks as codec.ts", () => {
    const e = nativeEncoder()!;
    expect(real.length).toBeGreaterThanOrEqual(3);
    for (const b of real) for (const { name, col } of columnsOf(b)) compare(e, col, b.length, name);
  });

  /** Writes the batches with the given path; the file's bytes and rows. */
  function write(name: string, which: "js" | "native", codec: "lz4" | "none", batches: RecordBatch[]) {
    setWriterPath(which);
    const file = path.join(dir, `${name}-${which}-${codec}`);
    const w = FlowFileWriter.open(file, { codec, created: 1.7e12, creator: "vitest", fsync: false });
    for (const b of batches) w.appendBatchSync(b);
    w.closeSync();
    setWriterPath(undefined);
    const reader = FlowFileReader.open(file);
    const rows: RecordBatch[] = [];
    for (const b of reader.batches()) rows.push(cloneBatch(b));
    expect(reader.errors).toEqual([]);
    reader.close();
    return { bytes: fs.readFileSync(file), rows };
  }

  const sets: [string, RecordBatch[]][] = [
    ["real", real],
    [
      "random",
      [
        randomBatch(1, 1000, { allColumns: true, v6: 0.3, extras: true }),
        randomBatch(2, 1, {}),
        randomBatch(3, 5000, { v6: 0.1 }),
        randomBatch(4, 300, { huge: true, fractions: true }),
        new RecordBatch(4),
      ],
    ],
  ];
  for (const [name, batches] of sets) {
    it(`${name} batches: a file without LZ4 is byte-identical to the TS path's, with LZ4 it reads back equal`, () => {
      const jsNone = write(name, "js", "none", batches);
      const nativeNone = write(name, "native", "none", batches);
      expect(nativeNone.bytes.equals(jsNone.bytes)).toBe(true);
      const jsLz4 = write(name, "js", "lz4", batches);
      const nativeLz4 = write(name, "native", "lz4", batches);
      expect(expectSameRows(nativeLz4.rows, jsLz4.rows).mismatches).toEqual([]);
      expect(expectSameRows(nativeLz4.rows, batches).mismatches).toEqual([]);
      // liblz4 compresses about as well as lz4-napi
      expect(nativeLz4.bytes.length).toBeLessThan(jsLz4.bytes.length * 1.1);
    });
  }
});
