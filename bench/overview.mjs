#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsweb overview benchmark: the graphs' data for 30 days of 5-minute files (8,640 files in tscapd's
// %Y/%m/%d layout, 3 exporters each), from the files' footers only. Times:
//   summarizeFiles (library, every footer read) + overviewSeries, then again with the server's per-file cache;
//   GET /api/overview from a running tsweb: the first request (after the start-up read of the footers, which
//   it may wait for) and the next ones (only the file listing and a stat per file).
// Self-checking: the series' total flows equal the files' written rows.
//
//   npm run build && node bench/overview.mjs [--days 30] [--flows 200] [--dir bench/data/overview] [--runs 5]

import * as fs from "node:fs";
import { spawn } from "node:child_process";
import { get } from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const { syntheticRounds } = await import(path.join(dist, "replay/synthetic.js"));
const { FlowFileWriter, flowFilePath } = await import(path.join(dist, "store/index.js"));
const { summarizeFiles } = await import(path.join(dist, "api.js"));
const { overviewSeries } = await import(path.join(dist, "web/overview.js"));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const DAYS = Number(opt("--days", "30"));
const FLOWS = Number(opt("--flows", "200"));
const RUNS = Number(opt("--runs", "5"));
const dir = path.resolve(opt("--dir", path.join(root, `bench/data/overview-${DAYS}d-${FLOWS}`)));
const START = 1_767_225_600; // 2026-01-01 00:00 UTC
const SLOTS = DAYS * 288;

function build() {
  const done = path.join(dir, ".done");
  if (fs.existsSync(done)) return;
  const t0 = performance.now();
  const rounds = syntheticRounds({
    flows: SLOTS * FLOWS,
    seed: 3,
    exporters: 3,
    start: START + 1,
    step: 300,
    roundFlows: FLOWS,
  });
  for (let s = 0; s < SLOTS; s++) {
    const round = rounds.next().value;
    const file = flowFilePath(dir, (START + s * 300) * 1000, { interval: 300, zone: "utc", subdirLevel: 1 });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const w = FlowFileWriter.open(`${file}.tmp`, { creator: "bench" });
    w.appendBatchSync(round.batch);
    for (let e = 0; e < 3; e++) {
      const flows = e === round.exporter ? round.batch.length : 0;
      w.addExporterStats({ address: `192.0.2.${e + 1}`, id: e + 1, version: 9, flows, packets: flows * 10 });
    }
    w.closeSync({ finalPath: file });
  }
  fs.writeFileSync(done, "");
  console.log(`built ${SLOTS} files in ${((performance.now() - t0) / 1000).toFixed(1)} s under ${dir}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function inProcess() {
  const cold = [];
  const warm = [];
  const cpu = [];
  for (let r = 0; r < RUNS; r++) {
    const cache = new Map();
    let t = performance.now();
    const c0 = process.cpuUsage();
    const files = summarizeFiles({ range: dir }, cache);
    const s = overviewSeries(files);
    cold.push(performance.now() - t);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (s.totals.flows !== SLOTS * FLOWS) throw new Error(`flows ${s.totals.flows} != ${SLOTS * FLOWS}`);
    t = performance.now();
    overviewSeries(summarizeFiles({ range: dir }, cache));
    warm.push(performance.now() - t);
  }
  return { first: cold[0], cold: median(cold), cpu: median(cpu), warm: median(warm) };
}

function fetchMs(url) {
  const t = performance.now();
  return new Promise((ok, fail) => {
    get(url, (res) => {
      let n = 0;
      res.on("data", (d) => (n += d.length));
      res.on("end", () => ok({ ms: performance.now() - t, bytes: n, status: res.statusCode }));
    }).on("error", fail);
  });
}

async function viaServer() {
  const proc = spawn(process.execPath, [path.join(dist, "bin/tsweb.js"), "-p", "0", "-R", dir], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TZ: "UTC" },
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  while (!/listening on (\S+)/.test(out)) await new Promise((r) => setTimeout(r, 20));
  const base = /listening on (\S+)/.exec(out)[1].replace(/\/$/, "");
  // tsweb reads the footers once right after it starts listening: wait for that before the first request
  const first = await fetchMs(`${base}/api/overview`);
  const next = [];
  for (let r = 0; r < RUNS; r++) next.push((await fetchMs(`${base}/api/overview`)).ms);
  const week = await fetchMs(`${base}/api/overview?t=2026/01/10-2026/01/17`);
  proc.kill();
  return { first, next: median(next), week };
}

build();
console.log(
  `load average ${(await import("node:os")).loadavg()[0].toFixed(1)} on ${(await import("node:os")).availableParallelism()} cores`,
);
const p = inProcess();
console.log(
  `library: ${SLOTS} files: summarizeFiles + overviewSeries ${p.cold.toFixed(0)} ms wall, ${p.cpu.toFixed(0)} ms CPU (first run ${p.first.toFixed(0)} ms); ` +
    `cached ${p.warm.toFixed(0)} ms (medians of ${RUNS})`,
);
const s = await viaServer();
console.log(
  `tsweb GET /api/overview: first ${s.first.ms.toFixed(0)} ms (${(s.first.bytes / 1024).toFixed(0)} KiB), ` +
    `then ${s.next.toFixed(0)} ms (median of ${RUNS}); one week -t: ${s.week.ms.toFixed(0)} ms`,
);
