// The writer thread's warm-up (writer-warmup.ts): its synthetic blocks go through the whole write path — column
// encoders, zone maps with address sets and Bloom filters, LZ4 — and read back as written.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { warmupBatch, warmWriter } from "../../../src/capd/writer-warmup.js";
import { FlowFileReader, FlowFileWriter } from "../../../src/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsflow-warmup-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("writer warm-up", () => {
  it("writes its three blocks of 16384 rows into /dev/null", () => {
    expect(warmWriter()).toBe(3 * 16384);
  });

  it("its blocks take the full path (LZ4, address sets) and read back equal", () => {
    const path = join(dir, "warm.tsflow");
    const w = FlowFileWriter.open(path);
    const batches = [0, 1, 2].map((b) => warmupBatch(b));
    for (const b of batches) w.appendBatchSync(b, { compress: true, sets: true });
    w.closeSync();
    const r = FlowFileReader.open(path);
    expect(r.stats().flows.reduce((a, b) => a + b, 0)).toBe(3 * 16384);
    for (let i = 0; i < 3; i++) {
      const got = r.readBlock(i)!;
      const want = batches[i]!;
      expect(got.length).toBe(16384);
      for (const name of ["srcAddr", "dstAddr", "dstPort", "inBytes", "msecFirst", "srcAs", "input"] as const)
        expect(Array.from(got.cols[name].subarray(0, 16384))).toEqual(Array.from(want.cols[name].subarray(0, 16384)));
      // a host of the block is admitted by its zone map, a host outside the synthetic ranges is not
      const z = r.zoneMap(i)!;
      expect(z.mayContainV4("srcAddr", want.cols.srcAddr[7]!, want.cols.srcAddr[7]!)).toBe(true);
      expect(z.mayContainV4("srcAddr", 0x0b000001, 0x0b000001)).toBe(false);
    }
    r.close();
  });
});
