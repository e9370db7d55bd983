// SPDX-License-Identifier: BSD-3-Clause
// tsweb's HTTP server (node:http): read-only GET views over the flow files, each query through the library API
// in a bounded worker (runner.ts), the overview from the files' statistics records.
//
//   /  /stats  /flows  /aggregate          pages (pages.ts); `.csv` after the name: tsdump -o csv of the words
//   /api/overview?t=…                      the graphs' series (overview.ts)
//   /assets/app.js  /assets/app.css        the bundled front end (dist/web-assets/)
//
// Safety: GET and HEAD only; optional token or basic auth; on a loopback address only loopback Host names
// (a page elsewhere cannot reach us through DNS rebinding); URLs and parameters bounded; strict CSP.

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { summarizeFiles, type FlowSelection, type SummaryCache } from "../api.js";
import type { Job, JobReply, Table, Totals } from "./jobs.js";
import { overviewSeries } from "./overview.js";
import { ParamError, parseViewParams, parseWindow, type ViewParams } from "./params.js";
import { renderError, renderPage, viewUrl, type PageResult, type PageWords, type View } from "./pages.js";
import { QueryRunner, RunError, type RunnerLimits } from "./runner.js";

export interface WebConfig {
  /** the flow files: tsdump's -R / -M words */
  readonly selection: Pick<FlowSelection, "range" | "multiDir" | "file">;
  /** `token` or `user:password`; undefined: no authentication */
  readonly auth?: string | undefined;
  readonly limits: RunnerLimits;
  /** rows a table or download holds at most */
  readonly maxRows: number;
  /** bytes the statistics / aggregation tables of a query may hold */
  readonly memoryLimit: number;
  /** the address listened on (loopback: Host names are checked) */
  readonly address: string;
}

const MAX_URL = 8192;
/** an overview answer is reused this long (new files close every few minutes) */
const OVERVIEW_REUSE_MS = 5000;
const VIEW_PATHS = new Set([
  "/sankey",
  "/sankey.csv",
  "/api/overview",
  "/stats",
  "/flows",
  "/aggregate",
  "/stats.csv",
  "/flows.csv",
  "/aggregate.csv",
]);

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-store",
};

const ASSET_TYPES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** The bundled front end, read once: dist/web-assets/ from dist/web/ and from dist/bin/ alike. */
function loadAssets(): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSET_TYPES)) {
    try {
      assets.set(`/assets/${name}`, readFileSync(new URL(`../web-assets/${name}`, import.meta.url)));
    } catch {
      // not built: the pages work without graphs
    }
  }
  return assets;
}

function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || address.startsWith("127.");
}

/** The Host header's name without port (`[::1]:8080` → `::1`). */
function hostName(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const i = host.lastIndexOf(":");
  return i >= 0 && host.indexOf(":") === i ? host.slice(0, i) : host;
}

function sameSecret(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the request carries the credentials: basic `user:password`, or a token as Bearer or basic password. */
export function authorized(header: string | undefined, auth: string): boolean {
  if (header === undefined) return false;
  const [scheme, value = ""] = header.split(" ", 2);
  if (scheme?.toLowerCase() === "bearer") return !auth.includes(":") && sameSecret(value, auth);
  if (scheme?.toLowerCase() !== "basic") return false;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  if (auth.includes(":")) return sameSecret(decoded, auth);
  const colon = decoded.indexOf(":");
  return colon >= 0 && sameSecret(decoded.slice(colon + 1), auth);
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function statusOf(e: RunError): number {
  switch (e.reason) {
    case "busy":
    case "memory":
      return 503;
    case "timeout":
      return 504;
    case "aborted":
      return 499;
    case "crashed":
      return 500;
  }
}

function wordsOf(p: ViewParams | undefined, q: URLSearchParams): PageWords {
  if (p) {
    return {
      t: p.t,
      filter: p.filter,
      stats: p.stats,
      aggregate: p.aggregate,
      order: p.order,
      n: p.n !== undefined ? String(p.n) : "",
      by: q.get("by") ?? "",
    };
  }
  // the words could not be read: echo them raw (escaped by the page), bounded
  const g = (k: string): string => (q.get(k) ?? "").slice(0, 4096);
  return { t: g("t"), filter: g("filter"), stats: [g("s")], aggregate: g("A"), order: g("O"), n: g("n"), by: "" };
}

export class WebServer {
  readonly server: Server;
  readonly runner: QueryRunner;
  private readonly config: WebConfig;
  private readonly assets = loadAssets();
  private readonly summaries: SummaryCache = new Map();
  /** recent overview answers by t */
  private readonly overviews = new Map<string, { at: number; body: string }>();
  private readonly zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  constructor(config: WebConfig) {
    this.config = config;
    this.runner = new QueryRunner(config.limits);
    this.server = createServer({ maxHeaderSize: 16384, requestTimeout: 30_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
        else res.destroy();
        process.stderr.write(`tsweb: ${(err as Error).stack ?? String(err)}\n`);
      });
    });
    // a hung-up client ends its query: keep-alive sockets are closed with the server
    this.server.keepAliveTimeout = 5000;
  }

  listen(port: number, address: string): Promise<{ port: number; address: string }> {
    return new Promise((ok, fail) => {
      this.server.once("error", fail);
      this.server.listen(port, address, () => {
        this.server.off("error", fail);
        const a = this.server.address();
        ok(typeof a === "object" && a ? { port: a.port, address: a.address } : { port, address });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((ok) => {
      this.server.close(() => {
        ok();
      });
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "tsweb is read-only: GET and HEAD only\n", { allow: "GET, HEAD" });
      return;
    }
    if (rawUrl.length > MAX_URL) {
      send(res, 414, "text/html; charset=utf-8", renderError(414, `URL longer than ${MAX_URL} characters`));
      return;
    }
    if (isLoopback(this.config.address)) {
      const host = hostName(req.headers.host ?? "");
      if (!isLoopback(host)) {
        send(res, 403, "text/plain; charset=utf-8", "tsweb: a loopback server answers loopback host names only\n");
        return;
      }
    }
    if (this.config.auth !== undefined && !authorized(req.headers.authorization, this.config.auth)) {
      send(res, 401, "text/plain; charset=utf-8", "authentication required\n", {
        "www-authenticate": 'Basic realm="tsweb", charset="UTF-8"',
      });
      return;
    }
    // the path is matched as sent (no decoding, no dot segments resolved): only the fixed routes exist
    if (!rawUrl.startsWith("/")) {
      send(res, 400, "text/html; charset=utf-8", renderError(400, "bad URL"));
      return;
    }
    const qm = rawUrl.indexOf("?");
    const path = qm < 0 ? rawUrl : rawUrl.slice(0, qm);
    const url = { searchParams: new URLSearchParams(qm < 0 ? "" : rawUrl.slice(qm + 1)) };
    const asset = this.assets.get(path);
    if (asset) {
      const type = ASSET_TYPES[path.slice("/assets/".length)]!;
      send(res, 200, type, asset, { "cache-control": "no-cache" });
      return;
    }
    // HEAD of a view: its headers without running its query
    if (req.method === "HEAD" && path !== "/" && VIEW_PATHS.has(path)) {
      send(res, 200, path.endsWith(".csv") ? "text/csv; charset=utf-8" : "text/html; charset=utf-8", "");
      return;
    }
    switch (path) {
      case "/":
        this.overviewPage(url.searchParams, res);
        return;
      case "/api/overview":
        this.overviewData(url.searchParams, res);
        return;
      case "/stats":
      case "/flows":
      case "/aggregate":
      case "/sankey":
        await this.view(path.slice(1) as View, url.searchParams, res, false);
        return;
      case "/stats.csv":
      case "/flows.csv":
      case "/aggregate.csv":
      case "/sankey.csv":
        await this.view(path.slice(1, -4) as View, url.searchParams, res, true);
        return;
      default:
        send(res, 404, "text/html; charset=utf-8", renderError(404, "no such page"));
    }
  }

  private overviewPage(q: URLSearchParams, res: ServerResponse): void {
    let p: ViewParams | undefined;
    let error: string | undefined;
    try {
      p = parseViewParams(q);
    } catch (err) {
      if (!(err instanceof ParamError)) throw err;
      error = err.message;
    }
    const page = renderPage("overview", wordsOf(p, q), error !== undefined ? { error } : {}, this.zone);
    send(res, error !== undefined ? 400 : 200, "text/html; charset=utf-8", page);
  }

  /** Reads every file's footer into the cache (start-up; later requests read only new or changed files). */
  warm(): void {
    try {
      summarizeFiles({ ...this.config.selection, onError: () => undefined }, this.summaries);
    } catch (err) {
      process.stderr.write(`tsweb: ${(err as Error).message}\n`);
    }
  }

  /** The graphs' series as JSON (footers only; cached per file by size and mtime). */
  private overviewData(q: URLSearchParams, res: ServerResponse): void {
    let window;
    try {
      window = parseWindow((q.get("t") ?? "").slice(0, 256).trim());
    } catch (err) {
      if (!(err instanceof ParamError)) throw err;
      send(res, 400, "application/json", JSON.stringify({ error: err.message }));
      return;
    }
    // many browsers on one window within a few seconds share one answer (the listing runs on this thread)
    const key = (q.get("t") ?? "").slice(0, 256).trim();
    const now = Date.now();
    const recent = this.overviews.get(key);
    if (recent && now - recent.at < OVERVIEW_REUSE_MS) {
      send(res, 200, "application/json", recent.body);
      return;
    }
    const errors: string[] = [];
    const files = summarizeFiles(
      {
        ...this.config.selection,
        ...(window ? { window } : {}),
        onError: (m) => {
          if (errors.length < 20) errors.push(m);
        },
      },
      this.summaries,
    );
    const body = JSON.stringify({ ...overviewSeries(files), errors, zone: this.zone });
    if (this.overviews.size >= 16) this.overviews.clear();
    this.overviews.set(key, { at: now, body });
    send(res, 200, "application/json", body);
  }

  private async view(view: View, q: URLSearchParams, res: ServerResponse, csv: boolean): Promise<void> {
    let p: ViewParams;
    try {
      p = parseViewParams(q);
    } catch (err) {
      if (!(err instanceof ParamError)) throw err;
      if (csv) send(res, 400, "text/plain; charset=utf-8", `${err.message}\n`);
      else
        send(
          res,
          400,
          "text/html; charset=utf-8",
          renderPage(view, wordsOf(undefined, q), { error: err.message }, this.zone),
        );
      return;
    }
    const words = wordsOf(p, q);
    const page = (status: number, r: PageResult): void => {
      send(res, status, "text/html; charset=utf-8", renderPage(view, words, r, this.zone));
    };
    // a form without its words yet (no -s, no -A): the form alone
    if ((view === "stats" && p.stats.length === 0) || (view === "aggregate" && p.aggregate === "")) {
      if (csv) send(res, 400, "text/plain; charset=utf-8", `${view === "stats" ? "s" : "A"}: missing\n`);
      else page(200, {});
      return;
    }
    // the picture of source → destination port → destination: tsdump -A srcip,dstport,dstip -O bytes -n N (-N)
    const sankey = view === "sankey";
    const job: Job = {
      kind: view === "overview" ? "flows" : sankey ? "aggregate" : view,
      selection: {
        ...this.config.selection,
        ...(p.window ? { window: p.window } : {}),
        ...(p.filter !== "" ? { filter: p.filter } : {}),
        ...(view === "flows" && p.n !== undefined && p.n > 0 ? { limit: p.n } : {}),
      },
      ...(p.stats.length > 0 ? { stats: p.stats } : {}),
      ...(p.aggregate !== "" ? { aggregate: p.aggregate } : {}),
      ...(p.order !== "" ? { order: p.order } : {}),
      ...(view !== "flows" && p.n !== undefined ? { top: p.n } : {}),
      ...(sankey
        ? { aggregate: "srcip,dstport,dstip", order: "bytes", top: Math.min(p.n || 30, 200), plain: true }
        : {}),
      maxRows: this.config.maxRows,
      memoryLimit: this.config.memoryLimit,
      csv,
    };
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    let tables: readonly Table[] | undefined;
    let totals: Totals | undefined;
    let failed: (JobReply & { type: "error" }) | undefined;
    const onReply = (r: JobReply): void => {
      if (r.type === "tables") ({ tables, totals } = r);
      else if (r.type === "error") failed = r;
      else if (r.type === "chunk") {
        if (!res.headersSent) {
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="tsweb-${view}.csv"`,
          });
        }
        res.write(r.text);
      } else totals = r.totals;
    };
    try {
      await this.runner.run(job, onReply, abort.signal);
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      if (err.reason === "aborted" || res.destroyed) return;
      const status = statusOf(err);
      const extra: Record<string, string> = err.reason === "busy" ? { "retry-after": "5" } : {};
      if (res.headersSent) res.destroy();
      else if (csv) send(res, status, "text/plain; charset=utf-8", `${err.message}\n`, extra);
      else
        send(
          res,
          status,
          "text/html; charset=utf-8",
          renderPage(view, words, { error: err.message }, this.zone),
          extra,
        );
      return;
    }
    if (failed) {
      const status = failed.kind === "internal" ? 500 : 400;
      if (res.headersSent) res.end();
      else if (csv) send(res, status, "text/plain; charset=utf-8", `${failed.detail ?? failed.message}\n`);
      else
        page(
          status,
          failed.kind === "filter" ? { filterError: failed.detail ?? failed.message } : { error: failed.message },
        );
      return;
    }
    if (csv) {
      if (!res.headersSent) send(res, 200, "text/csv; charset=utf-8", "");
      else res.end();
      return;
    }
    page(200, {
      ...(tables ? { tables } : {}),
      ...(totals ? { totals } : {}),
      csv: viewUrl(view, words, true),
    });
  }
}
