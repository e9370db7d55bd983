// SPDX-License-Identifier: BSD-3-Clause
// The main thread's side of the collector: it binds the sockets (a receiver, receivers.ts) and runs the
// Collector on a decode thread (ingest-worker.ts), which in turn hands batches to the writer thread. Three
// threads, each with one job: receive (the native receiver's pthread, or the main thread on node:dgram),
// decode (ingest worker), encode and write (writer worker). The main thread also keeps the signals, the log
// file and the metrics server; the decode thread's counters reach it as snapshots.

import { Worker, type MessagePort } from "node:worker_threads";
import type { ExporterCounters } from "../decode/index.js";
import type { LogSink, Logger } from "../util/log.js";
import { FatalError, type CollectorCounters } from "./collector.js";
import type { IngestReply, IngestRequest, IngestWorkerData } from "./ingest-worker.js";
import type { CollectorOptions } from "./options.js";
import type { PacketReceiver } from "./receiver.js";
import { createReceiver } from "./receivers.js";
import { startThreadPool, WORKER_NICE_JS } from "./thread-priority.js";
import { createRing } from "./ring.js";

/** Default size of the receive ring: about half a second of a 95 k datagrams/s stream of 1.3 KB datagrams. */
export const DEFAULT_RECEIVE_QUEUE = 64 * 1024 * 1024;

export interface IngestCounters extends CollectorCounters {
  /** datagrams dropped because the receive ring was full */
  queueDropped: number;
}

export class IngestThread {
  private readonly receiver: PacketReceiver;
  private readonly worker: Worker;
  private readonly data: IngestWorkerData;
  private readonly log: Logger;
  private counters: CollectorCounters = {
    datagrams: 0,
    notAllowed: 0,
    badPackets: 0,
    crashes: 0,
    flowsStored: 0,
    flowsDropped: 0,
    filesWritten: 0,
  };
  private exporters: readonly ExporterCounters[] = [];
  private started: { ok(): void; fail(err: Error): void } | null = null;
  private stopped: { ok(): void; fail(err: Error): void } | null = null;
  private stopping: Promise<void> | null = null;
  /** the decode thread is gone (failed, or terminated by stop) */
  private dead = false;

  constructor(
    options: CollectorOptions,
    log: Logger,
    sink: LogSink,
    creator: string,
    onFatal: (msg: string) => void,
    queueBytes = DEFAULT_RECEIVE_QUEUE,
    monitor?: { readonly port: MessagePort; readonly columns: readonly string[] },
  ) {
    this.log = log;
    const ring = createRing(queueBytes);
    this.receiver = createReceiver(options, log, ring);
    this.data = { options, creator, ring, ...(monitor ? { monitor } : {}) };
    // the decode thread and the writer thread it starts take their nice increment from the receiver in use
    startThreadPool(); // before the threads that lower their priority
    const nice = process.env["TSCAPD_WORKER_NICE"] ?? String(this.receiver.native ? 0 : WORKER_NICE_JS);
    this.worker = new Worker(new URL("./ingest-worker.js", import.meta.url), {
      workerData: this.data,
      env: { ...process.env, TSCAPD_WORKER_NICE: nice },
      ...(monitor ? { transferList: [monitor.port] } : {}),
    });
    this.worker.on("message", (msg: IngestReply) => {
      switch (msg.op) {
        case "log":
          sink.write(msg.line);
          return;
        case "sample":
          this.counters = msg.counters;
          this.exporters = msg.exporters;
          return;
        case "started":
          this.started?.ok();
          return;
        case "start-failed":
          this.started?.fail(new FatalError(msg.message));
          return;
        case "fatal":
          onFatal(msg.message);
          return;
        case "stopped":
          if (msg.error !== undefined) this.stopped?.fail(new Error(msg.error));
          else this.stopped?.ok();
          return;
      }
    });
    const died = (e: Error): void => {
      if (this.dead) return;
      this.dead = true;
      this.started?.fail(e);
      this.stopped?.fail(e);
      if (this.stopping === null) onFatal(e.message);
    };
    this.worker.on("error", (err) => {
      died(new Error(`decode thread failed: ${err.stack ?? err.message}`));
    });
    this.worker.on("exit", (code) => {
      died(new Error(`decode thread exited (${code})`));
    });
  }

  /** Binds the sockets (datagrams queue in the ring at once), then starts the collector on the decode thread. */
  async start(): Promise<void> {
    const ready = new Promise<void>((ok, fail) => {
      this.started = { ok, fail };
    });
    try {
      await this.receiver.bind();
    } catch (err) {
      this.dead = true;
      await this.worker.terminate();
      throw err;
    }
    this.worker.postMessage({ op: "start" } satisfies IngestRequest);
    try {
      await ready;
    } catch (err) {
      this.dead = true;
      this.receiver.close();
      await this.worker.terminate();
      throw err;
    }
    this.receiver.announce();
  }

  /** The port actually bound (tests bind port 0). */
  get port(): number {
    return this.receiver.port;
  }

  /** TERM/INT: stop receiving, decode what is queued, flush and close every file. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.receiver.close();
      if (this.receiver.queueDropped > 0)
        this.log.warn(`receive queue: ${this.receiver.queueDropped} datagrams dropped (decoder behind)`);
      if (this.dead) throw new Error("decode thread failed; its open files are left for recovery");
      const done = new Promise<void>((ok, fail) => {
        this.stopped = { ok, fail };
      });
      this.worker.postMessage({ op: "stop" } satisfies IngestRequest);
      try {
        await done;
      } finally {
        this.dead = true;
        await this.worker.terminate();
      }
    })();
    return this.stopping;
  }

  /** Counters for metrics: received datagrams counted here, the rest as of the decode thread's last snapshot. */
  sample(): { counters: IngestCounters; exporters: readonly ExporterCounters[] } {
    return {
      counters: {
        ...this.counters,
        datagrams: this.receiver.datagrams,
        // refused by the receiver (allow-list) or by the collector (-M beyond its source limit)
        notAllowed: this.counters.notAllowed + this.receiver.notAllowed,
        queueDropped: this.receiver.queueDropped,
      },
      exporters: this.exporters,
    };
  }
}
