// SPDX-License-Identifier: BSD-3-Clause
// The one per-block pipeline of a query, used by the main thread's scan (engine/scan.ts) and by every scan
// worker (dump/scanner.ts):
//
//   zone-map verdict (window, filter.mayMatch) → read only the columns the query needs; when it needs every
//   column, late materialisation: a tsflow block decodes the filter's columns now and the others when the sink
//   first reads them (restricted to the passing rows), an nfdump block is probed on the filter's columns and
//   only its passing rows are decoded whole → filter.scan → -t window → passing rows in `sel`.
//
// The caller applies -c, sums the footer's totals and hands the rows to its sink.

import type { CompiledFilter } from "../filter/index.js";
import type { RecordBatch } from "../record/batch.js";
import { EXACT_COUNTERS, fixName } from "../record/u64.js";
import { UNKNOWN_ZONE } from "../record/zone.js";
import type { FlowFileSource } from "../store/nffile/source.js";
import type { ReadOrder } from "../store/read-ahead.js";
import { FlowFileReader } from "../store/reader.js";
import { addSum } from "./sums.js";
import { applyWindow, blockInWindow, fileInWindow, type TimeWindow } from "./window.js";

/** Columns the footer's totals read. */
export const SUMMARY_COLUMNS = [
  "inBytes",
  "inPackets",
  "outBytes",
  "outPackets",
  "flows",
  "msecFirst",
  "msecLast",
  ...EXACT_COUNTERS.map(fixName),
];

/** A column selection plus the exact companions (record/u64.ts) of the counters it holds. */
function withFixes(names: Iterable<string>): Set<string> {
  const set = new Set<string>(names);
  for (const c of EXACT_COUNTERS) if (set.has(c)) set.add(fixName(c));
  return set;
}

/** What a scan counted: the footer's totals and the work done. One type for the main thread and the workers. */
export interface ScanCounts {
  /** rows read (decoded blocks) */
  processed: number;
  /** rows that passed filter, window and -c */
  passed: number;
  blocksSkipped: number;
  bytesRead: number;
  /** sums over the passing rows */
  flows: number;
  bytes: number;
  packets: number;
  /** exact − double of the three sums (record/u64.ts) */
  flowsFix: number;
  bytesFix: number;
  packetsFix: number;
  first: number;
  last: number;
  /** min/max of the files' statistics records (the Time window line) */
  fileFirst: number;
  fileLast: number;
  /** damaged files, blocks and appendices reported */
  damaged: number;
}

/** Counts before any block: zeros and empty time ranges. */
export function emptyCounts(): ScanCounts {
  return {
    processed: 0,
    passed: 0,
    blocksSkipped: 0,
    bytesRead: 0,
    flows: 0,
    bytes: 0,
    packets: 0,
    flowsFix: 0,
    bytesFix: 0,
    packetsFix: 0,
    first: Infinity,
    last: -Infinity,
    fileFirst: Infinity,
    fileLast: -Infinity,
    damaged: 0,
  };
}

/** Adds `c` (another thread's or block's counts) to `into`. */
export function addCounts(into: ScanCounts, c: ScanCounts): void {
  into.processed += c.processed;
  into.passed += c.passed;
  into.blocksSkipped += c.blocksSkipped;
  into.bytesRead += c.bytesRead;
  addSum(into, "flows", "flowsFix", c.flows, c.flowsFix);
  addSum(into, "bytes", "bytesFix", c.bytes, c.bytesFix);
  addSum(into, "packets", "packetsFix", c.packets, c.packetsFix);
  into.damaged += c.damaged;
  if (c.first < into.first) into.first = c.first;
  if (c.last > into.last) into.last = c.last;
  if (c.fileFirst < into.fileFirst) into.fileFirst = c.fileFirst;
  if (c.fileLast > into.fileLast) into.fileLast = c.fileLast;
}

/** Adds a file's statistics record to the Time window line's range. */
export function countFile(counts: ScanCounts, s: { msecFirst: number; msecLast: number }): void {
  if (s.msecFirst > 0 || s.msecLast > 0) {
    counts.fileFirst = Math.min(counts.fileFirst, s.msecFirst);
    counts.fileLast = Math.max(counts.fileLast, s.msecLast);
  }
}

/** Block verdicts of a plan: SKIP (no row can pass), READ (may match), DAMAGED (left to the read to report). */
export const BLOCK_SKIP = 0;
export const BLOCK_READ = 1;
export const BLOCK_DAMAGED = 2;

export class BlockPipeline {
  readonly filter: CompiledFilter;
  readonly window: TimeWindow | undefined;
  /** columns decoded (the query's, the filter's and the summary's); undefined: every column */
  readonly selection: ReadonlySet<string> | undefined;
  /** every column needed but a filter to apply: the filter's columns are decoded first */
  private readonly probe: ReadonlySet<string> | undefined;
  private readonly usePred: boolean;
  /** the passing rows of the last block read (read-only for the caller) */
  sel = new Uint32Array(16384);
  /** sel[0, identity) holds 0, 1, 2 …: a block whose rows all pass needs no new selection */
  private identity = 0;

  /** @param columns the sink's columns; undefined when it reads every column (listings, -O, -w) */
  constructor(filter: CompiledFilter, window: TimeWindow | undefined, columns: Iterable<string> | undefined) {
    this.filter = filter;
    this.window = window;
    this.selection = columns ? withFixes([...columns, ...filter.columns, ...SUMMARY_COLUMNS]) : undefined;
    this.probe = this.selection === undefined && !filter.matchesAll ? new Set<string>(filter.columns) : undefined;
    this.usePred = window !== undefined || !filter.matchesAll;
  }

  /** Whether a file may hold passing rows (its statistics record and ident); false: skip it unopened. */
  fileMayMatch(reader: FlowFileSource): boolean {
    const s = reader.stats();
    if (this.window && !fileInWindow(s, this.window)) return false;
    return this.filter.mayMatch(UNKNOWN_ZONE, reader.header().ident); // e.g. `ident X` on another source's file
  }

  private grow(n: number): void {
    this.sel = new Uint32Array(n);
    this.identity = 0;
  }

  /** Whether every block is read (no filter, no window: no zone map to consult). */
  get readsEveryBlock(): boolean {
    return !this.usePred;
  }

  /** The zone-map verdict of block `bi` (BLOCK_READ when the query has neither filter nor window). */
  verdict(reader: FlowFileSource, bi: number, ident: string): number {
    if (!this.usePred) return BLOCK_READ;
    const z = reader.zoneMap(bi, true);
    if (z === undefined) return BLOCK_DAMAGED;
    if (this.window && !blockInWindow(z, this.window)) return BLOCK_SKIP;
    return this.filter.mayMatch(z, ident) ? BLOCK_READ : BLOCK_SKIP;
  }

  /**
   * Reads block `bi` and selects its passing rows into `this.sel`; returns the batch and their count, or
   * undefined when the block was skipped (counted), damaged (reported by the reader) or had no passing row.
   * `verdict`: the plan's, when known (else the zone map is consulted here). `ahead`: the order of the blocks the
   * caller reads (or the next one), from which a tsflow reader reads the next few ahead (store/read-ahead.ts).
   */
  read(
    reader: FlowFileSource,
    bi: number,
    ident: string,
    counts: ScanCounts,
    verdict?: number,
    ahead?: number | ReadOrder,
  ): { batch: RecordBatch; k: number } | undefined {
    const v = verdict ?? this.verdict(reader, bi, ident);
    if (v === BLOCK_SKIP) {
      counts.blocksSkipped++;
      return undefined;
    }
    if (v === BLOCK_DAMAGED && verdict === undefined) return undefined; // reported through onError
    const f = this.filter;
    const tsflow = reader instanceof FlowFileReader ? reader : undefined;
    const lazy = this.probe !== undefined ? tsflow : undefined;
    let batch = lazy
      ? lazy.readBlockLazy(bi, this.probe!, ahead)
      : tsflow
        ? tsflow.readBlock(bi, this.selection ?? this.probe, ahead)
        : reader.readBlock(bi, this.selection ?? this.probe);
    if (batch === undefined) return undefined;
    counts.bytesRead += reader.bytesRead ? reader.bytesRead(bi) : reader.blockInfo(bi).length;
    counts.processed += batch.length;
    if (this.sel.length < batch.length) this.grow(batch.length);
    if (this.probe !== undefined && lazy === undefined) {
      // an nfdump block: only the rows that pass on the filter's columns are decoded whole
      this.identity = 0;
      const k0 = f.scan(batch, this.sel, ident);
      if (k0 === 0) return undefined;
      batch = reader.readRows ? reader.readRows(bi, this.sel, k0) : reader.readBlock(bi);
      if (batch === undefined) return undefined;
      if (this.sel.length < batch.length) this.grow(batch.length);
    }
    const sel = this.sel;
    const n = batch.length;
    let k: number;
    if (f.matchesAll) {
      for (let i = this.identity; i < n; i++) sel[i] = i;
      if (n > this.identity) this.identity = n;
      k = n;
    } else {
      this.identity = 0;
      k = f.scan(batch, sel, ident);
    }
    if (this.window && k > 0) {
      this.identity = 0;
      k = applyWindow(batch, sel, k, this.window);
    }
    if (k === 0) return undefined;
    if (lazy) lazy.lazyRows(sel, k); // the sink reads only these rows: few of them decode row by row
    return { batch, k };
  }
}
