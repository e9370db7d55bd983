// SPDX-License-Identifier: BSD-3-Clause
// Parallel scan: `-W` worker threads (scan-worker.ts) pull (file, block) work items from the main thread;
// each reads, filters and aggregates its blocks. Listing text returns per block and is written strictly in
// file/block order (out-of-order results wait, at most a few per worker); statistics and aggregation tables
// are merged once at the end. Hash-partitioned aggregation (`config.partition`, -A) instead hands every block
// to worker 0, which keeps the groups of its hash partition and forwards the other rows (keys, hashes,
// counters) straight to the worker owning their partition: the tables are disjoint, every block is decoded
// once, and only each partition's best N come back to be merged.

import type { Output } from "../format/index.js";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { NfdumpFileReader, openAnyFlowFile } from "../store/nffile/index.js";
import type { BlockCounts, ScanConfig, ScanReply, ScanRequest } from "./scan-worker.js";
import type { Progress } from "./tty.js";

/** Work items each worker may hold at once (keeps it busy while its last result travels back). */
const PER_WORKER = 3;
/**
 * Blocks of an nfdump file per work item (≈ 8 k rows each): one message per 8 blocks instead of one each (each
 * reply wakes this thread; 150 items still balance two workers to within a few ms at the end).
 */
const NFFILE_BLOCKS_PER_ITEM = 8;

export interface ParallelResult {
  counts: BlockCounts & { blocksSkipped: number; fileFirst: number; fileLast: number; damaged: number };
  stats: unknown[][];
  aggregates: unknown[];
}

/** Runs a scan over `config.files` with `workers` threads; listing text goes to `out` in order. */
export async function runParallel(
  config: ScanConfig,
  workers: number,
  out: Output,
  err: (t: string) => void,
  progress?: Progress,
): Promise<ParallelResult> {
  const counts = {
    processed: 0,
    passed: 0,
    skipped: 0,
    bytesRead: 0,
    flows: 0,
    bytes: 0,
    packets: 0,
    first: Infinity,
    last: -Infinity,
    blocksSkipped: 0,
    fileFirst: Infinity,
    fileLast: -Infinity,
    damaged: 0,
  };
  // the workers load their module graph (≈ 0.2 s CPU each) while this thread builds the work list below
  const pipeline = config.partition !== undefined;
  const spawned = Array.from(
    { length: pipeline ? Math.max(1, config.partition.count) : Math.max(1, workers) },
    () => new Worker(new URL("./scan-worker.js", import.meta.url)),
  );
  // the work list: every block of every file whose statistics record can overlap the window
  const items: { file: number; block: number; count: number }[] = [];
  config.files.forEach((path, file) => {
    try {
      const r = openAnyFlowFile(path, {
        onError: (e) => {
          counts.damaged++;
          err(`tsdump: ${e.message}\n`);
        },
      });
      const s = r.stats();
      if (s.msecFirst > 0 || s.msecLast > 0) {
        counts.fileFirst = Math.min(counts.fileFirst, s.msecFirst);
        counts.fileLast = Math.max(counts.fileLast, s.msecLast);
      }
      const w = config.window;
      if (!(w && s.rows > 0 && (s.msecLast < w.start || s.msecFirst > w.end))) {
        // nfdump blocks go out NFFILE_BLOCKS_PER_ITEM at a time: fewer messages for the same work
        const per = r instanceof NfdumpFileReader ? NFFILE_BLOCKS_PER_ITEM : 1;
        for (let b = 0; b < r.blockCount; b += per)
          items.push({ file, block: b, count: Math.min(per, r.blockCount - b) });
      }
      r.close();
    } catch (e) {
      counts.damaged++;
      err(`tsdump: ${(e as Error).message}\n`);
    }
  });

  // hash-partitioned aggregation: worker 0 reads every block and forwards the other partitions' rows; else no
  // more workers than work items
  const pool = pipeline ? spawned : spawned.slice(0, Math.max(1, Math.min(workers, items.length)));
  for (const w of spawned.slice(pool.length)) void w.terminate();
  const results = new Map<number, { counts: BlockCounts; text: string; errors: readonly string[] }>();
  const stats: unknown[][] = [];
  const aggregates: unknown[] = [];
  let next = 0; // next item to hand out
  let written = 0; // next seq to write
  let finals = 0;
  let failure: Error | null = null;

  await new Promise<void>((resolve) => {
    const send = (w: Worker, msg: ScanRequest, transfer: MessagePort[] = []): void => {
      w.postMessage(msg, transfer);
    };
    const feed = (w: Worker): void => {
      if (failure !== null || out.stopped) return;
      if (next < items.length) {
        const it = items[next]!;
        send(w, { type: "block", seq: next, file: it.file, block: it.block, count: it.count });
        next++;
      }
    };
    const drain = (): void => {
      for (;;) {
        const r = results.get(written);
        if (r === undefined) break;
        results.delete(written);
        written++;
        for (const e of r.errors) {
          counts.damaged++;
          err(`tsdump: ${e}\n`);
        }
        const c = r.counts;
        counts.processed += c.processed;
        counts.passed += c.passed;
        counts.blocksSkipped += c.skipped;
        counts.bytesRead += c.bytesRead;
        counts.flows += c.flows;
        counts.bytes += c.bytes;
        counts.packets += c.packets;
        if (c.first < counts.first) counts.first = c.first;
        if (c.last > counts.last) counts.last = c.last;
        if (r.text.length > 0) out.write(r.text);
        progress?.update(written, items.length, counts.processed);
      }
      const done = written >= items.length || failure !== null || out.stopped;
      if (done && finals === 0 && !pipeline) {
        finals = -1; // finishing
        for (const w of pool) send(w, { type: "finish" });
      }
    };
    let remaining = pool.length;
    for (const w of pool) {
      w.on("message", (msg: ScanReply) => {
        if (msg.type === "block") {
          results.set(msg.seq, msg);
          if (!pipeline) feed(w);
          drain();
        } else if (msg.type === "final") {
          stats.push([...msg.stats]);
          if (pipeline) aggregates[msg.index] = msg.aggregate;
          else aggregates.push(msg.aggregate);
          if (--remaining === 0) resolve();
        } else {
          failure ??= new Error(msg.message);
          drain();
        }
      });
      w.on("error", (e) => {
        failure ??= e;
        if (--remaining === 0) resolve();
      });
      if (!pipeline) {
        send(w, { type: "init", config });
        for (let k = 0; k < PER_WORKER; k++) feed(w);
      }
    }
    if (pipeline) {
      // worker 0 gets every block at once (a few bytes each) and a port to each other worker, which gets the
      // rows of its partition through that port; `flow[i]`: forwarded messages worker i has aggregated
      const flow = new Int32Array(new SharedArrayBuffer(4 * pool.length));
      const channels = pool.slice(1).map(() => new MessageChannel());
      const p = config.partition;
      const part = (index: number): ScanConfig => ({ ...config, partition: { ...p, index } });
      const peers = channels.map((ch) => ch.port1);
      send(pool[0]!, { type: "init", config: part(0), peers, flow }, peers);
      channels.forEach((ch, i) => {
        send(pool[i + 1]!, { type: "init", config: part(i + 1), source: ch.port2, flow }, [ch.port2]);
      });
      items.forEach((it, seq) => {
        send(pool[0]!, { type: "block", seq, file: it.file, block: it.block, count: it.count });
      });
      send(pool[0]!, { type: "finish" });
    }
    drain();
  });
  progress?.done();
  await Promise.all(pool.map((w) => w.terminate()));
  // assigned in the callbacks above, which TypeScript's narrowing does not see
  const failed = failure as Error | null;
  if (failed !== null) throw failed;
  return { counts, stats, aggregates };
}
