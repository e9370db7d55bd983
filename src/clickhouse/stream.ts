// SPDX-License-Identifier: BSD-3-Clause
// tscapd --clickhouse: the sink (sink.ts) runs on a thread of its own (stream-worker.ts), so encoding and HTTP
// never touch the receive, decode or write paths. The writer thread hands each block it has stored to it
// through a BroadcastChannel (ClickHouseFeed: a copy of the used rows of the block's non-zero columns); the
// main thread starts it, reads its counters for --metrics and stops it after the collector has closed its files.

import { BroadcastChannel, Worker } from "node:worker_threads";
import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type PhysicalName } from "../record/schema.js";
import type { ClickHouseTarget } from "./client.js";
import type { SinkCounters, SinkLog } from "./sink.js";

/** Messages on the channel: blocks from the writer thread, and the main thread's stop. */
export type FeedMessage =
  | {
      readonly op: "block";
      readonly rows: number;
      readonly cols: Readonly<Record<string, ArrayBufferView>>;
      /** the feed's counters (FEED_POSTED, FEED_TAKEN, FEED_DROPPED), shared with the sink's thread */
      readonly shared: Int32Array;
    }
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

/** Slots of the feed's shared counters: blocks posted, blocks taken by the sink, rows dropped (sink behind). */
export const FEED_POSTED = 0;
export const FEED_TAKEN = 1;
export const FEED_DROPPED = 2;
/**
 * Blocks posted and not yet taken beyond which the feed drops blocks (counted as failed rows): the sink's thread
 * runs at a lower priority, and the writer must never wait for it nor grow memory without bound.
 */
export const FEED_MAX_BEHIND = 16;

/** The writer thread's end: posts a copy of every stored block, unless the sink is FEED_MAX_BEHIND behind. */
export class ClickHouseFeed {
  private readonly channel = new BroadcastChannel(feedChannelName());
  private readonly shared = new Int32Array(new SharedArrayBuffer(3 * 4));

  constructor() {
    this.channel.unref();
  }

  /** `zero`: physical columns known to be all zero in the block (not sent). */
  post(batch: RecordBatch, zero: ReadonlySet<string>): void {
    const n = batch.length;
    if (n === 0) return;
    if (Atomics.load(this.shared, FEED_POSTED) - Atomics.load(this.shared, FEED_TAKEN) >= FEED_MAX_BEHIND) {
      Atomics.add(this.shared, FEED_DROPPED, n);
      return;
    }
    const cols: Record<string, ArrayBufferView> = {};
    for (const pc of PHYSICAL_COLUMNS) {
      if (zero.has(pc.name)) continue;
      cols[pc.name] = (batch.cols[pc.name as PhysicalName] as Uint8Array).slice(0, n * pc.width);
    }
    Atomics.add(this.shared, FEED_POSTED, 1);
    this.channel.postMessage({ op: "block", rows: n, cols, shared: this.shared } satisfies FeedMessage);
  }
}

/** The main thread's handle on the sink's thread. */
export class ClickHouseStream {
  counters: SinkCounters = { sent: 0, spooled: 0, failed: 0, duplicates: 0, spoolBatches: 0, spoolBytes: 0 };
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
