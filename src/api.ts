// SPDX-License-Identifier: BSD-3-Clause
// tsflow as a library: `import { openFlows, query } from "tsflow"`. The same engine as tsdump (file selection
// like -r/-R/-M, -t windows, the compiled filter, the block pipeline, StatsQuery for -s/-A/-O), on the calling
// thread. Batches are columnar (RecordBatch: typed arrays per column); a batch and its row selection are valid
// until the iteration goes on.

import { compileFilter } from "./filter/index.js";
import type { RecordBatch } from "./record/batch.js";
import { StatsQuery } from "./stats/query.js";
import { listFlowFiles, listMulti, listRange } from "./store/layout.js";
import { BlockPipeline, emptyCounts, type ScanCounts } from "./engine/pipeline.js";
import { passingBlocks, planScan } from "./engine/scan.js";
import type { TimeWindow } from "./engine/window.js";
import { parseTimeWindow } from "./dump/options.js";
import { statRows } from "./engine/stat-rows.js";
import type { StatRow } from "./format/stat-table.js";

export type { RecordBatch, ScanCounts, TimeWindow };

/** Which flows: files like tsdump's -r/-R/-M, a -t window, a filter in nfdump's syntax. */
export interface FlowSelection {
  /** -r: a file or a directory (walked recursively) */
  readonly file?: string;
  /** -R: `dir`, or `first:last` file names */
  readonly range?: string;
  /** -M: `base/dir1:dir2`, with `file` or `range` relative to each */
  readonly multiDir?: string;
  /** -t: `YYYY/MM/dd.hh:mm:ss[-YYYY/MM/dd.hh:mm:ss]` or ms since the epoch, both ends inclusive */
  readonly window?: string | TimeWindow;
  /** filter expression (nfdump syntax); default: every flow */
  readonly filter?: string;
  /** -c: stop after this many flows */
  readonly limit?: number;
  /** damaged files and blocks (the scan goes on); default: ignored, counted in `counts.damaged` */
  readonly onError?: (message: string) => void;
}

/** The selected files in time order. */
export function selectFiles(s: FlowSelection): string[] {
  if (s.multiDir !== undefined) {
    const rel = s.range !== undefined ? { range: s.range } : s.file !== undefined ? { file: s.file } : {};
    return listMulti(s.multiDir, rel);
  }
  if (s.range !== undefined) return listRange(s.range);
  if (s.file !== undefined) return listFlowFiles(s.file);
  throw new RangeError("tsflow: no input: give file, range or multiDir");
}

function windowOf(s: FlowSelection): TimeWindow | undefined {
  return typeof s.window === "string" ? parseTimeWindow(s.window) : s.window;
}

/** Flows as batches: each with the rows that passed (`rows[0..count)`, indexes into the batch's columns). */
export interface FlowBatch {
  readonly batch: RecordBatch;
  readonly rows: Uint32Array;
  readonly count: number;
}

export interface FlowStream extends Iterable<FlowBatch> {
  /** totals of what was read so far (as tsdump's footer) */
  readonly counts: ScanCounts;
}

/** Opens the selected flows for iteration; `columns` limits what is decoded (default: every column). */
export function openFlows(s: FlowSelection, columns?: Iterable<string>): FlowStream {
  const filter = compileFilter(s.filter ?? "any");
  const pipeline = new BlockPipeline(filter, windowOf(s), columns);
  const plan = planScan(selectFiles(s), pipeline, { workers: 1 });
  const counts = emptyCounts();
  const onError = s.onError ?? ((): void => undefined);
  return {
    counts,
    *[Symbol.iterator]() {
      for (const b of passingBlocks(plan, pipeline, counts, { onError, limit: s.limit })) {
        yield { batch: b.batch, rows: b.sel, count: b.k };
      }
    },
  };
}

/** A statistics or aggregation query: tsdump's -s, -A/-a/-b/-B, -O and -n. */
export interface QuerySpec extends FlowSelection {
  readonly stats?: readonly string[];
  readonly aggregate?: string;
  readonly fiveTuple?: boolean;
  readonly bidir?: 0 | 1 | 2;
  readonly order?: string;
  readonly top?: number;
}

/** One row of a statistic: the element value as text plus its counters. */
export type { StatRow };

export interface QueryResult {
  readonly counts: ScanCounts;
  /** one per -s element and order, in nfdump's print order */
  readonly tables: readonly { element: string; order: string; rows: readonly StatRow[] }[];
  /** -s record tables: the top records by each order */
  readonly recordTables: readonly { order: string; records: readonly RecordBatch[] }[];
  /** -A/-a/-b/-B aggregated records (ordered by -O) or the -O sorted listing */
  readonly records: readonly RecordBatch[];
}

/** Runs a query over the selected flows and returns its tables and records. @throws on bad options */
export function query(spec: QuerySpec): QueryResult {
  const q = new StatsQuery({
    stats: spec.stats ?? [],
    aggregate: spec.aggregate,
    fiveTuple: spec.fiveTuple,
    bidir: spec.bidir,
    order: spec.order,
    limit: spec.top,
  });
  const flows = openFlows(spec, q.columns());
  for (const b of flows) q.add(b.batch, b.rows, b.count);
  const tables = q.elementTables().map((t) => ({
    element: t.element.name,
    order: t.order.name,
    rows: statRows(t),
  }));
  const recordTables = q.recordTables().map((t) => ({ order: t.order.name, records: [...t.batches] }));
  return { counts: flows.counts, tables, recordTables, records: [...q.records()] };
}
