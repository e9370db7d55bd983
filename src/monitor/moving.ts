// SPDX-License-Identifier: BSD-3-Clause
// Moving average per key: the value (flows, packets or bits) of the last `window` seconds of arrival time at
// the collector, divided by the window, in one-second buckets per key. `evaluate` compares each key's rate with
// its threshold: above it → `over` (once), then below it for `back` → `back`. A burst of rate R against a
// threshold T < R is seen after window·T/R seconds plus at most one partial second.
//
// Keys live in a bounded KeyTable. A key that enters a full table is counted from its arrival (its rate is a
// lower bound, so an evicted flood never raises a false alert); for eviction it also carries the table's
// error bound for one window. Keys in alert are pinned.

import type { ColumnArrays } from "../record/schema.js";
import type { MonitorConfig, MovingConfig } from "./config.js";
import type { KeySpec } from "./keys.js";
import { KeyTable } from "./table.js";

export interface MonitorEvent {
  readonly monitor: string;
  readonly event: "over" | "back";
  readonly key: Record<string, string | number>;
  readonly value: number;
  readonly threshold: number;
  readonly time: string;
}

export interface KeyRate {
  readonly key: string;
  readonly rate: number;
}

export class MovingAverage {
  readonly name: string;
  readonly cfg: MovingConfig;
  readonly spec: KeySpec;
  readonly table: KeyTable;
  /** rows not counted because every entry of a full table was in alert */
  dropped = 0;
  private readonly w: number;
  private readonly buckets: Float64Array;
  private readonly sum: Float64Array;
  private readonly last: Float64Array;
  private readonly err: Float64Array;
  private readonly errSec: Float64Array;
  private readonly active: Uint8Array;
  private readonly belowSince: Float64Array;
  /** threshold per entry (NaN: not looked up yet) */
  private readonly thr: Float64Array;
  private readonly perKey: boolean;
  private readonly scratch: Uint32Array;
  /** latest second seen in the data or the clock */
  private nowSec = 0;
  private activeCount = 0;

  constructor(m: MonitorConfig, cfg: MovingConfig, spec: KeySpec) {
    this.name = m.name;
    this.cfg = cfg;
    this.spec = spec;
    this.w = cfg.windowSec;
    const cap = m.size;
    this.table = new KeyTable(spec.width, cap);
    this.buckets = new Float64Array(cap * this.w);
    this.sum = new Float64Array(cap);
    this.last = new Float64Array(cap);
    this.err = new Float64Array(cap);
    this.errSec = new Float64Array(cap);
    this.active = new Uint8Array(cap);
    this.belowSince = new Float64Array(cap);
    this.thr = new Float64Array(cap);
    this.perKey = Object.keys(cfg.thresholds).length > 0;
    this.scratch = new Uint32Array(spec.width);
  }

  get alerts(): number {
    return this.activeCount;
  }

  /** Counts the selected rows `sel[0..k)` of a chunk. */
  add(cols: ColumnArrays, sel: Uint32Array, k: number): void {
    const t = this.table;
    const key = this.scratch;
    const recv = cols.msecReceived;
    this.spec.bind(cols);
    const vcol = this.cfg.value === "pps" ? cols.inPackets : cols.inBytes;
    const mult = this.cfg.value === "bps" ? 8 : 1;
    const fps = this.cfg.value === "fps";
    const w = this.w;
    for (let j = 0; j < k; j++) {
      const i = sel[j]!;
      const sec = Math.floor(recv[i]! / 1000);
      if (sec > this.nowSec) this.nowSec = sec;
      this.spec.pack(i, key, 0);
      const h = t.hash(key, 0);
      let e = t.find(key, 0, h);
      if (e < 0) {
        let floor = 0;
        if (t.full) floor = this.evict();
        if (t.full) {
          this.dropped++;
          continue;
        }
        e = t.insert(key, 0, h);
        this.buckets.fill(0, e * w, (e + 1) * w);
        this.sum[e] = 0;
        this.last[e] = sec;
        this.err[e] = floor;
        this.errSec[e] = sec;
        this.active[e] = 0;
        this.belowSince[e] = 0;
        this.thr[e] = NaN;
      }
      this.advance(e, sec);
      if (sec <= this.last[e]! - w) continue; // older than the window
      const v = fps ? 1 : vcol[i]! * mult;
      this.buckets[e * w + (sec % w)]! += v;
      this.sum[e]! += v;
    }
  }

  /** Moves entry e's window to end at `sec`, dropping the seconds that left it. */
  private advance(e: number, sec: number): void {
    const last = this.last[e]!;
    if (sec <= last) return;
    const w = this.w;
    const base = e * w;
    if (sec - last >= w) {
      this.buckets.fill(0, base, base + w);
      this.sum[e] = 0;
    } else {
      let s = this.sum[e]!;
      for (let x = last + 1; x <= sec; x++) {
        const b = base + (x % w);
        s -= this.buckets[b]!;
        this.buckets[b] = 0;
      }
      this.sum[e] = s > 1e-6 ? s : 0;
    }
    this.last[e] = sec;
  }

  private evict(): number {
    const now = this.nowSec;
    const w = this.w;
    return this.table.evictHalf(
      (e) => {
        this.advance(e, now);
        return this.sum[e]! + (this.errSec[e]! > now - w ? this.err[e]! : 0);
      },
      (e) => this.active[e] === 1,
    );
  }

  private threshold(e: number): number {
    let t = this.thr[e]!;
    if (Number.isNaN(t)) {
      t = this.perKey
        ? (this.cfg.thresholds[this.spec.label(this.table.keys, e * this.table.width)] ?? this.cfg.over)
        : this.cfg.over;
      this.thr[e] = t;
    }
    return t;
  }

  /** Compares every key's rate at `nowMs` with its threshold; returns the events. */
  evaluate(nowMs: number): MonitorEvent[] {
    const sec = Math.floor(nowMs / 1000);
    if (sec > this.nowSec) this.nowSec = sec;
    const events: MonitorEvent[] = [];
    const t = this.table;
    for (let e = 0; e < t.end; e++) {
      if (t.live[e] !== 1) continue;
      this.advance(e, this.nowSec);
      const rate = this.sum[e]! / this.w;
      const thr = this.threshold(e);
      if (this.active[e] === 0) {
        if (rate > thr) {
          this.active[e] = 1;
          this.activeCount++;
          this.belowSince[e] = 0;
          events.push(this.event(e, "over", rate, thr, nowMs));
        }
      } else if (rate > thr) {
        this.belowSince[e] = 0;
      } else {
        if (this.belowSince[e] === 0) this.belowSince[e] = nowMs;
        if (nowMs - this.belowSince[e]! >= this.cfg.backMs) {
          this.active[e] = 0;
          this.activeCount--;
          events.push(this.event(e, "back", rate, thr, nowMs));
        }
      }
    }
    return events;
  }

  private event(e: number, event: "over" | "back", rate: number, thr: number, nowMs: number): MonitorEvent {
    return {
      monitor: this.name,
      event,
      key: this.spec.object(this.table.keys, e * this.table.width),
      value: Math.round(rate * 1000) / 1000,
      threshold: thr,
      time: new Date(nowMs).toISOString(),
    };
  }

  /** The `n` keys of the highest rate now (as of the last evaluate). */
  top(n: number): KeyRate[] {
    const t = this.table;
    const order: number[] = [];
    for (let e = 0; e < t.end; e++) if (t.live[e] === 1 && this.sum[e]! > 0) order.push(e);
    order.sort((a, b) => this.sum[b]! - this.sum[a]!);
    return order.slice(0, n).map((e) => ({ key: this.spec.label(t.keys, e * t.width), rate: this.sum[e]! / this.w }));
  }
}
