// SPDX-License-Identifier: BSD-3-Clause
// The plan of a scan and its sequential execution.
//
//   planScan: which files, the per-block zone-map verdicts of tsflow files (read once, reused by the scan), and
//   whether worker threads pay off (enough candidate blocks left after pruning).
//   passingBlocks: per file (skipped by its statistics record and ident), per block: BlockPipeline.read, -c.
//
// Damaged files and blocks are reported through `onError` and counted; the scan goes on.

import type { ReadOrder } from "../store/read-ahead.js";
import { FlowFileReader } from "../store/reader.js";
import { openAnyFlowFile, type FlowFileSource } from "../store/nffile/index.js";
import type { RecordBatch } from "../record/batch.js";
import { BLOCK_DAMAGED, BLOCK_READ, BLOCK_SKIP, countFile, type BlockPipeline, type ScanCounts } from "./pipeline.js";
import { sumRows } from "./sums.js";

/**
 * Candidate blocks from which worker threads pay for their start-up (docs/benchmarks.md). The environment
 * variable TSFLOW_WORKER_MIN_BLOCKS overrides it (tests run the worker path on small files with it).
 */
export const WORKER_MIN_BLOCKS = minBlocksFromEnv(process.env["TSFLOW_WORKER_MIN_BLOCKS"]) ?? 256;

function minBlocksFromEnv(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

export interface ScanPlan {
  readonly files: readonly string[];
  /** per tsflow file read while planning: BLOCK_SKIP / BLOCK_READ / BLOCK_DAMAGED per block */
  readonly verdicts: ReadonlyMap<string, Uint8Array>;
  /** whether the scan should run on worker threads */
  readonly parallel: boolean;
}

/**
 * Plans a scan: worker threads (with `workers` > 1 and no `limit`) only when at least WORKER_MIN_BLOCKS blocks are
 * left to read, since below that starting them costs more than they save. Candidates are counted file by file
 * until there are enough: every block when every row passes (no filter, no window), else the blocks whose zone
 * maps may match (nfdump files have no zone maps: all their blocks are candidates). The verdicts read on the way
 * are kept for the sequential scan.
 */
export function planScan(
  files: readonly string[],
  pipeline: BlockPipeline,
  opts: { workers: number; limit?: number | undefined },
): ScanPlan {
  const verdicts = new Map<string, Uint8Array>();
  if (opts.workers <= 1 || opts.limit !== undefined) return { files, verdicts, parallel: false };
  const everything = pipeline.filter.matchesAll && pipeline.window === undefined;
  let candidates = 0;
  for (const file of files) {
    let reader: FlowFileSource;
    try {
      reader = openAnyFlowFile(file, {});
    } catch {
      continue; // reported by the scan itself
    }
    try {
      const blocks = reader.blockCount;
      if (everything || !(reader instanceof FlowFileReader)) candidates += blocks;
      else if (pipeline.fileMayMatch(reader)) {
        const ident = reader.header().ident;
        const mark = new Uint8Array(blocks);
        for (let bi = 0; bi < blocks; bi++) {
          const v = pipeline.verdict(reader, bi, ident);
          mark[bi] = v;
          if (v === BLOCK_READ) candidates++;
          if (candidates >= WORKER_MIN_BLOCKS) return { files, verdicts, parallel: true };
        }
        verdicts.set(file, mark);
      }
      if (candidates >= WORKER_MIN_BLOCKS) return { files, verdicts, parallel: true };
    } finally {
      reader.close();
    }
  }
  return { files, verdicts, parallel: false };
}

/**
 * The order of the blocks the scan reads in a file, when it is known (the plan's verdicts, or no filter and no
 * window: every block): the reader reads the next few ahead while one is decoded. Undefined when the zone maps
 * are consulted block by block.
 */
function readOrder(mark: Uint8Array | undefined, blocks: number, everyBlock: boolean): ReadOrder | undefined {
  if (mark === undefined) return everyBlock ? { next: (b) => (b + 1 < blocks ? b + 1 : undefined) } : undefined;
  return {
    next: (b) => {
      for (let j = b + 1; j < mark.length; j++) if (mark[j] === BLOCK_READ) return j;
      return undefined;
    },
  };
}

export interface ScanHooks {
  /** a damaged file, block or appendix (already counted) */
  readonly onError: (message: string) => void;
  /** stop after this many passing rows (-c) */
  readonly limit?: number | undefined;
  /** checked after every block: true ends the scan (a closed output) */
  readonly stopped?: (() => boolean) | undefined;
  /** false: the caller sums the passing rows into the footer's totals itself (addCounting in sums.ts) */
  readonly sums?: boolean | undefined;
  /** after every block of a file that is read: blocks done, blocks known so far, rows processed */
  readonly progress?: ((done: number, total: number, processed: number) => void) | undefined;
}

/**
 * The passing rows of every block of the plan's files, in file and block order: each batch with its selection
 * (valid until the next step), summed into `counts` (footer totals) before it is yielded unless `hooks.sums` is false.
 */
export function* passingBlocks(
  plan: ScanPlan,
  pipeline: BlockPipeline,
  counts: ScanCounts,
  hooks: ScanHooks,
): Generator<{ batch: RecordBatch; sel: Uint32Array; k: number }, void, undefined> {
  const limit = hooks.limit;
  let blocksDone = 0;
  let blocksTotal = 0;
  for (const file of plan.files) {
    if ((limit !== undefined && counts.passed >= limit) || hooks.stopped?.()) return;
    let reader: FlowFileSource;
    try {
      reader = openAnyFlowFile(file, {
        onError: (err) => {
          counts.damaged++;
          hooks.onError(err.message);
        },
      });
    } catch (err) {
      counts.damaged++;
      hooks.onError((err as Error).message);
      continue;
    }
    try {
      countFile(counts, reader.stats());
      if (!pipeline.fileMayMatch(reader)) continue;
      const ident = reader.header().ident;
      const blocks = reader.blockCount;
      blocksTotal += blocks;
      const mark = plan.verdicts.get(file);
      const order = readOrder(mark, blocks, pipeline.readsEveryBlock);
      for (let bi = 0; bi < blocks; bi++) {
        hooks.progress?.(blocksDone++, blocksTotal, counts.processed);
        const v = mark?.[bi];
        // a block the plan found damaged is read again here, so that the reader reports it
        const r = pipeline.read(
          reader,
          bi,
          ident,
          counts,
          v === BLOCK_DAMAGED ? undefined : v,
          // a skipped block reads nothing: no search for the next ones (a walk per skipped block of a long gap)
          v === BLOCK_SKIP ? undefined : order,
        );
        if (r === undefined) continue;
        let k = r.k;
        if (limit !== undefined && counts.passed + k > limit) k = limit - counts.passed;
        if (k <= 0) break;
        counts.passed += k;
        if (hooks.sums !== false) sumRows(r.batch, pipeline.sel, k, counts);
        yield { batch: r.batch, sel: pipeline.sel, k };
        if ((limit !== undefined && counts.passed >= limit) || hooks.stopped?.()) break;
      }
    } finally {
      reader.close();
    }
  }
}
