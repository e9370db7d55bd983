// SPDX-License-Identifier: BSD-3-Clause
// Zone maps: pruning must never drop a block that holds a matching row (property test), and must prune when it can.
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import type { AddrColumnName, PhysicalName } from "../../../src/record/schema.js";
import type { ZoneMap } from "../../../src/record/zone.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { cloneBatch, rng, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const ADDRS: AddrColumnName[] = ["srcAddr", "dstAddr", "nextHop", "exporterAddr"];
const NUMERIC: PhysicalName[] = ["srcPort", "dstPort", "proto", "msecFirst", "inBytes", "srcAs", "v6Flags", "srcAddr"];

/** Rows with addresses clustered in a few random prefixes, so that pruning has something to prune. */
function clusteredBatch(seed: number, n: number): RecordBatch {
  const r = rng(seed);
  const b = new RecordBatch(Math.max(1, n));
  const v4bases = Array.from({ length: 3 }, () => Math.floor(r() * 2 ** 32) & 0xffff0000);
  const v6words = new Uint8Array(16);
  const v6base = Math.floor(r() * 2 ** 16);
  for (let i = 0; i < n; i++) {
    const row = b.addRow();
    b.cols.srcPort[row] = Math.floor(r() * 2000);
    b.cols.dstPort[row] = 1000 + Math.floor(r() * 100);
    b.cols.proto[row] = r() < 0.5 ? 6 : 17;
    b.cols.msecFirst[row] = 1e12 + seed * 1e5 + Math.floor(r() * 1e5);
    b.cols.inBytes[row] = Math.floor(r() * 1e6);
    b.cols.srcAs[row] = Math.floor(r() * 100);
    for (const col of ADDRS) {
      if (r() < 0.25) {
        v6words[0] = 0x20;
        v6words[1] = 0x01;
        v6words[2] = v6base >>> 8;
        v6words[3] = v6base & 0xff;
        for (let k = 4; k < 16; k++) v6words[k] = k < 7 ? 0 : k === 7 ? Math.floor(r() * 4) : Math.floor(r() * 256);
        b.setV6(col, row, v6words, 0);
      } else {
        b.setV4(col, row, (v4bases[Math.floor(r() * 3)]! + Math.floor(r() * 4096)) >>> 0);
      }
    }
  }
  return b;
}

interface Fixture {
  reader: FlowFileReader;
  blocks: RecordBatch[];
}

function writeFixture(
  name: string,
  seeds: number[],
  limits: { v4SetLimit?: number; v6SetLimit?: number; lean?: boolean },
): Fixture {
  const f = path.join(dir, name);
  const w = FlowFileWriter.open(f, limits);
  const blocks = seeds.map((s, k) => clusteredBatch(s, 40 + ((s * 7 + k) % 160)));
  // lean: as tscapd's writer stores blocks while it is behind (no LZ4, no address sets, no Bloom filters)
  for (const b of blocks) w.appendBatchSync(b, limits.lean === true ? { compress: false, sets: false } : {});
  w.closeSync();
  return { reader: FlowFileReader.open(f), blocks };
}

function prefixMatch(words: Uint32Array, o: number, p: readonly number[], len: number): boolean {
  for (let k = 0; k < 4 && len > 0; k++) {
    const bits = Math.min(32, len);
    const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((words[o + k]! ^ p[k]!) & mask) >>> 0 !== 0) return false;
    len -= bits;
  }
  return true;
}

type Query =
  | { kind: "v4"; col: AddrColumnName; lo: number; hi: number }
  | { kind: "v6"; col: AddrColumnName; words: number[]; len: number }
  | { kind: "num"; col: PhysicalName; lo: number; hi: number }
  | { kind: "fam"; col: AddrColumnName; v6: boolean };

function truth(b: RecordBatch, q: Query): boolean {
  for (let i = 0; i < b.length; i++) {
    switch (q.kind) {
      case "v4":
        if (!b.isV6(q.col, i) && b.cols[q.col][i]! >= q.lo && b.cols[q.col][i]! <= q.hi) return true;
        break;
      case "v6":
        if (b.isV6(q.col, i) && prefixMatch(b.cols[`${q.col}6`], i * 4, q.words, q.len)) return true;
        break;
      case "num": {
        if (q.col === "srcAddr" && b.isV6("srcAddr", i)) break; // addr ranges are over IPv4 rows
        const v = b.cols[q.col][i]!;
        if (v >= q.lo && v <= q.hi) return true;
        break;
      }
      case "fam":
        if (b.isV6(q.col, i) === q.v6) return true;
        break;
    }
  }
  return false;
}

function mayMatch(z: ZoneMap, q: Query): boolean {
  switch (q.kind) {
    case "v4":
      return z.mayContainV4(q.col, q.lo, q.hi);
    case "v6":
      return z.mayContainV6(q.col, q.words, q.len);
    case "num": {
      const mn = z.min(q.col);
      const mx = z.max(q.col);
      if (mn === undefined || mx === undefined) return q.col !== "srcAddr" || z.hasV4("srcAddr");
      return !(mx < q.lo || mn > q.hi);
    }
    case "fam":
      return q.v6 ? z.hasV6(q.col) : z.hasV4(q.col);
  }
}

/** Queries built from values that occur in the data (so that many do match) or random ones. */
function queryArb(fx: Fixture): fc.Arbitrary<Query> {
  const pickRow = fc.tuple(fc.nat(fx.blocks.length - 1), fc.nat(10_000)).map(([b, i]) => {
    const blk = fx.blocks[b]!;
    return [blk, blk.length === 0 ? 0 : i % blk.length] as const;
  });
  const col = fc.constantFrom(...ADDRS);
  const v4 = fc.tuple(col, pickRow, fc.nat(24), fc.boolean(), fc.nat()).map(([c, [b, i], bits, random, rnd]): Query => {
    const base = random ? rnd >>> 0 : b.cols[c][i]!;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const lo = (base & ~mask) >>> 0;
    return { kind: "v4", col: c, lo, hi: Math.min(0xffffffff, lo + (1 << Math.min(bits, 30)) - 1) };
  });
  const len = fc.oneof(fc.integer({ min: 0, max: 128 }), fc.constantFrom(48, 63, 64, 65, 96, 128));
  const v6 = fc
    .tuple(col, pickRow, len, fc.boolean(), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }))
    .map(([c, [b, i], len, random, rnd]): Query => {
      let j = i; // the next row holding an IPv6 value in this column, so that many queries match
      while (j < b.length - 1 && !b.isV6(c, j)) j++;
      return {
        kind: "v6",
        col: c,
        words: random ? rnd.map((x) => x >>> 0) : Array.from(b.cols[`${c}6`].subarray(j * 4, j * 4 + 4)),
        len,
      };
    });
  const num = fc
    .tuple(fc.constantFrom(...NUMERIC), pickRow, fc.nat(5000), fc.integer({ min: -3000, max: 3000 }))
    .map(([c, [b, i], width, shift]): Query => {
      const v = b.cols[c][i]! + shift;
      return { kind: "num", col: c, lo: v, hi: v + width };
    });
  const fam = fc.tuple(col, fc.boolean()).map(([c, v]): Query => ({ kind: "fam", col: c, v6: v }));
  return fc.oneof(v4, v6, num, fam);
}

describe("zone maps", () => {
  for (const [name, limits] of [
    ["exact sets", {}],
    ["overflowing sets", { v4SetLimit: 8, v6SetLimit: 4 }],
    ["blocks without sets", { lean: true }],
  ] as const) {
    it(`never drop a block with a matching row (${name})`, () => {
      const fx = writeFixture(name.replaceAll(" ", "-"), [1, 2, 3, 4, 5, 6], limits);
      const zones = Array.from({ length: fx.reader.blockCount }, (_, i) => fx.reader.zoneMap(i)!);
      let pruned = 0;
      fc.assert(
        fc.property(queryArb(fx), (q) => {
          for (let k = 0; k < fx.blocks.length; k++) {
            const t = truth(fx.blocks[k]!, q);
            const m = mayMatch(zones[k]!, q);
            if (t && !m) return false;
            if (!m) pruned++;
          }
          return true;
        }),
        { numRuns: 400, seed: 42 },
      );
      expect(pruned).toBeGreaterThan(100); // the maps do prune
      fx.reader.close();
    });
  }

  it("blocks stored without sets (tscapd behind) have none, keep their ranges and read back the same rows", () => {
    const fx = writeFixture("lean-read", [21, 22, 23], { lean: true });
    const full = writeFixture("full-read", [21, 22, 23], {});
    for (let k = 0; k < fx.blocks.length; k++) {
      const lean = fx.reader.zoneMap(k)!;
      const ref = full.reader.zoneMap(k)!;
      for (const c of ADDRS) {
        expect([lean.hasV4(c), lean.hasV6(c), lean.min(c), lean.max(c)]).toEqual([
          ref.hasV4(c),
          ref.hasV6(c),
          ref.min(c),
          ref.max(c),
        ]);
      }
    }
    const rows = (r: FlowFileReader): unknown[] => {
      const out: unknown[] = [];
      for (const b of r.batches())
        for (let i = 0; i < b.length; i++)
          out.push([
            b.cols.srcAddr[i],
            b.cols.srcAddr6[4 * i + 3],
            b.cols.v6Flags[i],
            b.cols.msecFirst[i],
            b.cols.srcAs[i],
          ]);
      return out;
    };
    expect(rows(fx.reader)).toEqual(rows(full.reader));
    const bytes = (n: string): Buffer => fs.readFileSync(path.join(dir, n));
    // no sets and no Bloom filters: the zone sections are smaller; no LZ4: the file is larger overall
    expect(bytes("lean-read").length).not.toBe(bytes("full-read").length);
    fx.reader.close();
    full.reader.close();
  });

  it("blocksThatMayMatch / batches(pred) skip blocks without reading them and count them", () => {
    const fx = writeFixture("skip", [11, 12, 13, 14], {});
    const target = fx.blocks[2]!;
    const addr = target.isV6("srcAddr", 0) ? -1 : target.cols.srcAddr[0]!;
    const t = target.cols.msecFirst[0]!;
    const pred = (z: ZoneMap): boolean => (z.min("msecFirst") ?? 0) <= t && t <= (z.max("msecFirst") ?? Infinity);
    expect(fx.reader.blocksThatMayMatch(pred)).toEqual([2]);
    expect(fx.reader.skippedBlocks).toBe(3);
    const got: RecordBatch[] = [];
    for (const b of fx.reader.batches(pred)) got.push(cloneBatch(b));
    expect(got).toHaveLength(1);
    expect(got[0]!.cols.msecFirst[0]).toBe(t);
    expect(fx.reader.skippedBlocks).toBe(6);
    expect(fx.reader.readBlocks).toBe(1);
    if (addr >= 0) {
      const hits = fx.reader.blocksThatMayMatch((z) => z.mayContainV4("srcAddr", addr, addr));
      expect(hits).toContain(2);
    }
    fx.reader.close();
  });

  it("a transient zone map answers as the copied one, and is a view of the reader's buffer (no copy)", () => {
    const fx = writeFixture("transient", [11, 12, 13, 14], {});
    const r = fx.reader;
    const queries = fx.blocks.map((b) => b.cols.srcAddr[b.isV6("srcAddr", 0) ? 1 : 0]!);
    const answers = (z: ZoneMap): boolean[] => [
      ...queries.map((a) => z.mayContainV4("srcAddr", a, a)),
      ...queries.map((a) => z.mayContainV4("dstAddr", a & 0xffffff00, a | 0xff)),
      z.mayContainV6("srcAddr", [0x20010000, 0, 0, 0], 16),
      z.hasV6("dstAddr"),
    ];
    const copied = Array.from({ length: r.blockCount }, (_, k) => answers(r.zoneMap(k)!));
    for (let k = 0; k < r.blockCount; k++) expect(answers(r.zoneMap(k, true)!)).toEqual(copied[k]);
    // block 0's transient map after block 1 was read: its address sets and filters are block 1's now
    const z0 = r.zoneMap(0, true)!;
    const host0 = queries[0]!;
    expect(z0.mayContainV4("srcAddr", host0, host0)).toBe(true);
    expect(r.zoneMap(1, true)!.mayContainV4("srcAddr", host0, host0)).toBe(false);
    expect(z0.mayContainV4("srcAddr", host0, host0)).toBe(false);
    // a copied one keeps its own
    const c0 = r.zoneMap(0)!;
    r.zoneMap(1, true);
    expect(c0.mayContainV4("srcAddr", host0, host0)).toBe(true);
    r.close();
  });

  it("blocks of one file listing their ranges in other orders, or not at all, answer each with its own", async () => {
    const { BlockZoneMap, ZONE_NO_RANGE } = await import("../../../src/store/zone-map.js");
    const ids = new Map<string, number>([
      ["srcPort", 3],
      ["dstPort", 5],
      ["proto", 7],
    ]);
    /** A zone section of range entries only: [column id, min, max, no range]. */
    const section = (entries: [number, number, number, boolean?][]): Uint8Array => {
      const out = new Uint8Array(8 + 24 * entries.length + 8); // 8-aligned, as a reader's buffer
      const v = new DataView(out.buffer);
      v.setUint16(0, entries.length, true);
      entries.forEach(([id, min, max, noRange], i) => {
        v.setUint16(8 + 24 * i, id, true);
        v.setUint8(8 + 24 * i + 2, noRange === true ? ZONE_NO_RANGE : 0);
        v.setFloat64(8 + 24 * i + 8, min, true);
        v.setFloat64(8 + 24 * i + 16, max, true);
      });
      return out.subarray(0, 8 + 24 * entries.length);
    };
    const blocks: [Uint8Array, (number | undefined)[]][] = [
      [
        section([
          [3, 10, 20],
          [5, 80, 443],
          [7, 6, 17],
        ]),
        [10, 20, 80, 443, 6, 17],
      ],
      [
        section([
          [7, 1, 1],
          [5, 53, 53],
          [3, 1000, 2000],
        ]),
        [1000, 2000, 53, 53, 1, 1],
      ],
      [section([[5, 22, 22, true]]), [0, 0, undefined, undefined, 0, 0]], // srcPort, proto all zero
      [
        section([
          [3, 10, 20],
          [5, 80, 443],
          [7, 6, 17],
        ]),
        [10, 20, 80, 443, 6, 17],
      ],
    ];
    for (const copy of [true, false]) {
      for (const [sec, want] of blocks) {
        const z = new BlockZoneMap(100, 8, ids, sec, copy);
        expect([
          z.min("srcPort"),
          z.max("srcPort"),
          z.min("dstPort"),
          z.max("dstPort"),
          z.min("proto"),
          z.max("proto"),
        ]).toEqual(want);
        expect(z.min("tcpFlags")).toBe(0); // not in the file
      }
    }
  });

  it("answers exactly for a hand-built block", () => {
    const b = new RecordBatch(4);
    const w6 = new Uint8Array(16);
    w6.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
    for (const [src, port] of [
      [0xc0000201, 80],
      [0xc0000305, 443],
    ] as const) {
      const i = b.addRow();
      b.setV4("srcAddr", i, src);
      b.cols.dstPort[i] = port;
    }
    b.setV6("dstAddr", b.addRow(), w6, 0);
    const f = path.join(dir, "hand");
    const w = FlowFileWriter.open(f);
    w.appendBatchSync(b);
    w.closeSync();
    const r = FlowFileReader.open(f);
    const z = r.zoneMap(0)!;
    expect(z.rows).toBe(3);
    expect([z.min("dstPort"), z.max("dstPort")]).toEqual([0, 443]);
    expect([z.min("srcAddr"), z.max("srcAddr")]).toEqual([0, 0xc0000305]);
    expect(z.min("srcPort")).toBe(0); // absent column
    expect(z.min("dstAddr")).toBe(0); // two IPv4 rows with 0.0.0.0
    expect(z.hasV6("dstAddr")).toBe(true);
    expect(z.hasV6("srcAddr")).toBe(false);
    expect(z.hasV4("exporterAddr")).toBe(true);
    expect(z.mayContainV4("srcAddr", 0xc0000200, 0xc00002ff)).toBe(true);
    expect(z.mayContainV4("srcAddr", 0xc0000400, 0xc00004ff)).toBe(false); // between the two /24s
    expect(z.mayContainV6("srcAddr", [0, 0, 0, 0], 0)).toBe(false); // no IPv6 row
    expect(z.mayContainV6("dstAddr", [0x20010db8, 0, 0, 0], 32)).toBe(true);
    expect(z.mayContainV6("dstAddr", [0x20010db8, 1, 0, 0], 64)).toBe(true);
    expect(z.mayContainV6("dstAddr", [0x20010db8, 2, 0, 0], 64)).toBe(false);
    expect(z.mayContainV6("dstAddr", [0x20010db9, 0, 0, 0], 32)).toBe(false);
    r.close();
  });

  it("host Bloom filters skip blocks whose /24 set holds the prefix but not the host", () => {
    // 8 blocks of 2000 rows, every block draws hosts from the same /24s; host X is in block 5 only
    const r = rng(99);
    const f = path.join(dir, "bloom");
    const w = FlowFileWriter.open(f);
    const needle = 0x0a000363; // 10.0.3.99
    const needle6 = [0x20010db8, 0, 0, 0x99];
    const blocks: RecordBatch[] = [];
    for (let k = 0; k < 8; k++) {
      const b = new RecordBatch(2000);
      for (let i = 0; i < 2000; i++) {
        const row = b.addRow();
        let a = (0x0a000000 + Math.floor(r() * 1024)) >>> 0; // 10.0.0.0/22
        if (a === needle) a++;
        b.setV4("srcAddr", row, a);
        b.setV4("dstAddr", row, (0xc0a80000 + Math.floor(r() * 65536)) >>> 0);
        if (i % 10 === 0) {
          const w6 = new Uint8Array(16);
          new DataView(w6.buffer).setUint32(0, 0x20010db8);
          new DataView(w6.buffer).setUint32(12, 0x1000 + Math.floor(r() * 500));
          b.setV6("dstAddr", row, w6, 0);
        }
      }
      if (k === 5) {
        b.setV4("srcAddr", 77, needle);
        const w6 = new Uint8Array(16);
        for (let j = 0; j < 4; j++) new DataView(w6.buffer).setUint32(4 * j, needle6[j]!);
        b.setV6("dstAddr", 10, w6, 0);
      }
      blocks.push(b);
      w.appendBatchSync(b);
    }
    w.closeSync();
    const rd = FlowFileReader.open(f);
    // the /24 sets alone cannot exclude anything: 10.0.3.0/24 is in every block
    for (let k = 0; k < 8; k++) expect(rd.zoneMap(k)!.mayContainV4("srcAddr", 0x0a000300, 0x0a0003ff)).toBe(true);
    expect(rd.blocksThatMayMatch((z) => z.mayContainV4("srcAddr", needle, needle))).toEqual([5]);
    expect(rd.blocksThatMayMatch((z) => z.mayContainV6("dstAddr", needle6, 128))).toEqual([5]);
    expect(rd.blocksThatMayMatch((z) => z.mayContainV4("srcAddr", needle - 1, needle + 1))).toContain(5);
    // no false negative for any host present in a block, and few false positives for absent hosts
    let falsePositives = 0;
    let tests = 0;
    for (let k = 0; k < 8; k++) {
      const z = rd.zoneMap(k)!;
      const present = new Set<number>();
      for (let i = 0; i < blocks[k]!.length; i++)
        if (!blocks[k]!.isV6("srcAddr", i)) present.add(blocks[k]!.cols.srcAddr[i]!);
      for (const a of present) expect(z.mayContainV4("srcAddr", a, a)).toBe(true);
      for (let a = 0x0a000000; a < 0x0a000400; a++) {
        if (present.has(a)) continue;
        tests++;
        if (z.mayContainV4("srcAddr", a, a)) falsePositives++;
      }
    }
    expect(tests).toBeGreaterThan(500);
    expect(falsePositives / tests).toBeLessThan(0.06);
    rd.close();
  });

  it("blocks holding the same hosts do not share their Bloom false positives (a seed per block)", () => {
    const f = path.join(dir, "bloom-seed");
    const w = FlowFileWriter.open(f);
    const hosts = Array.from({ length: 3000 }, (_, i) => (0x0a000000 + 2 * i) >>> 0); // even addresses only
    for (let k = 0; k < 8; k++) {
      const b = new RecordBatch(3000);
      for (const a of hosts) b.setV4("srcAddr", b.addRow(), a);
      w.appendBatchSync(b);
    }
    w.closeSync();
    const rd = FlowFileReader.open(f);
    const zones = Array.from({ length: 8 }, (_, k) => rd.zoneMap(k)!);
    let admittedSomewhere = 0;
    let admittedEverywhere = 0;
    for (let i = 0; i < 3000; i++) {
      const absent = (0x0a000001 + 2 * i) >>> 0; // odd: never stored
      const n = zones.filter((z) => z.mayContainV4("srcAddr", absent, absent)).length;
      if (n > 0) admittedSomewhere++;
      if (n === 8) admittedEverywhere++;
    }
    expect(admittedSomewhere).toBeGreaterThan(100); // the filters do have false positives…
    expect(admittedEverywhere).toBeLessThan(3); // …but independent ones (the same hash everywhere: ≈ 4 % of 3000)
    rd.close();
  });

  it("files written without Bloom filters still answer host queries from the /24 sets", async () => {
    const { ZoneBuilder } = await import("../../../src/store/zone-map.js");
    const b = new RecordBatch(2);
    b.setV4("srcAddr", b.addRow(), 0x0a000301);
    b.setV4("srcAddr", b.addRow(), 0x0a000302);
    const plain = new ZoneBuilder(512, 256, false);
    const withBloom = new ZoneBuilder();
    const ids = new Map([["srcAddr", 3]]);
    const cols = b.cols as unknown as Record<string, ArrayLike<number>>;
    const a = plain.encode(2, cols, b.cols.v6Flags, [], ids, new Set());
    const c = withBloom.encode(2, cols, b.cols.v6Flags, [], ids, new Set());
    expect(new DataView(a.buffer).getUint16(6, true)).toBe(0);
    expect(new DataView(c.buffer).getUint16(6, true)).toBe(1);
    expect(c.length).toBeGreaterThan(a.length);
  });
});

describe("zone map address sets (writer)", () => {
  /** The set entries of a zone section (layout in zone-map.ts), per column id. */
  function parseSets(
    section: Uint8Array,
  ): Map<number, { s4: number; s6: number; n4: number[]; n6: string[]; range6: number[] }> {
    const v = new DataView(section.buffer, section.byteOffset, section.byteLength);
    const sets = new Map<number, { s4: number; s6: number; n4: number[]; n6: string[]; range6: number[] }>();
    let p = 8 + v.getUint16(0, true) * 24;
    for (let k = 0; k < v.getUint16(4, true); k++) {
      const n4 = v.getUint32(p + 4, true);
      const n6 = v.getUint32(p + 8, true);
      const e = {
        s4: v.getUint8(p + 2),
        s6: v.getUint8(p + 3),
        range6: [0, 1, 2, 3].map((q) => v.getUint32(p + 16 + 4 * q, true)),
        n4: Array.from({ length: n4 }, (_, q) => v.getUint32(p + 32 + 4 * q, true)),
        n6: [] as string[],
      };
      const start6 = (p + 32 + n4 * 4 + 7) & ~7;
      for (let q = 0; q < n6; q++)
        e.n6.push(`${v.getUint32(start6 + 8 * q, true)}:${v.getUint32(start6 + 8 * q + 4, true)}`);
      sets.set(v.getUint16(p, true), e);
      p = (start6 + n6 * 8 + 7) & ~7;
    }
    return sets;
  }

  it("hold the distinct /24s and /64s (sorted), the /64 range and the IPv4 min/max as a plain sort says, limits included", async () => {
    const { ZoneBuilder, SET_EXACT, SET_OVERFLOW, SET_NONE } = await import("../../../src/store/zone-map.js");
    const cmp = (a: number[], b: number[]): number => (a[0]! !== b[0]! ? a[0]! - b[0]! : a[1]! - b[1]!);
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 400);
      const share6 = [0, 0.1, 0.5, 1][seed % 4]!;
      const his = Array.from({ length: 1 + Math.floor(r() * 30) }, () => Math.floor(r() * 2 ** 32));
      const b = new RecordBatch(n);
      const bytes = new Uint8Array(16);
      for (let i = 0; i < n; i++) {
        const row = b.addRow();
        if (r() < share6) {
          const hi = his[Math.floor(r() * his.length)]!;
          new DataView(bytes.buffer).setUint32(0, hi);
          new DataView(bytes.buffer).setUint32(4, r() < 0.5 ? 0 : Math.floor(r() * 4));
          new DataView(bytes.buffer).setUint32(12, Math.floor(r() * 2 ** 32));
          b.setV6("srcAddr", row, bytes, 0);
        } else b.setV4("srcAddr", row, (0x0a000000 + Math.floor(r() ** 3 * 60) * 256 + Math.floor(r() * 256)) >>> 0);
      }
      // reference: sort every row
      const v4 = [
        ...new Set(
          Array.from({ length: n }, (_, i) => i)
            .filter((i) => !b.isV6("srcAddr", i))
            .map((i) => b.cols.srcAddr[i]! >>> 8),
        ),
      ].sort((x, y) => x - y);
      const rows6 = Array.from({ length: n }, (_, i) => i)
        .filter((i) => b.isV6("srcAddr", i))
        .map((i) => [b.cols.srcAddr6[4 * i]!, b.cols.srcAddr6[4 * i + 1]!])
        .sort(cmp);
      const v6 = [...new Set(rows6.map((x) => `${x[0]!}:${x[1]!}`))];
      // limits around the distinct counts: exactly full, one short, and random
      for (const [v4Limit, v6Limit] of [
        [Math.max(1, v4.length), Math.max(1, v6.length)],
        [Math.max(1, v4.length - 1), Math.max(1, v6.length - 1)],
        [1 + Math.floor(r() * 40), 1 + Math.floor(r() * 20)],
      ] as const) {
        const zone = new ZoneBuilder(v4Limit, v6Limit).encode(
          n,
          b.cols,
          b.cols.v6Flags,
          [{ id: 7, noRange: true, min: 0, max: 0, v4Scan: true }],
          new Map([["srcAddr", 7]]),
          new Set(),
        );
        const got = parseSets(zone).get(7)!;
        // without sets (tscapd's writer when behind): no sets, no Bloom filter, the same masks and range entry
        const lean = new ZoneBuilder(v4Limit, v6Limit).encode(
          n,
          b.cols,
          b.cols.v6Flags,
          [{ id: 7, noRange: true, min: 0, max: 0, v4Scan: true }],
          new Map([["srcAddr", 7]]),
          new Set(),
          false,
        );
        const lv = new DataView(lean.buffer, lean.byteOffset, lean.byteLength);
        expect([lv.getUint16(4, true), lv.getUint16(6, true)], `seed ${seed}`).toEqual([0, 0]);
        expect(lean, `seed ${seed}`).toEqual(zone.subarray(0, 32).map((x, i) => (i === 4 || i === 6 ? 0 : x)));
        // the range entry of a column with IPv6 rows: min/max over its IPv4 rows (flag 1: none)
        const zv = new DataView(zone.buffer, zone.byteOffset, zone.byteLength);
        const ipv4 = Array.from({ length: n }, (_, i) => i)
          .filter((i) => !b.isV6("srcAddr", i))
          .map((i) => b.cols.srcAddr[i]!);
        if (rows6.length > 0)
          expect([zv.getUint8(10), zv.getFloat64(16, true), zv.getFloat64(24, true)], `seed ${seed}`).toEqual(
            ipv4.length === 0 ? [1, 0, 0] : [0, Math.min(...ipv4), Math.max(...ipv4)],
          );
        const k4 = n - rows6.length;
        expect(got.s4, `seed ${seed}`).toBe(k4 === 0 ? SET_NONE : v4.length > v4Limit ? SET_OVERFLOW : SET_EXACT);
        expect(got.s6, `seed ${seed}`).toBe(
          rows6.length === 0 ? SET_NONE : v6.length > v6Limit ? SET_OVERFLOW : SET_EXACT,
        );
        expect(got.n4, `seed ${seed}`).toEqual(got.s4 === SET_EXACT ? v4 : []);
        expect(got.n6, `seed ${seed}`).toEqual(got.s6 === SET_EXACT ? v6 : []);
        const lo = rows6[0] ?? [0, 0];
        const hi = rows6[rows6.length - 1] ?? [0, 0];
        expect(got.range6, `seed ${seed}`).toEqual([lo[0], lo[1], hi[0], hi[1]]);
      }
    }
  });
});
