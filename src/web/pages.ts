// SPDX-License-Identifier: BSD-3-Clause
// tsweb's HTML, rendered on the server: each view is a GET form whose fields are tsdump's words, so the page's
// URL is its state and a shared link shows the same answer. Tables are plain <table>s (caption, column headers,
// a focusable scrolling region), readable without the script; the script (client/app.ts) adds the overview
// graphs and the time presets. Every value is escaped; no inline script or style (Content-Security-Policy).

import type { Table, Totals } from "./jobs.js";

export type View = "overview" | "stats" | "flows" | "aggregate" | "sankey";

const TITLES: Record<View, string> = {
  overview: "Overview",
  stats: "Statistics",
  flows: "Flows",
  aggregate: "Aggregation",
  sankey: "Src → port → dst",
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The words a page was asked for (echoed into its form and its links). */
export interface PageWords {
  readonly t: string;
  readonly filter: string;
  readonly stats: readonly string[];
  readonly aggregate: string;
  readonly order: string;
  readonly n: string;
  readonly by: string;
}

/** What a page shows below its form. */
export interface PageResult {
  readonly tables?: readonly Table[];
  readonly totals?: Totals;
  /** a filter error: tsdump's caret text */
  readonly filterError?: string;
  /** any other error (bad words, busy, timeout) */
  readonly error?: string;
  /** the csv download of the same words */
  readonly csv?: string;
}

function query(params: Record<string, string | readonly string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === "string") {
      if (v !== "") q.append(k, v);
    } else for (const x of v) q.append(k, x);
  }
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

/** The link of a view with the given words ("" words left out). */
export function viewUrl(view: View, w: Partial<PageWords>, csv = false): string {
  const t = w.t ?? "";
  const filter = w.filter ?? "";
  switch (view) {
    case "overview":
      return `/${query({ t, by: w.by ?? "" })}`;
    case "stats":
      return `/stats${csv ? ".csv" : ""}${query({ s: w.stats ?? [], n: w.n ?? "", t, filter })}`;
    case "flows":
      return `/flows${csv ? ".csv" : ""}${query({ filter, t, n: w.n ?? "" })}`;
    case "aggregate":
      return `/aggregate${csv ? ".csv" : ""}${query({ A: w.aggregate ?? "", O: w.order ?? "", n: w.n ?? "", t, filter })}`;
    case "sankey":
      return `/sankey${csv ? ".csv" : ""}${query({ n: w.n ?? "", t, filter })}`;
  }
}

function nav(view: View, w: PageWords): string {
  const shared = { t: w.t, filter: w.filter };
  const links: [View, string][] = [
    ["overview", viewUrl("overview", { t: w.t })],
    ["stats", viewUrl("stats", { ...shared, stats: w.stats.length > 0 ? w.stats : ["srcip/bytes"], n: "10" })],
    ["flows", viewUrl("flows", { ...shared, n: "100" })],
    [
      "aggregate",
      viewUrl("aggregate", { ...shared, aggregate: w.aggregate || "srcip,dstip", order: w.order || "bytes", n: "20" }),
    ],
    ["sankey", viewUrl("sankey", { ...shared, n: "30" })],
  ];
  const items = links
    .map(
      ([v, href]) =>
        `<li><a href="${escapeHtml(href)}"${v === view ? ' aria-current="page"' : ""}>${TITLES[v]}</a></li>`,
    )
    .join("");
  return `<nav aria-label="Views"><span class="brand">tsweb</span><ul>${items}</ul></nav>`;
}

function field(id: string, label: string, value: string, extra = ""): string {
  return `<div class="field"><label for="${id}">${label}</label><input id="${id}" name="${id}" value="${escapeHtml(value)}"${extra}></div>`;
}

function timeField(t: string): string {
  return (
    `<div class="field time"><label for="t">Time window (-t)</label>` +
    `<input id="t" name="t" value="${escapeHtml(t)}" placeholder="YYYY/MM/dd.hh:mm:ss-YYYY/MM/dd.hh:mm:ss" size="40" spellcheck="false">` +
    `<span class="presets" data-for="t"></span></div>`
  );
}

function filterField(filter: string, error: string | undefined): string {
  const err = error !== undefined ? `<pre id="filter-error" class="error" role="alert">${escapeHtml(error)}</pre>` : "";
  return (
    `<div class="field filter"><label for="filter">Filter</label>` +
    `<textarea id="filter" name="filter" rows="2" spellcheck="false" placeholder="nfdump filter, e.g. proto tcp and dst port 443"` +
    `${error !== undefined ? ' aria-invalid="true" aria-describedby="filter-error"' : ""}>${escapeHtml(filter)}</textarea>${err}</div>`
  );
}

const STAT_ELEMENTS = [
  "srcip",
  "dstip",
  "ip",
  "srcport",
  "dstport",
  "port",
  "proto",
  "srcas",
  "dstas",
  "as",
  "inif",
  "outif",
  "router",
  "srcnet",
  "dstnet",
  "tos",
  "flags",
  "srcip/bytes",
  "dstport/flows",
  "ip/packets",
];

function form(view: View, w: PageWords, r: PageResult): string {
  let fields = "";
  if (view === "stats") {
    const list = STAT_ELEMENTS.map((e) => `<option value="${e}"></option>`).join("");
    fields += field("s", "Statistic (-s element/order)", w.stats.join(" "), ' list="stat-elements" spellcheck="false"');
    fields += `<datalist id="stat-elements">${list}</datalist>`;
    fields += field("n", "Top (-n)", w.n, ' inputmode="numeric" size="6"');
  } else if (view === "flows") {
    fields += field("n", "Flows (-c)", w.n, ' inputmode="numeric" size="8"');
  } else if (view === "sankey") {
    fields += field("n", "Top pairs (-n)", w.n, ' inputmode="numeric" size="6"');
  } else if (view === "aggregate") {
    fields += field("A", "Aggregate (-A)", w.aggregate, ' spellcheck="false"');
    fields += field("O", "Order (-O)", w.order, ' spellcheck="false" size="10"');
    fields += field("n", "Top (-n)", w.n, ' inputmode="numeric" size="6"');
  }
  fields += timeField(w.t);
  if (view !== "overview") fields += filterField(w.filter, r.filterError);
  else {
    const by = w.by === "exporter" ? "exporter" : "proto";
    fields +=
      `<fieldset class="field by"><legend>Series</legend>` +
      `<label><input type="radio" name="by" value="proto"${by === "proto" ? " checked" : ""}> per protocol</label>` +
      `<label><input type="radio" name="by" value="exporter"${by === "exporter" ? " checked" : ""}> per exporter</label></fieldset>`;
  }
  const action = view === "overview" ? "/" : `/${view}`;
  return `<form method="get" action="${action}" class="words" aria-label="${TITLES[view]} query">${fields}<div class="field"><button type="submit">Show</button></div></form>`;
}

function number(x: number): string {
  return x.toLocaleString("en-US");
}

/** Exact decimal text grouped in thousands as number() groups (sums may pass 2^53). */
function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A table of text cells; numbers right-aligned. */
export function renderTable(t: Table, index: number): string {
  const id = `table-${index}`;
  const head = t.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("");
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${/^\d+(?:\.\d+)?(?: [KMGTPE])?$/.test(c) ? ' class="num"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const more = t.truncated ? `<p class="note">More rows than shown: narrow the words or use the CSV download.</p>` : "";
  return (
    `<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0"><table>` +
    `<caption id="${id}">${escapeHtml(t.caption)} (${number(t.rows.length)} rows)</caption>` +
    `<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>${more}`
  );
}

function results(view: View, r: PageResult): string {
  let s = "";
  if (r.error !== undefined) s += `<p class="error" role="alert">${escapeHtml(r.error)}</p>`;
  if (r.totals) {
    const t = r.totals;
    s +=
      `<p class="summary" id="summary">Summary: total flows: ${grouped(t.text.flows)}, total bytes: ${grouped(t.text.bytes)}, ` +
      `total packets: ${grouped(t.text.packets)}${t.damaged > 0 ? `, damaged blocks: ${number(t.damaged)}` : ""}` +
      `${r.csv !== undefined ? ` — <a href="${escapeHtml(r.csv)}" download>CSV</a>` : ""}</p>`;
  }
  if (r.tables) {
    if (r.tables.every((t) => t.rows.length === 0) && r.totals) s += `<p class="note">No matching flows</p>`;
    s += r.tables.map((t, i) => renderTable(t, i)).join("");
  }
  if (view === "sankey" && r.tables && r.tables.some((t) => t.rows.length > 0)) {
    s =
      `<figure><figcaption>Bytes from source through destination port to destination (the table below is the same data)</figcaption>` +
      `<div id="sankey"></div></figure>` +
      s;
  }
  if (view === "overview") {
    s +=
      `<div id="charts" aria-live="polite"></div>` +
      `<p class="note">Graphs from the files' statistics records; drag across a graph to choose a window.</p>`;
  }
  return s;
}

/** A whole page. `zone`: the server's time zone (t is in it, as tsdump reads it). */
export function renderPage(view: View, w: PageWords, r: PageResult, zone: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[view]} — tsweb</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script></head>
<body data-view="${view}" data-zone="${escapeHtml(zone)}">
<header>${nav(view, w)}</header>
<main><h1>${TITLES[view]}</h1>
${form(view, w, r)}
${results(view, r)}
</main></body></html>
`;
}

export function renderError(status: number, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${status} — tsweb</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css"></head>
<body><main><h1>${status}</h1><p class="error" role="alert">${escapeHtml(message)}</p><p><a href="/">Overview</a></p></main></body></html>
`;
}
