// The scan plan's choice of worker threads: only when enough blocks are left to read, never for a small input.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BLOCK_READ, BLOCK_SKIP, BlockPipeline, emptyCounts } from "../../../src/engine/pipeline.js";
import { passingBlocks, planScan, WORKER_MIN_BLOCKS } from "../../../src/engine/scan.js";
import { compileFilter } from "../../../src/filter/index.js";
import type { ReadOrder } from "../../../src/store/read-ahead.js";
import { FlowFileReader } from "../../../src/store/reader.js";
import { FlowFileWriter } from "../../../src/store/writer.js";
import { randomBatch, tempDir } from "../store/helpers.js";

const dir = tempDir();
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A tsflow file of `blocks` blocks of 20 rows. */
function writeFile(name: string, blocks: number): string {
  const file = path.join(dir, name);
  const w = FlowFileWriter.open(file, { fsync: false });
  for (let b = 0; b < blocks; b++) w.appendBatchSync(randomBatch(7 + b, 20, { t0: 1_795_435_500_000 + b * 1000 }));
  w.closeSync();
  return file;
}

let small: string[] = [];
let large: string[] = [];
beforeAll(() => {
  small = [writeFile("small-a", 5), writeFile("small-b", 7)];
  const half = Math.ceil(WORKER_MIN_BLOCKS / 2);
  large = [writeFile("large-a", half), writeFile("large-b", half)];
});

describe("planScan", () => {
  const everything = (): BlockPipeline => new BlockPipeline(compileFilter("any"), undefined, undefined);

  it("scans a small input on the calling thread even when every row passes and workers are allowed", () => {
    const plan = planScan(small, everything(), { workers: 4 });
    expect(plan.parallel).toBe(false);
    expect(plan.files).toEqual(small);
  });

  it("uses workers once the files hold WORKER_MIN_BLOCKS blocks to read", () => {
    expect(planScan(large, everything(), { workers: 2 }).parallel).toBe(true);
    expect(planScan(large.slice(0, 1), everything(), { workers: 2 }).parallel).toBe(false);
  });

  it("never with one thread or a row limit (-c)", () => {
    expect(planScan(large, everything(), { workers: 1 }).parallel).toBe(false);
    expect(planScan(large, everything(), { workers: 2, limit: 10 }).parallel).toBe(false);
  });

  it("with a filter: counts only the blocks whose zone maps may match, and keeps their verdicts", () => {
    const none = new BlockPipeline(compileFilter("proto 250 and src port 1"), undefined, undefined);
    const plan = planScan(large, none, { workers: 2 });
    expect(plan.parallel).toBe(false);
    expect([...plan.verdicts.keys()]).toEqual(large);
    const some = new BlockPipeline(compileFilter("bytes > 0"), undefined, undefined);
    expect(planScan(large, some, { workers: 2 }).parallel).toBe(true);
    expect(planScan(small, some, { workers: 2 }).parallel).toBe(false);
  });
});

describe("passingBlocks' read order (the reader's read-ahead queue)", () => {
  /** The blocks read and, at each read, the order given: the blocks after it that it lists. */
  function reads(pipeline: BlockPipeline, file: string, mark?: Uint8Array): [number, number[]][] {
    const seen: [number, number[]][] = [];
    const spy = (i: number, _c: unknown, ahead?: number | ReadOrder): void => {
      const after: number[] = [];
      if (typeof ahead === "object")
        for (let b = ahead.next(i); b !== undefined && after.length < 20; b = ahead.next(b)) after.push(b);
      seen.push([i, after]);
    };
    const a = vi.spyOn(FlowFileReader.prototype, "readBlock").mockImplementation((i, c, ahead) => {
      spy(i, c, ahead);
      return undefined;
    });
    const b = vi.spyOn(FlowFileReader.prototype, "readBlockLazy").mockImplementation((i, c, ahead) => {
      spy(i, c, ahead);
      return undefined;
    });
    try {
      const verdicts = new Map(mark ? [[file, mark]] : []);
      const plan = { files: [file], verdicts, parallel: false };
      const blocks = passingBlocks(plan, pipeline, emptyCounts(), { onError: () => {} });
      expect([...blocks]).toEqual([]); // nothing decoded: readBlock is a spy
    } finally {
      a.mockRestore();
      b.mockRestore();
    }
    return seen;
  }

  it("every block in order when every row passes; the plan's blocks to read with a filter", () => {
    const all = reads(new BlockPipeline(compileFilter("any"), undefined, undefined), small[1]!);
    expect(all.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(all[0]![1]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[5]![1]).toEqual([6]);
    const R = BLOCK_READ;
    const S = BLOCK_SKIP;
    const mark = Uint8Array.of(R, S, S, R, R, S, R);
    const some = reads(new BlockPipeline(compileFilter("bytes > 0"), undefined, undefined), small[1]!, mark);
    expect(some).toEqual([
      [0, [3, 4, 6]],
      [3, [4, 6]],
      [4, [6]],
      [6, []],
    ]);
  });
});
