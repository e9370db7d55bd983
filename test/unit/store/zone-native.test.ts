// SPDX-License-Identifier: BSD-3-Clause
// The native zone builder (native/zone.c through ZoneBuilder): the same zone sections, byte for byte, as the JS
// code on random batches (families, set limits and their overflow, runs, all-zero columns, Bloom on/off, lean
// blocks), over consecutive blocks (the Bloom seed counter), on decoded synthetic blocks; and a file written
// through it is the JS path's file and prunes the same blocks for tsdump's filters.
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { ADDR_COLUMNS, type AddrColumnName } from "../../../src/record/schema.js";
import { encodeColumns } from "../../../src/store/block.js";
import { PlanScratch } from "../../../src/store/codec.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { nativeZoneAddon, type RangeEntry, ZoneBuilder } from "../../../src/store/zone-map.js";
import { compileFilter } from "../../../src/filter/index.js";
import { decodeDatagram, DecoderState } from "../../../src/decode/index.js";
import { syntheticStream, readDatagramStream } from "../../helpers/nfdump.js";
import { rng, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Cols = Record<string, ArrayLike<number>>;

/** How one addr column of a random batch is filled. */
interface ColumnShape {
  /** share of IPv6 rows */
  v6: number;
  /** IPv4: distinct /24s drawn from (0: the column stays all zero), hosts per /24 */
  prefixes4: number;
  hosts: number;
  /** IPv6: distinct /64s drawn from */
  prefixes6: number;
  /** chance that a row repeats the previous row's value (runs of one host) */
  run: number;
}

interface Shape {
  n: number;
  /** extra capacity of the batch's arrays past n */
  slack: number;
  seed: number;
  cols: Partial<Record<AddrColumnName, ColumnShape>>;
}

function fillBatch(s: Shape): RecordBatch {
  const r = rng(s.seed);
  const b = new RecordBatch(Math.max(1, s.n + s.slack));
  const words = new Uint8Array(16);
  const wv = new DataView(words.buffer);
  const base4 = Math.floor(r() * 2 ** 32) & 0xff000000;
  const hi6 = Math.floor(r() * 2 ** 32);
  for (let i = 0; i < s.n; i++) b.addRow();
  for (const [name, c] of Object.entries(s.cols) as [AddrColumnName, ColumnShape][]) {
    if (c.prefixes4 === 0 && c.v6 === 0) continue;
    for (let i = 0; i < s.n; i++) {
      if (i > 0 && r() < c.run) {
        const six = b.isV6(name, i - 1);
        if (six) {
          for (let k = 0; k < 4; k++) wv.setUint32(4 * k, b.cols[`${name}6`][4 * (i - 1) + k]!);
          b.setV6(name, i, words, 0);
        } else b.setV4(name, i, b.cols[name][i - 1]!);
        continue;
      }
      if (r() < c.v6) {
        wv.setUint32(0, hi6 + Math.floor(r() * 3));
        wv.setUint32(4, Math.floor(r() * c.prefixes6) * 0x10001);
        wv.setUint32(8, Math.floor(r() * 2 ** 32));
        wv.setUint32(12, Math.floor(r() * 4));
        b.setV6(name, i, words, 0);
      } else if (c.prefixes4 > 0) {
        const p = Math.floor(r() ** 2 * c.prefixes4);
        b.setV4(name, i, (base4 + p * 256 * 3 + Math.floor(r() * c.hosts)) >>> 0);
      }
    }
  }
  return b;
}

/** The zero set, ranges and ids as encodeColumns would pass them (v4Scan for addr columns with IPv6 rows). */
function encodeArgs(b: RecordBatch, n: number, ids: ReadonlyMap<string, number>) {
  const zero = new Set<string>();
  const ranges: RangeEntry[] = [{ id: 40, noRange: false, min: 3, max: 9 }];
  for (const name of ADDR_COLUMNS) {
    const a4 = b.cols[name];
    const a6 = b.cols[`${name}6`];
    let any4 = false;
    let any6 = false;
    for (let i = 0; i < n && !(any4 && any6); i++) {
      if (a4[i] !== 0) any4 = true;
      if (b.isV6(name, i)) any6 = true;
    }
    if (!any4) zero.add(name);
    if (!any6 && !a6.subarray(0, 4 * n).some((x) => x !== 0)) zero.add(`${name}6`);
    const id = ids.get(name);
    if (id !== undefined && any4)
      ranges.push(any6 ? { id, noRange: true, min: 0, max: 0, v4Scan: true } : { id, noRange: false, min: 0, max: 1 });
  }
  return { zero, ranges };
}

function hex(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

/** Encodes with both builders; expects the same bytes and the same range entries. */
function expectSame(
  nat: ZoneBuilder,
  js: ZoneBuilder,
  b: RecordBatch,
  n: number,
  ids: ReadonlyMap<string, number>,
  sets: boolean,
  what: string,
): Uint8Array {
  const { zero, ranges } = encodeArgs(b, n, ids);
  const rn = ranges.map((r) => ({ ...r }));
  const rj = ranges.map((r) => ({ ...r }));
  const cols = b.cols as unknown as Cols;
  const a = nat.encode(n, cols, b.cols.v6Flags, rn, ids, zero, sets);
  const c = js.encode(n, cols, b.cols.v6Flags, rj, ids, zero, sets);
  expect(hex(a), what).toBe(hex(c));
  expect(rn, what).toEqual(rj);
  return a;
}

const ALL_IDS: ReadonlyMap<string, number> = new Map(ADDR_COLUMNS.map((name, k) => [name, 3 + 2 * k]));

const columnArb = (limit4: number, limit6: number): fc.Arbitrary<ColumnShape> =>
  fc.record({
    v6: fc.constantFrom(0, 0, 1, 0.1, 0.5, 0.9),
    // around the limits: one short, exact, one past, far past; and all zero
    prefixes4: fc.oneof(
      fc.constantFrom(0, 1, 2, Math.max(1, limit4 - 1), limit4, limit4 + 1, limit4 + 2, 3 * limit4 + 5),
      fc.integer({ min: 1, max: 2000 }),
    ),
    hosts: fc.constantFrom(1, 4, 256),
    prefixes6: fc.oneof(
      fc.constantFrom(1, Math.max(1, limit6 - 1), limit6, limit6 + 1, 3 * limit6 + 5),
      fc.integer({ min: 1, max: 600 }),
    ),
    run: fc.constantFrom(0, 0.5, 0.95),
  });

const caseArb = fc
  .record({
    limits: fc.oneof(
      fc.constant([512, 256] as const),
      fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 20 })),
    ),
    bloom: fc.boolean(),
    sets: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
    n: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(1, 2, 63, 64, 65, 1024, 1025, 9000)),
    slack: fc.constantFrom(0, 0, 7),
    seed: fc.nat(),
    idSubset: fc.boolean(),
  })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      cols: fc.record(
        Object.fromEntries(ADDR_COLUMNS.map((name) => [name, columnArb(c.limits[0], c.limits[1])])) as Record<
          AddrColumnName,
          fc.Arbitrary<ColumnShape>
        >,
        { requiredKeys: [] },
      ),
    }),
  );

describe.skipIf(process.platform !== "linux")("native zone builder (native/zone.c)", () => {
  it("is built (npm run build) and used by default", () => {
    expect(nativeZoneAddon()).not.toBeNull();
    expect(new ZoneBuilder().native).toBe(true);
    expect(new ZoneBuilder(512, 256, true, false).native).toBe(false);
  });

  it("writes the JS code's zone sections byte for byte on random batches", () => {
    fc.assert(
      fc.property(caseArb, ({ c, cols }) => {
        const [v4Limit, v6Limit] = c.limits;
        const b = fillBatch({ n: c.n, slack: c.slack, seed: c.seed, cols });
        const ids = c.idSubset ? new Map([...ALL_IDS].filter(([name]) => name.length % 2 === c.seed % 2)) : ALL_IDS;
        const nat = new ZoneBuilder(v4Limit, v6Limit, c.bloom);
        const js = new ZoneBuilder(v4Limit, v6Limit, c.bloom, false);
        expect(nat.native).toBe(true);
        expectSame(nat, js, b, c.n, ids, c.sets, JSON.stringify(c));
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it("writes the same sections over consecutive blocks (per-builder Bloom seed counter, scratch growth)", () => {
    fc.assert(
      fc.property(fc.array(caseArb, { minLength: 2, maxLength: 8 }), fc.boolean(), (cases, bloom) => {
        const nat = new ZoneBuilder(30, 12, bloom);
        const js = new ZoneBuilder(30, 12, bloom, false);
        for (const { c, cols } of cases) {
          const b = fillBatch({ n: c.n, slack: c.slack, seed: c.seed, cols });
          expectSame(nat, js, b, c.n, ALL_IDS, c.sets, JSON.stringify(c));
        }
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  it("handles the edge cases: single rows, one host, all-zero columns, zero limits, large blocks", () => {
    const one: ColumnShape = { v6: 0, prefixes4: 1, hosts: 1, prefixes6: 1, run: 0 };
    const shapes: [number, number, Shape][] = [
      [512, 256, { n: 1, slack: 0, seed: 1, cols: { srcAddr: one } }],
      [512, 256, { n: 1, slack: 0, seed: 2, cols: { srcAddr: { ...one, v6: 1 } } }],
      [512, 256, { n: 5000, slack: 0, seed: 3, cols: { srcAddr: one, dstAddr: { ...one, v6: 1 } } }],
      [512, 256, { n: 700, slack: 0, seed: 4, cols: {} }], // every addr column all zero
      [0, 0, { n: 300, slack: 0, seed: 5, cols: { srcAddr: { ...one, v6: 0.5, prefixes4: 9, prefixes6: 9 } } }],
      [1, 1, { n: 300, slack: 0, seed: 6, cols: { dstAddr: { ...one, v6: 0.5, prefixes4: 2, prefixes6: 2 } } }],
      [
        512,
        256,
        {
          n: 70_000,
          slack: 3,
          seed: 7,
          cols: {
            srcAddr: { v6: 0.1, prefixes4: 400, hosts: 256, prefixes6: 200, run: 0.3 },
            dstAddr: { v6: 0.1, prefixes4: 5000, hosts: 256, prefixes6: 5000, run: 0 },
            nextHop: { ...one, prefixes4: 3 },
          },
        },
      ],
    ];
    for (const [v4, v6, s] of shapes)
      for (const bloom of [true, false])
        for (const sets of [true, false]) {
          const b = fillBatch(s);
          expectSame(
            new ZoneBuilder(v4, v6, bloom),
            new ZoneBuilder(v4, v6, bloom, false),
            b,
            s.n,
            ALL_IDS,
            sets,
            `n ${s.n} seed ${s.seed} bloom ${bloom} sets ${sets}`,
          );
        }
  });

  it("falls back to the JS code for arguments the addon refuses, seed counter included", () => {
    const b = fillBatch({
      n: 50,
      slack: 0,
      seed: 9,
      cols: { srcAddr: { v6: 0.3, prefixes4: 5, hosts: 9, prefixes6: 3, run: 0 } },
    });
    const nat = new ZoneBuilder();
    const js = new ZoneBuilder(512, 256, true, false);
    const { zero, ranges } = encodeArgs(b, 50, ALL_IDS);
    // a plain array column: not something the addon reads
    const cols = { ...(b.cols as unknown as Cols), srcAddr: Array.from(b.cols.srcAddr) };
    const a = nat.encode(50, cols, b.cols.v6Flags, ranges, ALL_IDS, zero);
    const c = js.encode(50, cols, b.cols.v6Flags, ranges, ALL_IDS, zero);
    expect(hex(a)).toBe(hex(c));
    // …and the next block through the addon still has the JS code's seed
    expectSame(nat, js, b, 50, ALL_IDS, true, "after a fallback");
  });

  it("writes the JS code's zone sections on decoded synthetic blocks", async () => {
    for (const proto of ["v9", "ipfix"] as const) {
      const stream = await syntheticStream({ flows: 20_000, proto, seed: 7 });
      const state = new DecoderState();
      const batches: RecordBatch[] = [];
      const sink = {
        batch: new RecordBatch(4096),
        flush(): void {
          batches.push(this.batch);
          this.batch = new RecordBatch(4096);
        },
      };
      readDatagramStream(stream).forEach((d, i) =>
        decodeDatagram(d, { address: "127.0.0.1", port: 2055 }, 1_764_000_000_000 + i, state, sink),
      );
      if (sink.batch.length > 0) batches.push(sink.batch);
      expect(batches.length).toBeGreaterThan(3);
      const nat = new ZoneBuilder();
      const js = new ZoneBuilder(512, 256, true, false);
      const scratch = new PlanScratch();
      let v6 = 0;
      for (const b of batches) {
        const za = encodeColumns(b, nat, scratch).zone;
        const zb = encodeColumns(b, js, scratch).zone;
        expect(hex(za)).toBe(hex(zb));
        v6 += b.cols.v6Flags.subarray(0, b.length).filter((x) => x !== 0).length;
        const la = encodeColumns(b, nat, scratch, false).zone;
        const lb = encodeColumns(b, js, scratch, false).zone;
        expect(hex(la)).toBe(hex(lb));
      }
      expect(v6).toBeGreaterThan(0);
    }
  });

  it("writes the JS path's file, which prunes blocks for tsdump's filters as before", async () => {
    const blocks = Array.from({ length: 12 }, (_, k) =>
      fillBatch({
        n: 200 + 37 * k,
        slack: 0,
        seed: 100 + k,
        cols: {
          srcAddr: { v6: 0.2, prefixes4: 6, hosts: 40, prefixes6: 4, run: 0.2 },
          dstAddr: { v6: 0.2, prefixes4: 30, hosts: 200, prefixes6: 30, run: 0 },
          nextHop: { v6: 0, prefixes4: 2, hosts: 2, prefixes6: 1, run: 0.8 },
        },
      }),
    );
    const write = (W: typeof FlowFileWriter, name: string): string => {
      const f = path.join(dir, name);
      // without LZ4: the native writer compresses with liblz4, the JS one with lz4-napi (other LZ4 bytes)
      const w = W.open(f, { created: 1_764_000_000_000, fsync: false, codec: "none" });
      for (const [k, b] of blocks.entries()) w.appendBatchSync(b, { sets: k % 5 !== 4 });
      w.closeSync();
      return f;
    };
    const fileNative = write(FlowFileWriter, "native.tsf");
    vi.stubEnv("TSFLOW_WRITER", "js");
    vi.resetModules();
    try {
      const fresh = await import("../../../src/store/zone-map.js");
      expect(fresh.nativeZoneAddon()).toBeNull();
      expect(new fresh.ZoneBuilder().native).toBe(false);
      const { FlowFileWriter: JsWriter } = await import("../../../src/store/writer.js");
      const fileJs = write(JsWriter, "js.tsf");
      expect(hex(fs.readFileSync(fileNative))).toBe(hex(fs.readFileSync(fileJs)));
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
    // the filters prune by the zone maps, and never a block holding a match
    const fmt6 = (w: Uint32Array, o: number): string =>
      Array.from({ length: 8 }, (_, k) => ((w[o + (k >> 1)]! >>> (k & 1 ? 0 : 16)) & 0xffff).toString(16)).join(":");
    const v4 = (a: number): string => [24, 16, 8, 0].map((s) => (a >>> s) & 255).join(".");
    const b0 = blocks[3]!;
    let r6 = 0;
    while (!b0.isV6("srcAddr", r6)) r6++;
    let r4 = 0;
    while (b0.isV6("dstAddr", r4)) r4++;
    const filters = [
      `src ip ${v4(b0.cols.srcAddr[r6 === 0 ? 1 : 0]!)}`,
      `dst net ${v4(b0.cols.dstAddr[r4]! & 0xffffff00)}/24`,
      `src ip ${fmt6(b0.cols.srcAddr6, 4 * r6)}`,
      `src net ${fmt6(b0.cols.srcAddr6, 4 * r6)}/64`,
      "dst ip 192.0.2.1",
      "src ip 2001:db8::1",
    ];
    const reader = FlowFileReader.open(fileNative);
    let pruned = 0;
    for (const text of filters) {
      const f = compileFilter(text);
      const kept = reader.blocksThatMayMatch((z) => f.mayMatch(z));
      pruned += blocks.length - kept.length;
      const sel = new Uint32Array(20_000);
      blocks.forEach((b, k) => {
        if (f.scan(b, sel) > 0) expect(kept, `${text}: block ${k} holds a match`).toContain(k);
      });
    }
    reader.close();
    expect(pruned).toBeGreaterThan(20);
  });
});
