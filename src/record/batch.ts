// SPDX-License-Identifier: BSD-3-Clause
// RecordBatch: a columnar block of flow records — one typed array per physical column, reused forever.
//
// Decoders append rows with `const row = batch.addRow()` and then write `batch.cols.srcPort[row] = …`;
// a new row is all zeros (nfdump prints 0 for missing fields). Readers wrap decompressed file columns in a
// batch without copying (`RecordBatch.view`). Nothing here allocates per record.
//
// Raw elements: IPFIX elements that have no column (enterprise elements and unmapped IANA ones) are kept per
// row in `extra`, a byte heap, as a sequence of entries
//   u32 enterprise number (0 = IANA) | u16 element id | u16 length | length bytes
// with `extraEnd[row]` = end offset of the row's entries (start = extraEnd[row - 1], or 0 for row 0).

import {
  type ArrayType,
  type ColumnArrays,
  type PhysicalName,
  PHYSICAL_COLUMNS,
  V6_BIT,
  type AddrColumnName,
  newArray,
} from "./schema.js";

/** Default rows per batch; one batch becomes one file block. */
export const DEFAULT_BATCH_ROWS = 16384;

/**
 * The raw elements (`extra` and `extraEnd`) as a column selection names them (a reader's, store/format.ts
 * EXTRA_COLUMN; a format's, format/columns.ts).
 */
export const RAW_ELEMENTS = "extra";

/** Upper bound of the raw-element heap per batch (untrusted exporters must not grow memory without bound). */
export const MAX_EXTRA_BYTES = 4 * 1024 * 1024;

export class RecordBatch {
  readonly capacity: number;
  length: number;
  readonly cols: ColumnArrays;
  /** End offset in `extra` of each row's raw elements. */
  extraEnd: Uint32Array;
  /** Raw element heap (see header comment); `extraLength` bytes are used. */
  extra: Uint8Array;
  extraLength: number;
  /** Physical columns known to be all zero (set by readers for columns absent from a block). */
  readonly absent: Set<PhysicalName>;
  /** `cols` decodes each column on first access (lazyView): read it directly, never copy every column out. */
  lazyColumns = false;

  constructor(capacity: number = DEFAULT_BATCH_ROWS, cols?: ColumnArrays, asIs = false, extraEnd?: Uint32Array) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`record batch: bad capacity ${capacity}`);
    this.capacity = capacity;
    this.length = 0;
    this.cols = cols ? (asIs ? cols : fastColumns(cols)) : allocateColumns(capacity);
    this.extraEnd = extraEnd ?? new Uint32Array(capacity);
    this.extra = new Uint8Array(0);
    this.extraLength = 0;
    this.absent = new Set();
  }

  /**
   * Wraps existing column arrays (e.g. zero-copy views of a decompressed block) holding `length` rows; `extraEnd`
   * (the caller's, at least `length` long) saves allocating one per view.
   */
  static view(
    length: number,
    cols: ColumnArrays,
    absent?: Iterable<PhysicalName>,
    extraEnd?: Uint32Array,
  ): RecordBatch {
    const batch = new RecordBatch(Math.max(1, length), cols, false, extraEnd);
    batch.length = length;
    if (absent) for (const name of absent) batch.absent.add(name);
    return batch;
  }

  /**
   * Wraps a column object as is (not copied into a fast literal): a reader's lazily decoding columns, whose
   * getters decode a column of the block on first access.
   */
  static lazyView(
    length: number,
    cols: ColumnArrays,
    absent: Iterable<PhysicalName>,
    extraEnd?: Uint32Array,
  ): RecordBatch {
    const batch = new RecordBatch(Math.max(1, length), cols, true, extraEnd);
    batch.length = length;
    batch.lazyColumns = true;
    for (const name of absent) batch.absent.add(name);
    return batch;
  }

  get full(): boolean {
    return this.length >= this.capacity;
  }

  /** Appends an all-zero row and returns its index; -1 when the batch is full. */
  addRow(): number {
    if (this.length >= this.capacity) return -1;
    const row = this.length++;
    this.extraEnd[row] = this.extraLength;
    return row;
  }

  /** Drops the last row (a decoder that found the record malformed after addRow). */
  dropLastRow(): void {
    if (this.length === 0) return;
    const row = --this.length;
    clearRow(this.cols, row);
    this.extraLength = row === 0 ? 0 : this.extraEnd[row - 1]!;
  }

  /** Zeroes the used rows and empties the batch for reuse. */
  reset(): void {
    const n = this.length;
    if (n > 0) {
      for (const pc of PHYSICAL_COLUMNS) {
        (this.cols[pc.name as PhysicalName] as { fill(v: number, s: number, e: number): unknown }).fill(
          0,
          0,
          n * pc.width,
        );
      }
    }
    this.length = 0;
    this.extraLength = 0;
    this.absent.clear();
  }

  /** Appends one raw element to the current (last) row. Returns false when the heap limit is reached. */
  addExtra(enterprise: number, elementId: number, src: Uint8Array, start: number, length: number): boolean {
    return this.addExtraTo(this.length - 1, enterprise, elementId, src, start, length);
  }

  /**
   * Appends one raw element to row `row`, which must be the last row with raw elements so far (readers filling
   * a whole block's heap after decoding its columns; they set `extraEnd` of the rows without any).
   */
  addExtraTo(
    row: number,
    enterprise: number,
    elementId: number,
    src: Uint8Array,
    start: number,
    length: number,
  ): boolean {
    if (row < 0 || length > 0xffff) return false;
    const need = this.extraLength + 8 + length;
    if (need > MAX_EXTRA_BYTES) return false;
    if (need > this.extra.length) {
      const grown = new Uint8Array(Math.min(MAX_EXTRA_BYTES, Math.max(need, this.extra.length * 2, 4096)));
      grown.set(this.extra.subarray(0, this.extraLength));
      this.extra = grown;
    }
    const h = this.extra;
    let o = this.extraLength;
    h[o++] = enterprise >>> 24;
    h[o++] = (enterprise >>> 16) & 0xff;
    h[o++] = (enterprise >>> 8) & 0xff;
    h[o++] = enterprise & 0xff;
    h[o++] = elementId >>> 8;
    h[o++] = elementId & 0xff;
    h[o++] = length >>> 8;
    h[o++] = length & 0xff;
    h.set(src.subarray(start, start + length), o);
    this.extraLength = o + length;
    this.extraEnd[row] = this.extraLength;
    return true;
  }

  /** Start offset in `extra` of a row's raw elements. */
  extraStart(row: number): number {
    return row === 0 ? 0 : this.extraEnd[row - 1]!;
  }

  /** True when the row's value of an addr column is IPv6. */
  isV6(column: AddrColumnName, row: number): boolean {
    return (this.cols.v6Flags[row]! & V6_BIT[column]) !== 0;
  }

  /** Stores an IPv4 address (u32) into an addr column. */
  setV4(column: AddrColumnName, row: number, value: number): void {
    this.cols[column][row] = value >>> 0;
    this.cols.v6Flags[row] = this.cols.v6Flags[row]! & ~V6_BIT[column];
  }

  /** Stores an IPv6 address given as 16 big-endian bytes at `src[off]`. */
  setV6(column: AddrColumnName, row: number, src: Uint8Array, off: number): void {
    const words = this.cols[`${column}6`];
    const o = row * 4;
    for (let k = 0; k < 4; k++) {
      const b = off + k * 4;
      words[o + k] = ((src[b]! << 24) | (src[b + 1]! << 16) | (src[b + 2]! << 8) | src[b + 3]!) >>> 0;
    }
    this.cols[column][row] = 0;
    this.cols.v6Flags[row] = this.cols.v6Flags[row]! | V6_BIT[column];
  }

  /** Copies row `from` of `src` into a new row of this batch; returns the row or -1 when full. */
  copyRowFrom(src: RecordBatch, from: number): number {
    const row = this.addRow();
    if (row < 0) return -1;
    for (const pc of PHYSICAL_COLUMNS) {
      if (src.absent.has(pc.name as PhysicalName)) continue;
      const s = src.cols[pc.name as PhysicalName];
      const d = this.cols[pc.name as PhysicalName];
      if (pc.width === 1) d[row] = s[from]!;
      else for (let k = 0; k < 4; k++) d[row * 4 + k] = s[from * 4 + k]!;
    }
    const start = src.extraStart(from);
    const end = src.extraEnd[from]!;
    if (end > start) {
      const need = this.extraLength + (end - start);
      if (need <= MAX_EXTRA_BYTES) {
        if (need > this.extra.length) {
          const grown = new Uint8Array(Math.min(MAX_EXTRA_BYTES, Math.max(need, this.extra.length * 2, 4096)));
          grown.set(this.extra.subarray(0, this.extraLength));
          this.extra = grown;
        }
        this.extra.set(src.extra.subarray(start, end), this.extraLength);
        this.extraLength = need;
      }
      this.extraEnd[row] = this.extraLength;
    }
    return row;
  }
}

// An object built key by key with ~80 properties ends up in V8's dictionary mode, and every `cols.srcPort`
// becomes a hash lookup (docs/benchmarks.md, design figures). An object literal with fixed keys gets a fixed hidden
// class, so every column object is made by this one generated literal (only schema names are spliced in).
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
for (const pc of PHYSICAL_COLUMNS)
  if (!SAFE_NAME.test(pc.name)) throw new Error(`record: unsafe column name ${pc.name}`);
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const buildColumns = new Function(
  "c",
  `return { ${PHYSICAL_COLUMNS.map((pc) => `${pc.name}: c.${pc.name}`).join(", ")} };`,
) as (c: Record<string, unknown>) => ColumnArrays;

/** The same arrays in a fast-property object (see above). */
export function fastColumns(cols: ColumnArrays | Record<string, unknown>): ColumnArrays {
  return buildColumns(cols);
}

export function allocateColumns(capacity: number): ColumnArrays {
  const cols: Record<string, unknown> = {};
  for (const pc of PHYSICAL_COLUMNS) cols[pc.name] = newArray(pc.array, capacity * pc.width);
  return buildColumns(cols);
}

function clearRow(cols: ColumnArrays, row: number): void {
  for (const pc of PHYSICAL_COLUMNS) {
    const a = cols[pc.name as PhysicalName];
    if (pc.width === 1) a[row] = 0;
    else a.fill(0, row * 4, row * 4 + 4);
  }
}

export type { ArrayType };

/**
 * The bytes of raw element (`enterprise`, `id`) of row `i` from the batch's extra heap (entries `u32 enterprise |
 * u16 id | u16 length | bytes`, big-endian); undefined when the row has none.
 */
export function rawElementOf(batch: RecordBatch, i: number, enterprise: number, id: number): Uint8Array | undefined {
  const h = batch.extra;
  const end = batch.extraEnd[i]!;
  for (let p = i === 0 ? 0 : batch.extraEnd[i - 1]!; p + 8 <= end;) {
    const len = (h[p + 6]! << 8) | h[p + 7]!;
    const ent = ((h[p]! << 24) | (h[p + 1]! << 16) | (h[p + 2]! << 8) | h[p + 3]!) >>> 0;
    if (ent === enterprise && ((h[p + 4]! << 8) | h[p + 5]!) === id && p + 8 + len <= end)
      return h.subarray(p + 8, p + 8 + len);
    p += 8 + len;
  }
  return undefined;
}
