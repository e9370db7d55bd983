// SPDX-License-Identifier: BSD-3-Clause
// One configured monitor: its compiled filter and key, a moving average and/or a fixed window, and where the
// window's periods go (PostgreSQL or a file).

import { join } from "node:path";
import { compileFilter, type CompiledFilter } from "../filter/index.js";
import type { RecordBatch } from "../record/batch.js";
import type { Actions } from "./actions.js";
import type { MonitorConfig } from "./config.js";
import { KeySpec, parseElement } from "./keys.js";
import { MovingAverage, type KeyRate } from "./moving.js";
import { FileSink } from "./sink-file.js";
import { PgSink, type SinkLog } from "./sink-pg.js";
import { FixedWindow, type WindowRow } from "./window.js";

export interface MonitorSample {
  readonly name: string;
  readonly alerts: number;
  readonly evicted: number;
  readonly top: readonly KeyRate[];
  /** periods waiting in the spool (PostgreSQL away) */
  readonly spooled: number;
  readonly loadFailures: number;
}

/** Keys whose current rate is exported as a gauge, per monitor. */
export const TOP_GAUGES = 10;

export class Monitor {
  readonly config: MonitorConfig;
  /** the configuration's text, to keep the state of an unchanged monitor across a reload */
  readonly signature: string;
  private readonly filter: CompiledFilter;
  private readonly spec: KeySpec;
  private readonly moving: MovingAverage | undefined;
  private readonly window: FixedWindow | undefined;
  private readonly pg: PgSink | undefined;
  private readonly file: FileSink | undefined;
  private readonly log: SinkLog;
  private sel = new Uint32Array(0);

  constructor(config: MonitorConfig, flowDir: string, log: SinkLog, nowMs: number) {
    this.config = config;
    this.signature = JSON.stringify(config);
    this.log = log;
    this.filter = compileFilter(config.filter);
    this.spec = new KeySpec(config.key.map(parseElement));
    if (config.moving) this.moving = new MovingAverage(config, config.moving, this.spec);
    const w = config.window;
    if (w) {
      this.window = new FixedWindow(config, w, this.spec, nowMs);
      if (w.kind === "postgresql")
        this.pg = new PgSink(config.name, this.spec, w.to, join(flowDir, ".tscapd-monitor", config.name), log);
      else this.file = new FileSink(w.to, w.kind, this.spec);
      this.pg?.kick(); // periods left by an earlier run
    }
  }

  /** Counts a chunk of rows (a view of the decode thread's columns). */
  add(batch: RecordBatch, ident: string): void {
    const n = batch.length;
    if (this.sel.length < n) this.sel = new Uint32Array(Math.max(n, 1024));
    const k = this.filter.matchesAll
      ? fillAll(this.sel, n)
      : this.filter.matchesNone
        ? 0
        : this.filter.scan(batch, this.sel, ident);
    if (k === 0) return;
    this.moving?.add(batch.cols, this.sel, k);
    this.window?.add(batch.cols, this.sel, k);
  }

  /** Evaluates thresholds and closes finished periods. */
  tick(nowMs: number, actions: Actions): void {
    const mv = this.moving;
    if (mv) {
      const cfg = mv.cfg;
      for (const ev of mv.evaluate(nowMs)) {
        const label = this.spec.elements.map((_e, i) => String(ev.key[this.spec.names[i]!])).join(",");
        this.log(
          "info",
          `event:${this.config.name}`,
          `monitor ${ev.monitor}: ${ev.event} ${label} ${ev.value} (threshold ${ev.threshold})`,
        );
        actions.emit(ev, cfg.exec, cfg.execTimeoutMs, cfg.execIntervalMs, label);
      }
    }
    if (this.window) this.emit(this.window.close(nowMs));
  }

  private emit(periods: readonly (readonly WindowRow[])[]): void {
    for (const rows of periods) {
      try {
        if (this.pg) this.pg.write(rows);
        else this.file?.write(rows);
      } catch (err) {
        this.log("error", `sink:${this.config.name}`, `monitor ${this.config.name}: ${(err as Error).message}`);
      }
    }
  }

  sample(): MonitorSample {
    return {
      name: this.config.name,
      alerts: this.moving?.alerts ?? 0,
      evicted: (this.moving?.table.evicted ?? 0) + (this.window?.evicted ?? 0),
      top: this.moving?.top(TOP_GAUGES) ?? [],
      spooled: this.pg?.pending().length ?? 0,
      loadFailures: this.pg?.loaded.failures ?? 0,
    };
  }

  /** Closes the open periods (partial ones too) and loads them for at most `ms`. */
  async stop(nowMs: number, ms: number): Promise<void> {
    if (this.window) this.emit(this.window.close(nowMs, true));
    if (this.pg) {
      await this.pg.flush(ms);
      await this.pg.close();
    }
  }
}

function fillAll(sel: Uint32Array, n: number): number {
  for (let i = 0; i < n; i++) sel[i] = i;
  return n;
}
