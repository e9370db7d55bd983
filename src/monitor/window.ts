// SPDX-License-Identifier: BSD-3-Clause
// Fixed window per key: flows, packets and bytes per period of arrival time, the top N keys by `order` and
// one row (keys NULL) with the rest, so every period's rows sum to exactly the flows the monitor selected.
//
// A chunk is counted column-wise: its rows' keys looked up (and new ones added) in the period's table at once by
// the key's generated probe, then each row added to its entry.
// Two periods are open at once: the current one, closed GRACE_MS after its end (rows decoded late still count
// in it), and the next, which takes the rows received after the current one's end. Each keeps a bounded
// KeyTable; keys are counted from their arrival in it (lower bounds: an evicted key's traffic goes to the
// rest row, never to another key).

import type { ColumnArrays } from "../record/schema.js";
import type { MonitorConfig, WindowConfig } from "./config.js";
import type { KeySpec } from "./keys.js";
import { KeyTable } from "./table.js";

/** A period is closed this long after its end. */
export const GRACE_MS = 2000;

export interface WindowRow {
  /** period start, ms since the epoch */
  readonly time: number;
  /** key values as text (KeySpec.texts), or null for the rest */
  readonly keys: readonly string[] | null;
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
}

class Period {
  start = 0;
  readonly table: KeyTable;
  /** per entry e: flows at [4e], packets [4e + 1], bytes [4e + 2], error bound [4e + 3] (one cache line) */
  readonly acc: Float64Array;
  totalFlows = 0;
  totalPackets = 0;
  totalBytes = 0;

  constructor(width: number, cap: number) {
    this.table = new KeyTable(width, cap);
    this.acc = new Float64Array(cap * 4);
  }

  reset(start: number): void {
    this.start = start;
    this.table.clear();
    this.totalFlows = this.totalPackets = this.totalBytes = 0;
  }
}

export class FixedWindow {
  readonly name: string;
  readonly cfg: WindowConfig;
  readonly spec: KeySpec;
  private cur: Period;
  private next: Period;
  /** per row of a run: its entry (KeySpec.probe) */
  private ent = new Int32Array(0);
  /** the order's place in Period.acc */
  private readonly orderAt: number;
  /** keys evicted from closed periods' tables (plus the open ones' at read time) */
  private evictedClosed = 0;

  constructor(m: MonitorConfig, cfg: WindowConfig, spec: KeySpec, nowMs: number) {
    this.name = m.name;
    this.cfg = cfg;
    this.spec = spec;
    this.cur = new Period(spec.width, m.size);
    this.next = new Period(spec.width, m.size);
    this.orderAt = cfg.order === "flows" ? 0 : cfg.order === "packets" ? 1 : 2;
    const start = Math.floor(nowMs / cfg.periodMs) * cfg.periodMs;
    this.cur.reset(start);
    this.next.reset(start + cfg.periodMs);
  }

  get evicted(): number {
    return this.evictedClosed + this.cur.table.evicted + this.next.table.evicted;
  }

  /** Counts the selected rows `sel[0..k)` of a chunk. */
  add(cols: ColumnArrays, sel: Uint32Array, k: number): void {
    if (this.ent.length < k) this.ent = new Int32Array(Math.max(k, 1024));
    const recv = cols.msecReceived;
    const nextStart = this.next.start;
    // runs of rows of the same period
    for (let j = 0; j < k;) {
      const late = recv[sel[j]!]! >= nextStart;
      let to = j + 1;
      while (to < k && recv[sel[to]!]! >= nextStart === late) to++;
      this.addRun(cols, sel, j, to, late ? this.next : this.cur);
      j = to;
    }
  }

  /** Rows `sel[from..to)` of period p, looked up and added to their entries (as MovingAverage). */
  private addRun(cols: ColumnArrays, sel: Uint32Array, from: number, to: number, p: Period): void {
    const t = p.table;
    const ent = this.ent;
    const probe = this.spec.probe;
    const pcol = cols.inPackets;
    const bcol = cols.inBytes;
    const acc = p.acc;
    let floor = 0;
    let tp = 0;
    let tb = 0;
    for (let j = from; j < to;) {
      const stop = probe(cols, sel, j, to, t, ent, true);
      for (let x = j; x < stop; x++) {
        let e = ent[x]!;
        if (e < 0) {
          e = -2 - e;
          acc[4 * e] = 0;
          acc[4 * e + 1] = 0;
          acc[4 * e + 2] = 0;
          acc[4 * e + 3] = floor;
        }
        const i = sel[x]!;
        const pk = pcol[i]!;
        const b = bcol[i]!;
        tp += pk;
        tb += b;
        acc[4 * e]! += 1; // a decoded record is one flow
        acc[4 * e + 1]! += pk;
        acc[4 * e + 2]! += b;
      }
      if (stop < to) floor = this.evict(p);
      j = stop;
    }
    p.totalFlows += to - from;
    p.totalPackets += tp;
    p.totalBytes += tb;
  }

  private evict(p: Period): number {
    const t = p.table;
    const o = this.orderAt;
    const { scores, live, end } = t;
    const acc = p.acc;
    for (let e = 0; e < end; e++) if (live[e] === 1) scores[e] = acc[4 * e + o]! + acc[4 * e + 3]!;
    return t.evictHalf();
  }

  /** Closes the periods that ended GRACE_MS before `nowMs` (or all open ones when `all`); returns their rows. */
  close(nowMs: number, all = false): WindowRow[][] {
    const out: WindowRow[][] = [];
    const period = this.cfg.periodMs;
    while (all || nowMs >= this.cur.start + period + GRACE_MS) {
      const rows = this.rows(this.cur);
      if (rows.length > 0) out.push(rows);
      this.evictedClosed += this.cur.table.evicted;
      this.cur.table.evicted = 0;
      const done = this.cur;
      this.cur = this.next;
      this.next = done;
      this.next.reset(this.cur.start + period);
      if (all && this.cur.totalFlows === 0) break;
    }
    return out;
  }

  private rows(p: Period): WindowRow[] {
    if (p.totalFlows === 0) return [];
    const t = p.table;
    const o = this.orderAt;
    const acc = p.acc;
    const idx: number[] = [];
    for (let e = 0; e < t.end; e++) if (t.live[e] === 1) idx.push(e);
    idx.sort((a, b) => acc[4 * b + o]! - acc[4 * a + o]! || acc[4 * b]! - acc[4 * a]!);
    const top = idx.slice(0, this.cfg.top);
    const rows: WindowRow[] = [];
    let f = 0;
    let pk = 0;
    let b = 0;
    for (const e of top) {
      const row = {
        time: p.start,
        keys: this.spec.texts(t.keys, e * t.width),
        flows: acc[4 * e]!,
        packets: acc[4 * e + 1]!,
        bytes: acc[4 * e + 2]!,
      };
      rows.push(row);
      f += row.flows;
      pk += row.packets;
      b += row.bytes;
    }
    if (p.totalFlows - f > 0)
      rows.push({
        time: p.start,
        keys: null,
        flows: p.totalFlows - f,
        packets: p.totalPackets - pk,
        bytes: p.totalBytes - b,
      });
    return rows;
  }
}
