// SPDX-License-Identifier: BSD-3-Clause
// The thread of tscapd's ClickHouse sink: rebuilds each block posted by the writer thread as a RecordBatch
// (absent columns read as zeros) and pushes it to the ClickHouseSink; reports counters and log lines to the
// main thread. It runs at a lower priority than the receive, decode and writer threads (files first): when it
// cannot keep up (FEED_MAX_BEHIND), the writer only references the blocks it stored, and the sink back-fills
// them from the flow files once it has caught up (backfill.ts). Posted blocks are referenced too (with the
// writer's run): the sink marks them done once inserted or spooled, and a next start back-fills what was lost.

import { BroadcastChannel, parentPort, workerData } from "node:worker_threads";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type ColumnArrays } from "../record/schema.js";
import { lowerThreadPriority } from "../capd/thread-priority.js";
import { zeroArray } from "./backfill.js";
import type { SinkCounters } from "./counters.js";
import { ClickHouseSink } from "./sink.js";
import {
  FEED_DROPPED,
  FEED_POSTED,
  FEED_REFERENCED,
  FEED_TAKEN,
  type FeedMessage,
  type StreamReply,
  type StreamWorkerData,
} from "./stream.js";

/** Tests only: the thread sleeps this long per block taken (a slow sink, so the feed falls behind). */
const PAUSE_MS = Number(process.env["TSFLOW_CLICKHOUSE_SINK_PAUSE_MS"] ?? 0) || 0;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Nice increment of this thread over the process's. */
const SINK_NICE = 10;

const data = workerData as StreamWorkerData;
const post = (m: StreamReply): void => {
  parentPort!.postMessage(m);
};
const sink = new ClickHouseSink(data.target, data.spoolDir, (level, message) => {
  post({ op: "log", level, message });
});

/** The writer's shared counters (its first message). */
let blocks: Int32Array | null = null;
let rows: Float64Array | null = null;
sink.behind = () => (blocks === null ? 0 : Atomics.load(blocks, FEED_POSTED) - Atomics.load(blocks, FEED_TAKEN));
let dropped = 0;
const counters = (): SinkCounters => {
  const c = { ...sink.counters };
  if (rows !== null) {
    c.failed += rows[FEED_DROPPED]!;
    c.referenced = rows[FEED_REFERENCED]!;
    if (rows[FEED_DROPPED]! > dropped) {
      post({
        op: "log",
        level: "error",
        message: `clickhouse: back-fill log full: ${rows[FEED_DROPPED]! - dropped} more rows only in the flow files (counted failed)`,
      });
      dropped = rows[FEED_DROPPED]!;
    }
  }
  return c;
};

const channel = new BroadcastChannel(data.channel);
channel.onmessage = (event: unknown): void => {
  const m = (event as { data: FeedMessage }).data;
  if (m.op === "shared") {
    blocks = m.blocks;
    rows = m.rows;
    sink.streamRun(m.run);
    return;
  }
  if (m.op === "block") {
    if (PAUSE_MS > 0) Atomics.wait(pause, 0, 0, PAUSE_MS);
    const cols: Record<string, ArrayBufferView> = {};
    for (const pc of PHYSICAL_COLUMNS) cols[pc.name] = m.cols[pc.name] ?? zeroArray(pc.array, m.rows * pc.width);
    sink.push(RecordBatch.view(m.rows, cols as unknown as ColumnArrays), m.ref);
    if (blocks !== null) Atomics.add(blocks, FEED_TAKEN, 1);
    return;
  }
  void sink.stop(m.deadlineMs).then(() => {
    clearInterval(timer);
    channel.close();
    post({ op: "stopped", counters: counters() });
  });
};

const timer = setInterval(() => {
  post({ op: "counters", counters: counters() });
}, 1000);
lowerThreadPriority(SINK_NICE);
post({ op: "ready" });
