// SPDX-License-Identifier: BSD-3-Clause
// Fast-property view of a batch's column arrays.
//
// RecordBatch.cols is built key by key (allocateColumns), which leaves V8 with a dictionary-mode object: every
// `cols.srcPort` is then a hash lookup (docs/benchmarks.md, design figures). The decoders instead write
// through an object literal with the same arrays — a literal with fixed keys gets a fixed hidden class — built
// once per batch (batches are reused, so in practice once per collector). Generated from the schema's
// physical column names only.

import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type ColumnArrays } from "../record/schema.js";

const SAFE = /^[A-Za-z0-9]+$/;
for (const p of PHYSICAL_COLUMNS) if (!SAFE.test(p.name)) throw new Error(`decode: unsafe column name ${p.name}`);

// eslint-disable-next-line @typescript-eslint/no-implied-eval
const buildView = new Function(
  "c",
  `return { ${PHYSICAL_COLUMNS.map((p) => `${p.name}: c.${p.name}`).join(", ")} };`,
) as (c: ColumnArrays) => ColumnArrays;

/** Caches the fast view of the last batch seen. */
export class ColumnViewCache {
  private cols: ColumnArrays | null = null;
  private view: ColumnArrays | null = null;

  /** The fast view of `batch.cols` (rebuilt only when the batch changes). */
  of(batch: RecordBatch): ColumnArrays {
    if (batch.cols !== this.cols || this.view === null) {
      this.cols = batch.cols;
      this.view = buildView(batch.cols);
    }
    return this.view;
  }
}
