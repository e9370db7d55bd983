// SPDX-License-Identifier: BSD-3-Clause
// The footer's exact sums: a file whose counters are 2^64 − 1 and 2^53 + 1 (several blocks, every protocol class,
// out counters) keeps its per-class sums exact — past 2^53 and past 2^64 — through the footer, through the
// footer-less walk and through recover(); files written before the exact sums section still read (their f64 sums,
// fix 0), and the totals text is wrapped to 64 bits as nfcapd's log line prints it.
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { protoClass } from "../../../src/record/schema.js";
import { addExactTo, exactOf, HalfSums, storeExact } from "../../../src/record/u64.js";
import {
  decodeFooter,
  encodeFooter,
  EXACT_SUMS_MAGIC,
  exactSums,
  totalsText,
  type FileStats,
} from "../../../src/store/format.js";
import { FlowFileReader, readFooterStats } from "../../../src/store/reader.js";
import { recover } from "../../../src/store/recover.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { REPO_ROOT } from "../../helpers/nfdump.js";
import { rng, tempDir } from "./helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const MAX = 2n ** 64n - 1n;
const BIG = 2n ** 53n + 1n;
const PROTOS = [6, 17, 1, 58, 47];

interface Ref {
  flows: bigint[];
  packets: bigint[];
  bytes: bigint[];
  outPackets: bigint;
  outBytes: bigint;
}

/** Three blocks of rows with huge counters (exact values in BigInt as the reference); returns the file path. */
function hugeFile(name: string): { file: string; ref: Ref } {
  const file = path.join(dir, name);
  const r = rng(7);
  const ref: Ref = {
    flows: [0n, 0n, 0n, 0n],
    packets: [0n, 0n, 0n, 0n],
    bytes: [0n, 0n, 0n, 0n],
    outPackets: 0n,
    outBytes: 0n,
  };
  const w = FlowFileWriter.open(file);
  const pick = (): bigint => {
    const x = r();
    return x < 0.4 ? MAX : x < 0.6 ? BIG : BigInt(Math.floor(r() * 1e6));
  };
  for (let blk = 0; blk < 3; blk++) {
    const b = new RecordBatch(300);
    for (let k = 0; k < 300; k++) {
      const i = b.addRow();
      const proto = PROTOS[Math.floor(r() * PROTOS.length)]!;
      b.cols.proto[i] = proto;
      const c = protoClass(proto);
      const [p, by, f, op, ob] = [pick(), pick(), r() < 0.1 ? MAX : BigInt(Math.floor(r() * 3)), pick(), pick()];
      storeExact(b.cols.inPackets, b.cols.inPacketsFix, i, p);
      storeExact(b.cols.inBytes, b.cols.inBytesFix, i, by);
      storeExact(b.cols.flows, b.cols.flowsFix, i, f);
      storeExact(b.cols.outPackets, b.cols.outPacketsFix, i, op);
      storeExact(b.cols.outBytes, b.cols.outBytesFix, i, ob);
      b.cols.msecFirst[i] = 1e12 + k;
      b.cols.msecLast[i] = 1e12 + k + 10;
      ref.flows[c]! += f > 0n ? f : 1n;
      ref.packets[c]! += p;
      ref.bytes[c]! += by;
      ref.outPackets += op;
      ref.outBytes += ob;
    }
    w.appendBatchSync(b);
  }
  w.closeSync();
  return { file, ref };
}

function expectExact(s: FileStats, ref: Ref): void {
  const x = exactSums(s);
  expect(x.flows).toEqual(ref.flows);
  expect(x.packets).toEqual(ref.packets);
  expect(x.bytes).toEqual(ref.bytes);
  expect(x.outPackets).toBe(ref.outPackets);
  expect(x.outBytes).toBe(ref.outBytes);
  const sum = (a: bigint[]): bigint => a.reduce((p, q) => p + q, 0n);
  expect(x.totalFlows).toBe(sum(ref.flows));
  expect(x.totalPackets).toBe(sum(ref.packets));
  expect(x.totalBytes).toBe(sum(ref.bytes));
  // the sums pass 2^64: wrapped only when printed
  expect(x.totalBytes > 2n ** 64n).toBe(true);
}

describe("footer exact sums", () => {
  it("sums of 2^64 − 1 and 2^53 + 1 counters read back exactly from the footer (past 2^64)", () => {
    const { file, ref } = hugeFile("huge");
    const r = FlowFileReader.open(file);
    expect(r.hasFooter).toBe(true);
    expectExact(r.stats(), ref);
    r.close();
    expectExact(readFooterStats(file)!, ref);
    const t = totalsText(readFooterStats(file)!);
    const sum = (a: bigint[]): bigint => a.reduce((p, q) => p + q, 0n);
    expect(t.bytes).toBe((sum(ref.bytes) % 2n ** 64n).toString());
    expect(t.packets).toBe((sum(ref.packets) % 2n ** 64n).toString());
  });

  it("the footer-less walk and recover() compute the same exact sums", () => {
    const { file, ref } = hugeFile("huge-open");
    // cut the footer and trailer off: the reader walks the blocks, recover() writes a new footer
    const r0 = FlowFileReader.open(file);
    const end = r0.blockInfo(r0.blockCount - 1);
    r0.close();
    fs.truncateSync(file, end.offset + end.length);
    const r = FlowFileReader.open(file, { onError: () => undefined });
    expect(r.hasFooter).toBe(false);
    expectExact(r.stats(), ref);
    r.close();
    recover(file, { onError: () => undefined });
    const r2 = FlowFileReader.open(file);
    expect(r2.hasFooter).toBe(true);
    expectExact(r2.stats(), ref);
    r2.close();
  });

  it("a file written before the exact sums section reads with its f64 sums and fix 0", () => {
    // written by the writer at 81f6d8f (test/fixtures/flowfiles/README.md)
    const s = readFooterStats(path.join(REPO_ROOT, "test/fixtures/flowfiles/before-exact-sums.tsflow"))!;
    expect([s.rows, s.totalFlows, s.totalPackets, s.totalBytes]).toEqual([10, 10, 145, 55000]);
    expect(s.flows).toEqual([6, 4, 0, 0]);
    expect(s.fix).toEqual({
      flows: [0, 0, 0, 0],
      packets: [0, 0, 0, 0],
      bytes: [0, 0, 0, 0],
      totalFlows: 0,
      totalPackets: 0,
      totalBytes: 0,
      outPackets: 0,
      outBytes: 0,
    });
  });

  it("the section: flag bit 0 at footer offset 156, older readers' fields unchanged, damage reported", () => {
    const { file, ref } = hugeFile("huge-footer");
    const s = readFooterStats(file)!;
    const bytes = encodeFooter(s, []);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(v.getUint32(156, true)).toBe(1);
    // the f64 fields an older reader takes: the nearest doubles of the exact sums
    expect(v.getFloat64(88, true)).toBe(Number(ref.bytes[0]));
    expectExact(decodeFooter(bytes, file, 0).stats, ref);
    // a section with a wrong magic (CRC recomputed) is an error naming the footer
    const bad = bytes.slice();
    expect(v.getUint32(160, true)).toBe(EXACT_SUMS_MAGIC); // no exporters, no blocks: right after the record
    bad[160] = 0;
    new DataView(bad.buffer).setUint32(4, crc32(bad.subarray(8)), true);
    expect(() => decodeFooter(bad, file, 0)).toThrow(/footer: bad exact sums magic/);
  });

  it("garbage doubles in counter columns (1e308, ±Infinity, NaN, negative) still write a readable footer", () => {
    const file = path.join(dir, "garbage");
    const b = new RecordBatch(8);
    for (const x of [1e308, Infinity, -Infinity, NaN, -5, 1.7e308, 3]) {
      const i = b.addRow();
      b.cols.proto[i] = 6;
      b.cols.inBytes[i] = x;
      b.cols.inPackets[i] = x;
    }
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(b);
    w.appendBatchSync(b);
    expect(() => w.closeSync()).not.toThrow();
    const s = readFooterStats(file)!;
    expect(s.rows).toBe(14);
    // values past 2^64 count 2^64; NaN, infinities and negatives 0
    expect(exactSums(s).bytes[0]).toBe(2n * (2n * 2n ** 64n + 3n));
  });

  it("HalfSums and addExactTo add exactly without BigInt (2^20-row passes, fix folded at 2^51)", () => {
    const h = new HalfSums();
    const v: [number] = [0];
    const f: [number] = [0];
    let want = 0n;
    for (let i = 0; i < (1 << 20) + 5; i++) {
      h.add(18446744073709551616, -1); // 2^64 − 1 as its double and fix
      want += MAX;
    }
    h.into(v, f, 0);
    expect(exactOf(v[0], f[0])).toBe(want);
    for (let i = 0; i < 1000; i++) {
      addExactTo(v, f, 0, 2 ** 80, 12345);
      want += 2n ** 80n + 12345n;
    }
    expect(exactOf(v[0], f[0])).toBe(want);
  });
});
