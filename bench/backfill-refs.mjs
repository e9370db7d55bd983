#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// The writer thread's cost of tscapd --clickhouse's back-fill log: one reference line (JSON, write(2)) per stored
// block, as ClickHouseFeed appends it for every block (src/clickhouse/backfill.ts, addPosted). Prints the CPU and
// wall microseconds per block, median of RUNS runs of N references each, into a temp directory.
//
//   npm run build && node bench/backfill-refs.mjs [--runs 5] [--refs 20000]
//
// A block holds up to 16 384 flows: per flow the cost is this figure / the block's rows.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const runs = opt("--runs", 5);
const refs = opt("--refs", 20000);
// every reference in the log, none past its bound (the bound is read when the module loads)
process.env.TSFLOW_CLICKHOUSE_BACKFILL_MAX_REFS = String((runs + 1) * refs + 1);
const { BackfillWriter } = await import("../dist/clickhouse/backfill.js");

const ref = (k) => ({
  path: "/var/flows/2026/12/07/tscapd.current.12345.0",
  dev: 2049,
  ino: 1234567,
  offset: 4096 + k * 300_000,
  rows: 16384,
  msecFirst: 1_765_000_000_000 + k,
  msecLast: 1_765_000_001_000 + k,
});
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const spool = mkdtempSync(join(tmpdir(), "tsflow-backfill-refs-"));
try {
  const w = new BackfillWriter(spool);
  for (let k = 0; k < refs; k++) w.addPosted(ref(k)); // warm-up
  const cpu = [];
  const wall = [];
  for (let r = 0; r < runs; r++) {
    const u0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < refs; k++) w.addPosted(ref(k));
    const t1 = process.hrtime.bigint();
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / refs);
    wall.push(Number(t1 - t0) / 1000 / refs);
  }
  w.close();
  console.log(
    `${refs} references × ${runs} runs: median ${median(cpu).toFixed(2)} µs CPU, ${median(wall).toFixed(2)} µs wall per block` +
      ` (CPU per run: ${cpu.map((x) => x.toFixed(2)).join(", ")})`,
  );
} finally {
  rmSync(spool, { recursive: true, force: true });
}
