// SPDX-License-Identifier: BSD-3-Clause
// StatsQuery: the statistics part of one tsdump run — every `-s`, the `-A`/`-a` aggregation and the `-O`
// sort — behind one add(batch, sel, n) / merge(state) / results interface, with one shared MemoryBudget.
//
// Rules (nfdump 1.7.1): up to 8 element statistics; `-s record/order…` lists flow records ordered by each order,
// aggregated by -A when given, else by the 5-tuple (-a); `-s record` and -O are mutually exclusive; -A implies
// aggregation; -O without -A/-a sorts the plain listing; -n limits every table and listing (default 10 for
// statistics, unlimited otherwise; 0 = unlimited).

import type { RecordBatch } from "../record/batch.js";
import {
  Aggregator,
  bidirAggregation,
  type AggregationSpec,
  type AggregatorState,
  fiveTupleAggregation,
  parseAggregation,
} from "./aggregate.js";
import { type ElementStatSpec, parseStatSpecs, type RecordStatSpec } from "./elements.js";
import { StatsError } from "./errors.js";
import { MemoryBudget } from "./key-table.js";
import { type OrderDef, parseRecordOrder } from "./orders.js";
import { RecordSorter } from "./sort.js";
import { StatAccumulator, type StatState, type StatTable } from "./topn.js";

export interface StatsQueryOptions {
  /** `-s` arguments, in command-line order. */
  readonly stats?: readonly string[];
  /** `-A keys`. */
  readonly aggregate?: string;
  /** `-a`. */
  readonly fiveTuple?: boolean;
  /** `-b` (1) / `-B` (2): bidirectional aggregation; not together with -A (as nfdump). */
  readonly bidir?: 0 | 1 | 2;
  /** `-O order[:a|:d]`. */
  readonly order?: string;
  /** `-n N` as given (undefined = nfdump's default). */
  readonly limit?: number;
  /** Byte limit of all tables (default DEFAULT_STATS_MEMORY). */
  readonly memoryLimit?: number;
}

/** Transferable partial state of a StatsQuery (post from a worker; merge on the main thread). */
export interface StatsQueryState {
  readonly stats: readonly StatState[];
  readonly aggregate: AggregatorState | null;
  readonly records: readonly AggregatorState[];
}

export class StatsQuery {
  readonly budget: MemoryBudget;
  readonly elementSpecs: readonly ElementStatSpec[];
  readonly recordSpec: RecordStatSpec | null;
  readonly accumulators: readonly StatAccumulator[];
  /** -A / -a aggregation of the listing (null without). */
  readonly aggregator: Aggregator | null;
  /** -s record: the aggregation the record tables come from. */
  readonly recordAggregator: Aggregator | null;
  /** -O without aggregation. */
  readonly sorter: RecordSorter | null;
  readonly order: { order: OrderDef; ascending: boolean } | null;
  /** Limit for statistic tables (default 10) and for listings (default 0 = all). */
  readonly statLimit: number;
  readonly listLimit: number;

  /**
   * @throws StatsError for unknown elements, orders or keys (with "did you mean"), too many -s, or -s record
   *   together with -O.
   */
  constructor(opts: StatsQueryOptions) {
    this.budget = new MemoryBudget(opts.memoryLimit);
    const specs = parseStatSpecs(opts.stats ?? []);
    this.elementSpecs = specs.filter((s): s is ElementStatSpec => s.type === "element");
    const records = specs.filter((s): s is RecordStatSpec => s.type === "record");
    this.recordSpec = records[records.length - 1] ?? null;
    this.order = opts.order !== undefined ? parseRecordOrder(opts.order) : null;
    if (this.recordSpec && this.order) {
      throw new StatsError("ERR_STATS_BAD_SPEC", "statistics: -s record and -O are mutually exclusive");
    }
    if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
      throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: bad -n ${opts.limit}`);
    }
    this.statLimit = opts.limit ?? 10;
    this.listLimit = opts.limit ?? 0;
    this.accumulators = this.elementSpecs.map((s) => new StatAccumulator(s, this.budget));
    if (opts.bidir && opts.aggregate) {
      throw new StatsError(
        "ERR_STATS_BAD_SPEC",
        "aggregation: can not set custom aggregation (-A) in bidir mode (-b/-B)",
      );
    }
    const aggr: AggregationSpec | null = opts.bidir
      ? bidirAggregation(opts.bidir === 2)
      : opts.aggregate
        ? parseAggregation(opts.aggregate)
        : opts.fiveTuple
          ? fiveTupleAggregation()
          : null;
    if (this.recordSpec) {
      this.recordAggregator = new Aggregator(aggr ?? fiveTupleAggregation(), this.budget);
      this.aggregator = null;
      this.sorter = null;
    } else {
      this.recordAggregator = null;
      this.aggregator = aggr ? new Aggregator(aggr, this.budget) : null;
      this.sorter =
        !aggr && this.order
          ? new RecordSorter(this.order.order, this.order.ascending, this.listLimit, this.budget)
          : null;
    }
  }

  /** True when the listing is replaced by aggregated or sorted records (records() yields them). */
  get hasRecords(): boolean {
    return this.aggregator !== null || this.sorter !== null;
  }

  /** Feeds the rows `sel[0..n)` of a batch (all rows 0..n-1 when sel is null) to every engine. */
  add(batch: RecordBatch, sel: Uint32Array | null, n: number): void {
    for (const a of this.accumulators) a.add(batch, sel, n);
    if (this.aggregator) this.aggregator.add(batch, sel, n);
    if (this.recordAggregator) this.recordAggregator.add(batch, sel, n);
    if (this.sorter) this.sorter.add(batch, sel, n);
  }

  /** Partial state for the main thread (a -O sorter of a plain listing is not mergeable: sort on the main thread). */
  exportState(): StatsQueryState {
    return {
      stats: this.accumulators.map((a) => a.exportState()),
      aggregate: this.aggregator ? this.aggregator.exportState() : null,
      records: this.recordAggregator ? [this.recordAggregator.exportState()] : [],
    };
  }

  merge(state: StatsQueryState): void {
    state.stats.forEach((s, i) => {
      this.accumulators[i]!.merge(s);
    });
    if (this.aggregator && state.aggregate) this.aggregator.merge(state.aggregate);
    if (this.recordAggregator && state.records[0]) this.recordAggregator.merge(state.records[0]);
  }

  /** The element statistic tables in nfdump's print order (per -s, per order in table order). */
  elementTables(): StatTable[] {
    return this.accumulators.flatMap((a) => a.tables(this.statLimit));
  }

  /** `-s record`: one listing per order, each with its OrderDef (title "Top N flows ordered by <name>"). */
  *recordTables(): Generator<{ order: OrderDef; batches: Generator<RecordBatch> }> {
    if (!this.recordSpec || !this.recordAggregator) return;
    for (const o of this.recordSpec.orders) {
      yield {
        order: o,
        batches: this.recordAggregator.toBatches(o, this.recordSpec.ascending || o.ascending, this.statLimit),
      };
    }
  }

  /** Aggregated (-A/-a, ordered by -O) or sorted (-O) records, limited by -n. */
  *records(): Generator<RecordBatch> {
    if (this.aggregator) {
      yield* this.aggregator.toBatches(this.order?.order, this.order?.ascending, this.listLimit);
    } else if (this.sorter) {
      yield* this.sorter.toBatches();
    }
  }

  /** Bytes held by all tables now, and the peak. */
  memory(): { used: number; peak: number; limit: number } {
    return { used: this.budget.used, peak: this.budget.peak, limit: this.budget.limit };
  }
}
