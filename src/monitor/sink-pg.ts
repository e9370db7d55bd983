// SPDX-License-Identifier: BSD-3-Clause
// Fixed-window rows into PostgreSQL. Every closed period is first written to a spool file in the flow
// directory (`.tscapd-monitor/<monitor>/`, CSV ready for COPY, tmp + rename), then loaded in file order by
// one connection, and the file removed once committed. While the database is away the files wait and
// loading is retried; ingest never waits for any of it.
//
// Exactly once: each load inserts the spool file's id into `tscapd_monitor_loads` in the same transaction
// as its rows; a retry of a committed load (the commit's reply lost) finds the id and does nothing. Rows go
// through a temporary table (COPY) and are added to the monitor's table with ON CONFLICT … DO UPDATE, so
// two loads of one period (a partial period at stop, the rest after a restart) add up.

import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { KeySpec } from "./keys.js";
import type { WindowRow } from "./window.js";

/** Spool files kept per monitor at most; beyond it the oldest are dropped (and logged). */
export const MAX_SPOOL_FILES = 10_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export type SinkLog = (level: "info" | "warn" | "error", key: string, message: string) => void;

/** `"name"`: a monitor name is [a-z_][a-z0-9_]*, quoted all the same. */
const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

/** CSV text of rows for COPY … (FORMAT csv): empty fields are NULL. */
export function rowsToCsv(rows: readonly WindowRow[], width: number): string {
  let out = "";
  for (const r of rows) {
    const keys = r.keys ?? new Array<string>(width).fill("");
    out += `${new Date(r.time).toISOString()},${keys.join(",")},${r.flows},${r.packets},${r.bytes}\n`;
  }
  return out;
}

export class PgSink {
  readonly name: string;
  readonly spoolDir: string;
  /** rows committed, periods (spool files) loaded, load attempts failed */
  loaded = { rows: 0, files: 0, failures: 0 };
  private readonly spec: KeySpec;
  private readonly url: string;
  private readonly log: SinkLog;
  private client: pg.Client | null = null;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private seq = 0;
  private readonly run: string;
  private closed = false;

  constructor(name: string, spec: KeySpec, url: string, spoolDir: string, log: SinkLog) {
    this.name = name;
    this.spec = spec;
    this.url = url;
    this.spoolDir = spoolDir;
    this.log = log;
    this.run = `${Date.now().toString(36)}-${process.pid}`;
    mkdirSync(spoolDir, { recursive: true });
  }

  /** Spools a period's rows and starts loading. */
  write(rows: readonly WindowRow[]): void {
    if (rows.length === 0) return;
    const name = `${String(rows[0]!.time).padStart(15, "0")}-${this.run}-${this.seq++}.csv`;
    const tmp = join(this.spoolDir, `.${name}.tmp`);
    try {
      writeFileSync(tmp, rowsToCsv(rows, this.spec.elements.length));
      renameSync(tmp, join(this.spoolDir, name));
    } catch (err) {
      this.log("error", `spool:${this.name}`, `monitor ${this.name}: cannot spool a period: ${(err as Error).message}`);
      return;
    }
    this.kick();
  }

  /** Spool files waiting, oldest first. */
  pending(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.spoolDir);
    } catch {
      return [];
    }
    const files = names.filter((n) => n.endsWith(".csv") && !n.startsWith(".")).sort();
    if (files.length > MAX_SPOOL_FILES) {
      const drop = files.splice(0, files.length - MAX_SPOOL_FILES);
      for (const f of drop) unlinkSync(join(this.spoolDir, f));
      this.log(
        "error",
        `spool:${this.name}`,
        `monitor ${this.name}: spool full, ${drop.length} oldest periods dropped`,
      );
    }
    return files;
  }

  /** Loads what is spooled (now, unless a load runs or a retry is scheduled). */
  kick(): void {
    if (this.running !== null || this.timer !== null || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const files = this.pending();
      if (files.length === 0) return;
      try {
        await this.load(files[0]!);
        this.retryMs = RETRY_MIN_MS;
      } catch (err) {
        this.loaded.failures++;
        this.log(
          "warn",
          `pg:${this.name}`,
          `monitor ${this.name}: PostgreSQL load failed (${files.length} period(s) spooled, retry in ${this.retryMs / 1000} s): ${(err as Error).message}`,
        );
        const c = this.client;
        this.client = null;
        c?.end().catch(() => undefined);
        if (!this.closed) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.kick();
          }, this.retryMs);
          this.timer.unref();
        }
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        return;
      }
    }
  }

  private async connect(): Promise<pg.Client> {
    if (this.client !== null) return this.client;
    const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000, query_timeout: 60_000 });
    c.on("error", () => {
      if (this.client === c) this.client = null;
    });
    await c.connect();
    const cols = this.spec.elements.map((e, i) => `${q(this.spec.names[i]!)} ${e.sqlType}`);
    const keys = ["time", ...this.spec.names].map(q).join(", ");
    await c.query(
      `CREATE TABLE IF NOT EXISTS tscapd_monitor_loads (monitor text NOT NULL, id text NOT NULL, loaded timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (monitor, id))`,
    );
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${q(this.name)} (time timestamptz NOT NULL, ${cols.join(", ")}, ` +
        `flows bigint NOT NULL, packets bigint NOT NULL, bytes bigint NOT NULL, UNIQUE NULLS NOT DISTINCT (${keys}))`,
    );
    this.client = c;
    return c;
  }

  private async load(file: string): Promise<void> {
    const path = join(this.spoolDir, file);
    const text = readFileSync(path, "utf8");
    const c = await this.connect();
    const t = q(this.name);
    const keys = ["time", ...this.spec.names].map(q).join(", ");
    await c.query("BEGIN");
    try {
      const r = await c.query("INSERT INTO tscapd_monitor_loads (monitor, id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        this.name,
        file,
      ]);
      if (r.rowCount === 1) {
        await c.query(`CREATE TEMP TABLE tscapd_stage (LIKE ${t}) ON COMMIT DROP`);
        await pipeline(Readable.from([text]), c.query(copyFrom(`COPY tscapd_stage FROM STDIN WITH (FORMAT csv)`)));
        const ins = await c.query(
          `INSERT INTO ${t} SELECT * FROM tscapd_stage ON CONFLICT (${keys}) DO UPDATE SET ` +
            `flows = ${t}.flows + EXCLUDED.flows, packets = ${t}.packets + EXCLUDED.packets, bytes = ${t}.bytes + EXCLUDED.bytes`,
        );
        this.loaded.rows += ins.rowCount ?? 0;
      }
      await c.query("COMMIT");
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
    try {
      unlinkSync(path);
    } catch (err) {
      // removed by the sink this one replaced at a reload, which loaded it (the load id made this one a no-op)
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    this.loaded.files++;
  }

  /** Loads what is spooled, for at most `ms` (at stop); what is left waits for the next start. */
  async flush(ms: number): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.kick();
    const deadline = new Promise((r) => setTimeout(r, ms).unref());
    await Promise.race([this.running ?? Promise.resolve(), deadline]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
