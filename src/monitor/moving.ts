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
  /** entries' rows of `w + 2` numbers: [sum, last second, bucket 0 .. w-1] (one or two cache lines) */
  private readonly state: Float64Array;
  /** w + 2 */
  private readonly stride: number;
  private readonly err: Float64Array;
  private readonly errSec: Float64Array;
  private readonly active: Uint8Array;
  private readonly belowSince: Float64Array;
  /** threshold per entry (NaN: not looked up yet) */
  private readonly thr: Float64Array;
  private readonly perKey: boolean;
  /** per row of a run: its entry (KeySpec.probe) */
  private ent = new Int32Array(0);
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
    this.stride = this.w + 2;
    this.state = new Float64Array(cap * this.stride);
    this.err = new Float64Array(cap);
    this.errSec = new Float64Array(cap);
    this.active = new Uint8Array(cap);
    this.belowSince = new Float64Array(cap);
    this.thr = new Float64Array(cap);
    this.perKey = Object.keys(cfg.thresholds).length > 0;
  }

  get alerts(): number {
    return this.activeCount;
  }

  /** Counts the selected rows `sel[0..k)` of a chunk. */
  add(cols: ColumnArrays, sel: Uint32Array, k: number): void {
    if (this.ent.length < k) this.ent = new Int32Array(Math.max(k, 1024));
    const recv = cols.msecReceived;
    // runs of rows received in the same second
    for (let j = 0; j < k;) {
      const sec = Math.floor(recv[sel[j]!]! / 1000);
      const lo = sec * 1000;
      const hi = lo + 1000;
      let to = j + 1;
      for (; to < k; to++) {
        const r = recv[sel[to]!]!;
        if (r < lo || r >= hi) break;
      }
      if (sec > this.nowSec) this.nowSec = sec;
      this.addRun(cols, sel, j, to, sec);
      j = to;
    }
  }

  /**
   * Rows `sel[from..to)`, all of second `sec`, looked up (a new key enters the table at its first row) and
   * added to their entries; when the table is full the rows so far are counted, half of it evicted, and the
   * lookup goes on.
   */
  private addRun(cols: ColumnArrays, sel: Uint32Array, from: number, to: number, sec: number): void {
    const t = this.table;
    const ent = this.ent;
    const probe = this.spec.probe;
    const vcol = this.cfg.value === "pps" ? cols.inPackets : cols.inBytes;
    const fps = this.cfg.value === "fps";
    const mult = this.cfg.value === "bps" ? 8 : 1;
    const st = this.state;
    const S = this.stride;
    const w = this.w;
    const slot = 2 + (sec % w);
    let floor = 0;
    let insert = true;
    for (let j = from; j < to;) {
      const stop = probe(cols, sel, j, to, t, ent, insert);
      for (let x = j; x < stop; x++) {
        let e = ent[x]!;
        if (e >= 0) {
          const l = st[e * S + 1]!;
          if (l < sec) this.advance(e, sec);
          else if (sec <= l - w) continue; // older than the window
        } else if (e === -1) {
          this.dropped++;
          continue;
        } else {
          e = -2 - e;
          this.fresh(e, sec, floor);
        }
        const v = fps ? 1 : vcol[sel[x]!]! * mult;
        st[e * S + slot]! += v;
        st[e * S]! += v;
      }
      if (stop < to) {
        floor = this.evict();
        // every entry in alert: the other rows are counted only if their key is there
        if (t.full) insert = false;
      }
      j = stop;
    }
  }

  /** A key's new entry, received at `sec`; `floor`: what it may have had before (the last eviction's). */
  private fresh(e: number, sec: number, floor: number): void {
    const st = this.state;
    const base = e * this.stride;
    for (let x = base; x < base + this.stride; x++) st[x] = 0;
    st[base + 1] = sec;
    this.err[e] = floor;
    this.errSec[e] = sec;
    this.active[e] = 0;
    this.belowSince[e] = 0;
    this.thr[e] = NaN;
  }

  /** Moves entry e's window to end at `sec`, dropping the seconds that left it. */
  private advance(e: number, sec: number): void {
    const st = this.state;
    const base = e * this.stride;
    const last = st[base + 1]!;
    if (sec <= last) return;
    const w = this.w;
    if (sec - last >= w) {
      for (let x = base; x < base + this.stride; x++) st[x] = 0;
    } else {
      let s = st[base]!;
      for (let x = last + 1; x <= sec; x++) {
        const b = base + 2 + (x % w);
        s -= st[b]!;
        st[b] = 0;
      }
      st[base] = s > 1e-6 ? s : 0;
    }
    st[base + 1] = sec;
  }

  private evict(): number {
    const now = this.nowSec;
    const w = this.w;
    const t = this.table;
    const { live, scores, end } = t;
    const { active, err, errSec, state: st, stride: S } = this;
    for (let e = 0; e < end; e++) {
      if (live[e] !== 1) continue;
      if (active[e] === 1) {
        scores[e] = Infinity;
        continue;
      }
      if (st[e * S + 1]! < now) this.advance(e, now);
      scores[e] = st[e * S]! + (errSec[e]! > now - w ? err[e]! : 0);
    }
    return t.evictHalf();
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
      const rate = this.state[e * this.stride]! / this.w;
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
    const sum = (e: number): number => this.state[e * this.stride]!;
    for (let e = 0; e < t.end; e++) if (t.live[e] === 1 && sum(e) > 0) order.push(e);
    order.sort((a, b) => sum(b) - sum(a));
    return order.slice(0, n).map((e) => ({ key: this.spec.label(t.keys, e * t.width), rate: sum(e) / this.w }));
  }
}
