// SPDX-License-Identifier: BSD-3-Clause
// Fast column access for the formatters.
//
// RecordBatch.cols is built property by property (allocateColumns), which leaves V8 with a dictionary-mode
// object of ~80 keys: every `cols.srcPort` in a per-record writer is then a hash lookup. Formatters therefore
// read columns through a view whose `cols` is an object literal with the same keys (fast properties, one
// hidden class), made once per batch. The literal is generated from the schema's physical column names only
// (no data is ever spliced into code).

import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type ColumnArrays } from "../record/schema.js";

/** What the writers need of a batch. RecordBatch itself satisfies it. */
export interface BatchView {
  readonly cols: ColumnArrays;
  /** the batch itself, for its raw elements (set by ViewCache.of; a lazy RecordBatch is its own view) */
  batch?: RecordBatch | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-implied-eval
const copyCols = new Function(
  "c",
  `return {${PHYSICAL_COLUMNS.map((pc) => `${JSON.stringify(pc.name)}: c[${JSON.stringify(pc.name)}]`).join(", ")}};`,
) as (c: ColumnArrays) => ColumnArrays;

/** A per-formatter cache of the view of the last batch seen. */
export class ViewCache {
  private lastCols: ColumnArrays | null = null;
  private lastFirst: Float64Array | null = null;
  private view: BatchView = { cols: copyCols({} as ColumnArrays) };

  /** The fast view of `b` (rebuilt when the batch's column arrays change). */
  of(b: RecordBatch | BatchView): BatchView {
    // a lazily decoding batch (few rows of a block passed a filter): its getters decode only the columns read
    if ((b as Partial<RecordBatch>).lazyColumns === true) return b;
    const c = b.cols;
    if (c !== this.lastCols || c.msecFirst !== this.lastFirst) {
      this.lastCols = c;
      this.lastFirst = c.msecFirst;
      this.view = { cols: copyCols(c) };
    }
    this.view.batch = "extraEnd" in b ? b : b.batch;
    return this.view;
  }
}
