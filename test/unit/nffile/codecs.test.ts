// Block codecs of the nffile reader: raw LZ4 (against lz4-napi's encoder; the JS decoder and the WebAssembly one
// the reader uses must agree byte for byte, also on damage) and LZO1X (hand-assembled streams;
// real nfcapd -z files are covered by test/compat/nffile.test.ts). Damaged input must return -1, never throw or
// write out of bounds.
import { compressSync } from "lz4-napi";
import { describe, expect, it } from "vitest";
import { decodeLz4Raw, decodeLzo1x } from "../../../src/store/nffile/index.js";
import { nativeLz4 } from "../../../src/store/lz4/native.js";
import { createLz4Wasm, LZ4_WASM_DST, LZ4_WASM_SRC } from "../../../src/store/lz4/wasm.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Flow-record-like data: repeated 124-byte records with a few varying bytes. */
function sample(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 124 < 40 ? (i % 124) * 3 : r() < 0.3 ? Math.floor(r() * 256) : 0;
  return out;
}

/** lz4-napi output is u32 LE size + raw LZ4 block: the block is what nfcapd -y writes. */
function lz4Raw(data: Uint8Array): Uint8Array {
  return new Uint8Array(compressSync(Buffer.from(data))).subarray(4);
}

describe("decodeLz4Raw", () => {
  for (const [name, data] of [
    ["records", sample(200_000, 1)],
    ["random", Uint8Array.from({ length: 5000 }, rng(2)).map((x) => x * 256)],
    ["zeros", new Uint8Array(70_000)],
    ["tiny", Uint8Array.of(1, 2, 3)],
  ] as const) {
    it(`round-trips ${name}`, () => {
      const block = lz4Raw(data);
      const out = new Uint8Array(data.length + 100);
      const n = decodeLz4Raw(block, 0, block.length, out);
      expect(n).toBe(data.length);
      expect(Buffer.from(out.subarray(0, n)).equals(Buffer.from(data))).toBe(true);
    });
  }

  it("rejects damage: cut input, output too small, offset before the start", () => {
    const data = sample(50_000, 3);
    const block = lz4Raw(data);
    const out = new Uint8Array(data.length);
    for (const cut of [1, 7, 100, 1001]) expect(decodeLz4Raw(block, 0, block.length - cut, out)).not.toBe(data.length);
    expect(decodeLz4Raw(block, 0, block.length, new Uint8Array(1000))).toBe(-1);
    // a match whose distance points before the output start
    expect(decodeLz4Raw(Uint8Array.of(0x10, 0x41, 0x05, 0x00), 0, 4, out)).toBe(-1);
    expect(decodeLz4Raw(Uint8Array.of(0x00, 0x00, 0x00), 0, 3, out)).toBe(-1);
  });

  it("never throws on random bytes", () => {
    const r = rng(9);
    const out = new Uint8Array(4096);
    for (let k = 0; k < 2000; k++) {
      const src = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      const n = decodeLz4Raw(src, 0, src.length, out);
      expect(n).toBeGreaterThanOrEqual(-1);
      expect(n).toBeLessThanOrEqual(out.length);
    }
  });
});

/**
 * A valid LZ4 block of random sequences, written by hand (lz4-napi's encoder never makes some of them): literal
 * runs of 0–20 bytes (15+ need a length byte), matches of 4–40 bytes (19+ need one) at offsets 1–70 (overlapping
 * copies below 8, between 8 and 16, beyond) or far back, and a literal-only last sequence. Returns the block and
 * the bytes it decodes to.
 */
function craftLz4(seed: number, sequences: number): { block: Uint8Array; data: Uint8Array } {
  const r = rng(seed);
  const out: number[] = [];
  const enc: number[] = [];
  const lenBytes = (n: number): void => {
    for (; n >= 255; n -= 255) enc.push(255);
    enc.push(n);
  };
  const literals = (n: number): number[] => Array.from({ length: n }, () => Math.floor(r() * 256));
  for (let s = 0; s < sequences; s++) {
    const lit = out.length === 0 ? 1 + Math.floor(r() * 20) : Math.floor(r() * 21);
    const len = r() < 0.8 ? 4 + Math.floor(r() * 15) : 19 + Math.floor(r() * 22);
    const lits = literals(lit);
    const reach = out.length + lit;
    const dist = Math.min(reach, r() < 0.7 ? 1 + Math.floor(r() * 70) : 1 + Math.floor(r() * reach));
    enc.push((Math.min(lit, 15) << 4) | Math.min(len - 4, 15));
    if (lit >= 15) lenBytes(lit - 15);
    enc.push(...lits);
    enc.push(dist & 255, dist >>> 8);
    if (len - 4 >= 15) lenBytes(len - 19);
    out.push(...lits);
    for (let j = 0; j < len; j++) out.push(out[out.length - dist]!);
  }
  const tail = literals(5 + Math.floor(r() * 30));
  enc.push(Math.min(tail.length, 15) << 4);
  if (tail.length >= 15) lenBytes(tail.length - 15);
  enc.push(...tail);
  out.push(...tail);
  return { block: Uint8Array.from(enc), data: Uint8Array.from(out) };
}

describe("LZ4 in WebAssembly (lz4/wasm.ts)", () => {
  const w = createLz4Wasm()!;
  const w8 = createLz4Wasm(false)!; // the variant without SIMD (engines that reject it)
  /** decodes with the wasm decoder; the output (or -1) */
  const run = (block: Uint8Array): Uint8Array | -1 => {
    w.bytes.set(block, LZ4_WASM_SRC);
    const n = w.decode(block.length);
    return n < 0 ? -1 : w.bytes.slice(LZ4_WASM_DST, LZ4_WASM_DST + n);
  };

  it("is available and decodes what lz4-napi encodes: records, random, zeros, short repeats, long runs", () => {
    expect(w).toBeDefined();
    // repeats with offsets below 8 (byte copies), 8 to 15 (overlapping 16-byte steps) and 16+
    const period = (p: number): Uint8Array => Uint8Array.from({ length: 10_000 }, (_, i) => (i % p) * 17 + 1);
    const longLit = Uint8Array.from({ length: 70_000 }, rng(4)).map((x) => x * 256);
    const repeats = [1, 3, 7, 8, 9, 12, 15, 16, 23].map(period);
    for (const data of [sample(1_048_000, 1), longLit, new Uint8Array(300_000), ...repeats, Uint8Array.of(9)]) {
      const out = run(lz4Raw(data));
      expect(out).not.toBe(-1);
      expect(Buffer.from(out as Uint8Array).equals(Buffer.from(data))).toBe(true);
    }
  });

  it("decodes crafted blocks (every literal/match length class, overlapping offsets 1–70) as decodeLz4Raw, both variants", () => {
    const ref = new Uint8Array(1 << 20);
    for (let seed = 1; seed <= 40; seed++) {
      const { block, data } = craftLz4(seed, 50 + seed * 40);
      expect(decodeLz4Raw(block, 0, block.length, ref)).toBe(data.length);
      expect(Buffer.from(ref.subarray(0, data.length)).equals(Buffer.from(data))).toBe(true);
      for (const inst of [w, w8]) {
        inst.bytes.set(block, LZ4_WASM_SRC);
        const n = inst.decode(block.length);
        expect(n).toBe(data.length);
        expect(Buffer.from(inst.bytes.subarray(LZ4_WASM_DST, LZ4_WASM_DST + n)).equals(Buffer.from(data))).toBe(true);
      }
    }
  });

  it("fails located damage in crafted blocks alike in both variants and decodeLz4Raw", () => {
    const r = rng(17);
    const out = new Uint8Array(1 << 20);
    for (let t = 0; t < 300; t++) {
      const { block } = craftLz4(100 + t, 200);
      const m = block.slice(0, block.length - Math.floor(r() * 3));
      for (let j = 0; j < 1 + Math.floor(r() * 4); j++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      const js = decodeLz4Raw(m, 0, m.length, out);
      for (const inst of [w, w8]) {
        inst.bytes.set(m, LZ4_WASM_SRC);
        const n = inst.decode(m.length);
        expect(n).toBe(js < 0 ? -1 : js);
        if (n >= 0)
          expect(
            Buffer.from(inst.bytes.subarray(LZ4_WASM_DST, LZ4_WASM_DST + n)).equals(Buffer.from(out.subarray(0, n))),
          ).toBe(true);
      }
    }
  });

  it("agrees with decodeLz4Raw on damaged blocks (cut, flipped bytes): same length or both -1", () => {
    const r = rng(11);
    const good = lz4Raw(sample(60_000, 5));
    const out = new Uint8Array(5 * 1024 * 1024);
    for (let t = 0; t < 400; t++) {
      const m = good.slice(0, 1 + Math.floor(r() * good.length));
      for (let j = 0; j < 1 + Math.floor(r() * 6); j++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      const js = decodeLz4Raw(m, 0, m.length, out);
      const wa = run(m);
      if (js < 0) expect(wa).toBe(-1);
      else expect(Buffer.from(wa as Uint8Array).equals(Buffer.from(out.subarray(0, js)))).toBe(true);
    }
    expect(run(Uint8Array.of(0x10, 0x41, 0x05, 0x00))).toBe(-1); // distance before the output start
    expect(w.decode(6 * 1024 * 1024)).toBe(-1); // larger than any nffile block
  });
});

describe.skipIf(process.platform !== "linux")("LZ4 of the system's liblz4 (lz4/native.ts, native/lz4.c)", () => {
  const native = nativeLz4();
  const out = new Uint8Array(5 * 1024 * 1024);
  /** decodes with the native decoder from an offset inside a larger array; the output (or -1) */
  const run = (block: Uint8Array): Uint8Array | -1 => {
    const src = new Uint8Array(block.length + 24);
    src.set(block, 16);
    const n = native!(src, 16, block.length, out);
    return n < 0 ? -1 : out.slice(0, n);
  };

  it("is built (npm run build) and decodes what lz4-napi encodes and the crafted blocks as decodeLz4Raw", () => {
    expect(native).not.toBeNull();
    const longLit = Uint8Array.from({ length: 70_000 }, rng(4)).map((x) => x * 256);
    for (const data of [sample(1_048_000, 1), longLit, new Uint8Array(300_000), Uint8Array.of(9)]) {
      const got = run(lz4Raw(data));
      expect(got).not.toBe(-1);
      expect(Buffer.from(got as Uint8Array).equals(Buffer.from(data))).toBe(true);
    }
    for (let seed = 1; seed <= 40; seed++) {
      const { block, data } = craftLz4(seed, 50 + seed * 40);
      const got = run(block);
      expect(got).not.toBe(-1);
      expect(Buffer.from(got as Uint8Array).equals(Buffer.from(data))).toBe(true);
    }
  });

  it("refuses damaged blocks, decodes the rest as decodeLz4Raw where both decode; never leaves its ranges", () => {
    const r = rng(23);
    const good = lz4Raw(sample(60_000, 5));
    const ref = new Uint8Array(5 * 1024 * 1024);
    let refused = 0;
    let both = 0;
    for (let t = 0; t < 400; t++) {
      const m = good.slice(0, 1 + Math.floor(r() * good.length));
      for (let j = 0; j < 1 + Math.floor(r() * 6); j++) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
      const js = decodeLz4Raw(m, 0, m.length, ref);
      const got = run(m);
      // liblz4 is the reference (nfcapd writes with it); decodeLz4Raw refuses a few blocks it accepts
      if (got === -1) refused++;
      else if (js >= 0) {
        expect(got.length).toBe(js);
        expect(Buffer.from(got).equals(Buffer.from(ref.subarray(0, js)))).toBe(true);
        both++;
      }
    }
    expect(refused).toBeGreaterThan(300);
    expect(both).toBeGreaterThan(0);
    expect(run(Uint8Array.of(0x10, 0x41, 0x05, 0x00))).toBe(-1); // distance before the output start
    // output larger than dst, and ranges outside the source array
    const big = lz4Raw(new Uint8Array(100_000));
    expect(native!(big, 0, big.length, new Uint8Array(99_999))).toBe(-1);
    expect(native!(big, 1, big.length, out)).toBe(-1);
    expect(native!(big, -1, 4, out)).toBe(-1);
  });
});

describe("decodeLzo1x", () => {
  const text = (b: Uint8Array, n: number): string => Buffer.from(b.subarray(0, n)).toString("latin1");

  it("decodes a literal-only stream (first byte 17 + n, end marker 0x11 0 0)", () => {
    const src = Uint8Array.of(17 + 8, ...Buffer.from("abcdefgh"), 0x11, 0, 0);
    const out = new Uint8Array(64);
    const n = decodeLzo1x(src, 0, src.length, out);
    expect(text(out, n)).toBe("abcdefgh");
  });

  it("decodes an M3 match (overlapping copy) after a short first literal run", () => {
    // 3 literals "abc", then M3 (t = 32 + 7 → 9 bytes) at distance 3, then end of stream
    const src = Uint8Array.of(20, 97, 98, 99, 39, 8, 0, 0x11, 0, 0);
    const out = new Uint8Array(64);
    const n = decodeLzo1x(src, 0, src.length, out);
    expect(text(out, n)).toBe("abcabcabcabc");
  });

  it("decodes an M2 match with trailing literals and a long literal run", () => {
    // "abcd" literals; M2 t = (len-1)<<5 | (dist-1 & 7)<<2 | 2 trailing literals: len 4, dist 4 → t = 0x60 | 0x0c | 2
    // distance high byte 0; then 2 literals "XY"; then end marker
    const src = Uint8Array.of(17 + 4, 97, 98, 99, 100, 0x60 | 0x0c | 2, 0, 88, 89, 0x11, 0, 0);
    const out = new Uint8Array(64);
    const n = decodeLzo1x(src, 0, src.length, out);
    expect(text(out, n)).toBe("abcdabcdXY");
    // a literal run of 0 → 15 + next byte + 3 literals in the main loop: 18 + 0 (no M) then end
    const lits = Buffer.from("0123456789abcdefghi"); // 19 bytes = 15 + 1 + 3
    const src2 = Uint8Array.of(0, 1, ...lits, 0x11, 0, 0);
    const n2 = decodeLzo1x(src2, 0, src2.length, out);
    expect(text(out, n2)).toBe(lits.toString("latin1"));
  });

  it("rejects damage: missing end marker, distance before the start, output too small", () => {
    const out = new Uint8Array(64);
    expect(decodeLzo1x(Uint8Array.of(17 + 8, ...Buffer.from("abcdefgh")), 0, 9, out)).toBe(-1);
    expect(decodeLzo1x(Uint8Array.of(20, 97, 98, 99, 39, 0xfc, 0x7f, 0x11, 0, 0), 0, 10, out)).toBe(-1);
    expect(decodeLzo1x(Uint8Array.of(17 + 8, ...Buffer.from("abcdefgh"), 0x11, 0, 0), 0, 12, new Uint8Array(4))).toBe(
      -1,
    );
  });

  it("never throws on random bytes", () => {
    const r = rng(5);
    const out = new Uint8Array(4096);
    for (let k = 0; k < 3000; k++) {
      const src = Uint8Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      const n = decodeLzo1x(src, 0, src.length, out);
      expect(n).toBeGreaterThanOrEqual(-1);
      expect(n).toBeLessThanOrEqual(out.length);
    }
  });
});
