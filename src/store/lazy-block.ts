// SPDX-License-Identifier: BSD-3-Clause
// The lazily decoded columns of FlowFileReader.readBlockLazy: a stored column is decoded on its first access.

import { PHYSICAL_COLUMNS, type ArrayType } from "../record/schema.js";
import type { ColumnEntry } from "./column-table.js";

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** What a LazyBlock asks its reader for (FlowFileReader). */
export interface LazyColumnSource {
  zeroColumn(type: ArrayType, len: number): Column;
  /** the passing rows of a column only (see FlowFileReader.lazyRows); undefined: decode it whole */
  lazyDecodeRows(
    e: ColumnEntry,
    buf: Uint8Array,
    n: number,
    i: number,
    fileOff: number,
    rows: Uint32Array,
    count: number,
  ): Column | undefined;
  lazyDecode(e: ColumnEntry, buf: Uint8Array, n: number, i: number, fileOff: number, v6Flags: () => Uint8Array): Column;
}

export const V6FLAGS_INDEX = PHYSICAL_COLUMNS.findIndex((pc) => pc.name === "v6Flags");

/**
 * The columns of the block a reader read last with readBlockLazy: every stored column is decoded on its first
 * access (a getter on the prototype, so the object keeps one shape), the others read as shared zero arrays.
 */
export class LazyBlock {
  /** a new object per block: consumers that cache per `cols` identity (formatters' views) see a new block */
  columns: LazyColumnObject;
  private reader: LazyColumnSource | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  private n = 0;
  private block = 0;
  private fileOff = 0;
  private readonly entries: (ColumnEntry | undefined)[] = new Array<ColumnEntry | undefined>(PHYSICAL_COLUMNS.length);
  private readonly decoded: (Column | undefined)[] = new Array<Column | undefined>(PHYSICAL_COLUMNS.length);
  /** set by FlowFileReader.lazyRows: the only rows the consumer will read from columns decoded from now on */
  private rows: Uint32Array | undefined;
  private rowCount = 0;

  constructor() {
    this.columns = new LazyColumnObject(this);
  }

  begin(
    reader: LazyColumnSource,
    buf: Uint8Array,
    stored: readonly ColumnEntry[],
    n: number,
    block: number,
    fileOff: number,
    eager: Record<string, Column>,
  ): void {
    this.columns = new LazyColumnObject(this);
    this.reader = reader;
    this.buf = buf;
    this.n = n;
    this.block = block;
    this.fileOff = fileOff;
    this.entries.fill(undefined);
    this.decoded.fill(undefined);
    this.rows = undefined;
    this.rowCount = 0;
    for (const e of stored) this.entries[e.tgt] = e;
    for (let k = 0; k < PHYSICAL_COLUMNS.length; k++) {
      const c = eager[PHYSICAL_COLUMNS[k]!.name];
      if (c !== undefined) this.decoded[k] = c;
    }
  }

  isStored(name: string): boolean {
    const k = PHYSICAL_INDEX.get(name);
    return k !== undefined && this.entries[k] !== undefined;
  }

  restrict(rows: Uint32Array, count: number): void {
    this.rows = rows;
    this.rowCount = count;
  }

  get(k: number): Column {
    const c = this.decoded[k];
    if (c !== undefined) return c;
    const pc = PHYSICAL_COLUMNS[k]!;
    const e = this.entries[k];
    const r = this.reader!;
    const rows = this.rows;
    const col =
      e === undefined
        ? r.zeroColumn(pc.array, this.n * pc.width)
        : ((rows !== undefined
            ? r.lazyDecodeRows(e, this.buf, this.n, this.block, this.fileOff, rows, this.rowCount)
            : undefined) ??
          r.lazyDecode(e, this.buf, this.n, this.block, this.fileOff, () => this.get(V6FLAGS_INDEX) as Uint8Array));
    this.decoded[k] = col;
    return col;
  }
}

const PHYSICAL_INDEX: ReadonlyMap<string, number> = new Map(PHYSICAL_COLUMNS.map((pc, k) => [pc.name, k] as const));

export class LazyColumnObject {
  readonly lazyBlock: LazyBlock;
  constructor(lazyBlock: LazyBlock) {
    this.lazyBlock = lazyBlock;
  }
}
for (let k = 0; k < PHYSICAL_COLUMNS.length; k++) {
  Object.defineProperty(LazyColumnObject.prototype, PHYSICAL_COLUMNS[k]!.name, {
    get(this: LazyColumnObject): Column {
      return this.lazyBlock.get(k);
    },
    enumerable: true,
  });
}
