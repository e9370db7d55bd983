// SPDX-License-Identifier: BSD-3-Clause
// tsdump's query driver: options → plan → one sink → scan → output and nfdump's footer.
//
//   select files (-r/-R/-M, -t/-T windows); the sink of the query (StatsQuery: -s statistics, -A/-a/-b/-B
//   aggregation, -O sort; or a listing, -w write); the plan (engine/scan.ts: zone-map verdicts, worker threads
//   or not); the scan: the main thread alone (passingBlocks) or with -W − 1 workers (parallel.ts), both through
//   the one block pipeline (engine/pipeline.ts); then the tables or records, and the footer unless -q.
//
// Damaged blocks are reported on stderr with file, block and offset; the run goes on and exits 2.

import { dirname } from "node:path";
import { cpuUsage, hrtime } from "node:process";
import { compileFilter, readFilterFile, type CompiledFilter } from "../filter/index.js";
// the record formatters (format/index.js) are loaded by formatterFor, on first use: -s tables never need them
import { aggregateFormat } from "../format/aggregate.js";
import type { Formatter } from "../format/index.js";
import { NullFormatter } from "../format/null.js";
import type { Output } from "../format/out.js";
import { formatStatTable, formatStatTableCsv, formatStatTableJson } from "../format/stat-table.js";
import { csvLegacySummary, NO_MATCHING_FLOWS, textFooter } from "../format/summary.js";
import { RecordBatch } from "../record/batch.js";
import { StatsQuery, type AggregatorPart, type StatState } from "../stats/index.js";
import { drawStatTable, Progress } from "./tty.js";
import { statRows } from "../engine/stat-rows.js";
import type { ScanConfig } from "./scan-worker.js";
import { FlowFileReader, FlowFileWriter, listFlowFiles, listMulti, listRange } from "../store/index.js";
import { UsageError } from "../util/errors.js";
import { EXIT } from "../cli/common.js";
import { nffileInput, openAnyFlowFile, type FlowFileSource } from "../store/nffile/index.js";
import type { QueryOptions } from "./options.js";
import type { QueryIO } from "./io.js";
import { printExporters, printInfo, verifyFile } from "./info.js";
import { BlockPipeline, emptyCounts, SUMMARY_COLUMNS, type ScanCounts } from "../engine/pipeline.js";
import { passingBlocks, planScan, type ScanPlan } from "../engine/scan.js";
import { fileInWindow, type TimeWindow } from "../engine/window.js";
import { addCounting } from "../engine/sums.js";

/** What each passing block is handed to. */
type AddRows = (batch: RecordBatch, sel: Uint32Array, n: number) => void;

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

export function timeWindow(o: QueryOptions, now: number): TimeWindow | undefined {
  let w = o.timeWindow ? { ...o.timeWindow } : undefined;
  if (o.lastSeconds !== undefined) {
    const last = { start: now - o.lastSeconds * 1000, end: now };
    w = w ? { start: Math.max(w.start, last.start), end: Math.min(w.end, last.end) } : last;
  }
  return w;
}

/**
 * Scans the plan on this thread, handing the passing rows of each block to `add`. Returns the counts. With
 * `query`, the rows go to its engines through addCounting instead, which also sums the footer's totals.
 */
function scanSequential(
  plan: ScanPlan,
  pipeline: BlockPipeline,
  limit: number | undefined,
  add: AddRows,
  io: QueryIO,
  query?: StatsQuery,
): ScanCounts {
  const counts = emptyCounts();
  const progress = io.progress ? new Progress(io.err) : null;
  const blocks = passingBlocks(plan, pipeline, counts, {
    onError: (m) => {
      io.err(`tsdump: ${m}\n`);
    },
    limit,
    sums: query === undefined,
    stopped: () => io.out.stopped,
    progress: progress
      ? (d, t, n) => {
          progress.update(d, t, n);
        }
      : undefined,
  });
  if (query !== undefined) for (const { batch, sel, k } of blocks) addCounting(query, batch, sel, k, counts);
  else for (const { batch, sel, k } of blocks) add(batch, sel, k);
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
function rowsToScan(files: readonly string[], window: TimeWindow | undefined): number {
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

function footer(
  counts: ScanCounts,
  started: { wall: bigint; cpu: NodeJS.CpuUsage },
  plain: boolean,
  clip?: TimeWindow,
): string {
  const wall = Number(hrtime.bigint() - started.wall) / 1e9;
  const cpu = cpuUsage(started.cpu);
  const t = {
    flows: counts.flows,
    bytes: counts.bytes,
    packets: counts.packets,
    flowsFix: counts.flowsFix,
    bytesFix: counts.bytesFix,
    packetsFix: counts.packetsFix,
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

async function formatterFor(o: QueryOptions, spec: string | undefined, dflt: string): Promise<Formatter> {
  let name = spec ?? dflt;
  if (name === "csv" && o.csvLegacy) name = "csv-legacy";
  if (name.toLowerCase() === "null") return new NullFormatter();
  const { createFormatter } = await import("../format/index.js");
  return createFormatter(name, { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet });
}

/** Prints rows of batches in order through the formatter (aggregated or sorted output). */
function printBatches(batches: Iterable<RecordBatch>, fmt: Formatter, out: Output): void {
  for (const b of batches) fmt.records(b, null, b.length, out);
}

/** Scans with -W worker threads; returns the counts plus the workers' partial tables. */
async function scanParallel(
  o: QueryOptions,
  plan: ScanPlan,
  query: { text: string; baseDir: string | undefined; filter: CompiledFilter },
  window: TimeWindow | undefined,
  columns: ReadonlySet<string> | undefined,
  extra: Partial<ScanConfig> & Pick<ScanConfig, "mode">,
  io: QueryIO,
): Promise<{ counts: ScanCounts; stats: unknown[][]; aggregates: unknown[] }> {
  const config: ScanConfig = {
    files: plan.files,
    filter: query.text,
    baseDir: query.baseDir,
    window,
    columns: columns ? [...columns, ...SUMMARY_COLUMNS] : undefined,
    ...extra,
  };
  const progress = io.progress ? new Progress(io.err) : undefined;
  // loaded here: a query on one thread never loads the worker code (node:worker_threads included)
  const { runParallel } = await import("./parallel.js");
  return runParallel(config, o.workers, io.out, io.err, progress, query.filter);
}

/** The StatsQuery of tsdump's options: the sink's engines and nfdump's option checks. */
export function statsQueryOf(o: QueryOptions): StatsQuery {
  return new StatsQuery({
    stats: o.stats,
    aggregate: o.aggregate,
    fiveTuple: o.aggregateFiveTuple,
    bidir: o.bidirectional,
    order: o.order,
    limit: o.topN,
  });
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
  const compiled = { text: filterText, baseDir, filter };
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

  const q = statsQueryOf(o);
  for (const w of q.warnings) io.err(`${w}\n`);
  const limit = o.limit;
  const out = io.out;
  const exit = (c: ScanCounts): number => (c.damaged > 0 ? EXIT.DATA : EXIT.OK);

  // ── -w: passing (or aggregated) rows into a new tsflow file ──
  if (o.writeFile !== undefined) {
    const pipeline = new BlockPipeline(filter, window, undefined);
    const plan = planScan(files, pipeline, { workers: 1 });
    const codec = o.compress === "none" ? "none" : "lz4";
    const writer = FlowFileWriter.open(`${o.writeFile}.tmp.${process.pid}`, { codec, creator: "tsdump" });
    const buf = new RecordBatch(16384);
    const flush = (): void => {
      if (buf.length > 0) writer.appendBatchSync(buf);
      buf.reset();
    };
    const aggr = q.aggregator;
    const counts = scanSequential(
      plan,
      pipeline,
      limit,
      (batch, sel, n) => {
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
    return exit(counts);
  }

  const isListing = q.isListing;
  // a sorted listing decodes and keeps only the columns its format prints (and the pipeline adds the filter's
  // and the summary's, which hold the order's values)
  const sortedFmt = q.sorter ? await formatterFor(o, o.format, "line") : undefined;
  const columns = isListing && o.format === "null" ? new Set<string>() : (sortedFmt?.columns ?? q.columns());
  const pipeline = new BlockPipeline(filter, window, columns);
  const plan = planScan(files, pipeline, { workers: o.workers, limit });
  const add: AddRows = (b, s, n) => {
    q.add(b, s, n);
  };

  // ── -s statistics ──
  if (q.elementSpecs.length > 0 || q.recordSpecs.length > 0) {
    let counts: ScanCounts;
    if (plan.parallel && q.isStats) {
      const r = await scanParallel(o, plan, compiled, window, columns, { mode: "stats", stats: o.stats }, io);
      counts = r.counts;
      for (const states of r.stats) q.merge({ stats: states as StatState[], aggregate: null });
    } else counts = scanSequential(plan, pipeline, limit, add, io, q);
    const topN = q.statLimit;
    const fmtName = o.format ?? "line";
    const totals = counts; // the sums and their fix terms (percentages of sums past 2^53)
    const printOpts = { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet };
    for (const table of q.elementTables()) {
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
    const tables = q.recordTables();
    for (const [i, t] of tables.entries()) {
      const fmt = await formatterFor(o, o.format, recordFormat(o));
      if (!o.quiet) out.write(`Top ${topN} flows ordered by ${t.order.name}:\n`);
      fmt.prolog(out);
      printBatches(t.batches, fmt, out);
      fmt.epilog(out);
      if (i < tables.length - 1 && !q.aggregator) out.write("\n"); // nfdump: no blank line between -A tables
    }
    if (!o.quiet && fmtName !== "csv" && fmtName !== "json") out.write(footer(counts, started, o.plainNumbers, window));
    return exit(counts);
  }

  // ── -A / -a / -b / -B aggregation (then -O, -n, -P) ──
  const aggregation = q.aggregation;
  if (aggregation) {
    const postFilter = o.postFilter !== undefined ? compileFilter(o.postFilter) : undefined;
    const rows = Math.min(limit ?? Infinity, rowsToScan(files, window));
    let counts: ScanCounts;
    if (plan.parallel && o.bidirectional === 0 && !aggregation.keepFirst && o.aggregate !== undefined) {
      // hash-partitioned (docs/benchmarks.md): each worker reads every block and keeps the groups of its hash
      // partition, so the tables are disjoint, each half the size, and only each partition's best N come back;
      // building two full tables and merging them was slower than one thread (docs/benchmarks.md)
      // the first N by -O (or in first-seen order) of all groups are among the first N of each partition
      const topN = postFilter ? 0 : (o.topN ?? 0);
      const partition = {
        index: 0,
        count: o.workers,
        share0: readerShare(o.workers),
        rows,
        topN,
        ...(o.order !== undefined ? { order: o.order } : {}),
      };
      const extra = { mode: "aggregate" as const, aggregate: o.aggregate, partition };
      const r = await scanParallel(o, plan, compiled, window, columns, extra, io);
      counts = r.counts;
      q.adoptParts(r.aggregates as AggregatorPart[]);
    } else {
      q.aggregator!.reserve(rows);
      counts = scanSequential(plan, pipeline, limit, add, io);
    }
    const aggr = q.aggregator!;
    const ids = aggr.entryOrder(q.order?.order, q.order?.ascending, postFilter ? 0 : (o.topN ?? 0));
    const fmt = await formatterFor(o, o.format, recordFormat(o));
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
    return exit(counts);
  }

  // ── plain listing, possibly sorted ──
  const fmt = sortedFmt ?? (await formatterFor(o, o.format, "line"));
  fmt.prolog(out);
  let counts: ScanCounts;
  if (q.sorter) {
    // -o null prints no records: nothing to keep or sort, only the summary's counts
    const isNull = fmt instanceof NullFormatter;
    // each row keeps only the columns the format prints (its order value is taken as it comes in)
    if (fmt.columns !== undefined) q.sorter.keepColumns(fmt.columns);
    counts = scanSequential(plan, pipeline, limit, isNull ? () => undefined : add, io);
    if (!isNull) printBatches(q.records(true), fmt, out);
  } else if (plan.parallel && (o.format === "null" || window !== undefined ? nffileInput(files) : true)) {
    // docs/benchmarks.md: workers pay off for a scan of everything (filtering, formatting); -o null on
    // tsflow files only sums (per-block messages cost more than the second thread gains), but on nfdump files
    // every block costs an LZ4 decode and a record walk, which two threads split; a time window leaves so few
    // tsflow blocks after zone-map pruning that starting workers costs more than it saves (nfdump files have
    // no zone maps: there the window does not change the plan)
    const isNull = o.format === "null";
    const format = o.format === "csv" && o.csvLegacy ? "csv-legacy" : (o.format ?? "line");
    const extra = {
      mode: isNull ? ("count" as const) : ("list" as const),
      format,
      formatOptions: { plain: o.plainNumbers, longV6: o.fullIPv6, quiet: o.quiet },
    };
    counts = (await scanParallel(o, plan, compiled, window, columns, extra, io)).counts;
  } else {
    counts = scanSequential(
      plan,
      pipeline,
      limit,
      (batch, sel, n) => {
        fmt.records(batch, sel, n, out);
      },
      io,
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
          flowsFix: counts.flowsFix,
          bytesFix: counts.bytesFix,
          packetsFix: counts.packetsFix,
          firstMs: Number.isFinite(counts.first) ? counts.first : 0,
          lastMs: Number.isFinite(counts.last) ? counts.last : 0,
        }),
      );
    }
  }
  return exit(counts);
}

/**
 * The default format of aggregated records and -s record tables: -A prints nfdump's automatic key format, -b/-B
 * the bidirectional listing, -a and plain records the default listing.
 */
function recordFormat(o: QueryOptions): string {
  if (o.aggregate !== undefined) return `fmt:${aggregateFormat(o.aggregate.split(","))}`;
  if (o.bidirectional > 0) return "biline";
  return "line";
}
