// SPDX-License-Identifier: BSD-3-Clause
// The main thread's handle on the monitor thread (worker.ts): starts it with the checked configuration, hands
// out the MessagePort the decode thread feeds rows into, reloads the configuration (SIGHUP: a bad file is
// refused and the running configuration kept), relays log lines, keeps the last sample for the metrics.

import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { Logger } from "../util/log.js";
import { loadMonitorConfig, monitorColumns, type MonitorsConfig } from "./config.js";
import type { MonitorReply, MonitorRequest, MonitorThreadSample, MonitorWorkerData } from "./monitor-worker.js";

export class MonitorThread {
  /** the decode thread's end of the feed channel, and the columns to send at first */
  readonly feedPort: MessagePort;
  readonly columns: readonly string[];
  private readonly worker: Worker;
  private readonly file: string;
  private readonly log: Logger;
  private last: MonitorThreadSample = {
    monitors: [],
    rowsDropped: 0,
    rowsSeen: 0,
    exec: { started: 0, ok: 0, failed: 0, dropped: 0, limited: 0 },
  };
  private stopped: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  constructor(config: MonitorsConfig, flowDir: string, eventsFile: string | undefined, log: Logger) {
    this.file = config.file;
    this.log = log;
    this.columns = monitorColumns(config);
    const channel = new MessageChannel();
    this.feedPort = channel.port2;
    const data: MonitorWorkerData = { config, flowDir, eventsFile, feed: channel.port1 };
    this.worker = new Worker(new URL("./monitor-worker.js", import.meta.url), {
      workerData: data,
      transferList: [channel.port1],
    });
    this.worker.on("message", (m: MonitorReply) => {
      switch (m.op) {
        case "log":
          log.limited(m.level, `monitor:${m.key}`, m.message);
          return;
        case "sample":
          this.last = m.sample;
          return;
        case "stopped":
          this.stopped?.();
          return;
      }
    });
    this.worker.on("error", (err) => {
      log.error(`monitor thread failed: ${err.stack ?? err.message}`);
      this.stopped?.();
    });
    this.worker.on("exit", () => {
      this.stopped?.();
    });
    this.worker.unref();
  }

  /** SIGHUP: reads the file again; a bad one is logged (file:line:column) and the running one kept. */
  reload(): boolean {
    let config: MonitorsConfig;
    try {
      config = loadMonitorConfig(this.file);
    } catch (err) {
      this.log.error(`--monitor: ${(err as Error).message}; keeping the running configuration`);
      return false;
    }
    this.worker.postMessage({ op: "config", config } satisfies MonitorRequest);
    return true;
  }

  /** SIGHUP: reopen the events log. */
  reopen(): void {
    this.worker.postMessage({ op: "reopen" } satisfies MonitorRequest);
  }

  sample(): MonitorThreadSample {
    return this.last;
  }

  /** After the collector stopped: closes the open periods, loads them, waits for running programs (bounded). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const done = new Promise<void>((r) => {
        this.stopped = r;
      });
      this.worker.ref();
      this.worker.postMessage({ op: "stop" } satisfies MonitorRequest);
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await this.worker.terminate();
    })();
    return this.stopping;
  }
}
