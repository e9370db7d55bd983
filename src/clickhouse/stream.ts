// SPDX-License-Identifier: BSD-3-Clause
// tscapd --clickhouse: the sink (sink.ts) runs on a thread of its own (stream-worker.ts), so encoding and HTTP
// never touch the receive, decode or write paths. The writer thread references each block it has stored in the
// spool's back-fill log (backfill.ts) and hands it to the sink through a BroadcastChannel (ClickHouseFeed: a copy
// of the used rows of the block's non-zero columns, with its reference), unless the sink is behind: then the
// reference alone stands for it, back-filled later. The main thread starts the sink, reads its counters for
// --metrics and stops it after the collector has closed its files.

import { BroadcastChannel, Worker } from "node:worker_threads";
import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type PhysicalName } from "../record/schema.js";
import type { FlowFileWriter } from "../store/index.js";
import { BackfillWriter, type RefPos } from "./backfill.js";
import type { ClickHouseTarget } from "./client.js";
import { emptyCounters, type SinkCounters } from "./counters.js";
import type { SinkLog } from "./sink.js";

/** Messages on the channel: blocks from the writer thread, and the main thread's stop. */
export type FeedMessage =
  | {
      readonly op: "block";
      readonly rows: number;
      readonly cols: Readonly<Record<string, ArrayBufferView>>;
      /** its reference in the back-fill log (null past the log's bound) */
      readonly ref: RefPos | null;
    }
  /**
   * once at start: the feed's counters, blocks (FEED_POSTED, FEED_TAKEN) and rows (FEED_DROPPED, FEED_REFERENCED),
   * and the writer's run (its posted blocks' references carry it)
   */
  | { readonly op: "shared"; readonly blocks: Int32Array; readonly rows: Float64Array; readonly run: string }
  | { readonly op: "stop"; readonly deadlineMs: number };

/** Messages from the sink's thread to the main thread. */
export type StreamReply =
  | { readonly op: "ready" }
  | { readonly op: "counters"; readonly counters: SinkCounters }
  | { readonly op: "log"; readonly level: "info" | "warn" | "error"; readonly message: string }
  | { readonly op: "stopped"; readonly counters: SinkCounters };

export interface StreamWorkerData {
  readonly target: ClickHouseTarget;
  readonly spoolDir: string;
  readonly channel: string;
}

/** The channel of this process (threads share the pid). */
export function feedChannelName(): string {
  return `tsflow-clickhouse-${process.pid}`;
}

/** Slots of the feed's shared block counters (Int32Array): blocks posted, blocks taken by the sink. */
export const FEED_POSTED = 0;
export const FEED_TAKEN = 1;
/**
 * Slots of the feed's shared row counters (Float64Array, written by the writer thread only): rows neither posted
 * nor referenced (the back-fill log at its bound), rows referenced for back-fill.
 */
export const FEED_DROPPED = 0;
export const FEED_REFERENCED = 1;
/**
 * Blocks posted and not yet taken beyond which the feed references blocks for back-fill instead of copying
 * them: the sink's thread runs at a lower priority, and the writer must never wait for it nor grow memory without
 * bound. TSFLOW_CLICKHOUSE_FEED_MAX_BEHIND (tests only) sets it: 0 references every block.
 */
export const FEED_MAX_BEHIND = feedMaxBehind(process.env["TSFLOW_CLICKHOUSE_FEED_MAX_BEHIND"]);

function feedMaxBehind(env: string | undefined): number {
  const n = Number(env);
  return env !== undefined && env !== "" && Number.isInteger(n) && n >= 0 ? n : 16;
}

/**
 * The writer thread's end: references every stored block in the back-fill log and posts a copy of it with its
 * reference, unless the sink is FEED_MAX_BEHIND behind: then the reference alone stands for the block (it is on
 * disk already), or, past the log's bound, its rows are counted dropped.
 */
export class ClickHouseFeed {
  private readonly channel = new BroadcastChannel(feedChannelName());
  private readonly blocks = new Int32Array(new SharedArrayBuffer(2 * 4));
  private readonly rows = new Float64Array(new SharedArrayBuffer(2 * 8));
  private readonly backfill: BackfillWriter;

  constructor(spoolDir: string) {
    this.channel.unref();
    this.backfill = new BackfillWriter(spoolDir);
    this.channel.postMessage({
      op: "shared",
      blocks: this.blocks,
      rows: this.rows,
      run: this.backfill.run,
    } satisfies FeedMessage);
  }

  /**
   * `zero`: physical columns known to be all zero in the block (not sent); `file`: the writer that stored it
   * (its last block is this one).
   */
  post(batch: RecordBatch, zero: ReadonlySet<string>, file: FlowFileWriter): void {
    const n = batch.length;
    if (n === 0) return;
    const behind = Atomics.load(this.blocks, FEED_POSTED) - Atomics.load(this.blocks, FEED_TAKEN) >= FEED_MAX_BEHIND;
    // every block is referenced before it is posted: a block in the sink's memory when the process dies is
    // back-filled by the next start
    let ref: RefPos | null = null;
    let referenced = false;
    try {
      const at = file.lastBlock;
      if (at !== undefined && at.rows === n) {
        const { dev, ino } = file.identity();
        const { offset, msecFirst, msecLast } = at;
        const b = { path: file.path, dev, ino, offset, rows: n, msecFirst, msecLast };
        if (behind) referenced = this.backfill.add(b);
        else ref = this.backfill.addPosted(b);
      }
    } catch {
      ref = null;
    }
    if (behind) {
      const slot = referenced ? FEED_REFERENCED : FEED_DROPPED;
      this.rows[slot] = this.rows[slot]! + n;
      return;
    }
    const cols: Record<string, ArrayBufferView> = {};
    for (const pc of PHYSICAL_COLUMNS) {
      if (zero.has(pc.name)) continue;
      cols[pc.name] = (batch.cols[pc.name as PhysicalName] as Uint8Array).slice(0, n * pc.width);
    }
    Atomics.add(this.blocks, FEED_POSTED, 1);
    this.channel.postMessage({ op: "block", rows: n, cols, ref } satisfies FeedMessage);
  }

  /** A file was closed under its final name (its references follow it). */
  renamed(from: string, to: string): void {
    this.backfill.renamed(from, to);
  }
}

/** The main thread's handle on the sink's thread. */
export class ClickHouseStream {
  counters: SinkCounters = emptyCounters();
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private stopped: (() => void) | null = null;

  constructor(target: ClickHouseTarget, spoolDir: string, log: SinkLog) {
    const data: StreamWorkerData = { target, spoolDir, channel: feedChannelName() };
    this.worker = new Worker(new URL("./stream-worker.js", import.meta.url), { workerData: data });
    this.ready = new Promise<void>((ok, fail) => {
      this.worker.on("message", (m: StreamReply) => {
        switch (m.op) {
          case "ready":
            ok();
            return;
          case "counters":
            this.counters = m.counters;
            return;
          case "log":
            log(m.level, m.message);
            return;
          case "stopped":
            this.counters = m.counters;
            this.stopped?.();
            return;
        }
      });
      this.worker.on("error", (err) => {
        log("error", `clickhouse thread failed: ${err.message}`);
        fail(err);
        this.stopped?.();
      });
      this.worker.on("exit", () => {
        this.stopped?.();
      });
    });
  }

  /** Resolves when the sink listens on the channel (blocks posted before would be lost). */
  start(): Promise<void> {
    return this.ready;
  }

  /** Sends what it can within the deadline, spools the rest; then the thread ends. */
  async stop(deadlineMs = 10_000): Promise<void> {
    const done = new Promise<void>((ok) => {
      this.stopped = ok;
    });
    // on the blocks' channel, so the stop is handled after every block the writer posted before it
    const channel = new BroadcastChannel(feedChannelName());
    channel.postMessage({ op: "stop", deadlineMs } satisfies FeedMessage);
    channel.close();
    await done;
    await this.worker.terminate();
  }
}
