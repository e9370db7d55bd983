// SPDX-License-Identifier: BSD-3-Clause
// tsdump's query driver: files → reader (zone-map block skipping) → compiled filter → one sink
// (listing, -s statistics, -A aggregation, -O sort, -w write) → output and nfdump's footer.
//
//   select files (-r/-R/-M, -t/-T windows)
//     └─ per file: a tsflow or nfdump file (openAnyFlowFile), blocks whose zone map cannot match are skipped undecompressed
//          └─ per block: filter.scan → selection vector → time window → -c limit → sink.add(batch, sel, n)
//   sink.finish() → stdout; footer (Summary / Time window / Total / Sys) unless -q
//
// Damaged blocks are reported on stderr with file, block and offset; the run goes on and exits 2.

import { dirname } from "node:path";
import { cpuUsage, hrtime } from "node:process";
import { compileFilter, readFilterFile, type CompiledFilter } from "../filter/index.js";
import {
  aggregateFormat,
  createFormatter,
  csvLegacySummary,
  formatStatTable,
  formatStatTableCsv,
  formatStatTableJson,
  NO_MATCHING_FLOWS,
  textFooter,
  type Formatter,
  type Output,
} from "../format/index.js";
import { RecordBatch } from "../record/batch.js";
import { UNKNOWN_ZONE, type ZoneMap } from "../record/zone.js";
import {
  Aggregator,
  bidirAggregation,
  fiveTupleAggregation,
  MemoryBudget,
  parseAggregation,
  parseRecordOrder,
  parseStatSpecs,
  RecordSorter,
  StatAccumulator,
  type AggregatorPart,
  type ElementStatSpec,
  type StatState,
  type StatTable,
} from "../stats/index.js";
import { runParallel } from "./parallel.js";
import { drawStatTable, Progress } from "./tty.js";
import type { ScanConfig } from "./scan-worker.js";
import { FlowFileReader, FlowFileWriter, listFlowFiles, listMulti, listRange } from "../store/index.js";
import { UsageError } from "../util/errors.js";
import { EXIT } from "../cli/common.js";
import { nffileInput, openAnyFlowFile, type FlowFileSource } from "../store/nffile/index.js";
import type { QueryOptions } from "./options.js";
import type { QueryIO } from "./io.js";
import { printExporters, printInfo, verifyFile } from "./info.js";
import { sumRows } from "./sums.js";
import { applyWindow, blockInWindow, fileInWindow } from "./window.js";

/** Counters of a run, for the footer. */
interface RunCounts {
  processed: number;
  passed: number;
  blocksSkipped: number;
  bytesRead: number;
  flows: number;
  bytes: number;
  packets: number;
  first: number;
  last: number;
  /** min/max of the files' statistics records (the Time window line) */
  fileFirst: number;
  fileLast: number;
  damaged: number;
}

/** What each passing block is handed to. */
interface Sink {
  add(batch: RecordBatch, sel: Uint32Array, n: number): void;
}

/** The files a run reads, in time order. */
export function selectFiles(o: QueryOptions): string[] {
  // no name-based window here: a file's slot is when it was collected, not when its flows happened (replays,
  // late exporters); like nfdump, each file's statistics record decides (scanFiles / runParallel)
  const opts = {};
  if (o.multiDir !== undefined) {
    const rel =
      o.readRange !== undefined ? { range: o.readRange } : o.readFile !== undefined ? { file: o.readFile } : {};
    return listMulti(o.multiDir, rel, opts);
  }
  if (o.readRange !== undefined) return listRange(o.readRange, opts);
  if (o.readFile !== undefined) return listFlowFiles(o.readFile, opts);
  throw new UsageError("no input: give -r file|dir, -R dir or -M dirs");
}

/** Candidate blocks above which worker threads pay for their start-up (docs/benchmarks.md). */
const WORKER_MIN_BLOCKS = 256;

/**
 * Whether a scan leaves enough blocks after zone-map pruning to be worth worker threads: true at once for a scan
 * of everything; else the zone maps of tsflow files are consulted until WORKER_MIN_BLOCKS candidates are found,
 * or more than half of at least 64 blocks seen are candidates. nfdump files have no zone maps: all candidates.
 */
function enoughBlocksForWorkers(
  files: readonly string[],
  filter: CompiledFilter,
  window: { start: number; end: number } | undefined,
): boolean {
  if (filter.matchesAll && window === undefined) return true;
  let seen = 0;
  let candidates = 0;
  const plan = new Map<string, Uint8Array>();
  for (const file of files) {
    let reader: FlowFileSource;
    try {
      reader = openAnyFlowFile(file, {});
    } catch {
      continue; // reported by the scan itself
    }
    try {
      const blocks = reader.blockCount;
      if (!(reader instanceof FlowFileReader)) {
        candidates += blocks;
        seen += blocks;
      } else {
        const stats = reader.stats();
        if (window && !fileInWindow(stats, window)) {
          seen += blocks;
          continue;
        }
        const ident = reader.header().ident;
        if (!filter.mayMatch(UNKNOWN_ZONE, ident)) {
          seen += blocks;
          continue;
        }
        const mark = new Uint8Array(blocks); // 1: may match; 2: damaged (left to the scan to report)
        for (let bi = 0; bi < blocks; bi++) {
          const z = reader.zoneMap(bi);
          seen++;
          if (z === undefined) {
            mark[bi] = 2;
            continue;
          }
          if (window && !blockInWindow(z, window)) continue;
          if (filter.mayMatch(z, ident)) {
            candidates++;
            mark[bi] = 1;
          }
          if (candidates >= WORKER_MIN_BLOCKS || (seen >= 64 && candidates * 2 > seen)) return true;
        }
        plan.set(file, mark);
      }
      if (candidates >= WORKER_MIN_BLOCKS) return true;
    } finally {
      reader.close();
    }
  }
  blockPlans.set(files, plan); // the sequential scan reuses the verdicts instead of reading the zone maps again
  return false;
}

/** Per file list: zone-map verdicts per block from enoughBlocksForWorkers, for scanFiles. */
const blockPlans = new WeakMap<readonly string[], Map<string, Uint8Array>>();

function timeWindow(o: QueryOptions, now: number): { start: number; end: number } | undefined {
  let w = o.timeWindow ? { ...o.timeWindow } : undefined;
  if (o.lastSeconds !== undefined) {
    const last = { start: now - o.lastSeconds * 1000, end: now };
    w = w ? { start: Math.max(w.start, last.start), end: Math.min(w.end, last.end) } : last;
  }
  return w;
}

/** Reads every selected file and hands the passing rows to `sink`. Returns the counts. */
function scanFiles(
  files: readonly string[],
  filter: CompiledFilter,
  window: { start: number; end: number } | undefined,
  limit: number | undefined,
  sink: Sink,
  io: QueryIO,
  columns?: ReadonlySet<string>,
): RunCounts {
  // decode only what the query touches: the filter's columns, the sink's, and the summary's
  const selection = columns ? new Set<string>([...columns, ...filter.columns, ...SUMMARY_COLUMNS]) : undefined;
  // a query that needs every column of matching rows first decodes only the filter's columns of a block
  const probe = selection === undefined && !filter.matchesAll ? new Set<string>(filter.columns) : undefined;
  const counts: RunCounts = {
    processed: 0,
    passed: 0,
    blocksSkipped: 0,
    bytesRead: 0,
    flows: 0,
    bytes: 0,
    packets: 0,
    first: Infinity,
    last: -Infinity,
    fileFirst: Infinity,
    fileLast: -Infinity,
    damaged: 0,
  };
  let sel = new Uint32Array(16384);
  let ident = "";
  const pred = (z: ZoneMap): boolean => {
    if (window && !blockInWindow(z, window)) return false;
    return filter.mayMatch(z, ident);
  };
  const plan = blockPlans.get(files);
  const progress = io.progress ? new Progress(io.err) : null;
  let blocksDone = 0;
  let blocksTotal = 0;
  for (const file of files) {
    if ((limit !== undefined && counts.passed >= limit) || io.out.stopped) break;
    let reader: FlowFileSource;
    try {
      reader = openAnyFlowFile(file, {
        onError: (err) => {
          counts.damaged++;
          io.err(`tsdump: ${err.message}\n`);
        },
      });
    } catch (err) {
      counts.damaged++;
      io.err(`tsdump: ${(err as Error).message}\n`);
      continue;
    }
    try {
      const stats = reader.stats();
      if (stats.msecFirst > 0 || stats.msecLast > 0) {
        counts.fileFirst = Math.min(counts.fileFirst, stats.msecFirst);
        counts.fileLast = Math.max(counts.fileLast, stats.msecLast);
      }
      if (window && !fileInWindow(stats, window)) continue;
      ident = reader.header().ident;
      if (!filter.mayMatch(UNKNOWN_ZONE, ident)) continue; // e.g. `ident X` on another source's file
      const usePred = window !== undefined || !filter.matchesAll;
      const blocks = reader.blockCount;
      blocksTotal += blocks;
      const mark = plan?.get(file);
      for (let bi = 0; bi < blocks; bi++) {
        progress?.update(blocksDone++, blocksTotal, counts.processed);
        const verdict = mark?.[bi];
        if (verdict === 0) {
          counts.blocksSkipped++;
          continue;
        } else if (usePred && verdict !== 1) {
          const z = reader.zoneMap(bi);
          if (z === undefined) continue; // damaged: reported through onError
          if (!pred(z)) {
            counts.blocksSkipped++;
            continue;
          }
        }
        // late materialisation: a tsflow block decodes the filter's columns now and every other column when the
        // sink first reads it (a needle prints a dozen columns of a few rows); an nfdump block is probed on the
        // filter's columns and decoded whole only when a row matched
        const lazyReader =
          probe !== undefined && selection === undefined && reader instanceof FlowFileReader ? reader : undefined;
        const lazy = lazyReader !== undefined;
        let batch = lazyReader ? lazyReader.readBlockLazy(bi, probe!) : reader.readBlock(bi, selection ?? probe);
        if (batch !== undefined && sel.length < batch.length) sel = new Uint32Array(batch.length);
        if (batch === undefined) continue;
        if (!lazy && probe !== undefined && selection === undefined && filter.scan(batch, sel, ident) > 0) {
          batch = reader.readBlock(bi);
          if (batch === undefined) continue;
        } else if (!lazy && probe !== undefined && selection === undefined) {
          counts.bytesRead += reader.blockInfo(bi).length;
          counts.processed += batch.length;
          continue;
        }
        counts.bytesRead += reader.blockInfo(bi).length;
        const n = batch.length;
        counts.processed += n;
        let k = filter.matchesAll ? fillAll(sel, n) : filter.scan(batch, sel, ident);
        if (window && k > 0) k = applyWindow(batch, sel, k, window);
        if (limit !== undefined && counts.passed + k > limit) k = limit - counts.passed;
        if (k <= 0) continue;
        if (lazy) lazyReader.lazyRows(sel, k); // the sink reads only these rows: few of them decode row by row
        counts.passed += k;
        sumRows(batch, sel, k, counts);
        sink.add(batch, sel, k);
        if ((limit !== undefined && counts.passed >= limit) || io.out.stopped) break;
      }
    } finally {
      reader.close();
    }
  }
  progress?.done();
  return counts;
}

/**
 * -J codec: rewrites tsflow files in place with another block codec (a temporary file, then an atomic rename;
 * ident, creation time and exporter counters are kept). nfdump files are converted with -w instead.
 */
function recompressFiles(files: readonly string[], codecText: string, io: QueryIO): number {
  const codec =
    codecText === "0" || codecText === "none" ? "none" : codecText === "lz4" || codecText === "3" ? "lz4" : undefined;
  if (codec === undefined) throw new UsageError(`-J: unknown codec '${codecText}' (lz4 or none)`);
  let code: number = EXIT.OK;
  for (const file of files) {
    let reader: FlowFileSource;
    try {
      reader = openAnyFlowFile(file, {
        onError: (e) => {
          io.err(`tsdump: ${e.message}\n`);
        },
      });
    } catch (err) {
      io.err(`tsdump: ${(err as Error).message}\n`);
      code = EXIT.DATA;
      continue;
    }
    const h = reader.header();
    if (!(reader instanceof FlowFileReader)) {
      io.err(`tsdump: ${file}: an nfdump file; convert it with -r ${file} -w OUT\n`);
      reader.close();
      code = EXIT.USAGE;
      continue;
    }
    const writer = FlowFileWriter.open(`${file}.recompress.${process.pid}`, {
      codec,
      ident: h.ident,
      creator: h.creator,
      created: h.created,
    });
    for (const e of reader.stats().exporters) writer.addExporterStats(e);
    for (let i = 0; i < reader.blockCount; i++) {
      const batch = reader.readBlock(i);
      if (batch !== undefined && batch.length > 0) writer.appendBatchSync(batch);
    }
    if (reader.errors.length > 0) code = EXIT.DATA;
    reader.close();
    writer.closeSync({ finalPath: file, ifExists: "replace" });
    io.out.write(`${file}: ${h.codec} -> ${codec}\n`);
  }
  return code;
}

/**
 * The part of the hash space (the share of the groups) of the worker that reads the blocks in partitioned
 * aggregation: it also decodes every block and forwards the other partitions' rows, so it aggregates less.
 */
function readerShare(workers: number): number {
  return workers <= 1 ? 1 : Math.max(0.05, (1 - 0.4 * (workers - 1)) / workers);
}

/**
 * Upper bound of the rows a scan of `files` reads (their statistics records; files outside the window count 0),
 * to size aggregation tables once. Unreadable files count 0: the scan reports them.
 */
function rowsToScan(files: readonly string[], window: { start: number; end: number } | undefined): number {
  let rows = 0;
  for (const file of files) {
    try {
      const r = openAnyFlowFile(file);
      try {
        const s = r.stats();
        if (!window || fileInWindow(s, window)) rows += s.rows;
      } finally {
        r.close();
      }
    } catch {
      // reported by the scan
    }
  }
  return rows;
}

/** Columns the footer's totals read. */
const SUMMARY_COLUMNS = ["inBytes", "inPackets", "outBytes", "outPackets", "flows", "msecFirst", "msecLast"] as const;

function fillAll(sel: Uint32Array, n: number): number {
  for (let i = 0; i < n; i++) sel[i] = i;
  return n;
}

function footer(
  counts: RunCounts,
  started: { wall: bigint; cpu: NodeJS.CpuUsage },
  plain: boolean,
  clip?: { start: number; end: number },
): string {
  const wall = Number(hrtime.bigint() - started.wall) / 1e9;
  const cpu = cpuUsage(started.cpu);
  const t = {
    flows: counts.flows,
    bytes: counts.bytes,
    packets: counts.packets,
    firstMs: Number.isFinite(counts.first) ? counts.first : 0,
    lastMs: Number.isFinite(counts.last) ? counts.last : 0,
  };
  // the files' time window, clipped to -t/-T as nfdump prints it
  let fileFirst = counts.fileFirst;
  let fileLast = counts.fileLast;
  if (clip && Number.isFinite(fileFirst)) {
    fileFirst = Math.max(fileFirst, clip.start);
    fileLast = Math.min(fileLast, clip.end);
  }
  const window = {
    firstMs: Number.isFinite(fileFirst) ? fileFirst : 0,
    lastMs: Number.isFinite(fileLast) ? fileLast : 0,
  };
  return (
    (counts.passed === 0 ? NO_MATCHING_FLOWS : "") +
    textFooter(t, window, counts, { sys: cpu.system / 1e6, user: cpu.user / 1e6, wall }, plain)
  );
}

function formatterFor(o: QueryOptions, spec: string | undefined, dflt: string): Formatter {
  let name = spec ?? dflt;
  if (name === "csv" && o.csvLegacy) name = "csv-legacy";
  return createFormatter(name, { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet });
}

/** A listing sink: prints every passing row with the formatter. */
function listingSink(fmt: Formatter, out: Output): Sink {
  return {
    add(batch, sel, n) {
      for (let j = 0; j < n; j++) fmt.record(batch, sel[j]!, out);
    },
  };
}

/** Prints rows of batches in order through the formatter (aggregated or sorted output). */
function printBatches(batches: Iterable<RecordBatch>, fmt: Formatter, out: Output): void {
  for (const b of batches) for (let i = 0; i < b.length; i++) fmt.record(b, i, out);
}

function statRows(
  table: StatTable,
): { key: string; proto: number; first: number; last: number; flows: number; packets: number; bytes: number }[] {
  return table.rows.map((r) => ({
    key: r.keyText,
    proto: r.proto,
    first: r.first,
    last: r.last,
    flows: r.flows,
    packets: r.packets,
    bytes: r.bytes,
  }));
}

/** Scans with -W worker threads; returns the counts in scanFiles' shape plus the workers' partial tables. */
async function scanParallel(
  o: QueryOptions,
  files: readonly string[],
  filterText: string,
  baseDir: string | undefined,
  window: { start: number; end: number } | undefined,
  columns: ReadonlySet<string> | undefined,
  extra: Partial<ScanConfig> & Pick<ScanConfig, "mode">,
  io: QueryIO,
): Promise<{ counts: RunCounts; stats: unknown[][]; aggregates: unknown[] }> {
  const config: ScanConfig = {
    files,
    filter: filterText,
    baseDir,
    window,
    columns: columns ? [...columns, ...SUMMARY_COLUMNS] : undefined,
    ...extra,
  };
  const r = await runParallel(config, o.workers, io.out, io.err, io.progress ? new Progress(io.err) : undefined);
  return { counts: r.counts, stats: r.stats, aggregates: r.aggregates };
}

/** Runs a query; returns the exit code. */
export async function runQuery(o: QueryOptions, io: QueryIO): Promise<number> {
  const started = { wall: hrtime.bigint(), cpu: cpuUsage() };
  // ── the filter: -f file, or the trailing words ──
  let filterText = o.filter;
  let baseDir: string | undefined;
  if (filterText === "" && o.filterFile !== undefined) {
    filterText = readFilterFile(o.filterFile);
    baseDir = dirname(o.filterFile);
  }
  if (filterText === "") filterText = "any";
  const filter = compileFilter(filterText, baseDir !== undefined ? { baseDir } : {});
  if (o.checkOnly) return EXIT.OK;
  if (o.explain) {
    io.out.write(`${filter.explain}\n${filter.source}\n`);
    return EXIT.OK;
  }
  // ── single-file modes ──
  if (o.verifyFile !== undefined) return verifyFile(o.verifyFile, io);
  if (o.exportersFile !== undefined) return printExporters(o.exportersFile, io);

  const window = timeWindow(o, io.now());
  const files = selectFiles(o);
  if (o.info) return printInfo(files, io);
  if (o.recompress !== undefined) return recompressFiles(files, o.recompress, io);

  const budget = new MemoryBudget();
  const limit = o.limit;
  const statSpecs = parseStatSpecs(o.stats);
  const aggregation =
    o.aggregate !== undefined
      ? parseAggregation(o.aggregate, false)
      : o.bidirectional > 0
        ? bidirAggregation(o.bidirectional === 2)
        : o.aggregateFiveTuple
          ? fiveTupleAggregation()
          : undefined;
  const postFilter = o.postFilter !== undefined ? compileFilter(o.postFilter) : undefined;
  const out = io.out;
  // worker threads for every whole-file scan; -c (stop after N) keeps the sequential path, and so does a query
  // whose zone maps leave few blocks to read (a needle): starting workers would cost more than they save
  const parallel = o.workers > 1 && limit === undefined && enoughBlocksForWorkers(files, filter, window);

  // ── -w: passing (or aggregated) rows into a new tsflow file ──
  if (o.writeFile !== undefined) {
    const codec = o.compress === "none" ? "none" : "lz4";
    const writer = FlowFileWriter.open(`${o.writeFile}.tmp.${process.pid}`, { codec, creator: "tsdump" });
    const buf = new RecordBatch(16384);
    const flush = (): void => {
      if (buf.length > 0) writer.appendBatchSync(buf);
      buf.reset();
    };
    const aggr = aggregation ? new Aggregator(aggregation, budget) : null;
    const counts = scanFiles(
      files,
      filter,
      window,
      limit,
      {
        add(batch, sel, n) {
          if (aggr) {
            aggr.add(batch, sel, n);
            return;
          }
          for (let j = 0; j < n; j++) {
            if (buf.copyRowFrom(batch, sel[j]!) < 0) {
              flush();
              buf.copyRowFrom(batch, sel[j]!);
            }
          }
        },
      },
      io,
    );
    if (aggr) {
      for (const e of aggr.entryOrder()) {
        if (aggr.writeEntry(e, buf) < 0) {
          flush();
          aggr.writeEntry(e, buf);
        }
      }
    }
    flush();
    writer.closeSync({ finalPath: o.writeFile, ifExists: "replace" });
    return counts.damaged > 0 ? EXIT.DATA : EXIT.OK;
  }

  // ── -s statistics ──
  if (statSpecs.length > 0) {
    const elementSpecs = statSpecs.filter((s): s is ElementStatSpec => s.type === "element");
    const recordSpecs = statSpecs.filter((s) => s.type === "record");
    const accs = elementSpecs.map((s) => new StatAccumulator(s, budget));
    const recordAggr = recordSpecs.length > 0 && aggregation ? new Aggregator(aggregation, budget) : null;
    const recordSorters = recordSpecs.flatMap((s) =>
      s.orders.map((ord) => new RecordSorter(ord, ord.ascending, o.topN ?? 10, budget)),
    );
    // the elements' columns, and the protocol only for a split by protocol (`:p`, `proto`)
    const statColumns =
      recordSpecs.length > 0
        ? undefined
        : new Set<string>(
            elementSpecs.flatMap((sp): string[] =>
              sp.protoSplit ? [...sp.element.columns, "proto"] : [...sp.element.columns],
            ),
          );
    let counts: RunCounts;
    if (parallel && recordSpecs.length === 0) {
      const r = await scanParallel(
        o,
        files,
        filterText,
        baseDir,
        window,
        statColumns,
        { mode: "stats", stats: o.stats },
        io,
      );
      counts = r.counts;
      for (const states of r.stats)
        states.forEach((st, i) => {
          accs[i]!.merge(st as StatState);
        });
    } else {
      counts = scanFiles(
        files,
        filter,
        window,
        limit,
        {
          add(batch, sel, n) {
            for (const a of accs) a.add(batch, sel, n);
            if (recordAggr) recordAggr.add(batch, sel, n);
            else for (const s of recordSorters) s.add(batch, sel, n);
          },
        },
        io,
        statColumns,
      );
    }
    const topN = o.topN ?? 10;
    const fmtName = o.format ?? "line";
    const totals = { flows: counts.flows, packets: counts.packets, bytes: counts.bytes };
    const printOpts = { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet };
    for (const acc of accs) {
      for (const table of acc.tables(topN)) {
        const spec = {
          element: table.element.header,
          order: table.order.name,
          topN,
          isAddress: table.element.kind === "addr",
          byProto: table.spec.protoSplit,
        };
        const rows = statRows(table);
        if (o.table) out.write(drawStatTable(table, totals, o.plainNumbers));
        else if (fmtName === "csv") out.write(formatStatTableCsv(spec, rows, totals, printOpts));
        else if (fmtName === "json") out.write(formatStatTableJson(spec, rows, totals));
        else out.write(formatStatTable(spec, rows, totals, printOpts));
      }
    }
    for (const [i, sorter] of recordSorters.entries()) {
      const fmt = formatterFor(o, o.format, "line");
      if (!o.quiet) out.write(`Top ${topN} flows ordered by ${sorter.order.name}:\n`);
      fmt.prolog(out);
      printBatches(sorter.toBatches(), fmt, out);
      fmt.epilog(out);
      if (i < recordSorters.length - 1) out.write("\n");
    }
    if (!o.quiet && fmtName !== "csv" && fmtName !== "json") out.write(footer(counts, started, o.plainNumbers, window));
    return counts.damaged > 0 ? EXIT.DATA : EXIT.OK;
  }

  // ── -A / -a aggregation (then -O, -n, -P) ──
  if (aggregation) {
    if (o.format === "null") throw new UsageError("invalid print format null to aggregate flows");
    const aggrColumns = aggregation.keepFirst
      ? undefined
      : new Set<string>(
          aggregation.parts.flatMap((part) => (part.maskColumn ? [part.column, part.maskColumn] : [part.column])),
        );
    const rows = Math.min(limit ?? Infinity, rowsToScan(files, window));
    let aggr: Aggregator;
    let counts: RunCounts;
    if (parallel && o.bidirectional === 0 && !aggregation.keepFirst && o.aggregate !== undefined) {
      // hash-partitioned (docs/benchmarks.md): each worker reads every block and keeps the groups of its hash
      // partition, so the tables are disjoint, each half the size, and only each partition's best N come back;
      // building two full tables and merging them was slower than one thread (docs/benchmarks.md)
      // the first N by -O (or in first-seen order) of all groups are among the first N of each partition
      const topN = postFilter ? 0 : (o.topN ?? 0);
      const r = await scanParallel(
        o,
        files,
        filterText,
        baseDir,
        window,
        aggrColumns,
        {
          mode: "aggregate",
          aggregate: o.aggregate,
          partition: {
            index: 0,
            count: o.workers,
            share0: readerShare(o.workers),
            rows,
            topN,
            ...(o.order !== undefined ? { order: o.order } : {}),
          },
        },
        io,
      );
      counts = r.counts;
      aggr = Aggregator.fromParts(aggregation, budget, r.aggregates as AggregatorPart[]);
    } else {
      aggr = new Aggregator(aggregation, budget);
      aggr.reserve(rows);
      counts = scanFiles(
        files,
        filter,
        window,
        limit,
        {
          add: (b, s, n) => {
            aggr.add(b, s, n);
          },
        },
        io,
        aggrColumns,
      );
    }
    const order = o.order !== undefined ? parseRecordOrder(o.order) : undefined;
    const ids = aggr.entryOrder(order?.order, order?.ascending, postFilter ? 0 : (o.topN ?? 0));
    // -A prints nfdump's automatic key format; -a the default listing, -b/-B the bidirectional one
    const dflt =
      o.aggregate !== undefined
        ? `fmt:${aggregateFormat(o.aggregate.split(","))}`
        : o.bidirectional > 0
          ? "biline"
          : "line";
    const fmt = formatterFor(o, o.format, dflt);
    fmt.prolog(out);
    const row = new RecordBatch(1);
    const sel = new Uint32Array(1);
    let printed = 0;
    const max = postFilter && o.topN ? o.topN : Infinity;
    for (const e of ids) {
      if (printed >= max) break;
      row.reset();
      aggr.writeEntry(e, row);
      if (postFilter && postFilter.scan(row, sel) === 0) continue;
      fmt.record(row, 0, out);
      printed++;
    }
    fmt.epilog(out);
    if (!o.quiet && fmt.summary === "text") out.write(footer(counts, started, o.plainNumbers, window));
    return counts.damaged > 0 ? EXIT.DATA : EXIT.OK;
  }

  // ── plain listing, possibly sorted ──
  const fmt = formatterFor(o, o.format, "line");
  fmt.prolog(out);
  let counts: RunCounts;
  if (o.order !== undefined) {
    const { order, ascending } = parseRecordOrder(o.order);
    const sorter = new RecordSorter(order, ascending, o.topN ?? 0, budget);
    counts = scanFiles(
      files,
      filter,
      window,
      limit,
      {
        add: (b, s, n) => {
          sorter.add(b, s, n);
        },
      },
      io,
    );
    printBatches(sorter.toBatches(), fmt, out);
  } else if (parallel && (o.format === "null" || window !== undefined ? nffileInput(files) : true)) {
    // docs/benchmarks.md: workers pay off for a scan of everything (filtering, formatting); -o null on
    // tsflow files only sums (per-block messages cost more than the second thread gains), but on nfdump files
    // every block costs an LZ4 decode and a record walk, which two threads split; a time window leaves so few
    // tsflow blocks after zone-map pruning that starting workers costs more than it saves (nfdump files have
    // no zone maps: there the window does not change the plan)
    const isNull = o.format === "null";
    const format = o.format === "csv" && o.csvLegacy ? "csv-legacy" : (o.format ?? "line");
    counts = (
      await scanParallel(
        o,
        files,
        filterText,
        baseDir,
        window,
        isNull ? new Set<string>() : undefined,
        {
          mode: isNull ? "count" : "list",
          format,
          formatOptions: { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet },
        },
        io,
      )
    ).counts;
  } else {
    counts = scanFiles(
      files,
      filter,
      window,
      limit,
      listingSink(fmt, out),
      io,
      o.format === "null" ? new Set<string>() : undefined,
    );
  }
  fmt.epilog(out);
  if (!o.quiet) {
    if (fmt.summary === "text") out.write(footer(counts, started, o.plainNumbers, window));
    else if (fmt.summary === "csv-legacy") {
      out.write(
        csvLegacySummary({
          flows: counts.flows,
          bytes: counts.bytes,
          packets: counts.packets,
          firstMs: Number.isFinite(counts.first) ? counts.first : 0,
          lastMs: Number.isFinite(counts.last) ? counts.last : 0,
        }),
      );
    }
  }
  return counts.damaged > 0 ? EXIT.DATA : EXIT.OK;
}
