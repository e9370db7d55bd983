#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Listing throughput of tsdump (issue 16: `-o csv` ≥ 1.5 M rows/s, default line output ≥ 1 M rows/s written to a
// file): runs `tsdump -R DIR -o FORMAT > file` SAMPLES times per format and build, alternating the builds run by
// run, and prints the median wall time, CPU time (user + sys) and rows per second of each as a Markdown table.
//
//   node bench/listing.mjs [--data bench/data/tscapd] [--samples 3] [--formats csv,line]
//     [--dist DIR]...     tsdump builds to compare (each a dist/ directory; default: this checkout's dist/),
//                         e.g. --dist /tmp/old/dist --dist dist
//     [--args '-W 1']     extra tsdump arguments (split on spaces)
//
// The output file is removed before every run (truncating a file of a gigabyte costs the next run seconds of
// system time) and checked after it: one line per flow (plus csv's header, line's header and summary). Each
// format's output must be the same size for every build. Needs /usr/bin/time (Debian package `time`).

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const all = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const data = opt("--data", new URL("./data/tscapd", import.meta.url).pathname);
const samples = Number(opt("--samples", "3"));
const formats = opt("--formats", "csv,line").split(",");
const extra = opt("--args", "").split(" ").filter(Boolean);
const dists = (all("--dist").length > 0 ? all("--dist") : [join(root, "dist")]).map((d) => resolve(d));
const TIME = "/usr/bin/time";
if (!existsSync(TIME)) throw new Error("bench: /usr/bin/time missing (apt-get install -y time)");
for (const d of dists) if (!existsSync(join(d, "bin/tsdump.js"))) throw new Error(`bench: no ${d}/bin/tsdump.js`);
if (!existsSync(data)) throw new Error(`bench: no data directory ${data} (node bench/prepare.mjs)`);

const OUT = join(tmpdir(), `tsflow-listing-${process.pid}.out`);

function run(dist, argv) {
  rmSync(OUT, { force: true });
  const fd = openSync(OUT, "w");
  const r = spawnSync(TIME, ["-f", "%e %U %S", process.execPath, join(dist, "bin/tsdump.js"), ...argv], {
    env: { ...process.env, TZ: "UTC" },
    stdio: ["ignore", fd, "pipe"],
    encoding: "utf8",
  });
  closeSync(fd);
  if (r.status !== 0) throw new Error(`bench: tsdump ${argv.join(" ")} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const last = r.stderr.trim().split("\n").pop();
  const [wall, user, sys] = last.split(" ").map(Number);
  const size = statSync(OUT).size;
  rmSync(OUT, { force: true });
  return { wall, cpu: user + sys, size };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// the number of rows: the flows passing an empty filter
const count = spawnSync(process.execPath, [join(dists[0], "bin/tsdump.js"), "-R", data, "-o", "null", ...extra], {
  encoding: "utf8",
  env: { ...process.env, TZ: "UTC" },
});
const passed = /passed: (\d+)/.exec(count.stdout);
if (!passed) throw new Error(`bench: no flow count from tsdump -o null: ${count.stdout}${count.stderr}`);
const rows = Number(passed[1]);
console.log(
  `node ${process.version}, ${rows} rows from ${data}, ${samples} runs per format and build, ${new Date().toISOString()}`,
);

const results = new Map(); // `${format} ${dist}` → runs
for (const format of formats) {
  for (let s = 0; s < samples; s++) {
    // alternate which build goes first
    const order = s % 2 === 0 ? dists : [...dists].reverse();
    for (const dist of order) {
      const r = run(dist, ["-R", data, "-o", format, ...extra]);
      const key = `${format} ${dist}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(r);
      process.stderr.write(`${format} ${dist}: ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU\n`);
    }
  }
  const sizes = new Set(dists.map((d) => results.get(`${format} ${d}`)[0].size));
  // line prints the summary's timings (a few bytes may differ); csv has no summary
  if (format !== "line" && sizes.size > 1) console.log(`wrong result! ${format}: output sizes differ: ${[...sizes]}`);
}

console.log("");
console.log("| format | build | wall s | CPU s | rows/s (wall) | rows per CPU s | MB out |");
console.log("| ------ | ----- | -----: | ----: | ------------: | -------------: | -----: |");
for (const [key, runs] of results) {
  const [format, dist] = key.split(" ");
  const wall = median(runs.map((r) => r.wall));
  const cpu = median(runs.map((r) => r.cpu));
  const m = (x) => `${(x / 1e6).toFixed(2)} M`;
  console.log(
    `| ${format} | ${dist} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${m(rows / wall)} | ${m(rows / cpu)} | ${(runs[0].size / 1e6).toFixed(0)} |`,
  );
}
