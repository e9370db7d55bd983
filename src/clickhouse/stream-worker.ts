// SPDX-License-Identifier: BSD-3-Clause
// The thread of tscapd's ClickHouse sink: rebuilds each block posted by the writer thread as a RecordBatch
// (absent columns read as zeros) and pushes it to the ClickHouseSink; reports counters and log lines to the
// main thread.

import { BroadcastChannel, parentPort, workerData } from "node:worker_threads";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, newArray, type ArrayType, type ColumnArrays } from "../record/schema.js";
import { ClickHouseSink } from "./sink.js";
import type { FeedMessage, StreamReply, StreamWorkerData } from "./stream.js";

const data = workerData as StreamWorkerData;
const post = (m: StreamReply): void => {
  parentPort!.postMessage(m);
};
const sink = new ClickHouseSink(data.target, data.spoolDir, (level, message) => {
  post({ op: "log", level, message });
});

/** Shared all-zero arrays standing in for the columns a block did not carry (never written). */
const zeros = new Map<ArrayType, ArrayBufferView & { length: number }>();
function zeroArray(type: ArrayType, length: number): ArrayBufferView {
  let z = zeros.get(type);
  if (z === undefined || z.length < length) {
    z = newArray(type, Math.max(length, 16384 * 4));
    zeros.set(type, z);
  }
  return (z as Uint8Array).subarray(0, length);
}

const channel = new BroadcastChannel(data.channel);
channel.onmessage = (event: unknown): void => {
  const m = (event as { data: FeedMessage }).data;
  if (m.op === "block") {
    const cols: Record<string, ArrayBufferView> = {};
    for (const pc of PHYSICAL_COLUMNS) cols[pc.name] = m.cols[pc.name] ?? zeroArray(pc.array, m.rows * pc.width);
    sink.push(RecordBatch.view(m.rows, cols as unknown as ColumnArrays));
    return;
  }
  void sink.stop(m.deadlineMs).then(() => {
    clearInterval(timer);
    channel.close();
    post({ op: "stopped", counters: { ...sink.counters } });
  });
};

const timer = setInterval(() => {
  post({ op: "counters", counters: { ...sink.counters } });
}, 1000);
post({ op: "ready" });
