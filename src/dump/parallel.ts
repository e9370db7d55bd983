// SPDX-License-Identifier: BSD-3-Clause
// Parallel scan on `-W` threads: the main thread and -W − 1 worker threads (scan-worker.ts) take (file, block)
// work items from one list; each reads, filters and aggregates its blocks (scanner.ts). The main thread scans
// an item between the workers' messages (setImmediate), so it feeds them without delay and starts scanning at
// once, while a worker is still starting (a worker loads its own Node environment before its first block). Listing text
// returns per item and is written strictly in file/block order (out-of-order results wait, at most a few per
// worker); statistics and aggregation tables are merged once at the end. Hash-partitioned aggregation
// (`config.partition`, -A) runs on workers only and hands every block to worker 0, which keeps the groups of its
// hash partition and forwards the other rows (keys, hashes, counters) straight to the worker owning their
// partition: the tables are disjoint, every block is decoded once, and only each partition's best N come back
// to be merged.

import { pieceRules, type Output } from "../format/index.js";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { NfdumpFileReader, openAnyFlowFile } from "../store/nffile/index.js";
import { Scanner, type ScanConfig, type ScanReply, type ScanRequest } from "./scanner.js";
import type { CompiledFilter } from "../filter/index.js";
import { addCounts, countFile, emptyCounts, type ScanCounts } from "../engine/pipeline.js";
import type { Progress } from "./tty.js";
import { fileInWindow } from "../engine/window.js";

/**
 * Work items a running worker may hold at once: keeps it busy while its last result travels back and this thread
 * finishes the item it is scanning. A worker still starting holds one: this thread scans meanwhile.
 */
const PER_WORKER = 3;
/**
 * Blocks of an nfdump file per work item (a few thousand rows each): one message per 8 blocks instead of one each (each
 * reply wakes this thread; 150 items still balance two workers to within a few ms at the end).
 */
const NFFILE_BLOCKS_PER_ITEM = 8;

export interface ParallelResult {
  counts: ScanCounts;
  stats: unknown[][];
  aggregates: unknown[];
}

/**
 * Runs a scan over `config.files` with `workers` threads; listing text goes to `out` in order. `filter`: the
 * main thread's compiled filter of `config.filter`, reused by its own scanner.
 */
export async function runParallel(
  config: ScanConfig,
  workers: number,
  out: Output,
  err: (t: string) => void,
  progress?: Progress,
  filter?: CompiledFilter,
): Promise<ParallelResult> {
  const counts = emptyCounts();
  // a listing comes back in pieces, one per work item, joined with the format's separator (`,\n` for json);
  // a format that numbers its records (raw) is formatted on this thread alone
  const rules =
    config.mode === "list" && config.format !== undefined
      ? pieceRules(config.format)
      : { separator: "", sequential: false };
  if (rules.sequential) workers = 1;
  let pieces = 0;
  // the workers load their module graph while this thread builds the work list below;
  // hash-partitioned aggregation runs on `partition.count` workers, every other scan on this thread and -W − 1
  const pipeline = config.partition !== undefined;
  const spawned = Array.from(
    { length: pipeline ? Math.max(1, config.partition.count) : Math.max(0, workers - 1) },
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
      countFile(counts, s);
      const w = config.window;
      if (!w || fileInWindow(s, w)) {
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
  // more threads than work items (this one included)
  const pool = pipeline ? spawned : spawned.slice(0, Math.max(0, Math.min(workers, items.length) - 1));
  for (const w of spawned.slice(pool.length)) void w.terminate();
  const results = new Map<
    number,
    { counts: ScanCounts; text: Uint8Array; errors: readonly string[]; from: Worker | null }
  >();
  const stats: unknown[][] = [];
  const aggregates: unknown[] = [];
  let next = 0; // next item to hand out
  let written = 0; // next seq to write
  let finals = 0;
  let failure: Error | null = null;

  await new Promise<void>((resolve) => {
    // the scanner on this thread (not for partitioned aggregation): its replies arrive synchronously
    const local = pipeline
      ? null
      : new Scanner((msg) => {
          onReply(null, msg);
        });
    // (init is asynchronous: it may load the formatter or the statistics module)
    const localInit = local?.init({ type: "init", config }, filter);
    let localFinished = false;
    let remaining = pool.length + (local !== null ? 1 : 0);
    const send = (w: Worker, msg: ScanRequest, transfer: MessagePort[] = []): void => {
      w.postMessage(msg, transfer);
    };
    /** items each worker holds */
    const held = new Map<Worker, number>();
    const feed = (w: Worker, upTo: number): void => {
      let n = held.get(w) ?? 0;
      while (n < upTo && next < items.length && failure === null && !out.stopped) {
        const it = items[next]!;
        send(w, { type: "block", seq: next, file: it.file, block: it.block, count: it.count });
        next++;
        n++;
      }
      held.set(w, n);
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
        addCounts(counts, r.counts);
        if (r.text.length > 0) {
          if (pieces++ > 0 && rules.separator !== "") out.write(rules.separator);
          out.writeBytes(r.text);
          // the piece's buffer goes back to the thread that formatted it, for a later piece
          const buffer = r.text.buffer as ArrayBuffer;
          if (r.from === null) local?.recycle(buffer);
          else if (failure === null) r.from.postMessage({ type: "recycle", buffer } satisfies ScanRequest, [buffer]);
        }
        progress?.update(written, items.length, counts.processed);
      }
      const done = written >= items.length || failure !== null || out.stopped;
      if (done && finals === 0 && !pipeline) {
        finals = -1; // finishing
        for (const w of pool) send(w, { type: "finish" });
        finishLocal();
      }
    };
    const finishLocal = (): void => {
      if (local === null || localInit === undefined || localFinished) return;
      localFinished = true;
      localInit
        .then(() => {
          local.finish(); // replies "final" (onReply) before it returns
        })
        .catch((e: unknown) => {
          failure ??= e as Error;
          if (--remaining === 0) resolve();
        });
    };
    function onReply(w: Worker | null, msg: ScanReply): void {
      if (msg.type === "block") {
        results.set(msg.seq, { ...msg, from: w });
        if (w !== null && !pipeline) {
          held.set(w, (held.get(w) ?? 1) - 1);
          feed(w, PER_WORKER);
        }
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
    }
    for (const w of pool) {
      w.on("message", (msg: ScanReply) => {
        onReply(w, msg);
      });
      w.on("error", (e) => {
        failure ??= e;
        if (--remaining === 0) resolve();
      });
      if (!pipeline) {
        send(w, { type: "init", config });
        feed(w, 1);
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
    if (local !== null) {
      // between two items the event loop runs: the workers' replies are handled (and they are fed) at once
      const step = (): void => {
        if (failure !== null || out.stopped || next >= items.length || finals !== 0) return;
        const seq = next++;
        const it = items[seq]!;
        try {
          local.scanBlocks(seq, it.file, it.block, it.count);
        } catch (e) {
          failure ??= e as Error;
          drain();
          return;
        }
        setImmediate(step);
      };
      localInit!
        .then(() => {
          setImmediate(step);
        })
        .catch((e: unknown) => {
          failure ??= e as Error;
          drain();
        });
    }
    drain();
  });
  progress?.done();
  // every worker has replied: they end while this thread merges and prints (waiting for their exit delayed the
  // output by a few ms), and do not keep the process alive
  for (const w of pool) {
    w.unref();
    void w.terminate();
  }
  // assigned in the callbacks above, which TypeScript's narrowing does not see
  const failed = failure as Error | null;
  if (failed !== null) throw failed;
  return { counts, stats, aggregates };
}
