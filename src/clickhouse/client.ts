// SPDX-License-Identifier: BSD-3-Clause
// A small client for ClickHouse's HTTP interface (node:http, kept-alive connections): statements as POST
// bodies, inserts as `INSERT INTO t (cols) FORMAT RowBinary|Native` with the rows as the body, written piece by
// piece as they are (fetch copied a body twice on the way).
//
// The URL is the user's: `http://[user[:password]@]host:8123/?database=flows[&setting=value…]`. Credentials come
// from the URL or from CLICKHOUSE_USER / CLICKHOUSE_PASSWORD and travel as X-ClickHouse-User/-Key headers (taken
// out of the URL, they stay out of the request line and the server's logs). tsflow's own parameters are taken out
// of the query string; every other parameter goes to the server as a setting.
//
//   table=flows              the table (and the prefix of the consolidated tables)
//   cluster=NAME             also create the Distributed tables <table>_all over that cluster
//   rollups=0                no consolidated tables (flows_1m/5m/1h) and views
//   ttl=DAYS ttl_1m= ttl_5m= ttl_1h=   retention of flows and of the consolidated tables (0 = forever)
//   batch_rows=N batch_ms=MS           tscapd's batches: rows and age at which a batch is sent
//   spool_mb=MB              tscapd's spool limit (batches beyond it are left to the back-fill, or failed)

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { checkIdentifier, NO_RETENTION, type Retention } from "./schema.js";

export interface ClickHouseTarget {
  /** the URL without credentials and without tsflow's parameters */
  readonly url: string;
  /** for messages: scheme, host, port and database */
  readonly display: string;
  readonly database: string;
  readonly table: string;
  readonly cluster: string | undefined;
  /** create the consolidated tables and their views */
  readonly rollups: boolean;
  readonly retention: Retention;
  readonly batchRows: number;
  readonly batchMs: number;
  readonly spoolBytes: number;
  readonly headers: Readonly<Record<string, string>>;
}

const OWN = ["table", "cluster", "rollups", "ttl", "ttl_1m", "ttl_5m", "ttl_1h", "batch_rows", "batch_ms", "spool_mb"];

function intParam(p: URLSearchParams, name: string, min: number, max: number, dflt: number): number {
  const v = p.get(name);
  if (v === null) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new RangeError(`clickhouse URL: ${name}=${v} is not an integer in ${min}..${max}`);
  return n;
}

/** Parses `--clickhouse URL`. @throws RangeError naming the bad part */
export function parseClickHouseUrl(text: string, env: NodeJS.ProcessEnv = process.env): ClickHouseTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RangeError(`clickhouse URL: cannot parse "${text}" (want http://host:8123/?database=flows)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new RangeError(`clickhouse URL: ${u.protocol} is not http: or https:`);
  const p = u.searchParams;
  const user = u.username !== "" ? decodeURIComponent(u.username) : (p.get("user") ?? env["CLICKHOUSE_USER"]);
  const password =
    u.password !== "" ? decodeURIComponent(u.password) : (p.get("password") ?? env["CLICKHOUSE_PASSWORD"]);
  p.delete("user");
  p.delete("password");
  u.username = "";
  u.password = "";
  // every statement names its tables with their database (which it may have to create first)
  const database = checkIdentifier("database", p.get("database") ?? "default");
  p.delete("database");
  const table = checkIdentifier("table", p.get("table") ?? "flows");
  const clusterText = p.get("cluster");
  const cluster = clusterText === null ? undefined : checkIdentifier("cluster", clusterText);
  const days = (name: string): number => intParam(p, name, 0, 100_000, 0);
  const retention: Retention = OWN.some((k) => k.startsWith("ttl") && p.has(k))
    ? { flows: days("ttl"), m1: days("ttl_1m"), m5: days("ttl_5m"), h1: days("ttl_1h") }
    : NO_RETENTION;
  // at most one insert block (max_insert_block_size): a batch is written as one part per partition
  const rollups = intParam(p, "rollups", 0, 1, 1) === 1;
  const batchRows = intParam(p, "batch_rows", 1, 1_000_000, 100_000);
  const batchMs = intParam(p, "batch_ms", 10, 3_600_000, 5000);
  const spoolBytes = intParam(p, "spool_mb", 1, 10_000_000, 4096) * 1024 * 1024;
  for (const k of OWN) p.delete(k);
  const headers: Record<string, string> = {};
  if (user !== undefined && user !== "") headers["X-ClickHouse-User"] = user;
  if (password !== undefined && password !== "") headers["X-ClickHouse-Key"] = password;
  return {
    url: u.toString(),
    display: `${u.protocol}//${u.host}/ database ${database}`,
    database,
    table,
    cluster,
    rollups,
    retention,
    batchRows,
    batchMs,
    spoolBytes,
    headers,
  };
}

/** An error the server answered with (as opposed to not answering). */
export class ClickHouseError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ClickHouseError";
    this.status = status;
  }
}

export class ClickHouseClient {
  readonly target: ClickHouseTarget;
  private readonly timeoutMs: number;
  private readonly agent: HttpAgent;

  constructor(target: ClickHouseTarget, timeoutMs = 30_000) {
    this.target = target;
    this.timeoutMs = timeoutMs;
    const options = { keepAlive: true, maxSockets: 4 };
    this.agent = target.url.startsWith("https:") ? new HttpsAgent(options) : new HttpAgent(options);
  }

  private post(params: Record<string, string>, body: string | readonly Uint8Array[]): Promise<string> {
    const u = new URL(this.target.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    const pieces = typeof body === "string" ? [Buffer.from(body)] : body;
    let length = 0;
    for (const p of pieces) length += p.byteLength;
    const fail = (err: Error): Error => {
      const code = (err as { code?: string }).code;
      return new Error(`clickhouse ${this.target.display}: ${code ?? err.message}`);
    };
    return new Promise<string>((resolve, reject) => {
      const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, {
        method: "POST",
        agent: this.agent,
        headers: { ...this.target.headers, "Content-Length": String(length) },
        timeout: this.timeoutMs,
      });
      req.on("timeout", () => {
        req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }));
      });
      req.on("error", (err) => {
        reject(fail(err));
      });
      req.on("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
        });
        res.on("error", (err) => {
          reject(fail(err));
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299)
            reject(new ClickHouseError(status, `clickhouse ${this.target.display}: ${text.trim()}`));
          else resolve(text);
        });
      });
      for (const p of pieces) req.write(p);
      req.end();
    });
  }

  /** Runs a statement; resolves with the response text. */
  async query(sql: string): Promise<string> {
    return this.post({}, sql);
  }

  /** Inserts rows (RowBinary, or a Native block in pieces) into a table of the target database. */
  async insert(
    table: string,
    columns: readonly string[],
    rows: Uint8Array | readonly Uint8Array[],
    settings: Record<string, string> = {},
    format: "RowBinary" | "Native" = "RowBinary",
  ): Promise<void> {
    const sql = `INSERT INTO ${this.target.database}.${table} (${columns.join(", ")}) FORMAT ${format}`;
    await this.post({ ...settings, query: sql }, rows instanceof Uint8Array ? [rows] : rows);
  }

  /** Closes the kept-alive connections (a finished tsdump exits without waiting for them to time out). */
  close(): void {
    this.agent.destroy();
  }
}
