#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Loading an archive into ClickHouse: `tsdump -R DIR --clickhouse URL` vs
// `tsdump -R DIR -q -o csv | clickhouse-client --query "INSERT INTO … FORMAT CSV"` on the same flows, alternating,
// each into a fresh database of a ClickHouse server this script starts (Debian's clickhouse-server, temp
// directory, free loopback ports). Reports rows/s (median) and checks each load's count() and sum(bytes).
//
//   npm run build && node bench/clickhouse-load.mjs --dir bench/data/10m/tscapd [--runs 3]
//
// The CSV path inserts tsdump's 10 default CSV columns into a plain MergeTree table (no rollups); tsdump
// --clickhouse inserts every non-zero column of the schema into `flows` with its three materialized views, and
// once more with rollups=0 (the flow table only).

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
const TSDUMP = join(root, "dist/bin/tsdump.js");

async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

const home = mkdtempSync(join(tmpdir(), "tsflow-bench-ch-"));
for (const d of ["data", "tmp", "user_files", "format_schemas"]) mkdirSync(join(home, d));
const http = await freePort();
const tcp = await freePort();
const inter = await freePort();
writeFileSync(
  join(home, "config.xml"),
  `<?xml version="1.0"?><yandex><logger><level>warning</level><console>1</console></logger>
<http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><interserver_http_port>${inter}</interserver_http_port>
<listen_host>127.0.0.1</listen_host><path>${home}/data/</path><tmp_path>${home}/tmp/</tmp_path>
<user_files_path>${home}/user_files/</user_files_path><format_schema_path>${home}/format_schemas/</format_schema_path>
<mark_cache_size>268435456</mark_cache_size><users_config>${home}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database><timezone>UTC</timezone></yandex>`,
);
writeFileSync(
  join(home, "users.xml"),
  `<?xml version="1.0"?><yandex><profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas></yandex>`,
);
const server = spawn("clickhouse-server", [`--config-file=${join(home, "config.xml")}`], { stdio: "ignore" });
const url = `http://127.0.0.1:${http}/`;
const query = async (sql) => {
  // no keep-alive: the event loop sleeps in execFileSync while the loads run, so an idle socket goes stale unseen
  const res = await fetch(url, { method: "POST", body: sql, headers: { Connection: "close" } });
  const text = await res.text();
  if (!res.ok) throw new Error(text);
  return text.trim();
};
for (let i = 0; ; i++) {
  try {
    await query("SELECT 1");
    break;
  } catch {
    if (i > 300) throw new Error("clickhouse-server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const summary = execFileSync(process.execPath, [TSDUMP, "-R", dir, "-N", "-o", "null"], { encoding: "utf8" });
const m = /total flows: (\d+), total bytes: (\d+)/.exec(summary);
const want = { flows: Number(m[1]), bytes: Number(m[2]) };
console.log(`${dir}: ${want.flows} flows, ${want.bytes} bytes; ClickHouse ${await query("SELECT version()")}`);

async function viaClickhouse(run, rollups = true) {
  const db = `native_${run}`;
  const t0 = process.hrtime.bigint();
  const target = `${url}?database=${db}${rollups ? "" : "&rollups=0"}`;
  execFileSync(process.execPath, [TSDUMP, "-R", dir, "--clickhouse", target, "--no-progress"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const [n, bytes] = (await query(`SELECT count(), sum(inBytes) FROM ${db}.flows`)).split("\t").map(Number);
  if (n !== want.flows || bytes !== want.bytes) throw new Error(`wrong result: ${n} rows, ${bytes} bytes`);
  await query(`DROP DATABASE ${db}`);
  return secs;
}

async function viaCsv(run) {
  const db = `csv_${run}`;
  await query(`CREATE DATABASE ${db}`);
  await query(
    `CREATE TABLE ${db}.flows (firstSeen String, duration Float64, proto UInt8, srcAddr String, srcPort UInt16,` +
      ` dstAddr String, dstPort UInt16, packets UInt64, bytes UInt64, flows UInt64) ENGINE = MergeTree() ORDER BY tuple()`,
  );
  const t0 = process.hrtime.bigint();
  // the pipeline as a user types it; the directory name is passed as an argument, not through the shell text
  execFileSync(
    "sh",
    [
      "-c",
      `node "$1" -R "$2" -q -o csv | clickhouse-client --port "$3" --query "INSERT INTO ${db}.flows FORMAT CSVWithNames"`,
      "sh",
      TSDUMP,
      dir,
      String(tcp),
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const [n, bytes] = (await query(`SELECT count(), sum(bytes) FROM ${db}.flows`)).split("\t").map(Number);
  if (n !== want.flows || bytes !== want.bytes) throw new Error(`wrong result: ${n} rows, ${bytes} bytes`);
  await query(`DROP DATABASE ${db}`);
  return secs;
}

const times = { native: [], bare: [], csv: [] };
try {
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ["native", "bare", "csv"] : ["csv", "bare", "native"];
    for (const k of order) {
      const s = k === "csv" ? await viaCsv(r) : await viaClickhouse(r, k === "native");
      times[k].push(s);
      console.log(`run ${r + 1} ${k}: ${s.toFixed(1)} s, ${Math.round(want.flows / s)} rows/s`);
    }
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.on("exit", r));
  rmSync(home, { recursive: true, force: true });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const n = median(times.native);
const b = median(times.bare);
const c = median(times.csv);
const rate = (s) => `${s.toFixed(1)} s (${Math.round(want.flows / s)} rows/s)`;
console.log(
  `median: tsdump --clickhouse ${rate(n)}, with rollups=0 ${rate(b)}, ` +
    `tsdump -o csv | clickhouse-client ${rate(c)}; csv/native ${(c / n).toFixed(2)}, csv/rollups=0 ${(c / b).toFixed(2)}`,
);
