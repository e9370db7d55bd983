// SPDX-License-Identifier: BSD-3-Clause
// The decode thread: runs the Collector (routing, decoding, templates, rotation, the writer
// thread's handle) fed from the receive ring in arrival order. Log lines, fatal errors and counter snapshots go
// to the main thread as messages; ingest-thread.ts is the main thread's handle.

import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { MonitorFeed } from "../monitor/feed.js";
import { FlowError } from "../util/errors.js";
import { Logger } from "../util/log.js";
import { Collector, FatalError, type CollectorCounters } from "./collector.js";
import type { CollectorOptions } from "./options.js";
import { RingConsumer, type DatagramHandler, type RingBuffers } from "./ring.js";
import { lowerThreadPriority } from "./thread-priority.js";
import type { ExporterCounters } from "../decode/index.js";

export interface IngestWorkerData {
  readonly options: CollectorOptions;
  readonly creator: string;
  readonly ring: RingBuffers;
  /** --monitor: the monitor thread's feed port and the columns it reads */
  readonly monitor?: { readonly port: MessagePort; readonly columns: readonly string[] };
}

export type IngestRequest = { readonly op: "start" } | { readonly op: "stop" };

export type IngestReply =
  | { readonly op: "log"; readonly line: string }
  | { readonly op: "started" }
  | { readonly op: "start-failed"; readonly message: string }
  | { readonly op: "fatal"; readonly message: string }
  | {
      readonly op: "sample";
      readonly counters: CollectorCounters;
      readonly exporters: readonly ExporterCounters[];
    }
  | { readonly op: "stopped"; readonly error?: string };

/** Datagrams decoded between looks at the clock; a turn of the event loop lasts at most SLICE_MS. */
const CHUNK = 256;
const SLICE_MS = 20;
const SAMPLE_MS = 100;
/** TERM must be done within 2 s: decoding the queue gets 1 s of it. */
const STOP_DRAIN_MS = 1000;

/** What the pump waits for: nothing (running or scheduled), the ring (empty), the writer (behind). */
const Wait = { NONE: 0, RING: 1, WRITER: 2 } as const;
let waiting: number = Wait.NONE;

lowerThreadPriority();
const port = parentPort!;
const post = (msg: IngestReply): void => {
  port.postMessage(msg);
};
const data = workerData as IngestWorkerData;
const log = new Logger({
  level: data.options.verbose > 0 ? "debug" : "info",
  sink: {
    write: (line) => {
      post({ op: "log", line });
    },
  },
});
const collector = new Collector(data.options, log, data.creator, (message) => {
  post({ op: "fatal", message });
});
if (data.monitor) collector.monitor = new MonitorFeed(data.monitor.port, data.monitor.columns);
const ring = new RingConsumer(data.ring);
const handle: DatagramHandler = (datagram, address, sender, nowMs) => {
  collector.receive(datagram, address, sender, nowMs);
};
let stopping = false;

/** Decodes what is queued, yielding to the event loop (writer replies, timers) every SLICE_MS. */
function pump(): void {
  if (stopping || waiting !== Wait.NONE) return;
  const t0 = performance.now();
  for (;;) {
    if (collector.backlogged) {
      // the writer is behind: leave the datagrams in the ring until it has written a block
      waiting = Wait.WRITER;
      return;
    }
    if (ring.drain(handle, CHUNK) < CHUNK) break;
    if (performance.now() - t0 > SLICE_MS) {
      setImmediate(pump);
      return;
    }
  }
  waiting = Wait.RING;
  void ring.wait().then(() => {
    waiting = Wait.NONE;
    pump();
  });
}

collector.onWriterProgress = () => {
  if (waiting === Wait.WRITER) {
    waiting = Wait.NONE;
    pump();
  }
};

/** At TERM: decode what is queued (waiting for the writer as usual) for at most STOP_DRAIN_MS, drop the rest. */
async function drainForStop(): Promise<void> {
  const deadline = performance.now() + STOP_DRAIN_MS;
  while (!ring.empty && performance.now() < deadline) {
    if (collector.backlogged) await new Promise((r) => setTimeout(r, 2));
    else ring.drain(handle, CHUNK);
  }
  const left = ring.discard();
  if (left > 0) log.warn(`stopping: ${left} datagrams still queued were not decoded`);
}

const sampler = setInterval(() => {
  const s = collector.sample();
  post({ op: "sample", counters: s.counters, exporters: s.exporters });
}, SAMPLE_MS);

port.on("message", (msg: IngestRequest) => {
  if (msg.op === "start") {
    start();
    return;
  }
  if (stopping) return;
  // the sockets are closed: decode what is still queued, then flush and close every file
  stopping = true;
  clearInterval(sampler);
  drainForStop()
    .then(() => collector.stop())
    .then(
      () => {
        collector.monitor?.end();
        const s = collector.sample();
        post({ op: "sample", counters: s.counters, exporters: s.exporters });
        post({ op: "stopped" });
      },
      (err: unknown) => {
        post({ op: "stopped", error: (err as Error).message });
      },
    );
});

/** After the main thread has bound the sockets: directories, recovery, templates, first files, decoding. */
function start(): void {
  try {
    collector.start();
  } catch (err) {
    post({
      op: "start-failed",
      message:
        err instanceof FatalError || err instanceof FlowError ? err.message : String((err as Error).stack ?? err),
    });
    return;
  }
  post({ op: "started" });
  pump();
}
