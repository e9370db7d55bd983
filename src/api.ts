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
import { formatStatTableCsv, statTableCells, type StatRow } from "./format/stat-table.js";
import { sumText } from "./format/text.js";
import { aggregateFormat, BufferedOutput, compileFmt, createFormatter, PREDEFINED_FORMATS } from "./format/index.js";
import { openAnyFlowFile } from "./store/nffile/index.js";
import { STORE_ERROR, StoreError } from "./store/errors.js";
import { readFooterStats } from "./store/reader.js";
import { parseFlowFileName } from "./store/layout.js";
import { fileInWindow } from "./engine/window.js";
import { statSync } from "node:fs";
import { basename } from "node:path";

export type { RecordBatch, ScanCounts, TimeWindow };
export { FilterSyntaxError } from "./filter/index.js";
export { exactOf } from "./record/u64.js";
export { aggregateFormat };

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
  /** the engine's own selection, reused for later batches: read it, never change it (copy it to sort or filter) */
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
  /** bytes the statistics and aggregation tables may hold (default: the engine's); exceeding it throws */
  readonly memoryLimit?: number;
}

/** One row of a statistic: the element value as text plus its counters. */
export type { StatRow };

export interface QueryResult {
  readonly counts: ScanCounts;
  /** one per -s element and order, in nfdump's print order */
  readonly tables: readonly StatTable[];
  /** -s record tables: the top records by each order */
  readonly recordTables: readonly { order: string; records: readonly RecordBatch[] }[];
  /** -A/-a/-b/-B aggregated records (ordered by -O) or the -O sorted listing */
  readonly records: readonly RecordBatch[];
}

/** One -s element table of a query. */
export interface StatTable {
  /** element as given (`srcip`) */
  readonly element: string;
  readonly order: string;
  readonly rows: readonly StatRow[];
  /** nfdump's title of the element (`Src IP Addr`) */
  readonly title: string;
  /** the key is an IP address (IPv6 condensed as tsdump prints it) */
  readonly isAddress: boolean;
  /** split by protocol (`:p`, `-s proto`) */
  readonly byProto: boolean;
  /** -n as applied (0 = all) */
  readonly top: number;
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
    memoryLimit: spec.memoryLimit,
  });
  const flows = openFlows(spec, q.columns());
  for (const b of flows) q.add(b.batch, b.rows, b.count);
  const tables = q.elementTables().map((t) => ({
    element: t.element.name,
    order: t.order.name,
    rows: statRows(t),
    title: t.element.header,
    isAddress: t.element.kind === "addr",
    byProto: t.spec.protoSplit,
    top: q.statLimit,
  }));
  const recordTables = q.recordTables().map((t) => ({ order: t.order.name, records: [...t.batches] }));
  return { counts: flows.counts, tables, recordTables, records: [...q.records()] };
}

// ── tables and text as tsdump prints them (tsweb, reports) ──────────────────────────────────────────────────

export interface PrintOptions {
  /** -N: plain numbers */
  readonly plain?: boolean;
  /** -6: full IPv6 addresses */
  readonly longV6?: boolean;
}

/** A flow table in a tsdump -o layout: one column per %token, the fields as tsdump prints them. */
export interface FlowTable {
  readonly columns: readonly string[];
  cells(batch: RecordBatch, row: number): string[];
}

/**
 * The columns of an `-o` layout: `line`, `long`, `extended`, … or `fmt:<tokens>` (for -A records:
 * `fmt:` + aggregateFormat(keys), tsdump's default). @throws FormatError for an unknown layout or token
 */
export function flowTable(format = "line", opts: PrintOptions = {}): FlowTable {
  const predefined = PREDEFINED_FORMATS.find(([n]) => n === format);
  const text = predefined ? predefined[1] : format.startsWith("fmt:") ? format.slice(4) : undefined;
  if (text === undefined) throw new RangeError(`tsflow: not a column layout: ${format} (line, long, extended, fmt:…)`);
  const f = compileFmt(text, { plain: opts.plain ?? false, longV6: opts.longV6 ?? false });
  return { columns: f.columns, cells: (b, i) => f.cells(b, i) };
}

/** Text in a tsdump -o format (`csv`, `json`, `line`, …) written in chunks to `write`. */
export interface FlowWriter {
  /** the header (csv titles, `[`) */
  begin(): void;
  row(batch: RecordBatch, row: number): void;
  /** the closing text; flushes */
  end(): void;
}

export function flowWriter(format: string, write: (text: string) => void, opts: PrintOptions = {}): FlowWriter {
  const f = createFormatter(format, opts);
  const out = new BufferedOutput((chunk) => {
    write(Buffer.from(chunk).toString("utf8"));
  });
  return {
    begin: () => {
      f.prolog(out);
    },
    row: (b, i) => {
      f.record(b, i, out);
    },
    end: () => {
      f.epilog(out);
      out.flush();
    },
  };
}

function statSpec(t: StatTable): Parameters<typeof statTableCells>[0] {
  return { element: t.title, order: t.order, topN: t.top, isAddress: t.isAddress, byProto: t.byProto };
}

/** A -s table's rows as cells: tsdump's text columns, each percentage in its own cell. */
export function statTable(
  t: StatTable,
  totals: ScanCounts,
  opts: PrintOptions = {},
): { columns: string[]; rows: string[][] } {
  return statTableCells(statSpec(t), t.rows, totals, opts);
}

/**
 * The sums of a scan (flows, packets, bytes) as tsdump's summary prints them: exact decimal text, wrapped to
 * 64 bits as nfdump's uint64 sums (the doubles in `counts` are exact only below 2^53).
 */
export function countsText(counts: ScanCounts): { flows: string; packets: string; bytes: string } {
  return {
    flows: sumText(counts.flows, counts.flowsFix),
    packets: sumText(counts.packets, counts.packetsFix),
    bytes: sumText(counts.bytes, counts.bytesFix),
  };
}

/** A -s table as `tsdump -o csv` prints it. */
export function statTableCsv(t: StatTable, totals: ScanCounts, opts: PrintOptions = {}): string {
  return formatStatTableCsv(statSpec(t), t.rows, totals, opts);
}

// ── file statistics without reading flows (overview graphs) ───────────────────────────────────────────────

/** One file's statistics record (its footer; nfdump files: their stat record). */
export interface FileSummary {
  readonly file: string;
  /** rows stored */
  readonly rows: number;
  /** slot start from the file name (ms), or the first flow's time when the name has none */
  readonly slot: number;
  /** first and last flow time (ms) */
  readonly first: number;
  readonly last: number;
  /** per protocol class: tcp, udp, icmp, other */
  readonly flows: readonly number[];
  readonly packets: readonly number[];
  readonly bytes: readonly number[];
  /** `exact − double` of each of those sums (0 below 2^53): exact = value + fix, as `BigInt(value) + BigInt(fix)` */
  readonly flowsFix?: readonly number[];
  readonly packetsFix?: readonly number[];
  readonly bytesFix?: readonly number[];
  readonly exporters: readonly {
    readonly address: string;
    readonly id: number;
    readonly flows: number;
    readonly packets: number;
  }[];
}

/** Summaries kept between calls, by file, with the size and mtime they were read at. */
export type SummaryCache = Map<string, { readonly stamp: string; readonly summary: FileSummary }>;

function summarizeFile(file: string): FileSummary {
  // a closed tsflow file: its footer alone; anything else (nfdump, no footer) through its reader
  let st;
  try {
    st = readFooterStats(file);
  } catch (err) {
    if (!(err instanceof StoreError && err.code === STORE_ERROR.BAD_MAGIC)) throw err;
  }
  if (st === undefined) {
    const r = openAnyFlowFile(file);
    try {
      st = r.stats();
    } finally {
      r.close();
    }
  }
  const name = parseFlowFileName(basename(file));
  return {
    file,
    rows: st.rows,
    slot: name ? name.time : st.msecFirst,
    first: st.msecFirst,
    last: st.msecLast,
    flows: st.flows,
    packets: st.packets,
    bytes: st.bytes,
    flowsFix: st.fix.flows,
    packetsFix: st.fix.packets,
    bytesFix: st.fix.bytes,
    exporters: st.exporters.map((e) => ({ address: e.address, id: e.id, flows: e.flows, packets: e.packets })),
  };
}

/**
 * The statistics records of the selected files (those overlapping the window, as tsdump selects them), in time
 * order, read from footers only. Unreadable files go to `onError` and are left out. With `cache`, a file whose
 * size and mtime did not change is not opened again.
 */
export function summarizeFiles(s: FlowSelection, cache?: SummaryCache): FileSummary[] {
  const w = windowOf(s);
  const out: FileSummary[] = [];
  const seen = new Set<string>();
  for (const file of selectFiles(s)) {
    let summary: FileSummary;
    try {
      if (cache) {
        const st = statSync(file);
        const stamp = `${st.size}:${st.mtimeMs}`;
        const hit = cache.get(file);
        if (hit?.stamp === stamp) summary = hit.summary;
        else {
          summary = summarizeFile(file);
          cache.set(file, { stamp, summary });
        }
        seen.add(file);
      } else summary = summarizeFile(file);
    } catch (err) {
      s.onError?.(`${file}: ${(err as Error).message}`);
      continue;
    }
    if (w && !fileInWindow({ rows: summary.rows, msecFirst: summary.first, msecLast: summary.last }, w)) continue;
    out.push(summary);
  }
  // files gone from the listing leave the cache (expired by tsexpire)
  if (cache && w === undefined) for (const f of cache.keys()) if (!seen.has(f)) cache.delete(f);
  return out;
}
