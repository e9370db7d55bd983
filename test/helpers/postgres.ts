// SPDX-License-Identifier: BSD-3-Clause
// A throw-away PostgreSQL cluster for the monitor tests: Debian's postgresql (installed by .ci/run), initdb in a
// temp directory owned by the postgres user (postgres refuses to run as root), trust authentication, loopback
// only, a free port and its unix socket in the same directory. start/stop/restart let a test take the database
// away mid-run.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_ROOT } from "./service-root.js";

function binDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], "bin");
}

export const PG_BIN = binDir();

/** Why the PostgreSQL tests cannot run here, or undefined. */
export const PG_MISSING: string | undefined =
  PG_BIN === undefined ? "PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)" : undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === "object" && a !== null ? a.port : 0);
      });
    });
    s.on("error", reject);
  });
}

function ids(): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export class TestPostgres {
  readonly dir: string;
  readonly port: number;
  private readonly uid: number;
  private readonly gid: number;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    const u = process.getuid?.() === 0 ? ids() : { uid: -1, gid: -1 };
    this.uid = u.uid;
    this.gid = u.gid;
  }

  /** postgresql://postgres@127.0.0.1:PORT/postgres */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private run(prog: string, args: readonly string[]): string {
    const opts = this.uid >= 0 ? { uid: this.uid, gid: this.gid } : {};
    const r = spawnSync(join(PG_BIN!, prog), args, { encoding: "utf8", cwd: this.dir, ...opts, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${prog} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  static async create(): Promise<TestPostgres> {
    // as root the cluster's directory must be reachable by the postgres user: below SERVICE_ROOT
    let parent = tmpdir();
    if (process.getuid?.() === 0) {
      mkdirSync(SERVICE_ROOT, { recursive: true, mode: 0o755 });
      parent = SERVICE_ROOT;
    }
    const dir = mkdtempSync(join(parent, "tsflow-pg-"));
    const pg = new TestPostgres(dir, await freePort());
    if (pg.uid >= 0) chownSync(dir, pg.uid, pg.gid);
    pg.run("initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    pg.start();
    return pg;
  }

  start(): void {
    const conf = `-c listen_addresses=127.0.0.1 -c port=${this.port} -c unix_socket_directories=${this.dir} -c fsync=off -c shared_buffers=16MB -c max_connections=20`;
    this.run("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-l",
      join(this.dir, "log"),
      "-o",
      conf,
      "-w",
      "-t",
      "60",
      "start",
    ]);
  }

  stop(): void {
    this.run("pg_ctl", ["-D", join(this.dir, "data"), "-m", "fast", "-w", "-t", "60", "stop"]);
  }

  /** Runs SQL with psql; returns its unaligned, tuples-only output. */
  sql(text: string): string {
    return this.run("psql", [
      "-h",
      this.dir,
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-XAtq",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      text,
    ]).trim();
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
