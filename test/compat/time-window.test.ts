// -t as nfdump 1.7.1 applies it: a flow is kept unless msecFirst < start || msecLast > end, so a flow that
// starts exactly at the window's start or ends exactly at its end is inside. Checked against nfdump on an
// nfcapd file of hand-made NetFlow v5 flows around the window's edges, on the nfcapd file itself and on its
// tsflow copy (-w: zone-map pruning), on the sequential path and the parallel scanner; and on a tsflow file with
// flows whose last seen precedes their first seen (softflowd sends such), which block pruning must not drop.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../src/record/batch.js";
import { FlowFileWriter } from "../../src/store/index.js";
import { captureWithNfcapd, NFDUMP_MISSING, nfdump } from "../helpers/nfdump.js";
import { tsdumpInProcess } from "../helpers/tsdump-inproc.js";

/** 2026-01-01 00:00:00 UTC, the export time of the datagram and the window's end. */
const T = 1_767_225_600;
const WINDOW = "2025/12/31.23:59:55-2026/01/01.00:00:00";

/** One NetFlow v5 datagram: sysUptime 100 s at export time T; flows (first, last) in uptime ms, 10.0.0.i. */
function v5Datagram(flows: readonly (readonly [number, number])[]): Uint8Array {
  const buf = new Uint8Array(24 + 48 * flows.length);
  const v = new DataView(buf.buffer);
  v.setUint16(0, 5);
  v.setUint16(2, flows.length);
  v.setUint32(4, 100_000);
  v.setUint32(8, T);
  v.setUint32(16, 1);
  flows.forEach(([first, last], k) => {
    const o = 24 + 48 * k;
    v.setUint32(o, 0x0a000001 + k);
    v.setUint32(o + 4, 0x0a000101 + k);
    v.setUint32(o + 16, 10); // packets
    v.setUint32(o + 20, 1000 * (k + 1)); // bytes
    v.setUint32(o + 24, first);
    v.setUint32(o + 28, last);
    v.setUint16(o + 32, 1000 + k);
    v.setUint16(o + 34, 80);
    v.setUint8(o + 37, 0x10);
    v.setUint8(o + 38, 6);
  });
  return buf;
}

// uptime 100 000 ms = T; the window is [T − 5 s, T]
const FLOWS = [
  [90_000, 95_000], // ends at the start: out
  [95_000, 100_000], // exactly the window: in
  [95_000, 99_000], // starts at the start: in
  [96_000, 100_500], // ends after the end: out
  [94_999, 97_000], // starts before the start: out
  [96_000, 100_000], // ends at the end: in
] as const;

const FMT = ["-q", "-o", "fmt:%ts %te %sa %da %byt"];
const sorted = (s: string): string => s.split("\n").filter(Boolean).sort().join("\n");

describe.skipIf(NFDUMP_MISSING !== undefined)("-t window ends are inclusive (nfdump 1.7.1)", () => {
  let nffile = "";
  let tsfile = "";
  beforeAll(async () => {
    nffile = await captureWithNfcapd("time-window-v5-edges", () => [v5Datagram(FLOWS)]);
    tsfile = join(mkdtempSync(join(tmpdir(), "tsflow-tw-")), "flows.tsf");
    const w = await tsdumpInProcess(["-W", "1", "-r", nffile, "-w", tsfile]);
    expect(w.code).toBe(0);
  });

  it("nfdump keeps the flows starting at the start and ending at the end", async () => {
    const b = await nfdump(["-r", nffile, "-t", WINDOW, ...FMT]);
    expect(sorted(b).split("\n")).toHaveLength(3);
  });

  it.each([
    ["nfcapd file", () => nffile],
    ["tsflow copy", () => tsfile],
  ])("%s: the same flows and totals as nfdump", async (_name, file) => {
    const want = await nfdump(["-r", nffile, "-t", WINDOW, ...FMT]);
    const a = await tsdumpInProcess(["-W", "1", "-r", file(), "-t", WINDOW, ...FMT]);
    expect(a.code).toBe(0);
    expect(sorted(a.stdout)).toBe(sorted(want));
    const sums = ["-t", WINDOW, "-s", "proto/bytes", "-q"];
    const s = await tsdumpInProcess(["-W", "1", "-r", file(), ...sums]);
    expect(s.stdout).toBe(await nfdump(["-r", nffile, ...sums]));
  });

  it("a tsflow block of flows whose last seen precedes their first seen is not pruned away", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tsflow-tw-")), "reversed.tsf");
    const w = FlowFileWriter.open(file, { codec: "none" });
    const ms = T * 1000;
    // block 0: inside the window by nfdump's rule (first ≥ start, last ≤ end) though its last is before the
    // start; block 1: an ordinary flow in the window (the file's statistics record overlaps the window)
    for (const [first, last, src] of [
      [ms - 4000, ms - 6000, 0x0a000001],
      [ms - 2000, ms - 1000, 0x0a000003],
    ] as const) {
      const b = new RecordBatch(4);
      const row = b.addRow();
      b.cols.msecFirst[row] = first;
      b.cols.msecLast[row] = last;
      b.cols.proto[row] = 17;
      b.cols.inPackets[row] = 1;
      b.cols.inBytes[row] = 100;
      b.setV4("srcAddr", row, src);
      b.setV4("dstAddr", row, 0x0a000002);
      w.appendBatchSync(b);
    }
    w.closeSync();
    expect(w.blockCount).toBe(2);
    const a = await tsdumpInProcess(["-W", "1", "-r", file, "-t", WINDOW, "-q", "-o", "fmt:%sa %byt"]);
    expect(a.stdout.split("\n").map((l) => l.trim())).toEqual(["10.0.0.1      100", "10.0.0.3      100", ""]);
  });
});
