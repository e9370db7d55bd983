// SPDX-License-Identifier: BSD-3-Clause
// RowStore: an append-only copy of flow rows in RecordBatch chunks (for -O sorting of plain listings and the
// representative record of each -a group). Rows are gathered column by column (one tight loop per physical
// column), never through an object per row; every chunk is charged to the MemoryBudget. A store that keeps the
// raw elements (record/batch.ts) copies each row's bytes into its chunk's heap (`extra`, append-only) and sets the
// chunk's `extraEnd`, as a decoder fills a batch.

import { RAW_ELEMENTS, RecordBatch } from "../record/batch.js";
import {
  ARRAY_BYTES,
  type ArrayType,
  type ColumnArrays,
  newArray,
  PHYSICAL_COLUMNS,
  type PhysicalColumn,
  type PhysicalName,
} from "../record/schema.js";
import { invariant } from "../util/assert.js";
import type { MemoryBudget } from "./key-table.js";

/** Rows per chunk (a power of two: row r lives in chunk r >> CHUNK_BITS). */
export const ROW_CHUNK_BITS = 14;
export const ROW_CHUNK = 1 << ROW_CHUNK_BITS;

/** Bytes one row takes in a RecordBatch (all physical columns). */
export const ROW_BYTES = PHYSICAL_COLUMNS.reduce((s, pc) => s + ARRAY_BYTES[pc.array] * pc.width, 0);

export class RowStore {
  readonly chunks: RecordBatch[];
  readonly budget: MemoryBudget;
  readonly name: string;
  length: number;
  /**
   * The columns kept, or null for all of them. With a selection (a sorted listing keeps what its format
   * prints) a chunk allocates a column on the first appended value that is not zero: columns absent from the
   * input (IPv6 words of IPv4 traffic, NAT, MPLS, …) take no memory.
   */
  readonly kept: readonly PhysicalColumn[] | null;
  /** Bytes of the chunks' column arrays (charged to the budget). */
  private bytes: number;
  /** A selection's IPv6 words (width-4 columns) per chunk: only the rows whose address is not zero. */
  private readonly wide: Map<string, SparseWords>[];
  /** A selection's row-major records per chunk (null until the chunk's first rows). */
  private readonly packs: (Pack | null)[];
  /** Whether the rows' raw elements are kept. */
  readonly raw: boolean;

  /**
   * @param columns the physical columns to keep (undefined: all, each chunk a whole RecordBatch)
   * @param raw keep the raw elements too (by default when `columns` names them: format/columns.ts RAW_ELEMENTS)
   */
  constructor(
    budget: MemoryBudget,
    name: string,
    columns?: ReadonlySet<string>,
    raw = columns?.has(RAW_ELEMENTS) ?? false,
  ) {
    this.chunks = [];
    this.budget = budget;
    this.name = name;
    this.length = 0;
    this.kept = columns ? PHYSICAL_COLUMNS.filter((pc) => columns.has(pc.name)) : null;
    this.bytes = 0;
    this.wide = [];
    this.packs = [];
    this.raw = raw;
  }

  memoryBytes(): number {
    return this.bytes;
  }

  private tail(): RecordBatch {
    const last = this.chunks[this.chunks.length - 1];
    if (last && !last.full) return last;
    let b: RecordBatch;
    if (this.kept === null) {
      this.charge(ROW_CHUNK * ROW_BYTES + (this.raw ? ROW_CHUNK * 4 : 0));
      b = new RecordBatch(ROW_CHUNK);
    } else {
      // the columns come with their first value (appendKept); the row ends are shared zeros, never written,
      // until the chunk's first raw element (appendRaw)
      b = new RecordBatch(ROW_CHUNK, {} as ColumnArrays, true, NO_EXTRA_END);
      this.wide.push(new Map());
      this.packs.push(null);
    }
    this.chunks.push(b);
    return b;
  }

  private charge(n: number): void {
    this.budget.charge(n, this.name, this.length);
    this.bytes += n;
  }

  /** Appends rows `rows[0..m)` of `src`; returns the index of the first appended row. */
  append(src: RecordBatch, rows: Uint32Array, m: number): number {
    return this.appendCols(src.cols, rows, m, src.absent, src);
  }

  /**
   * As append, from bare column arrays (e.g. a posted state); `absent`: columns known to be all zero; `rawFrom`:
   * the batch holding the rows' raw elements (none: the rows have none).
   */
  appendCols(
    src: ColumnArrays,
    rows: Uint32Array,
    m: number,
    absent?: ReadonlySet<string>,
    rawFrom?: RecordBatch,
  ): number {
    const start = this.length;
    let done = 0;
    while (done < m) {
      const dst = this.tail();
      const k = Math.min(m - done, dst.capacity - dst.length);
      if (this.kept === null) gather(src, dst.cols, rows, done, k, dst.length);
      else this.appendKept(src, dst, rows, done, k, absent);
      if (this.raw) this.appendRaw(rawFrom, dst, rows, done, k);
      dst.length += k;
      done += k;
      this.length += k;
    }
    return start;
  }

  /** Appends the raw elements of rows `rows[from .. from + k)` of `src` at row `dst.length` of chunk `dst`. */
  private appendRaw(src: RecordBatch | undefined, dst: RecordBatch, rows: Uint32Array, from: number, k: number): void {
    let ends = dst.extraEnd;
    const at = dst.length;
    let o = dst.extraLength;
    if (src === undefined || src.extraLength === 0) {
      if (ends !== NO_EXTRA_END) ends.fill(o, at, at + k);
      return;
    }
    if (ends === NO_EXTRA_END) {
      // the chunk's first rows had none: their ends stay 0
      this.charge(ROW_CHUNK * 4);
      ends = dst.extraEnd = new Uint32Array(ROW_CHUNK);
    }
    const se = src.extraEnd;
    let need = o;
    for (let j = 0; j < k; j++) {
      const r = rows[from + j]!;
      need += se[r]! - (r === 0 ? 0 : se[r - 1]!);
    }
    if (need > dst.extra.length) {
      const grown = new Uint8Array(Math.max(need, dst.extra.length * 2, 4096));
      this.charge(grown.length - dst.extra.length);
      grown.set(dst.extra.subarray(0, o));
      dst.extra = grown;
    }
    const h = dst.extra;
    const s = src.extra;
    for (let j = 0; j < k; j++) {
      const r = rows[from + j]!;
      const end = se[r]!;
      for (let p = r === 0 ? 0 : se[r - 1]!; p < end; p++) h[o++] = s[p]!;
      ends[at + j] = o;
    }
    dst.extraLength = o;
  }

  /** appendCols' step for a selection: the kept columns only, allocated on their first non-zero value. */
  private appendKept(
    src: ColumnArrays,
    dst: RecordBatch,
    rows: Uint32Array,
    from: number,
    k: number,
    absent: ReadonlySet<string> | undefined,
  ): void {
    const cols = dst.cols as unknown as Record<string, ColumnArray | undefined>;
    const ci = this.packs.length - 1;
    const pack = this.packs[ci] ?? (this.packs[ci] = this.newPack(src, rows, from, k, absent));
    for (const pc of this.kept!) {
      const name = pc.name as PhysicalName;
      if (pc.width === 4) {
        if (absent?.has(name) !== true) this.appendWide(name, src[name] as Uint32Array, rows, from, k, dst.length);
        continue;
      }
      const slot = pack.slot.get(name);
      if (slot !== undefined) {
        if (absent?.has(name) !== true) {
          putStrided(pc, src[name], pack.views[pc.array], rows, from, k, dst.length, slot[0], slot[1]);
        }
        continue;
      }
      let d = cols[name];
      if (d === undefined) {
        // a column not yet allocated in this chunk reads as zero: keep it so while the values are zero
        if (absent?.has(name) === true || allZero(src[name], rows, from, k, pc.width)) continue;
        this.charge(ROW_CHUNK * pc.width * ARRAY_BYTES[pc.array]);
        d = newArray(pc.array, ROW_CHUNK * pc.width);
        cols[name] = d;
      }
      gatherRows(pc, src[name], d, rows, from, k, dst.length);
    }
  }

  /**
   * The row-major record of a new chunk: the kept one-element columns that the chunk's first rows hold (not
   * absent, not all zero), widest first, in one buffer, so that gathering a sorted row's columns touches one or
   * two cache lines instead of one per column. A column first seen later gets an array of its own.
   */
  private newPack(
    src: ColumnArrays,
    rows: Uint32Array,
    from: number,
    k: number,
    absent: ReadonlySet<string> | undefined,
  ): Pack {
    const inPack = this.kept!.filter(
      (pc) =>
        pc.width === 1 && absent?.has(pc.name) !== true && !allZero(src[pc.name as PhysicalName], rows, from, k, 1),
    );
    inPack.sort((a, b) => ARRAY_BYTES[b.array] - ARRAY_BYTES[a.array]);
    let bytes = 0;
    const offsets = inPack.map((pc) => {
      const at = bytes;
      bytes += ARRAY_BYTES[pc.array];
      return at;
    });
    const stride = Math.max(8, Math.ceil(bytes / 8) * 8);
    this.charge(ROW_CHUNK * stride);
    const buf = new ArrayBuffer(ROW_CHUNK * stride);
    const slot = new Map<string, readonly [number, number]>();
    inPack.forEach((pc, i) => {
      const size = ARRAY_BYTES[pc.array];
      slot.set(pc.name, [stride / size, offsets[i]! / size]);
    });
    return {
      slot,
      views: {
        f64: new Float64Array(buf),
        u32: new Uint32Array(buf),
        u16: new Uint16Array(buf),
        u8: new Uint8Array(buf),
      },
    };
  }

  /**
   * Appends IPv6 words of rows `rows[from .. from + k)` at row `at` of the last chunk: a non-zero address goes
   * to the chunk's word heap and its row gets the heap slot (1-based); a zero one keeps slot 0. Most rows of a
   * typical file are IPv4: 16 bytes per row per address column become 2 plus 16 per IPv6 row.
   */
  private appendWide(name: string, s: Uint32Array, rows: Uint32Array, from: number, k: number, at: number): void {
    const chunkWide = this.wide[this.wide.length - 1]!;
    let sp = chunkWide.get(name);
    for (let j = 0; j < k; j++) {
      const so = rows[from + j]! * 4;
      if ((s[so]! | s[so + 1]! | s[so + 2]! | s[so + 3]!) === 0) continue;
      if (sp === undefined) {
        this.charge(ROW_CHUNK * 2 + 64 * 16);
        sp = { slots: new Uint16Array(ROW_CHUNK), words: new Uint32Array(64 * 4), used: 0 };
        chunkWide.set(name, sp);
      }
      if ((sp.used + 1) * 4 > sp.words.length) {
        const grown = new Uint32Array(Math.min(ROW_CHUNK * 4, sp.words.length * 2));
        this.charge((grown.length - sp.words.length) * 4);
        grown.set(sp.words);
        sp.words = grown;
      }
      const w = sp.used++ * 4;
      sp.words[w] = s[so]!;
      sp.words[w + 1] = s[so + 1]!;
      sp.words[w + 2] = s[so + 2]!;
      sp.words[w + 3] = s[so + 3]!;
      sp.slots[at + j] = sp.used;
    }
  }

  /** The chunk and row of stored row `i` (all columns kept). */
  locate(i: number): [RecordBatch, number] {
    return [this.chunks[i >>> ROW_CHUNK_BITS]!, i & (ROW_CHUNK - 1)];
  }

  /**
   * Stored rows `ids[from .. from + k)` as a batch whose columns are gathered on first access: a sorted listing's
   * writer reads only the columns its format prints, so the others (most of them) are never copied. Reading a
   * column the store does not keep is a programmer error (a formatter that reads a column it did not declare)
   * and throws. With `scratch` the batch's arrays are those of the previous batch given the same scratch (the
   * caller is done with it), grown when too small.
   */
  lazyGather(ids: Uint32Array, from: number, k: number, scratch: Map<string, unknown> | null = null): RecordBatch {
    const chunkOf = reuse(scratch, " chunkOf", "u32", k) as Uint32Array;
    const rowOf = reuse(scratch, " rowOf", "u32", k) as Uint32Array;
    const mask = ROW_CHUNK - 1;
    for (let j = 0; j < k; j++) {
      const i = ids[from + j]!;
      chunkOf[j] = i >>> ROW_CHUNK_BITS;
      rowOf[j] = i & mask;
    }
    const chunks = this.chunks.slice();
    const wide = this.kept === null ? null : this.wide.slice();
    const packs = this.packs.slice();
    const kept = this.kept === null ? null : new Set(this.kept.map((pc) => pc.name));
    const store = this.name;
    const cols = {} as Record<string, unknown>;
    for (const pc of PHYSICAL_COLUMNS) {
      const name = pc.name as PhysicalName;
      Object.defineProperty(cols, name, {
        configurable: true,
        enumerable: true,
        get() {
          invariant(kept === null || kept.has(name), `${store}: column ${name} read but not kept`);
          const d = reuse(scratch, name, pc.array, Math.max(1, k) * pc.width);
          if (wide !== null && pc.width === 4) gatherSparse(wide, name, d as Uint32Array, chunkOf, rowOf, k);
          else if (wide !== null) gatherPacked(pc, chunks, packs, name, d, chunkOf, rowOf, k);
          else gatherColumn(pc, chunks, name, d, chunkOf, rowOf, k, 0);
          Object.defineProperty(cols, name, { value: d, enumerable: true, writable: true });
          return d;
        },
        // a caller replacing a column before reading it (as it may on a plain batch)
        set(v: unknown) {
          Object.defineProperty(cols, name, { value: v, enumerable: true, writable: true });
        },
      });
    }
    const out = RecordBatch.lazyView(
      k,
      cols as unknown as ColumnArrays,
      [],
      this.raw ? (reuse(scratch, " extraEnd", "u32", k) as Uint32Array) : undefined,
    );
    if (this.raw) gatherRaw(chunks, out, chunkOf, rowOf, k, scratch);
    return out;
  }

  /** Copies stored row `i` into row `to` of `dst` (all columns kept). */
  copyTo(i: number, dst: RecordBatch, to: number): void {
    const [b, r] = this.locate(i);
    copyRow(b.cols, r, dst.cols, to);
  }

  dispose(): void {
    this.budget.charge(-this.bytes, this.name, this.length);
    this.bytes = 0;
    this.chunks.length = 0;
    this.wide.length = 0;
    this.packs.length = 0;
    this.length = 0;
  }
}

type ColumnArray = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/**
 * A chunk's row-major records: `slot.get(column)` = [elements per record, element offset] in the view of the
 * column's array type (all views share one buffer).
 */
interface Pack {
  readonly slot: ReadonlyMap<string, readonly [number, number]>;
  readonly views: { readonly [T in ArrayType]: ColumnArray };
}

/** dst[(at + j) * mul + add] = s[rows[from + j]], j < k (a column of a Pack). */
function putStrided(
  pc: PhysicalColumn,
  s: ArrayLike<number>,
  d: ColumnArray,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
  mul: number,
  add: number,
): void {
  if (pc.array === "f64") putStridedF64(s as Float64Array, d as Float64Array, rows, from, k, at, mul, add);
  else if (pc.array === "u32") putStridedU32(s as Uint32Array, d as Uint32Array, rows, from, k, at, mul, add);
  else if (pc.array === "u16") putStridedU16(s as Uint16Array, d as Uint16Array, rows, from, k, at, mul, add);
  else putStridedU8(s as Uint8Array, d as Uint8Array, rows, from, k, at, mul, add);
}

// One strided copy per array type (a single element kind each).
function putStridedF64(
  s: Float64Array,
  d: Float64Array,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
  mul: number,
  add: number,
): void {
  for (let j = 0; j < k; j++) d[(at + j) * mul + add] = s[rows[from + j]!]!;
}
function putStridedU32(
  s: Uint32Array,
  d: Uint32Array,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
  mul: number,
  add: number,
): void {
  for (let j = 0; j < k; j++) d[(at + j) * mul + add] = s[rows[from + j]!]!;
}
function putStridedU16(
  s: Uint16Array,
  d: Uint16Array,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
  mul: number,
  add: number,
): void {
  for (let j = 0; j < k; j++) d[(at + j) * mul + add] = s[rows[from + j]!]!;
}
function putStridedU8(
  s: Uint8Array,
  d: Uint8Array,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
  mul: number,
  add: number,
): void {
  for (let j = 0; j < k; j++) d[(at + j) * mul + add] = s[rows[from + j]!]!;
}

/**
 * d[j] = one-element column `name` of row rowOf[j] of chunk chunkOf[j] (a selection's store): from the chunk's
 * Pack, its own array, or zero.
 */
function gatherPacked(
  pc: PhysicalColumn,
  chunks: readonly RecordBatch[],
  packs: readonly (Pack | null)[],
  name: PhysicalName,
  d: ColumnArray,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  const n = chunks.length;
  const srcs: ColumnArray[] = new Array<ColumnArray>(n);
  const mul = new Int32Array(n);
  const add = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const slot = packs[c]?.slot.get(name);
    if (slot !== undefined) {
      srcs[c] = packs[c]!.views[pc.array];
      mul[c] = slot[0];
      add[c] = slot[1];
    } else {
      srcs[c] = chunks[c]!.cols[name] ?? zerosOf(pc);
      mul[c] = 1;
      add[c] = 0;
    }
  }
  if (pc.array === "f64") gatherStridedF64(srcs as Float64Array[], mul, add, d as Float64Array, chunkOf, rowOf, k);
  else if (pc.array === "u32") gatherStridedU32(srcs as Uint32Array[], mul, add, d as Uint32Array, chunkOf, rowOf, k);
  else if (pc.array === "u16") gatherStridedU16(srcs as Uint16Array[], mul, add, d as Uint16Array, chunkOf, rowOf, k);
  else gatherStridedU8(srcs as Uint8Array[], mul, add, d as Uint8Array, chunkOf, rowOf, k);
}

// One strided gather per array type: d[j] = srcs[c][rowOf[j] * mul[c] + add[c]] with c = chunkOf[j].
function gatherStridedF64(
  srcs: Float64Array[],
  mul: Int32Array,
  add: Int32Array,
  d: Float64Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  for (let j = 0; j < k; j++) {
    const c = chunkOf[j]!;
    d[j] = srcs[c]![rowOf[j]! * mul[c]! + add[c]!]!;
  }
}
function gatherStridedU32(
  srcs: Uint32Array[],
  mul: Int32Array,
  add: Int32Array,
  d: Uint32Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  for (let j = 0; j < k; j++) {
    const c = chunkOf[j]!;
    d[j] = srcs[c]![rowOf[j]! * mul[c]! + add[c]!]!;
  }
}
function gatherStridedU16(
  srcs: Uint16Array[],
  mul: Int32Array,
  add: Int32Array,
  d: Uint16Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  for (let j = 0; j < k; j++) {
    const c = chunkOf[j]!;
    d[j] = srcs[c]![rowOf[j]! * mul[c]! + add[c]!]!;
  }
}
function gatherStridedU8(
  srcs: Uint8Array[],
  mul: Int32Array,
  add: Int32Array,
  d: Uint8Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  for (let j = 0; j < k; j++) {
    const c = chunkOf[j]!;
    d[j] = srcs[c]![rowOf[j]! * mul[c]! + add[c]!]!;
  }
}

/** A chunk's non-zero IPv6 addresses of one column: `slots[row]` is 0 (zero) or the 1-based entry in `words`. */
interface SparseWords {
  readonly slots: Uint16Array;
  words: Uint32Array;
  used: number;
}

/** d[4j .. 4j + 4) = the IPv6 words `name` of row rowOf[j] of chunk chunkOf[j] (zero when none), j < k. */
function gatherSparse(
  wide: readonly Map<string, SparseWords>[],
  name: string,
  d: Uint32Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
): void {
  const per = wide.map((m) => m.get(name) ?? null);
  for (let j = 0; j < k; j++) {
    const sp = per[chunkOf[j]!]!;
    const slot = sp === null ? 0 : sp.slots[rowOf[j]!]!;
    const o = j * 4;
    if (slot === 0) {
      d[o] = 0;
      d[o + 1] = 0;
      d[o + 2] = 0;
      d[o + 3] = 0;
    } else {
      const w = (slot - 1) * 4;
      const words = sp.words;
      d[o] = words[w]!;
      d[o + 1] = words[w + 1]!;
      d[o + 2] = words[w + 2]!;
      d[o + 3] = words[w + 3]!;
    }
  }
}

/**
 * The raw elements of row rowOf[j] of chunk chunkOf[j] into row j of `out` (its heap and row ends), j < k; the
 * heap is scratch's when long enough.
 */
function gatherRaw(
  chunks: readonly RecordBatch[],
  out: RecordBatch,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  scratch: Map<string, unknown> | null,
): void {
  // most files hold no raw elements: no row to visit
  if (chunks.every((c) => c.extraLength === 0)) {
    out.extraEnd.fill(0, 0, k);
    out.extraLength = 0;
    return;
  }
  let need = 0;
  for (let j = 0; j < k; j++) {
    const ends = chunks[chunkOf[j]!]!.extraEnd;
    const r = rowOf[j]!;
    need += ends[r]! - (r === 0 ? 0 : ends[r - 1]!);
  }
  const h = reuse(scratch, " extra", "u8", need) as Uint8Array;
  const outEnds = out.extraEnd;
  let o = 0;
  for (let j = 0; j < k; j++) {
    const chunk = chunks[chunkOf[j]!]!;
    const ends = chunk.extraEnd;
    const s = chunk.extra;
    const r = rowOf[j]!;
    const end = ends[r]!;
    for (let p = r === 0 ? 0 : ends[r - 1]!; p < end; p++) h[o++] = s[p]!;
    outEnds[j] = o;
  }
  out.extra = h;
  out.extraLength = o;
}

/** Shared row ends of the chunks of a selection (they hold no raw elements). */
const NO_EXTRA_END = new Uint32Array(ROW_CHUNK);

/** An array of `type` with at least `n` elements: scratch's under `key` when long enough, else a new one. */
function reuse(scratch: Map<string, unknown> | null, key: string, type: ArrayType, n: number): ColumnArray {
  const old = scratch?.get(key) as ColumnArray | undefined;
  if (old !== undefined && old.length >= n) return old;
  const a = newArray(type, n);
  scratch?.set(key, a);
  return a;
}

/** Read-only zero columns of one chunk, per array type and width. */
const ZEROS = new Map<string, ColumnArray>();
function zerosOf(pc: PhysicalColumn): ColumnArray {
  const key = `${pc.array}x${pc.width}`;
  let z = ZEROS.get(key);
  if (z === undefined) {
    z = newArray(pc.array, ROW_CHUNK * pc.width);
    ZEROS.set(key, z);
  }
  return z;
}

/** Whether rows `rows[from .. from + k)` of `s` are all zero. */
function allZero(s: ArrayLike<number>, rows: Uint32Array, from: number, k: number, width: number): boolean {
  if (width === 1) {
    for (let j = 0; j < k; j++) if (s[rows[from + j]!] !== 0) return false;
    return true;
  }
  for (let j = 0; j < k; j++) {
    const so = rows[from + j]! * 4;
    if ((s[so]! | s[so + 1]! | s[so + 2]! | s[so + 3]!) !== 0) return false;
  }
  return true;
}

/** d[at + j] = s[rows[from + j]], j < k, through the loop for the column's array type. */
function gatherRows(
  pc: PhysicalColumn,
  s: ArrayLike<number>,
  d: ColumnArray,
  rows: Uint32Array,
  from: number,
  k: number,
  at: number,
): void {
  if (pc.width === 4) putWide(s as Uint32Array, d as Uint32Array, rows, from, k, at);
  else if (pc.array === "f64") putF64(s as Float64Array, d as Float64Array, rows, from, k, at);
  else if (pc.array === "u32") putU32(s as Uint32Array, d as Uint32Array, rows, from, k, at);
  else if (pc.array === "u16") putU16(s as Uint16Array, d as Uint16Array, rows, from, k, at);
  else putU8(s as Uint8Array, d as Uint8Array, rows, from, k, at);
}

// One copy per array type, each seeing a single element kind: d[at + j] = s[rows[from + j]].
function putF64(s: Float64Array, d: Float64Array, rows: Uint32Array, from: number, k: number, at: number): void {
  for (let j = 0; j < k; j++) d[at + j] = s[rows[from + j]!]!;
}
function putU32(s: Uint32Array, d: Uint32Array, rows: Uint32Array, from: number, k: number, at: number): void {
  for (let j = 0; j < k; j++) d[at + j] = s[rows[from + j]!]!;
}
function putU16(s: Uint16Array, d: Uint16Array, rows: Uint32Array, from: number, k: number, at: number): void {
  for (let j = 0; j < k; j++) d[at + j] = s[rows[from + j]!]!;
}
function putU8(s: Uint8Array, d: Uint8Array, rows: Uint32Array, from: number, k: number, at: number): void {
  for (let j = 0; j < k; j++) d[at + j] = s[rows[from + j]!]!;
}
function putWide(s: Uint32Array, d: Uint32Array, rows: Uint32Array, from: number, k: number, at: number): void {
  for (let j = 0; j < k; j++) {
    const so = rows[from + j]! * 4;
    const dO = (at + j) * 4;
    d[dO] = s[so]!;
    d[dO + 1] = s[so + 1]!;
    d[dO + 2] = s[so + 2]!;
    d[dO + 3] = s[so + 3]!;
  }
}

/**
 * d[at + j] = column `name` of row rowOf[j] of chunks[chunkOf[j]], j < k, through the loop for its array type (a
 * single loop over every column type makes V8's element access megamorphic).
 */
function gatherColumn(
  pc: PhysicalColumn,
  chunks: readonly RecordBatch[],
  name: PhysicalName,
  d: ArrayLike<number>,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  // a chunk of a selection without the column (all its values zero) reads from shared zeros
  const srcs = chunks.map((c) => (c.cols[name] as ColumnArray | undefined) ?? zerosOf(pc));
  if (pc.width === 4) gatherWide(srcs as Uint32Array[], d as Uint32Array, chunkOf, rowOf, k, at);
  else if (pc.array === "f64") gatherF64(srcs as Float64Array[], d as Float64Array, chunkOf, rowOf, k, at);
  else if (pc.array === "u32") gatherU32(srcs as Uint32Array[], d as Uint32Array, chunkOf, rowOf, k, at);
  else if (pc.array === "u16") gatherU16(srcs as Uint16Array[], d as Uint16Array, chunkOf, rowOf, k, at);
  else gatherU8(srcs as Uint8Array[], d as Uint8Array, chunkOf, rowOf, k, at);
}

// One gather per array type, each seeing a single element kind: d[at + j] = srcs[chunkOf[j]][rowOf[j]].
function gatherF64(
  srcs: Float64Array[],
  d: Float64Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  for (let j = 0; j < k; j++) d[at + j] = srcs[chunkOf[j]!]![rowOf[j]!]!;
}
function gatherU32(
  srcs: Uint32Array[],
  d: Uint32Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  for (let j = 0; j < k; j++) d[at + j] = srcs[chunkOf[j]!]![rowOf[j]!]!;
}
function gatherU16(
  srcs: Uint16Array[],
  d: Uint16Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  for (let j = 0; j < k; j++) d[at + j] = srcs[chunkOf[j]!]![rowOf[j]!]!;
}
function gatherU8(
  srcs: Uint8Array[],
  d: Uint8Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  for (let j = 0; j < k; j++) d[at + j] = srcs[chunkOf[j]!]![rowOf[j]!]!;
}
function gatherWide(
  srcs: Uint32Array[],
  d: Uint32Array,
  chunkOf: Uint32Array,
  rowOf: Uint32Array,
  k: number,
  at: number,
): void {
  for (let j = 0; j < k; j++) {
    const s = srcs[chunkOf[j]!]!;
    const so = rowOf[j]! * 4;
    const dO = (at + j) * 4;
    d[dO] = s[so]!;
    d[dO + 1] = s[so + 1]!;
    d[dO + 2] = s[so + 2]!;
    d[dO + 3] = s[so + 3]!;
  }
}

/** dst[at + j] = src[rows[from + j]] for every physical column, j < k. */
function gather(src: ColumnArrays, dst: ColumnArrays, rows: Uint32Array, from: number, k: number, at: number): void {
  for (const pc of PHYSICAL_COLUMNS) {
    const s = src[pc.name as PhysicalName];
    const d = dst[pc.name as PhysicalName];
    if (pc.width === 1) {
      for (let j = 0; j < k; j++) d[at + j] = s[rows[from + j]!]!;
    } else {
      for (let j = 0; j < k; j++) {
        const so = rows[from + j]! * 4;
        const dO = (at + j) * 4;
        d[dO] = s[so]!;
        d[dO + 1] = s[so + 1]!;
        d[dO + 2] = s[so + 2]!;
        d[dO + 3] = s[so + 3]!;
      }
    }
  }
}

/** Copies one row between column sets. */
export function copyRow(src: ColumnArrays, from: number, dst: ColumnArrays, to: number): void {
  for (const pc of PHYSICAL_COLUMNS) {
    const s = src[pc.name as PhysicalName];
    const d = dst[pc.name as PhysicalName];
    if (pc.width === 1) {
      d[to] = s[from]!;
    } else {
      for (let w = 0; w < 4; w++) d[to * 4 + w] = s[from * 4 + w]!;
    }
  }
}
