// SPDX-License-Identifier: BSD-3-Clause
// StatsQuery: the sink of one query — every `-s`, the `-A`/`-a`/`-b`/`-B` aggregation, the `-O` sort — built
// from the options in one place with nfdump's option rules, behind one add(batch, sel, n) / exportState /
// merge / results interface and one shared MemoryBudget. tsdump's main thread, its scan workers and the
// library API (src/api.ts) all build their sinks here.
//
// Rules (nfdump 1.7.1): up to 8 element statistics; `-s record/order…` lists the top flow records by each
// order: aggregated by -A when given, else the records as they are (-a, -b and -B are dropped with nfdump's
// warning "Command line switch -s overwrites -a"; -b/-B keep their biline listing format); `-s record` and -O
// are mutually exclusive; -A with -b/-B is refused; -O without aggregation sorts the plain listing; -n limits
// every table and listing (default 10 for statistics, unlimited otherwise; 0 = unlimited).

import type { RecordBatch } from "../record/batch.js";
import {
  Aggregator,
  bidirAggregation,
  type AggregationSpec,
  type AggregatorPart,
  type AggregatorState,
  fiveTupleAggregation,
  parseAggregation,
} from "./aggregate.js";
import { type ElementStatSpec, parseStatSpecs, type RecordStatSpec } from "./elements.js";
import { StatsError } from "./errors.js";
import { MemoryBudget } from "./key-table.js";
import { type OrderDef, parseRecordOrder } from "./orders.js";
import { RecordSorter, TRANSIENT_BATCH_ROWS } from "./sort.js";
import { StatAccumulator, type StatState, type StatTable } from "./topn.js";

export interface StatsQueryOptions {
  /** `-s` arguments, in command-line order. */
  readonly stats?: readonly string[];
  /** `-A keys`. */
  readonly aggregate?: string | undefined;
  /** `-a`. */
  readonly fiveTuple?: boolean | undefined;
  /** `-b` (1) / `-B` (2): bidirectional aggregation; not together with -A (as nfdump). */
  readonly bidir?: 0 | 1 | 2 | undefined;
  /** `-O order[:a|:d]`. */
  readonly order?: string | undefined;
  /** `-n N` as given (undefined = nfdump's default). */
  readonly limit?: number | undefined;
  /** Byte limit of all tables (default DEFAULT_STATS_MEMORY). */
  readonly memoryLimit?: number | undefined;
}

/** Transferable partial state of a StatsQuery (post from a worker; merge on the main thread). */
export interface StatsQueryState {
  readonly stats: readonly StatState[];
  readonly aggregate: AggregatorState | null;
}

/** One `-s record/…` table: its order and the top records by it. */
export interface RecordTable {
  readonly order: OrderDef;
  readonly batches: Iterable<RecordBatch>;
}

export class StatsQuery {
  readonly budget: MemoryBudget;
  readonly elementSpecs: readonly ElementStatSpec[];
  readonly recordSpecs: readonly RecordStatSpec[];
  readonly accumulators: readonly StatAccumulator[];
  /** the -A / -a / -b / -B aggregation as given (null without) */
  readonly aggregation: AggregationSpec | null;
  /** -A/-a/-b/-B of the listing (no -s), or -A of the -s record tables; null without */
  aggregator: Aggregator | null;
  /** -s record without -A: one bounded sorter per order of every record statistic */
  readonly recordSorters: readonly RecordSorter[];
  /** -O of a plain listing (no aggregation, no -s) */
  readonly sorter: RecordSorter | null;
  readonly order: { order: OrderDef; ascending: boolean } | null;
  /** Limit for statistic tables (default 10) and for listings (default 0 = all). */
  readonly statLimit: number;
  readonly listLimit: number;
  /** nfdump's warnings for option combinations it accepts (stderr) */
  readonly warnings: readonly string[];
  /** true for -s element statistics only: the sink reads only `columns` */
  readonly isStats: boolean;

  /**
   * @throws StatsError for unknown elements, orders or keys (with "did you mean"), too many -s, -s record
   *   together with -O, or -A together with -b/-B.
   */
  constructor(opts: StatsQueryOptions) {
    this.budget = new MemoryBudget(opts.memoryLimit);
    const specs = parseStatSpecs(opts.stats ?? []);
    this.elementSpecs = specs.filter((s): s is ElementStatSpec => s.type === "element");
    this.recordSpecs = specs.filter((s): s is RecordStatSpec => s.type === "record");
    this.order = opts.order !== undefined ? parseRecordOrder(opts.order) : null;
    if (this.recordSpecs.length > 0 && this.order) {
      throw new StatsError("ERR_STATS_BAD_SPEC", "statistics: -s record and -O are mutually exclusive");
    }
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
      throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: bad -n ${opts.limit}`);
    }
    if (opts.bidir && opts.aggregate !== undefined) {
      throw new StatsError(
        "ERR_STATS_BAD_SPEC",
        "aggregation: can not set custom aggregation (-A) in bidir mode (-b/-B)",
      );
    }
    this.statLimit = opts.limit ?? 10;
    this.listLimit = opts.limit ?? 0;
    this.accumulators = this.elementSpecs.map((s) => new StatAccumulator(s, this.budget));
    this.aggregation = opts.bidir
      ? bidirAggregation(opts.bidir === 2)
      : opts.aggregate !== undefined
        ? parseAggregation(opts.aggregate, false)
        : opts.fiveTuple
          ? fiveTupleAggregation()
          : null;
    const warnings: string[] = [];
    const hasStats = specs.length > 0;
    this.isStats = hasStats && this.recordSpecs.length === 0;
    if (hasStats && (opts.fiveTuple || opts.bidir)) warnings.push("Command line switch -s overwrites -a");
    if (this.isStats && opts.aggregate !== undefined)
      warnings.push("Warning: Aggregation ignored for element statistics");
    if (this.recordSpecs.length > 0) {
      this.aggregator = opts.aggregate !== undefined ? new Aggregator(this.aggregation!, this.budget) : null;
      this.recordSorters = this.aggregator
        ? []
        : this.recordSpecs.flatMap((s) =>
            s.orders.map((o) => new RecordSorter(o, s.ascending || o.ascending, this.statLimit, this.budget)),
          );
    } else {
      this.aggregator = !hasStats && this.aggregation ? new Aggregator(this.aggregation, this.budget) : null;
      this.recordSorters = [];
    }
    this.sorter =
      !hasStats && !this.aggregation && this.order
        ? new RecordSorter(this.order.order, this.order.ascending, this.listLimit, this.budget)
        : null;
    this.warnings = warnings;
  }

  /** True when the listing is replaced by aggregated or sorted records (records() yields them). */
  get hasRecords(): boolean {
    return (
      this.recordSpecs.length === 0 &&
      this.elementSpecs.length === 0 &&
      (this.aggregator !== null || this.sorter !== null)
    );
  }

  /** True when the query lists every passing row as it is (no -s, -A/-a/-b/-B or -O). */
  get isListing(): boolean {
    return this.elementSpecs.length === 0 && this.recordSpecs.length === 0 && !this.aggregation && !this.sorter;
  }

  /**
   * The logical columns the sink reads, or undefined for every column: element statistics read their
   * elements' columns (and the protocol for a split by protocol), an -A aggregation its keys (and masks).
   */
  columns(): Set<string> | undefined {
    if (this.isStats) {
      return new Set<string>(
        this.elementSpecs.flatMap((sp): string[] =>
          sp.protoSplit ? [...sp.element.columns, "proto"] : [...sp.element.columns],
        ),
      );
    }
    const a = this.aggregation;
    if (this.elementSpecs.length === 0 && this.recordSpecs.length === 0 && a && !a.keepFirst && a.bidir === 0) {
      return new Set<string>(a.parts.flatMap((p) => (p.maskColumn ? [p.column, p.maskColumn] : [p.column])));
    }
    return undefined;
  }

  /** Feeds the rows `sel[0..n)` of a batch (all rows 0..n-1 when sel is null) to every engine. */
  add(batch: RecordBatch, sel: Uint32Array | null, n: number): void {
    for (const a of this.accumulators) a.add(batch, sel, n);
    if (this.aggregator) this.aggregator.add(batch, sel, n);
    for (const s of this.recordSorters) s.add(batch, sel, n);
    if (this.sorter) this.sorter.add(batch, sel, n);
  }

  /** Partial state for the main thread (sorters are not mergeable: they run on the main thread). */
  exportState(): StatsQueryState {
    return {
      stats: this.accumulators.map((a) => a.exportState()),
      aggregate: this.aggregator ? this.aggregator.exportState() : null,
    };
  }

  merge(state: StatsQueryState): void {
    state.stats.forEach((s, i) => {
      this.accumulators[i]!.merge(s);
    });
    if (this.aggregator && state.aggregate) this.aggregator.merge(state.aggregate);
  }

  /** Replaces the aggregator by the union of hash-partitioned workers' disjoint parts. */
  adoptParts(parts: readonly AggregatorPart[]): void {
    if (!this.aggregation) throw new RangeError("StatsQuery.adoptParts without an aggregation");
    this.aggregator = Aggregator.fromParts(this.aggregation, this.budget, parts);
  }

  /** The element statistic tables in nfdump's print order (per -s, per order in table order). */
  elementTables(): StatTable[] {
    return this.accumulators.flatMap((a) => a.tables(this.statLimit));
  }

  /** `-s record`: one table per order (title "Top N flows ordered by <name>"), in command-line order. */
  recordTables(): RecordTable[] {
    const aggr = this.aggregator;
    if (aggr && this.recordSpecs.length > 0) {
      return this.recordSpecs.flatMap((s) =>
        s.orders.map((o) => ({ order: o, batches: aggr.toBatches(o, s.ascending || o.ascending, this.statLimit) })),
      );
    }
    return this.recordSorters.map((s) => ({ order: s.order, batches: s.toBatches() }));
  }

  /**
   * Aggregated (-A/-a/-b/-B, ordered by -O) or sorted (-O) records, limited by -n. `transient`: each batch is
   * done with before the next is asked for (a listing printing them), so a sort's batches may share arrays.
   */
  *records(transient = false): Generator<RecordBatch> {
    if (!this.hasRecords) return;
    if (this.aggregator) {
      yield* this.aggregator.toBatches(this.order?.order, this.order?.ascending, this.listLimit);
    } else if (this.sorter) {
      yield* this.sorter.toBatches(transient ? TRANSIENT_BATCH_ROWS : undefined, transient);
    }
  }

  /** Bytes held by all tables now, and the peak. */
  memory(): { used: number; peak: number; limit: number } {
    return { used: this.budget.used, peak: this.budget.peak, limit: this.budget.limit };
  }
}
