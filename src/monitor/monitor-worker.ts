// SPDX-License-Identifier: BSD-3-Clause
// The monitor thread: rows from the decode thread (feed.ts) through its own MessagePort, monitors evaluated
// on a tick, events acted on (actions.ts), fixed-window periods written (sink-pg.ts, sink-file.ts). The main
// thread (thread.ts) sends configurations (start, SIGHUP) and stop, and receives log lines and samples for
// the metrics.

import { dirname } from "node:path";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type ColumnArrays } from "../record/schema.js";
import { lowerThreadPriority } from "../capd/thread-priority.js";
import { Actions } from "./actions.js";
import { monitorColumns, type MonitorsConfig } from "./config.js";
import type { FeedMessage, FeedReply } from "./feed.js";
import { Monitor, type MonitorSample } from "./monitor.js";

export interface MonitorWorkerData {
  readonly config: MonitorsConfig;
  readonly flowDir: string;
  readonly eventsFile: string | undefined;
  readonly feed: MessagePort;
}

export type MonitorRequest =
  { readonly op: "config"; readonly config: MonitorsConfig } | { readonly op: "reopen" } | { readonly op: "stop" };

export interface MonitorThreadSample {
  readonly monitors: readonly MonitorSample[];
  /** rows the decode thread did not feed (this thread behind) */
  readonly rowsDropped: number;
  readonly rowsSeen: number;
  readonly exec: Actions["counts"];
}

export type MonitorReply =
  | { readonly op: "log"; readonly level: "info" | "warn" | "error"; readonly key: string; readonly message: string }
  | { readonly op: "sample"; readonly sample: MonitorThreadSample }
  | { readonly op: "stopped" };

/** Thresholds are evaluated and periods closed this often. */
const TICK_MS = 250;
const SAMPLE_MS = 1000;
/** At stop: how long to wait for the decode thread's last rows, and for PostgreSQL. */
const END_WAIT_MS = 2000;
const FLUSH_MS = 3000;

/**
 * The monitor thread's nice increment: it yields the CPU to receiving, decoding and writing (a monitor behind
 * loses rows for monitoring, counted, never flows for storage). Programs it runs inherit it.
 */
const MONITOR_NICE = 10;
lowerThreadPriority(MONITOR_NICE);

const port = parentPort!;
const data = workerData as MonitorWorkerData;
const post = (m: MonitorReply): void => {
  port.postMessage(m);
};
const log = (level: "info" | "warn" | "error", key: string, message: string): void => {
  post({ op: "log", level, key, message });
};

const ADDR6 = PHYSICAL_COLUMNS.filter((pc) => pc.width === 4).map((pc) => pc.name);
const NO_V6 = new Uint32Array(0);

let monitors: Monitor[] = [];
let actions = new Actions(data.config.execConcurrency, data.eventsFile, log, dirname(data.config.file));
let rowsDropped = 0;
let rowsSeen = 0;
let ended = false;
let onEnd: (() => void) | null = null;

function configure(config: MonitorsConfig): void {
  const old = new Map(monitors.map((m) => [m.config.name, m]));
  const now = Date.now();
  const next: Monitor[] = [];
  for (const c of config.monitors) {
    const same = old.get(c.name);
    if (same !== undefined && same.signature === JSON.stringify(c)) {
      next.push(same);
      old.delete(c.name);
    } else {
      if (same !== undefined) {
        void same.stop(now, FLUSH_MS);
        old.delete(c.name);
      }
      next.push(new Monitor(c, data.flowDir, log, now));
    }
  }
  for (const gone of old.values()) void gone.stop(now, FLUSH_MS);
  monitors = next;
  data.feed.postMessage({ op: "columns", names: monitorColumns(config) } satisfies FeedReply);
}

data.feed.on("message", (m: FeedMessage) => {
  if (m.op === "end") {
    ended = true;
    onEnd?.();
    return;
  }
  rowsDropped = m.dropped;
  rowsSeen += m.n;
  const cols: Record<string, ArrayBufferView> = { ...m.cols };
  for (const c of ADDR6) cols[c] ??= NO_V6; // left out of pieces without IPv6 rows
  const batch = RecordBatch.view(m.n, cols as unknown as ColumnArrays);
  for (const mon of monitors) {
    try {
      mon.add(batch, m.ident);
    } catch (err) {
      log("error", `add:${mon.config.name}`, `monitor ${mon.config.name}: ${(err as Error).stack ?? String(err)}`);
    }
  }
  // the arrays go back to the decode thread for its next copies
  data.feed.postMessage(
    { op: "done", cols: m.cols } satisfies FeedReply,
    Object.values(m.cols).map((a) => a.buffer as ArrayBuffer),
  );
});

const ticker = setInterval(() => {
  const now = Date.now();
  for (const mon of monitors) {
    try {
      mon.tick(now, actions);
    } catch (err) {
      log("error", `tick:${mon.config.name}`, `monitor ${mon.config.name}: ${(err as Error).stack ?? String(err)}`);
    }
  }
}, TICK_MS);

const sampler = setInterval(() => {
  post({
    op: "sample",
    sample: { monitors: monitors.map((m) => m.sample()), rowsDropped, rowsSeen, exec: { ...actions.counts } },
  });
}, SAMPLE_MS);

port.on("message", (m: MonitorRequest) => {
  switch (m.op) {
    case "config": {
      const conc = m.config.execConcurrency !== data.config.execConcurrency;
      configure(m.config);
      if (conc) {
        actions.close();
        actions = new Actions(m.config.execConcurrency, data.eventsFile, log, dirname(m.config.file));
      }
      log("info", "reload", `monitor configuration loaded: ${m.config.monitors.length} monitor(s)`);
      return;
    }
    case "reopen":
      actions.reopen();
      return;
    case "stop":
      void stop();
      return;
  }
});

async function stop(): Promise<void> {
  if (!ended)
    await new Promise<void>((r) => {
      onEnd = r;
      setTimeout(r, END_WAIT_MS).unref();
    });
  clearInterval(ticker);
  clearInterval(sampler);
  const now = Date.now();
  for (const mon of monitors) mon.tick(now, actions);
  await Promise.all(monitors.map((mon) => mon.stop(now, FLUSH_MS)));
  await actions.idle(FLUSH_MS);
  actions.close();
  post({
    op: "sample",
    sample: { monitors: monitors.map((m) => m.sample()), rowsDropped, rowsSeen, exec: { ...actions.counts } },
  });
  post({ op: "stopped" });
}

configure(data.config);
