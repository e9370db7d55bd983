// SPDX-License-Identifier: BSD-3-Clause
// StatAccumulator: one `-s elem[:p]/orders` statistic — numeric-key open-addressing hash tables plus a
// size-N heap for the top N.
//
// Key layout per table (u32 words; see KeyTable):
//   scalar ≤ 16 bit  [value | proto << 16]           1 word  (proto only with :p)
//   scalar 32 bit    [value] or [value, proto]        1–2 words
//   address          IPv4 table [v4] / [v4, proto];   IPv6 table [w0 w1 w2 w3] / [w0 w1 w2 w3 proto]
//   MAC (48 bit)     [hi16 | proto << 16, lo32]       2 words
// Rows are processed a chunk at a time: build the chunk's keys (one tight loop per key shape), look them up
// (KeyTable.lookup1 / lookupN), then add the counters (KeyTable.accumulate). Nothing is allocated per row.
// Small-domain fast path: a scalar key without :p (ports, protocol, ToS, AS numbers, interfaces …) is counted
// straight into dense arrays indexed by its value (DenseCounts, one pass that also sums the totals); values
// at or above the domain (4-byte AS numbers …) take the hash table, and the dense keys are moved into the
// table before anything reads it (settle).
//
// Ties: nfdump 1.7.1 orders equal values by its khash bucket order and an unstable quicksort (blocksort.c), i.e.
// no stable rule; we break ties by key (IPv4 before IPv6, then numerically, then protocol) so results do not
// depend on input order, block order or how workers split the work.

import type { RecordBatch } from "../record/batch.js";
import { formatIPv4, formatIPv6, formatMac } from "../record/ip.js";
import { COLUMN, type ColumnArrays } from "../record/schema.js";
import { exactOf, TWO53 } from "../record/u64.js";
import { columnKind, type ElementStatSpec, type KeyKind, type StatElement } from "./elements.js";
import { DenseCounts } from "./dense.js";
import { StatsError } from "./errors.js";
import { selectTop } from "./heap.js";
import {
  A_FIRST,
  A_FLOWS,
  A_IN_BYTES,
  A_IN_PACKETS,
  A_LAST,
  ACC_STRIDE,
  FIX_STRIDE,
  KeyTable,
  type KeyTableState,
  MemoryBudget,
  stateBuffers,
} from "./key-table.js";
import { IN, type InOut, type OrderDef, orderValue, OUT } from "./orders.js";

/** Rows per processing chunk. */
const CHUNK = 4096;
/** Dense domain of 32-bit scalar keys (2-byte AS numbers, most interface indices); larger values are hashed. */
export const DENSE_U32_DOMAIN = 65536;

type Shape = "packed" | "scalar32" | "addr" | "mac";

/** One output row of a statistic: plain data, key as numbers plus its text. */
export interface StatRow {
  /** 4 or 6 for address elements, 0 otherwise. */
  readonly family: 0 | 4 | 6;
  /** The key value: the number, the IPv4 u32, the 48-bit MAC; for IPv6 0 (see `words`). */
  readonly value: number;
  /** IPv6 key as four u32 words (empty otherwise). */
  readonly words: readonly number[];
  /** Key shown as nfdump does (dotted quad, condensed IPv6, MAC, label-exp-bos, 0x hex, event name, number). */
  readonly keyText: string;
  /** Protocol of the row when the statistic is split by protocol (`:p`, `proto`), else 0. */
  readonly proto: number;
  /** ms since the epoch: min first seen, max last seen of the counted flows. */
  readonly first: number;
  readonly last: number;
  readonly flows: number;
  readonly inPackets: number;
  readonly inBytes: number;
  readonly outPackets: number;
  readonly outBytes: number;
  /** Packets and bytes as nfdump prints them for this order: IN, OUT or IN+OUT (`flows` shows IN). */
  readonly packets: number;
  readonly bytes: number;
  /** exact − double of flows, packets and bytes (0 below 2^53; record/u64.ts). */
  readonly flowsFix: number;
  readonly packetsFix: number;
  readonly bytesFix: number;
  /** As nfdump prints them: per second over (last − first), truncated; 0 for a zero duration. */
  readonly pps: number;
  readonly bps: number;
  readonly bpp: number;
  /** The value the row was ordered by. */
  readonly orderValue: number;
}

/** Totals of the flows the statistic saw (each flow once, whatever the number of sides). */
export interface StatTotals {
  flows: number;
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  first: number;
  last: number;
}

/** One table of output: a statistic under one order. */
export interface StatTable {
  readonly spec: ElementStatSpec;
  readonly element: StatElement;
  readonly order: OrderDef;
  /** IN, OUT or INOUT: which counters `packets`/`bytes` show (csv header ipkt/opkt/pkt …). */
  readonly inout: InOut;
  readonly ascending: boolean;
  /** The N requested (0 = all). */
  readonly limit: number;
  /** Number of distinct keys before the cut. */
  readonly distinct: number;
  readonly rows: readonly StatRow[];
  readonly totals: Readonly<StatTotals>;
}

/** Transferable state of an accumulator (post it from a worker with `transferList(state)`). */
export interface StatState {
  readonly text: string;
  readonly t4: KeyTableState;
  readonly t6: KeyTableState | null;
  readonly totals: StatTotals;
}

export function emptyTotals(): StatTotals {
  return { flows: 0, inPackets: 0, inBytes: 0, outPackets: 0, outBytes: 0, first: Infinity, last: -Infinity };
}

export class StatAccumulator {
  readonly spec: ElementStatSpec;
  readonly budget: MemoryBudget;
  readonly shape: Shape;
  /** Main table (IPv4 for address elements). */
  readonly t4: KeyTable;
  /** IPv6 table of address elements, else null. */
  readonly t6: KeyTable | null;
  readonly totals: StatTotals;
  private readonly split: boolean;
  private readonly keys4: Uint32Array;
  private readonly keys6: Uint32Array;
  private readonly rows4: Uint32Array;
  private readonly rows6: Uint32Array;
  private readonly idx: Int32Array;
  private readonly allRows: Uint32Array;
  /** Domain of the dense fast path (0 = none) and its counters once the first rows came. */
  private denseDomain: number;
  private dense: DenseCounts | null = null;
  private readonly spill: Uint32Array;

  /**
   * `opts.dense: false` turns the small-domain fast path off (every key is hashed; tests compare both paths).
   */
  constructor(spec: ElementStatSpec, budget: MemoryBudget = new MemoryBudget(), opts: { dense?: boolean } = {}) {
    this.spec = spec;
    this.budget = budget;
    const cols = spec.element.columns;
    const kinds = new Set(cols.map((c) => columnKind(c)));
    if (kinds.size !== 1 || kinds.has("f64"))
      throw new RangeError(`statistics: element ${spec.element.name} mixes column kinds`);
    const kind = [...kinds][0]!;
    const wide = cols.some((c) => COLUMN[c].type === "u32");
    const isProto = spec.element.name === "proto";
    this.split = spec.protoSplit && !isProto;
    this.shape = kind === "addr" ? "addr" : kind === "mac" ? "mac" : wide ? "scalar32" : "packed";
    const p = this.split ? 1 : 0;
    const name = `-s ${spec.text}`;
    switch (this.shape) {
      case "packed":
        this.t4 = new KeyTable(1, budget, name);
        this.t6 = null;
        break;
      case "scalar32":
        this.t4 = new KeyTable(1 + p, budget, name);
        this.t6 = null;
        break;
      case "mac":
        this.t4 = new KeyTable(2, budget, name);
        this.t6 = null;
        break;
      case "addr":
        this.t4 = new KeyTable(1 + p, budget, name);
        this.t6 = new KeyTable(4 + p, budget, `${name} (IPv6)`, 64);
        break;
    }
    this.totals = emptyTotals();
    this.keys4 = new Uint32Array(CHUNK * 2);
    this.keys6 = new Uint32Array(this.t6 ? CHUNK * 5 : 0);
    this.rows4 = new Uint32Array(CHUNK);
    this.rows6 = new Uint32Array(this.t6 ? CHUNK : 0);
    this.idx = new Int32Array(CHUNK);
    this.allRows = new Uint32Array(CHUNK);
    const small = cols.every((col) => COLUMN[col].type === "u8");
    this.denseDomain =
      opts.dense === false || this.split || (this.shape !== "packed" && this.shape !== "scalar32")
        ? 0
        : this.shape === "scalar32"
          ? DENSE_U32_DOMAIN
          : small
            ? 256
            : 65536;
    this.spill = new Uint32Array(this.denseDomain > 0 ? CHUNK : 0);
  }

  /** Number of distinct keys so far. */
  get size(): number {
    this.settle();
    return this.t4.count + (this.t6 ? this.t6.count : 0);
  }

  /** Bytes held by the hash tables and the dense counters. */
  memoryBytes(): number {
    return this.t4.memoryBytes() + (this.t6 ? this.t6.memoryBytes() : 0) + (this.dense ? this.dense.memoryBytes() : 0);
  }

  /** True when the dense fast path counts this statistic's keys below its domain (see DenseCounts). */
  get usesDense(): boolean {
    return this.denseDomain > 0;
  }

  /** Moves the dense counters into the table (t4 holds every key afterwards). */
  private settle(): void {
    if (this.dense) this.dense.settleInto(this.t4);
  }

  /** The dense counters, allocated at the first rows; null when the budget has no room for them. */
  private denseCounts(): DenseCounts | null {
    if (this.dense === null && this.denseDomain > 0) {
      const bytes = this.denseDomain * ACC_STRIDE * 8;
      if (this.budget.used + bytes > this.budget.limit) this.denseDomain = 0;
      else this.dense = new DenseCounts(this.denseDomain, this.budget, `-s ${this.spec.text} (dense)`);
    }
    return this.dense;
  }

  /**
   * Counts the rows `sel[0..n)` of `batch` (all rows 0..n-1 when `sel` is null).
   * @throws StatsError ERR_STATS_MEMORY when the tables outgrow the memory budget.
   */
  add(batch: RecordBatch, sel: Uint32Array | null, n: number): void {
    if (n <= 0) return;
    const c = batch.cols;
    const t = this.totals;
    const dense = this.denseCounts();
    for (let start = 0; start < n; start += CHUNK) {
      const m = Math.min(CHUNK, n - start);
      let rows: Uint32Array;
      if (sel) {
        rows = sel.subarray(start, start + m);
      } else {
        rows = this.allRows;
        for (let j = 0; j < m; j++) rows[j] = start + j;
      }
      if (dense !== null) {
        const cols = this.spec.element.columns;
        for (let i = 0; i < cols.length; i++) {
          const col = cols[i]!;
          const k = dense.accumulate(
            c[col] as Uint8Array | Uint16Array | Uint32Array,
            rows,
            m,
            c.flows,
            c.inPackets,
            c.inBytes,
            c.outPackets,
            c.outBytes,
            c.msecFirst,
            c.msecLast,
            i === 0 ? t : null,
            this.spill,
            c,
          );
          if (k > 0) this.addSide(c, col, this.spill, k);
        }
        continue;
      }
      addTotals(t, c, rows, m);
      for (const col of this.spec.element.columns) this.addSide(c, col, rows, m);
    }
  }

  private addSide(c: ColumnArrays, col: StatElement["columns"][number], rows: Uint32Array, m: number): void {
    const k4 = this.keys4;
    const idx = this.idx;
    switch (this.shape) {
      case "packed": {
        const a = c[col] as Uint8Array | Uint16Array;
        if (this.split) buildPackedProto(a, c.proto, rows, m, k4);
        else buildScalar(a, rows, m, k4);
        this.t4.lookup1(k4, m, idx);
        this.t4.accumulate(
          idx,
          rows,
          m,
          c.flows,
          c.inPackets,
          c.inBytes,
          c.outPackets,
          c.outBytes,
          c.msecFirst,
          c.msecLast,
          c,
        );
        return;
      }
      case "scalar32": {
        const a = c[col] as Uint32Array;
        if (this.split) {
          buildScalarProto(a, c.proto, rows, m, k4);
          this.t4.lookupN(k4, m, idx);
        } else {
          buildScalar(a, rows, m, k4);
          this.t4.lookup1(k4, m, idx);
        }
        this.t4.accumulate(
          idx,
          rows,
          m,
          c.flows,
          c.inPackets,
          c.inBytes,
          c.outPackets,
          c.outBytes,
          c.msecFirst,
          c.msecLast,
          c,
        );
        return;
      }
      case "mac": {
        buildMac(c[col] as Float64Array, this.split ? c.proto : null, rows, m, k4);
        this.t4.lookupN(k4, m, idx);
        this.t4.accumulate(
          idx,
          rows,
          m,
          c.flows,
          c.inPackets,
          c.inBytes,
          c.outPackets,
          c.outBytes,
          c.msecFirst,
          c.msecLast,
          c,
        );
        return;
      }
      case "addr": {
        const name = col as "srcAddr";
        const bit = v6BitOf(col);
        const r4 = this.rows4;
        const r6 = this.rows6;
        const k6 = this.keys6;
        const n46 = buildAddr(
          c[name],
          c[`${name}6`],
          c.v6Flags,
          bit,
          this.split ? c.proto : null,
          rows,
          m,
          k4,
          r4,
          k6,
          r6,
        );
        const m4 = n46 & 0xffff;
        const m6 = n46 >>> 16;
        if (m4 > 0) {
          if (this.split) this.t4.lookupN(k4, m4, idx);
          else this.t4.lookup1(k4, m4, idx);
          this.t4.accumulate(
            idx,
            r4,
            m4,
            c.flows,
            c.inPackets,
            c.inBytes,
            c.outPackets,
            c.outBytes,
            c.msecFirst,
            c.msecLast,
            c,
          );
        }
        if (m6 > 0) {
          const t6 = this.t6!;
          t6.lookupN(k6, m6, idx);
          t6.accumulate(
            idx,
            r6,
            m6,
            c.flows,
            c.inPackets,
            c.inBytes,
            c.outPackets,
            c.outBytes,
            c.msecFirst,
            c.msecLast,
            c,
          );
        }
        return;
      }
    }
  }

  /** Adds another accumulator of the same statistic (a worker's partial result, live or posted). */
  merge(other: StatAccumulator | StatState): void {
    const o = other instanceof StatAccumulator ? other.exportState() : other;
    if (o.text !== this.spec.text)
      throw new RangeError(`statistics: cannot merge '${o.text}' into '${this.spec.text}'`);
    this.t4.merge(o.t4);
    if (this.t6 && o.t6) this.t6.merge(o.t6);
    const t = this.totals;
    t.flows += o.totals.flows;
    t.inPackets += o.totals.inPackets;
    t.inBytes += o.totals.inBytes;
    t.outPackets += o.totals.outPackets;
    t.outBytes += o.totals.outBytes;
    if (o.totals.first < t.first) t.first = o.totals.first;
    if (o.totals.last > t.last) t.last = o.totals.last;
  }

  /** The partial state as plain typed arrays (see `transferList`). */
  exportState(): StatState {
    this.settle();
    return {
      text: this.spec.text,
      t4: this.t4.exportState(),
      t6: this.t6 ? this.t6.exportState() : null,
      totals: { ...this.totals },
    };
  }

  /** The top `n` rows (0 = all) under `order` (default: the spec's orders, one table each). */
  top(n: number, order: OrderDef, ascending: boolean = this.spec.ascending): StatTable {
    this.settle();
    const c4 = this.t4.count;
    const c6 = this.t6 ? this.t6.count : 0;
    const total = c4 + c6;
    const values = new Float64Array(total);
    fillValues(this.t4, order, values, 0);
    if (this.t6) fillValues(this.t6, order, values, c4);
    const ids = new Uint32Array(total);
    for (let i = 0; i < total; i++) ids[i] = i;
    const tie = (a: number, b: number): number => this.compareKeys(a, b);
    const best = selectTop(ids, values, n, ascending, tie);
    const rows: StatRow[] = [];
    for (let i = 0; i < best.length; i++) rows.push(this.row(best[i]!, order, values[best[i]!]!));
    return {
      spec: this.spec,
      element: this.spec.element,
      order,
      inout: order.inout,
      ascending,
      limit: n,
      distinct: total,
      rows,
      totals: { ...this.totals },
    };
  }

  /** One table per requested order, in nfdump's print order. */
  tables(n: number): StatTable[] {
    return this.spec.orders.map((o) => this.top(n, o));
  }

  /** Releases the memory charged to the budget. */
  dispose(): void {
    this.t4.dispose();
    if (this.t6) this.t6.dispose();
    if (this.dense) this.dense.dispose();
  }

  // ── key decoding ───────────────────────────────────────────────────────────────────────────────────────

  private tableOf(id: number): [KeyTable, number, boolean] {
    const c4 = this.t4.count;
    return id < c4 ? [this.t4, id, false] : [this.t6!, id - c4, true];
  }

  /** The key value of entry `e` of `t` as a number (not for IPv6) and the protocol. */
  private decode(t: KeyTable, e: number, v6: boolean, words: number[]): [number, number] {
    const k = t.keys;
    const o = e * t.width;
    const isProto = this.spec.element.name === "proto";
    switch (this.shape) {
      case "packed": {
        const w = k[o]!;
        if (isProto) return [w, w];
        return this.split ? [w & 0xffff, w >>> 16] : [w, 0];
      }
      case "scalar32":
        return [k[o]!, this.split ? k[o + 1]! : 0];
      case "mac": {
        const hi = k[o]!;
        return [(hi & 0xffff) * 4294967296 + k[o + 1]!, hi >>> 16];
      }
      case "addr":
        if (v6) {
          for (let i = 0; i < 4; i++) words.push(k[o + i]!);
          return [0, this.split ? k[o + 4]! : 0];
        }
        return [k[o]!, this.split ? k[o + 1]! : 0];
    }
  }

  private compareKeys(a: number, b: number): number {
    const [ta, ea, va6] = this.tableOf(a);
    const [tb, eb, vb6] = this.tableOf(b);
    if (va6 !== vb6) return va6 ? 1 : -1;
    const wa: number[] = [];
    const wb: number[] = [];
    const [xa, pa] = this.decode(ta, ea, va6, wa);
    const [xb, pb] = this.decode(tb, eb, vb6, wb);
    if (va6) {
      for (let i = 0; i < 4; i++) if (wa[i] !== wb[i]) return wa[i]! - wb[i]!;
    } else if (xa !== xb) {
      return xa - xb;
    }
    return pa - pb;
  }

  private row(id: number, order: OrderDef, ov: number): StatRow {
    const [t, e, v6] = this.tableOf(id);
    const words: number[] = [];
    const [value, proto] = this.decode(t, e, v6, words);
    const inPackets = t.acc[e * ACC_STRIDE + A_IN_PACKETS]!;
    const inBytes = t.acc[e * ACC_STRIDE + A_IN_BYTES]!;
    const outPackets = t.outPackets(e);
    const outBytes = t.outBytes(e);
    const first = t.acc[e * ACC_STRIDE + A_FIRST]!;
    const last = t.acc[e * ACC_STRIDE + A_LAST]!;
    const packets = order.inout === IN ? inPackets : order.inout === OUT ? outPackets : inPackets + outPackets;
    const bytes = order.inout === IN ? inBytes : order.inout === OUT ? outBytes : inBytes + outBytes;
    const duration = (last - first) / 1000;
    const kind = this.spec.element.kind;
    let flowsFix = 0;
    let packetsFix = 0;
    let bytesFix = 0;
    if (t.accFix !== null || packets >= TWO53 || bytes >= TWO53) {
      // rare: sums past 2^53, exact with the table's error terms (record/u64.ts)
      const ex = (v: number, k: number): bigint => exactOf(v, t.fixOf(e, k));
      const pick = (i: bigint, o: bigint): bigint => (order.inout === IN ? i : order.inout === OUT ? o : i + o);
      flowsFix = t.fixOf(e, 0);
      packetsFix = Number(pick(ex(inPackets, 1), ex(outPackets, 3)) - BigInt(packets));
      bytesFix = Number(pick(ex(inBytes, 2), ex(outBytes, 4)) - BigInt(bytes));
    }
    return {
      family: this.shape === "addr" ? (v6 ? 6 : 4) : 0,
      value,
      words,
      keyText: formatStatKey(kind, value, words),
      proto,
      first,
      last,
      flows: t.acc[e * ACC_STRIDE + A_FLOWS]!,
      inPackets,
      inBytes,
      outPackets,
      outBytes,
      packets,
      bytes,
      flowsFix,
      packetsFix,
      bytesFix,
      pps: duration > 0 ? Math.floor(packets / duration) : 0,
      bps: duration > 0 ? Math.floor((8 * bytes) / duration) : 0,
      bpp: packets > 0 ? Math.floor(bytes / packets) : 0,
      orderValue: ov,
    };
  }
}

/** Buffers of a state for `postMessage(state, transferList(state))`. */
export function transferList(state: StatState): ArrayBuffer[] {
  return [...stateBuffers(state.t4), ...(state.t6 ? stateBuffers(state.t6) : [])];
}

/** nfdump's text of a statistic key (IS_NUMBER, IS_HEXNUMBER, IS_IPADDR, IS_MACADDR, IS_MPLS_LBL, IS_EVENT). */
export function formatStatKey(kind: KeyKind, value: number, words: readonly number[]): string {
  switch (kind) {
    case "addr":
      return words.length === 4 ? formatIPv6(words) : formatIPv4(value);
    case "mac":
      return formatMac(value);
    case "mpls":
      return `${value >>> 4}-${(value & 0xf) >>> 1}-${value & 1}`;
    case "hex":
      return `0x${value.toString(16)}`;
    case "event":
      return EVENTS[value] ?? "UNKNOWN";
    case "number":
    case "proto":
    case "flags":
      return String(value);
  }
}

const EVENTS: readonly string[] = ["ignore", "CREATE", "DELETE", "DENIED"];

// ── hot loops: one per key shape, monomorphic, no allocation ──────────────────────────────────────────────

function addTotals(t: StatTotals, c: ColumnArrays, rows: Uint32Array, m: number): void {
  const fl = c.flows;
  const ip = c.inPackets;
  const ib = c.inBytes;
  const op = c.outPackets;
  const ob = c.outBytes;
  const f0 = c.msecFirst;
  const f1 = c.msecLast;
  let flows = 0;
  let a = 0;
  let b = 0;
  let d = 0;
  let e = 0;
  let first = t.first;
  let last = t.last;
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    const f = fl[r]!;
    flows += f === 0 ? 1 : f;
    a += ip[r]!;
    b += ib[r]!;
    d += op[r]!;
    e += ob[r]!;
    if (f0[r]! < first) first = f0[r]!;
    if (f1[r]! > last) last = f1[r]!;
  }
  t.flows += flows;
  t.inPackets += a;
  t.inBytes += b;
  t.outPackets += d;
  t.outBytes += e;
  t.first = first;
  t.last = last;
}

function buildScalar(a: Uint8Array | Uint16Array | Uint32Array, rows: Uint32Array, m: number, out: Uint32Array): void {
  for (let j = 0; j < m; j++) out[j] = a[rows[j]!]!;
}

function buildPackedProto(
  a: Uint8Array | Uint16Array,
  proto: Uint8Array,
  rows: Uint32Array,
  m: number,
  out: Uint32Array,
): void {
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    out[j] = (a[r]! | (proto[r]! << 16)) >>> 0;
  }
}

function buildScalarProto(a: Uint32Array, proto: Uint8Array, rows: Uint32Array, m: number, out: Uint32Array): void {
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    out[2 * j] = a[r]!;
    out[2 * j + 1] = proto[r]!;
  }
}

function buildMac(a: Float64Array, proto: Uint8Array | null, rows: Uint32Array, m: number, out: Uint32Array): void {
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    const v = a[r]!;
    const hi = Math.floor(v / 4294967296);
    out[2 * j] = (hi | (proto ? proto[r]! << 16 : 0)) >>> 0;
    out[2 * j + 1] = v >>> 0;
  }
}

/** Splits rows into IPv4 keys (k4/r4) and IPv6 keys (k6/r6); returns m4 | m6 << 16. */
function buildAddr(
  v4: Uint32Array,
  v6w: Uint32Array,
  flags: Uint8Array,
  bit: number,
  proto: Uint8Array | null,
  rows: Uint32Array,
  m: number,
  k4: Uint32Array,
  r4: Uint32Array,
  k6: Uint32Array,
  r6: Uint32Array,
): number {
  let m4 = 0;
  let m6 = 0;
  if (proto === null) {
    for (let j = 0; j < m; j++) {
      const r = rows[j]!;
      if ((flags[r]! & bit) === 0) {
        k4[m4] = v4[r]!;
        r4[m4++] = r;
      } else {
        const o = r * 4;
        const d = m6 * 4;
        k6[d] = v6w[o]!;
        k6[d + 1] = v6w[o + 1]!;
        k6[d + 2] = v6w[o + 2]!;
        k6[d + 3] = v6w[o + 3]!;
        r6[m6++] = r;
      }
    }
  } else {
    for (let j = 0; j < m; j++) {
      const r = rows[j]!;
      if ((flags[r]! & bit) === 0) {
        k4[2 * m4] = v4[r]!;
        k4[2 * m4 + 1] = proto[r]!;
        r4[m4++] = r;
      } else {
        const o = r * 4;
        const d = m6 * 5;
        k6[d] = v6w[o]!;
        k6[d + 1] = v6w[o + 1]!;
        k6[d + 2] = v6w[o + 2]!;
        k6[d + 3] = v6w[o + 3]!;
        k6[d + 4] = proto[r]!;
        r6[m6++] = r;
      }
    }
  }
  return m4 | (m6 << 16);
}

function fillValues(t: KeyTable, order: OrderDef, out: Float64Array, off: number): void {
  for (let e = 0; e < t.count; e++) {
    out[off + e] = orderValue(
      order,
      t.acc[e * ACC_STRIDE + A_FLOWS]!,
      t.acc[e * ACC_STRIDE + A_IN_PACKETS]!,
      t.acc[e * ACC_STRIDE + A_IN_BYTES]!,
      t.outPackets(e),
      t.outBytes(e),
      t.acc[e * ACC_STRIDE + A_FIRST]!,
      t.acc[e * ACC_STRIDE + A_LAST]!,
      t.accFix,
      e * FIX_STRIDE,
    );
  }
}

function v6BitOf(col: string): number {
  const def = COLUMN[col as "srcAddr"] as { v6bit?: number };
  if (def.v6bit === undefined)
    throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: column ${col} is not an address`);
  return 1 << def.v6bit;
}
