// SPDX-License-Identifier: BSD-3-Clause
// u64 counters end to end in memory: IPFIX 8-byte counters decode exactly (value + fix column), sampling scales
// them exactly, every listing format prints the exact digits, and sums stay exact past 2^53.
import { describe, expect, it } from "vitest";
import { decodeDatagram, DecoderState, type BatchSink } from "../../../src/decode/index.js";
import { createFormatter } from "../../../src/format/index.js";
import { StringOutput } from "../../../src/format/out.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { ExactSum, exactOf, storeExact, TWO53, u64Fix } from "../../../src/record/u64.js";
import { BIG_COUNTERS, craftedIpfixBigCounters } from "../../helpers/crafted.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { tsdumpInProcess } from "../../helpers/tsdump-inproc.js";
import { be, be64, cat, ip4, ipfix, set, templates } from "../decode/build.js";
import { tempDir } from "../store/helpers.js";

class Sink implements BatchSink {
  batch = new RecordBatch(16);
  flush(): void {
    throw new Error("unexpected flush");
  }
}

function decode(datagrams: readonly Uint8Array[], samplingRate = 0): RecordBatch {
  const state = new DecoderState({ samplingRate });
  const sink = new Sink();
  for (const d of datagrams) decodeDatagram(d, { address: "192.0.2.9", port: 4739 }, 1_700_000_000_000, state, sink);
  return sink.batch;
}

const packets = (b: RecordBatch, i: number): bigint => exactOf(b.cols.inPackets[i]!, b.cols.inPacketsFix[i]! | 0);
const bytes = (b: RecordBatch, i: number): bigint => exactOf(b.cols.inBytes[i]!, b.cols.inBytesFix[i]! | 0);

function render(spec: string, b: RecordBatch, plain = false): string {
  const out = new StringOutput();
  const f = createFormatter(spec, { plain });
  f.prolog(out);
  for (let i = 0; i < b.length; i++) f.record(b, i, out);
  f.epilog(out);
  return out.text();
}

describe("u64 counters", () => {
  it("the fix is exact − double for every u64, and 0 below 2^53", () => {
    for (const x of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n + 12345n, 2n ** 64n - 1n]) {
      const hi = Number(x >> 32n);
      const lo = Number(x & 0xffffffffn);
      const v = hi * 2 ** 32 + lo;
      const fix = u64Fix(hi, lo, v);
      expect(BigInt(v) + BigInt(fix)).toBe(x);
      if (x < 2n ** 53n) expect(fix).toBe(0);
      expect(Math.abs(fix)).toBeLessThanOrEqual(1024);
    }
  });

  it("decodes IPFIX 8-byte counters exactly (2^53 + 1, 2^64 − 1); ordinary rows keep a zero fix", () => {
    const b = decode([craftedIpfixBigCounters()]);
    expect(b.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect([packets(b, i), bytes(b, i)]).toEqual(BIG_COUNTERS[i]);
    }
    expect(b.cols.inPacketsFix[2]).toBe(0);
    expect(b.cols.inBytesFix[2]).toBe(0);
  });

  it("a later 4-byte counter element replaces an 8-byte one and its fix (last wins)", () => {
    const fields: [number, number][] = [
      [8, 4],
      [1, 8],
      [2, 8],
      [1, 4],
    ];
    const rec = cat(ip4("10.0.0.1"), be64(2n ** 64n - 1n), be64(2n ** 53n + 3n), be(77, 4));
    const b = decode([
      ipfix({ time: 1_700_000_000, domain: 1 }, set(2, templates(true, { id: 300, fields })), set(300, rec)),
    ]);
    expect(bytes(b, 0)).toBe(77n);
    expect(packets(b, 0)).toBe(2n ** 53n + 3n);
  });

  it("scales sampled counters exactly and saturates at 2^64 − 1", () => {
    const b = decode([craftedIpfixBigCounters()], -3);
    expect(bytes(b, 0)).toBe((2n ** 53n + 1n) * 3n);
    expect(packets(b, 0)).toBe(2n ** 64n - 1n);
    expect(bytes(b, 2)).toBe(3702n);
    expect(b.cols.inBytesFix[2]).toBe(0);
  });

  it("prints the exact digits in line -N, csv, json, raw and fmt", () => {
    const b = decode([craftedIpfixBigCounters()]);
    const line = render("line", b, true);
    expect(line).toContain("18446744073709551615 9007199254740993");
    expect(line).toContain("9007199254740993 18446744073709551615");
    expect(render("csv", b)).toContain(",18446744073709551615,9007199254740993,");
    expect(render("csv:%pkt,%byt", b)).toContain("9007199254740993,18446744073709551615");
    const json = render("json", b);
    expect(json).toContain('"in_packets" : 18446744073709551615');
    expect(json).toContain('"in_bytes" : 9007199254740993');
    expect(render("raw", b)).toMatch(/in bytes +=\s+9007199254740993/);
    expect(render("fmt:%ipkt %ibyt", b, true)).toContain("18446744073709551615 9007199254740993");
    expect(render("line", b)).not.toMatch(/e\+/);
  });

  it("ExactSum adds exactly past 2^53 and storeExact round-trips", () => {
    const s = new ExactSum();
    for (let i = 0; i < 1000; i++) s.add(TWO53 - 1);
    s.add(1);
    expect(s.exact).toBe((2n ** 53n - 1n) * 1000n + 1n);
    const v = new Float64Array(1);
    const fix = new Uint32Array(1);
    storeExact(v, fix, 0, 2n ** 64n + 5n);
    expect(exactOf(v[0]!, fix[0]! | 0)).toBe(2n ** 64n - 1n);
  });

  it("a flow file keeps the exact values; blocks without big counters store no fix column", () => {
    const dir = tempDir();
    const file = `${dir}/u64.tsflow`;
    const big = decode([craftedIpfixBigCounters()]);
    const small = new RecordBatch(4);
    small.addRow();
    small.cols.inBytes[0] = 1234;
    small.cols.inPackets[0] = 5;
    const w = FlowFileWriter.open(file, { codec: "lz4" });
    w.appendBatchSync(big);
    w.appendBatchSync(small);
    w.closeSync();
    const r = FlowFileReader.open(file);
    // a batch is valid until the next step: read each while it is current
    const blocks: { values: bigint[][]; fixAbsent: boolean }[] = [];
    for (const b of r.batches()) {
      blocks.push({
        values: Array.from({ length: b.length }, (_, i) => [packets(b, i), bytes(b, i)]),
        fixAbsent: b.absent.has("inBytesFix") && b.absent.has("inPacketsFix"),
      });
    }
    r.close();
    expect(blocks).toEqual([
      { values: BIG_COUNTERS.map((x) => [...x]), fixAbsent: false },
      { values: [[5n, 1234n]], fixAbsent: true },
    ]);
  });

  it("tsdump -I prints a damaged footer's huge sums as digits, never as 9.8e+33", async () => {
    const dir = tempDir();
    const file = `${dir}/huge.tsflow`;
    const b = new RecordBatch(2);
    for (let i = 0; i < 2; i++) {
      b.addRow();
      b.cols.inBytes[i] = 4.9e33;
      b.cols.inPackets[i] = 1;
      b.cols.proto[i] = 6;
    }
    const w = FlowFileWriter.open(file);
    w.appendBatchSync(b);
    w.closeSync();
    const got = await tsdumpInProcess(["-I", "-r", file]);
    expect(got.stdout).toMatch(/^Bytes: \d+$/m);
    expect(got.stdout).not.toMatch(/e\+/);
  });
});
