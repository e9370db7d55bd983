#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Loading an archive into ClickHouse: `tsdump -R DIR --clickhouse URL` vs
// `tsdump -R DIR -q -o csv | clickhouse-client --query "INSERT INTO … FORMAT CSV"` on the same flows, alternating,
// each into a fresh database of a ClickHouse server this script starts (Debian's clickhouse-server, temp
// directory, free loopback ports). Reports rows/s (median) and checks each load's count() and sum(bytes).
//
//   npm run build && node bench/clickhouse-load.mjs --dir bench/data/10m/tscapd [--runs 3]
//        [--baseline OTHER/dist/bin/tsdump.js] [--only native,bare,csv,baseline] [--nice N (the server's)]
//
// The CSV path inserts tsdump's 10 default CSV columns into a plain MergeTree table (no sort key, no partitions,
// no rollups); tsdump --clickhouse inserts every non-zero column of the schema into `flows` (partitioned by day,
// sorted by (timeFirst, exporterAddr), the other schema columns filled with their defaults by the server) with
// its three materialized views, and once more with rollups=0 (the flow table only). --baseline loads (with
// rollups) with another build of tsdump too, e.g. main's, alternating with the others.
//
// Per load: wall seconds, the CPU seconds of the loading processes (tsdump, or tsdump + clickhouse-client: user +
// sys from /usr/bin/time) and of the server (from /proc, until its merges are done).

import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startClickHouse } from "./clickhouse-server.mjs";

// default data directory (git-ignored): what bench/prepare.mjs writes without --out
const BENCH_DATA = new URL("./data", import.meta.url).pathname;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const dir = opt("--dir", `${BENCH_DATA}/10m/tscapd`);
const runs = Number(opt("--runs", "3"));
const baseline = opt("--baseline", undefined);
const only = opt("--only", baseline ? "native,bare,csv,baseline" : "native,bare,csv").split(",");
const TSDUMP = join(root, "dist/bin/tsdump.js");

const server = await startClickHouse({ nice: Number(opt("--nice", "0")) });
const { url, tcp, query } = server;

const summary = execFileSync(process.execPath, [TSDUMP, "-R", dir, "-N", "-o", "null"], { encoding: "utf8" });
const m = /total flows: (\d+), total bytes: (\d+)/.exec(summary);
const want = { flows: Number(m[1]), bytes: Number(m[2]) };
console.log(`${dir}: ${want.flows} flows, ${want.bytes} bytes; ClickHouse ${await query("SELECT version()")}`);

const serverCpu = () => server.cpu();
/** Waits until the server's background merges are done (their CPU belongs to the load). */
async function merged() {
  for (let i = 0; i < 3000; i++) {
    if ((await query("SELECT count() FROM system.merges")) === "0") return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
/** Runs a command under /usr/bin/time; its CPU seconds (user + sys, children included). */
function timed(cmd, argv) {
  const r = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", cmd, ...argv], {
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} failed: ${r.stderr}`);
  return Number(m[1]) + Number(m[2]);
}
/** One load: wall and CPU seconds (loader, server), and the check of its count and bytes. */
async function measure(db, load, check) {
  await merged();
  const s0 = serverCpu();
  const t0 = process.hrtime.bigint();
  const cpu = load();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await merged();
  const server = serverCpu() - s0;
  const [n, bytes] = (await query(check)).split("\t").map(Number);
  if (n !== want.flows || bytes !== want.bytes) throw new Error(`wrong result: ${n} rows, ${bytes} bytes`);
  await query(`DROP DATABASE ${db}`);
  return { secs, cpu, server };
}

async function viaClickhouse(run, rollups = true, tsdump = TSDUMP) {
  const db = `native_${run}`;
  const target = `${url}?database=${db}${rollups ? "" : "&rollups=0"}`;
  return measure(
    db,
    () => timed(process.execPath, [tsdump, "-R", dir, "--clickhouse", target, "--no-progress"]),
    `SELECT count(), sum(inBytes) FROM ${db}.flows`,
  );
}

async function viaCsv(run) {
  const db = `csv_${run}`;
  await query(`CREATE DATABASE ${db}`);
  await query(
    `CREATE TABLE ${db}.flows (firstSeen String, duration Float64, proto UInt8, srcAddr String, srcPort UInt16,` +
      ` dstAddr String, dstPort UInt16, packets UInt64, bytes UInt64, flows UInt64) ENGINE = MergeTree() ORDER BY tuple()`,
  );
  // the pipeline as a user types it; the directory name is passed as an argument, not through the shell text
  return measure(
    db,
    () =>
      timed("sh", [
        "-c",
        `node "$1" -R "$2" -q -o csv | clickhouse-client --port "$3" --query "INSERT INTO ${db}.flows FORMAT CSVWithNames"`,
        "sh",
        TSDUMP,
        dir,
        String(tcp),
      ]),
    `SELECT count(), sum(bytes) FROM ${db}.flows`,
  );
}

const LABEL = {
  native: "tsdump --clickhouse",
  bare: "tsdump --clickhouse, rollups=0",
  csv: "tsdump -o csv | clickhouse-client",
  baseline: "baseline tsdump --clickhouse",
};
const times = Object.fromEntries(only.map((k) => [k, []]));
try {
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? only : [...only].reverse();
    for (const k of order) {
      const t =
        k === "csv"
          ? await viaCsv(r)
          : k === "baseline"
            ? await viaClickhouse(r, true, baseline)
            : await viaClickhouse(r, k === "native");
      times[k].push(t);
      console.log(
        `run ${r + 1} ${LABEL[k]}: ${t.secs.toFixed(1)} s (${Math.round(want.flows / t.secs)} rows/s), ` +
          `CPU ${t.cpu.toFixed(1)} s loader + ${t.server.toFixed(1)} s server = ${(t.cpu + t.server).toFixed(1)} s`,
      );
    }
  }
} finally {
  await server.stop();
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const k of only) {
  const w = median(times[k].map((t) => t.secs));
  const c = median(times[k].map((t) => t.cpu));
  const s = median(times[k].map((t) => t.server));
  const all = median(times[k].map((t) => t.cpu + t.server));
  console.log(
    `median ${LABEL[k]}: ${w.toFixed(1)} s (${Math.round(want.flows / w)} rows/s), CPU ${c.toFixed(1)} s loader + ` +
      `${s.toFixed(1)} s server, ${all.toFixed(1)} s in all (${Math.round(want.flows / all)} rows per CPU second)`,
  );
}
