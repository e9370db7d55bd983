#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsdump vs nfdump on the same flows (issue: tsdump faster than nfdump). Runs each query SAMPLES times with
// each tool, alternating, and prints median wall time, peak RSS and the ratio of medians as a Markdown table.
// Every run is self-checked: the two tools must print the same Summary line (flows, bytes, packets).
//
//   node bench/compare-nfdump.mjs --nf bench/data/nfcapd --ts bench/data/tscapd [--samples 3] [--only 2]
//     [--queries 1,2,4]   run these queries (1-based, as listed below)
//     [--cpu]             also report the median CPU time (user + sys) of each tool: on a shared machine wall
//                         times swing with the neighbours' load, CPU seconds much less
//     [--no-extra-ca]     run both tools without NODE_EXTRA_CA_CERTS: when it is set, Node parses its whole root
//                         certificate store at process start, before any JS runs (docs/benchmarks.md, start-up);
//                         the table's header says which environment the figures are from
//   --ts may name the nfcapd directory too: tsdump then reads the nfdump files (docs/benchmarks.md,
//   "tsdump on nfcapd files vs nfdump").
//
// The directories are filled by bench/prepare.mjs (one synthetic stream fed to nfcapd -y and to tscapd).
// Needs /usr/bin/time (Debian package `time`) for peak RSS.

import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { QUERIES } from "./queries.mjs";

// default data directory (git-ignored): what bench/prepare.mjs writes without --out
const BENCH_DATA = new URL("./data", import.meta.url).pathname;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const nfDir = opt("--nf", `${BENCH_DATA}/nfcapd`);
const tsDir = opt("--ts", `${BENCH_DATA}/tscapd`);
const samples = Number(opt("--samples", "3"));
const only = opt("--only", undefined);
const queries = opt("--queries", undefined)?.split(",");
const withCpu = args.includes("--cpu");
const env = { ...process.env, TZ: "UTC" };
if (args.includes("--no-extra-ca")) delete env.NODE_EXTRA_CA_CERTS;
const tsdump = join(root, "dist/bin/tsdump.js");
const TIME = "/usr/bin/time";
if (!existsSync(TIME)) throw new Error("bench: /usr/bin/time missing (apt-get install -y time)");
if (!existsSync(tsdump)) throw new Error("bench: run `npm run build` first");

const OUT = join(tmpdir(), `tsflow-bench-${process.pid}.out`);

/** One timed run; stdout goes to a file (as `> file` would), the tail is read back for the Summary line. */
function runOnce(cmd, argv) {
  const fd = openSync(OUT, "w");
  // wall time measured here (time(1)'s %e has 10 ms steps, a tenth of a small query); the same spawn cost for both
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ["-f", "%e %M %U %S", cmd, ...argv], {
    env,
    stdio: ["ignore", fd, "pipe"],
    encoding: "utf8",
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`bench: ${cmd} ${argv.join(" ")} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const lines = r.stderr.trim().split("\n");
  const [, rssKb, user, sys] = lines[lines.length - 1].split(" ").map(Number);
  const size = statSync(OUT).size;
  const tail = Buffer.alloc(Math.min(size, 4096));
  const tfd = openSync(OUT, "r");
  readSync(tfd, tail, 0, tail.length, size - tail.length);
  closeSync(tfd);
  const summary = /total flows: (\d+), total bytes: ([\d.]+ ?\w?), total packets: ([\d.]+ ?\w?)/.exec(tail.toString());
  return {
    wall,
    cpu: user + sys,
    rssMb: rssKb / 1024,
    summary: summary ? summary.slice(1).join("/") : null,
    bytes: size,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const [i, [label, q]] of QUERIES.entries()) {
  if (only !== undefined && String(i + 1) !== only) continue;
  if (queries !== undefined && !queries.includes(String(i + 1))) continue;
  const nf = [];
  const ts = [];
  for (let s = 0; s < samples; s++) {
    nf.push(runOnce("nfdump", ["-R", nfDir, ...q]));
    ts.push(runOnce(process.execPath, [tsdump, "-R", tsDir, ...q]));
  }
  const nfSum = nf[0].summary;
  const tsSum = ts[0].summary;
  const check =
    nfSum === null || tsSum === null
      ? `rows: nfdump ${nf[0].bytes} B, tsdump ${ts[0].bytes} B of output`
      : nfSum === tsSum
        ? "same Summary line"
        : `DIFFERENT nf=${nfSum} ts=${tsSum}`;
  const row = {
    label,
    nf: median(nf.map((r) => r.wall)),
    ts: median(ts.map((r) => r.wall)),
    nfCpu: median(nf.map((r) => r.cpu)),
    tsCpu: median(ts.map((r) => r.cpu)),
    nfRss: Math.max(...nf.map((r) => r.rssMb)),
    tsRss: Math.max(...ts.map((r) => r.rssMb)),
    check,
  };
  rows.push(row);
  process.stderr.write(
    `${label}: nfdump ${row.nf.toFixed(3)}s tsdump ${row.ts.toFixed(3)}s ratio ${(row.ts / row.nf).toFixed(2)}` +
      `${withCpu ? ` cpu nfdump ${row.nfCpu.toFixed(2)}s tsdump ${row.tsCpu.toFixed(2)}s` : ""} ${check}\n`,
  );
}

const cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], {
  encoding: "utf8",
}).trim();
console.log(
  `Machine: ${cpu}, ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores; Node ${process.version}; ` +
    `nfdump ${execFileSync("nfdump", ["-V"], { encoding: "utf8" }).trim()}; ${samples} samples each, median wall time; ` +
    `NODE_EXTRA_CA_CERTS ${env.NODE_EXTRA_CA_CERTS === undefined ? "unset" : "set"}.\n`,
);
const cpuHead = withCpu ? " nfdump CPU s | tsdump CPU s | CPU ratio |" : "";
console.log(`| query | nfdump s | tsdump s | ratio |${cpuHead} nfdump RSS MB | tsdump RSS MB | same summary |`);
console.log(`|---|---:|---:|---:|${withCpu ? "---:|---:|---:|" : ""}---:|---:|---|`);
for (const r of rows) {
  const cpu = withCpu ? ` ${r.nfCpu.toFixed(2)} | ${r.tsCpu.toFixed(2)} | ${(r.tsCpu / r.nfCpu).toFixed(2)} |` : "";
  console.log(
    `| ${r.label} | ${r.nf.toFixed(3)} | ${r.ts.toFixed(3)} | ${(r.ts / r.nf).toFixed(2)} |${cpu} ${r.nfRss.toFixed(0)} | ${r.tsRss.toFixed(0)} | ${r.check} |`,
  );
}
