// SPDX-License-Identifier: BSD-3-Clause
// Parallel scan: `-W` worker threads (scan-worker.ts) pull (file, block) work items from the main thread;
// each reads, filters and aggregates its blocks. Listing text returns per block and is written strictly in
// file/block order (out-of-order results wait, at most a few per worker); statistics and aggregation tables
// are merged once at the end. Hash-partitioned aggregation (`config.partition`) instead hands every block to
// every worker; each keeps the groups of its own partition, so the tables are disjoint and nothing is merged
// but each partition's best N.

import { Worker } from "node:worker_threads";
import type { Output } from "../format/index.js";
import { openAnyFlowFile } from "../store/nffile/index.js";
import type { BlockCounts, ScanConfig, ScanReply, ScanRequest } from "./scan-worker.js";
import type { Progress } from "./tty.js";

/** Work items each worker may hold at once (keeps it busy while its last result travels back). */
const PER_WORKER = 3;

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
  // the work list: every block of every file whose statistics record can overlap the window
  const items: { file: number; block: number }[] = [];
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
        for (let b = 0; b < r.blockCount; b++) items.push({ file, block: b });
      }
      r.close();
    } catch (e) {
      counts.damaged++;
      err(`tsdump: ${(e as Error).message}\n`);
    }
  });

  // hash-partitioned aggregation: every worker gets every block (in order) and keeps its partition's groups
  const broadcast = config.partition !== undefined;
  const pool = Array.from(
    { length: broadcast ? Math.max(1, config.partition.count) : Math.max(1, Math.min(workers, items.length)) },
    () => new Worker(new URL("./scan-worker.js", import.meta.url)),
  );
  const results = new Map<number, { counts: BlockCounts; text: string; errors: readonly string[] }>();
  const stats: unknown[][] = [];
  const aggregates: unknown[] = [];
  let next = 0; // next item to hand out
  let written = 0; // next seq to write
  let finals = 0;
  let failure: Error | null = null;

  await new Promise<void>((resolve) => {
    const send = (w: Worker, msg: ScanRequest): void => {
      w.postMessage(msg);
    };
    const feed = (w: Worker): void => {
      if (failure !== null || out.stopped) return;
      if (next < items.length) {
        const it = items[next]!;
        send(w, { type: "block", seq: next, file: it.file, block: it.block });
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
      if (done && finals === 0 && !broadcast) {
        finals = -1; // finishing
        for (const w of pool) send(w, { type: "finish" });
      }
    };
    let remaining = pool.length;
    for (const w of pool) {
      w.on("message", (msg: ScanReply) => {
        if (msg.type === "block") {
          results.set(msg.seq, msg);
          if (!broadcast) feed(w);
          drain();
        } else if (msg.type === "final") {
          stats.push([...msg.stats]);
          if (broadcast) aggregates[msg.index] = msg.aggregate;
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
      if (broadcast) {
        // every block to every worker at once (a few bytes each): no worker waits for another's results
        send(w, { type: "init", config: { ...config, partition: { ...config.partition, index: pool.indexOf(w) } } });
        items.forEach((it, seq) => {
          send(w, { type: "block", seq, file: it.file, block: it.block });
        });
        send(w, { type: "finish" });
        continue;
      }
      send(w, { type: "init", config });
      for (let k = 0; k < PER_WORKER; k++) feed(w);
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
