// SPDX-License-Identifier: BSD-3-Clause
// tsweb's queries, run in a worker thread (web-worker.ts) through the library API — the engine tsdump uses:
// -s statistics (query), the flow listing (openFlows) and -A aggregation (query), as tables of text cells in
// tsdump's columns or as tsdump's -o csv text.

import {
  aggregateFormat,
  countsText,
  flowTable,
  flowWriter,
  openFlows,
  query,
  statTable,
  statTableCsv,
  type FlowSelection,
  type ScanCounts,
} from "../api.js";

/** What a page asks for: tsdump's words, already checked by the server (params.ts). */
export interface Job {
  readonly kind: "stats" | "flows" | "aggregate";
  readonly selection: FlowSelection;
  /** -s elements */
  readonly stats?: readonly string[];
  /** -A keys */
  readonly aggregate?: string;
  /** -O */
  readonly order?: string;
  /** -n: statistics and aggregation */
  readonly top?: number;
  /** rows a table or download may hold at most (the flow listing stops there, as -c) */
  readonly maxRows: number;
  /** bytes the statistics / aggregation tables may hold */
  readonly memoryLimit: number;
  /** csv: tsdump -o csv text; else tables */
  readonly csv: boolean;
  /** tables with plain numbers (-N) */
  readonly plain?: boolean;
}

export interface Table {
  readonly caption: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** rows left out by maxRows */
  readonly truncated: boolean;
}

export interface Totals {
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
  /** the three sums as exact decimal text, wrapped to 64 bits as tsdump's summary prints them */
  readonly text: { readonly flows: string; readonly packets: string; readonly bytes: string };
  readonly passed: number;
  readonly damaged: number;
}

/** Replies of the worker: csv text comes in chunks, then `done`; tables come in one `tables`. */
export type JobReply =
  | { readonly type: "tables"; readonly tables: readonly Table[]; readonly totals: Totals }
  | { readonly type: "chunk"; readonly text: string }
  | { readonly type: "done"; readonly totals: Totals }
  | {
      readonly type: "error";
      /** filter: a filter error (`detail` = the caret text); usage: bad words; data: damaged input */
      readonly kind: "filter" | "usage" | "internal";
      readonly message: string;
      readonly detail?: string;
    };

function totalsOf(c: ScanCounts): Totals {
  return {
    flows: c.flows,
    packets: c.packets,
    bytes: c.bytes,
    text: countsText(c),
    passed: c.passed,
    damaged: c.damaged,
  };
}

/** Runs a job; replies through `send` (tables once, or csv chunks then done). Throws what the engine throws. */
export function runJob(job: Job, send: (r: JobReply) => void): void {
  if (job.kind === "flows") {
    // the listing in file order, stopped after maxRows flows (tsdump -c)
    const sel = { ...job.selection, limit: Math.min(job.selection.limit ?? Infinity, job.maxRows) };
    const flows = openFlows(sel);
    if (job.csv) {
      const w = flowWriter("csv", (text) => {
        send({ type: "chunk", text });
      });
      w.begin();
      for (const b of flows) for (let j = 0; j < b.count; j++) w.row(b.batch, b.rows[j]!);
      w.end();
      send({ type: "done", totals: totalsOf(flows.counts) });
      return;
    }
    const t = flowTable("line");
    const rows: string[][] = [];
    for (const b of flows) for (let j = 0; j < b.count; j++) rows.push(t.cells(b.batch, b.rows[j]!));
    const truncated = job.selection.limit === undefined && rows.length >= job.maxRows;
    send({
      type: "tables",
      tables: [{ caption: "Flows", columns: t.columns, rows, truncated }],
      totals: totalsOf(flows.counts),
    });
    return;
  }
  if (job.kind === "stats") {
    const r = query({
      ...job.selection,
      stats: job.stats ?? [],
      ...(job.top !== undefined ? { top: job.top } : {}),
      memoryLimit: job.memoryLimit,
    });
    if (job.csv) {
      for (const t of r.tables) send({ type: "chunk", text: statTableCsv(t, r.counts) });
      send({ type: "done", totals: totalsOf(r.counts) });
      return;
    }
    const tables = r.tables.map((t) => {
      const cells = statTable(t, r.counts);
      const caption =
        t.top !== 0 ? `Top ${t.top} ${t.title} ordered by ${t.order}` : `Top ${t.title} ordered by ${t.order}`;
      const rows = cells.rows.slice(0, job.maxRows);
      return { caption, columns: cells.columns, rows, truncated: rows.length < cells.rows.length };
    });
    send({ type: "tables", tables, totals: totalsOf(r.counts) });
    return;
  }
  // -A keys [-O order] [-n top]
  const keys = job.aggregate ?? "";
  const r = query({
    ...job.selection,
    aggregate: keys,
    ...(job.order !== undefined ? { order: job.order } : {}),
    top: job.top ?? job.maxRows + 1,
    memoryLimit: job.memoryLimit,
  });
  const max = job.top !== undefined ? Math.min(job.top, job.maxRows) : job.maxRows;
  let n = 0;
  let more = false;
  if (job.csv) {
    const w = flowWriter("csv", (text) => {
      send({ type: "chunk", text });
    });
    w.begin();
    for (const b of r.records) for (let i = 0; i < b.length && n < max; i++, n++) w.row(b, i);
    w.end();
    send({ type: "done", totals: totalsOf(r.counts) });
    return;
  }
  const t = flowTable(`fmt:${aggregateFormat(keys.split(","))}`, { plain: job.plain ?? false });
  const rows: string[][] = [];
  for (const b of r.records) {
    for (let i = 0; i < b.length; i++) {
      if (n >= max) {
        more = true;
        break;
      }
      rows.push(t.cells(b, i));
      n++;
    }
  }
  const caption = `Aggregated by ${keys}${job.order !== undefined ? `, ordered by ${job.order}` : ""}`;
  send({
    type: "tables",
    tables: [{ caption, columns: t.columns, rows, truncated: more }],
    totals: totalsOf(r.counts),
  });
}
