// SPDX-License-Identifier: BSD-3-Clause
// RecordSorter: `-O order` over a plain listing (no -A/-a) and `-s record/order`.
//
// With `-n N` only the best N rows are ever kept: a bounded heap over N row slots, so memory is O(N) however
// many flows pass (nfdump keeps every record). Without a limit all rows are copied (RowStore, charged to the
// MemoryBudget) and sorted at the end. Ties keep input order (the first flow read comes first).

import { RecordBatch } from "../record/batch.js";
import type { ColumnArrays } from "../record/schema.js";
import { TWO53 } from "../record/u64.js";
import { MemoryBudget } from "./key-table.js";
import { orderValue, type OrderDef } from "./orders.js";
import { copyRow, ROW_BYTES, RowStore } from "./row-store.js";
import { OUTPUT_BATCH_ROWS } from "./aggregate.js";

/**
 * The value row r is ordered by. A counter from 2^53 up takes its exact companion column (record/u64.ts), so
 * the order wraps at 2^64 as nfdump's (orderValue); `fx` is scratch for those terms.
 */
function rowOrderValue(o: OrderDef, c: ColumnArrays, r: number, fx: Float64Array): number {
  const inP = c.inPackets[r]!;
  const inB = c.inBytes[r]!;
  const outP = c.outPackets[r]!;
  const outB = c.outBytes[r]!;
  const flows = c.flows[r]! || 1;
  let fix: Float64Array | null = null;
  if (inP >= TWO53 || inB >= TWO53 || outP >= TWO53 || outB >= TWO53 || flows >= TWO53) {
    // the fix columns hold `exact − double` as a signed 32-bit integer
    fx[0] = c.flowsFix[r]! | 0;
    fx[1] = c.inPacketsFix[r]! | 0;
    fx[2] = c.inBytesFix[r]! | 0;
    fx[3] = c.outPacketsFix[r]! | 0;
    fx[4] = c.outBytesFix[r]! | 0;
    fix = fx;
  }
  return orderValue(o, flows, inP, inB, outP, outB, c.msecFirst[r]!, c.msecLast[r]!, fix, 0);
}

/** Bytes per slot of a top-N sort besides its row: heap index, value, sequence, raw elements' start and length. */
const SLOT_BYTES = 28;

/**
 * Rows per batch of a printed sorted listing: the records a batch gathers stay in the CPU caches while its
 * columns are gathered one after the other.
 */
export const TRANSIENT_BATCH_ROWS = 2048;

export class RecordSorter {
  readonly order: OrderDef;
  readonly ascending: boolean;
  readonly limit: number;
  readonly budget: MemoryBudget;
  /** Rows seen. */
  seen: number;
  // bounded mode (limit > 0)
  private readonly slots: RecordBatch | null;
  private readonly heap: Int32Array;
  private readonly heapValue: Float64Array;
  private readonly heapSeq: Float64Array;
  private size: number;
  /** each slot's raw elements: rawLen[slot] bytes at rawStart[slot] of rawHeap (rawUsed bytes written, rawLive kept) */
  private readonly rawStart: Uint32Array;
  private readonly rawLen: Uint32Array;
  private rawHeap: Uint8Array;
  private rawUsed = 0;
  private rawLive = 0;
  // unbounded mode
  private store: RowStore | null;
  private values: Float64Array;
  private valueBytes: number;
  /** a row's exact counter terms, for rowOrderValue's rare path */
  private readonly fix = new Float64Array(5);

  constructor(
    order: OrderDef,
    ascending: boolean = order.ascending,
    limit = 0,
    budget: MemoryBudget = new MemoryBudget(),
  ) {
    this.order = order;
    this.ascending = ascending;
    this.limit = limit > 0 ? limit : 0;
    this.budget = budget;
    this.seen = 0;
    this.size = 0;
    this.valueBytes = 0;
    if (this.limit > 0) {
      budget.charge(this.limit * (ROW_BYTES + SLOT_BYTES), "-O top-N", 0);
      this.slots = new RecordBatch(this.limit);
      this.slots.length = this.limit;
      this.heap = new Int32Array(this.limit);
      this.heapValue = new Float64Array(this.limit);
      this.heapSeq = new Float64Array(this.limit);
      this.rawStart = new Uint32Array(this.limit);
      this.rawLen = new Uint32Array(this.limit);
      this.rawHeap = new Uint8Array(0);
      this.store = null;
      this.values = new Float64Array(0);
    } else {
      this.slots = null;
      this.heap = new Int32Array(0);
      this.heapValue = new Float64Array(0);
      this.heapSeq = new Float64Array(0);
      this.rawStart = new Uint32Array(0);
      this.rawLen = new Uint32Array(0);
      this.rawHeap = new Uint8Array(0);
      // every column and the raw elements until keepColumns narrows them
      this.store = new RowStore(budget, "-O sort", undefined, true);
      this.values = new Float64Array(1024);
    }
  }

  /**
   * Keeps only `columns` (physical names) of the rows of an unlimited sort: the columns the output reads (the
   * order's value is taken as rows come in). Reading another column of the sorted batches throws. Before the
   * first add; a limited sort (-n) keeps whole rows.
   */
  keepColumns(columns: ReadonlySet<string>): void {
    if (this.store === null) return;
    if (this.store.length > 0) throw new RangeError("RecordSorter.keepColumns after add");
    this.store = new RowStore(this.budget, this.store.name, columns);
  }

  memoryBytes(): number {
    return this.slots
      ? this.limit * (ROW_BYTES + SLOT_BYTES) + this.rawHeap.length
      : this.store!.memoryBytes() + this.values.byteLength;
  }

  /** Adds rows `sel[0..n)` of `batch` (all rows 0..n-1 when `sel` is null). */
  add(batch: RecordBatch, sel: Uint32Array | null, n: number): void {
    const c = batch.cols;
    if (this.slots) {
      for (let j = 0; j < n; j++) this.offer(batch, sel ? sel[j]! : j);
      return;
    }
    const store = this.store!;
    const rows = sel ? sel.subarray(0, n) : identity(n);
    const at = store.append(batch, rows, n);
    if (at + n > this.values.length) {
      let len = this.values.length;
      while (len < at + n) len *= 2;
      this.budget.charge((len - this.values.length) * 8, "-O sort", at);
      this.valueBytes += (len - this.values.length) * 8;
      const v = new Float64Array(len);
      v.set(this.values);
      this.values = v;
    }
    const v = this.values;
    const o = this.order;
    const fx = this.fix;
    for (let j = 0; j < n; j++) v[at + j] = rowOrderValue(o, c, rows[j]!, fx);
    this.seen += n;
  }

  /** a (value va, sequence sa) goes before b? */
  private before(va: number, sa: number, vb: number, sb: number): boolean {
    if (va !== vb) return this.ascending ? va < vb : va > vb;
    return sa < sb;
  }

  private offer(batch: RecordBatch, r: number): void {
    const c = batch.cols;
    const seq = this.seen++;
    const v = rowOrderValue(this.order, c, r, this.fix);
    const heap = this.heap;
    const hv = this.heapValue;
    const hs = this.heapSeq;
    const slots = this.slots!;
    if (this.size < this.limit) {
      // push: slot = size; sift up (worst at the root)
      const slot = this.size;
      copyRow(c, r, slots.cols, slot);
      this.keepRaw(batch, r, slot);
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.before(hv[p]!, hs[p]!, v, seq)) break;
        heap[i] = heap[p]!;
        hv[i] = hv[p]!;
        hs[i] = hs[p]!;
        i = p;
      }
      heap[i] = slot;
      hv[i] = v;
      hs[i] = seq;
      return;
    }
    if (!this.before(v, seq, hv[0]!, hs[0]!)) return;
    const slot = heap[0]!;
    copyRow(c, r, slots.cols, slot);
    this.keepRaw(batch, r, slot);
    // sift down from the root
    let i = 0;
    const size = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      let w = l;
      const rr = l + 1;
      if (rr < size && this.before(hv[l]!, hs[l]!, hv[rr]!, hs[rr]!)) w = rr;
      if (!this.before(v, seq, hv[w]!, hs[w]!)) break;
      heap[i] = heap[w]!;
      hv[i] = hv[w]!;
      hs[i] = hs[w]!;
      i = w;
    }
    heap[i] = slot;
    hv[i] = v;
    hs[i] = seq;
  }

  /**
   * Keeps the raw elements of row r of `batch` for `slot` (replacing the slot's): appended to rawHeap, which is
   * compacted to the live slots' bytes when full (at least 8 bytes per slot of room, so compacting is amortized).
   */
  private keepRaw(batch: RecordBatch, r: number, slot: number): void {
    this.rawLive -= this.rawLen[slot]!;
    this.rawLen[slot] = 0;
    if (batch.extraLength === 0) return;
    const ends = batch.extraEnd;
    const from = r === 0 ? 0 : ends[r - 1]!;
    const len = ends[r]! - from;
    if (len === 0) return;
    if (this.rawUsed + len > this.rawHeap.length) {
      const size = Math.max(4096, 2 * (this.rawLive + len), this.limit * 8);
      const h = new Uint8Array(size);
      let o = 0;
      for (let k = 0; k < this.limit; k++) {
        const n = this.rawLen[k]!;
        if (n === 0) continue;
        h.set(this.rawHeap.subarray(this.rawStart[k], this.rawStart[k]! + n), o);
        this.rawStart[k] = o;
        o += n;
      }
      this.budget.charge(size - this.rawHeap.length, "-O top-N", this.seen);
      this.rawHeap = h;
      this.rawUsed = o;
    }
    const h = this.rawHeap;
    const s = batch.extra;
    let o = this.rawUsed;
    this.rawStart[slot] = o;
    for (let p = from; p < from + len; p++) h[o++] = s[p]!;
    this.rawUsed = o;
    this.rawLen[slot] = len;
    this.rawLive += len;
  }

  /** Appends the raw elements of `slot` to row `row`, the last row, of `out`. */
  private putRaw(slot: number, out: RecordBatch, row: number): void {
    const len = this.rawLen[slot]!;
    if (len === 0) return;
    const need = out.extraLength + len;
    if (need > out.extra.length) {
      const grown = new Uint8Array(Math.max(need, out.extra.length * 2, 4096));
      grown.set(out.extra.subarray(0, out.extraLength));
      out.extra = grown;
    }
    out.extra.set(this.rawHeap.subarray(this.rawStart[slot], this.rawStart[slot]! + len), out.extraLength);
    out.extraLength = need;
    out.extraEnd[row] = need;
  }

  /**
   * The sorted rows (best first) as RecordBatches of up to OUTPUT_BATCH_ROWS rows; `transient`: a batch is not
   * used after the next is asked for, so they share their column arrays.
   */
  *toBatches(batchRows = OUTPUT_BATCH_ROWS, transient = false): Generator<RecordBatch> {
    if (this.slots) {
      const k = this.size;
      const order = Array.from({ length: k }, (_, i) => i);
      order.sort((a, b) =>
        this.before(this.heapValue[a]!, this.heapSeq[a]!, this.heapValue[b]!, this.heapSeq[b]!) ? -1 : 1,
      );
      let out = new RecordBatch(Math.max(1, Math.min(batchRows, k)));
      for (let i = 0; i < k; i++) {
        if (out.full) {
          yield out;
          out = new RecordBatch(Math.max(1, Math.min(batchRows, k - i)));
        }
        const row = out.addRow();
        const slot = this.heap[order[i]!]!;
        copyRow(this.slots.cols, slot, out.cols, row);
        this.putRaw(slot, out, row);
      }
      if (out.length > 0) yield out;
      return;
    }
    const store = this.store!;
    const total = store.length;
    const ids = sortedOrder(this.values, total, this.ascending);
    // transient batches: the next one gathers into the arrays of the last (no garbage per batch)
    const scratch = transient ? new Map<string, unknown>() : null;
    for (let i = 0; i < total;) {
      const k = Math.min(batchRows, total - i);
      const out = store.lazyGather(ids, i, k, scratch);
      i += k;
      yield out;
    }
  }

  dispose(): void {
    if (this.slots) {
      this.budget.charge(-this.limit * (ROW_BYTES + SLOT_BYTES) - this.rawHeap.length, "-O top-N", this.seen);
      this.rawHeap = new Uint8Array(0);
    }
    if (this.store) {
      this.store.dispose();
      this.budget.charge(-this.valueBytes, "-O sort", this.seen);
      this.valueBytes = 0;
    }
  }
}

/**
 * Row numbers 0..n-1 ordered by `v` (ascending or descending), ties in row order: a stable LSD radix sort on the
 * values' IEEE bits (mapped so that unsigned order is the wanted order), four 16-bit digits, a digit every row
 * shares skipped. No comparator calls and no copy of the rows into the JS heap (Uint32Array.sort with a
 * comparator does both). Values with a NaN are sorted by comparator as before.
 */
export function sortedOrder(v: Float64Array, n: number, ascending: boolean): Uint32Array {
  if (n < 2) return identity(n);
  const keyHi = new Uint32Array(n);
  const keyLo = new Uint32Array(n);
  const words = new Uint32Array(v.buffer, v.byteOffset, n * 2);
  const flip = ascending ? 0 : 0xffffffff;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (x !== x) return comparatorOrder(v, n, ascending);
    // -0 and 0 are one value; negative numbers: all bits flipped, others: the sign bit set
    const lo = x === 0 ? 0 : words[2 * i]!;
    const hi = x === 0 ? 0 : words[2 * i + 1]!;
    const neg = hi >>> 31 === 1;
    keyHi[i] = ((neg ? ~hi : hi | 0x80000000) ^ flip) >>> 0;
    keyLo[i] = ((neg ? ~lo : lo) ^ flip) >>> 0;
  }
  let ids: Uint32Array = identity(n);
  let tmp: Uint32Array = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const key = pass < 2 ? keyLo : keyHi;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let j = 0; j < n; j++) count[(key[ids[j]!]! >>> shift) & 0xffff]!++;
    // a digit every row shares does not reorder anything
    if (count[(key[ids[0]!]! >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    for (let j = 0; j < n; j++) {
      const id = ids[j]!;
      tmp[count[(key[id]! >>> shift) & 0xffff]!++] = id;
    }
    const t = ids;
    ids = tmp;
    tmp = t;
  }
  return ids;
}

function comparatorOrder(v: Float64Array, n: number, asc: boolean): Uint32Array {
  const ids = identity(n);
  ids.sort((a, b) => {
    const va = v[a]!;
    const vb = v[b]!;
    if (va !== vb) return asc ? va - vb : vb - va;
    return a - b;
  });
  return ids;
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
