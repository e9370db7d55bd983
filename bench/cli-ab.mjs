#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// A/B of one tsdump command line between two builds: runs A and B alternately, reports the median CPU seconds
// (user + sys, from /usr/bin/time), peak RSS and wall seconds of each and B/A. Output goes to /dev/null.
//
//   node bench/cli-ab.mjs A/dist B/dist [--runs 5] -- -W 1 -r FILE -O bytes -o line
//   (add `--nfdump` to time `nfdump` with the same arguments as a third column)

import { spawnSync } from "node:child_process";
import { openSync } from "node:fs";
import { join, resolve } from "node:path";

const argv = process.argv.slice(2);
const dash = argv.indexOf("--");
if (dash < 2) {
  console.error("usage: node bench/cli-ab.mjs A/dist B/dist [--runs N] [--nfdump] -- tsdump arguments");
  process.exit(1);
}
const own = argv.slice(0, dash);
const args = argv.slice(dash + 1);
const [a, b] = own.slice(0, 2).map((d) => resolve(d));
const ri = own.indexOf("--runs");
const runs = ri >= 0 ? Number(own[ri + 1]) : 5;
const withNfdump = own.includes("--nfdump");
const devnull = openSync("/dev/null", "w");

/** One run: [cpu s, wall s, peak RSS MB]. */
function once(cmd, cmdArgs) {
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %e %M", cmd, ...cmdArgs], {
    stdio: ["ignore", devnull, "pipe"],
    encoding: "utf8",
  });
  const last = r.stderr.trim().split("\n").at(-1) ?? "";
  const [u, s, e, kb] = last.split(" ").map(Number);
  if (r.status !== 0 || !Number.isFinite(e)) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return [u + s, e, kb / 1024];
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const res = { A: [], B: [], nfdump: [] };
for (let i = 0; i < runs; i++) {
  res.A.push(once(process.execPath, [join(a, "bin/tsdump.js"), ...args]));
  res.B.push(once(process.execPath, [join(b, "bin/tsdump.js"), ...args]));
  if (withNfdump)
    res.nfdump.push(
      once(
        "nfdump",
        args.filter((x, k) => x !== "-W" && args[k - 1] !== "-W"),
      ),
    );
}
console.log(`node ${process.version}, ${runs} runs alternating, tsdump ${args.join(" ")}`);
for (const [name, rows] of Object.entries(res)) {
  if (rows.length === 0) continue;
  const cpu = rows.map((r) => r[0]);
  const wall = rows.map((r) => r[1]);
  const rss = rows.map((r) => r[2]);
  console.log(
    `${name.padEnd(6)} CPU ${cpu.map((x) => x.toFixed(2)).join(" ")} (median ${median(cpu).toFixed(2)} s), ` +
      `wall median ${median(wall).toFixed(2)} s, peak RSS median ${median(rss).toFixed(0)} MB`,
  );
}
const ma = median(res.A.map((r) => r[0]));
const mb = median(res.B.map((r) => r[0]));
console.log(`B/A CPU median ${(mb / ma).toFixed(3)}`);
