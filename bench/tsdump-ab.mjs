#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsdump of two builds on the same queries, alternating A, B, A, B … (each run a fresh process, start-up
// included): the median wall and CPU seconds (user + sys, /usr/bin/time) of each build per query. Alternating
// lets both builds see the same machine noise; on a shared machine compare the CPU columns.
//
//   npm run build
//   node bench/tsdump-ab.mjs --ts DIR --base BASE_ROOT [--samples 9] [--queries 1,2,6]
//     --base  the root of the other build (a worktree with `npm run build` done); this checkout is B
//     --ts    a directory of tscapd files (a tsdump -R source)
//     --env-b K=V   run B with this environment variable as well (e.g. TSFLOW_READAHEAD=0: A/B in one build,
//                   with --base .)
//     --runq  also the wall time minus the main thread's run-queue wait (bench/runq.cjs, Linux): on a busy
//             machine, an estimate of the wall time on a quiet one
// Queries: those of bench/compare-nfdump.mjs (1-based), plus 0 = `-V` (start-up alone).

import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { QUERIES } from "./queries.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const ts = opt("--ts", undefined);
const base = opt("--base", undefined);
if (ts === undefined || base === undefined) throw new Error("usage: tsdump-ab.mjs --ts DIR --base ROOT [--samples N]");
const samples = Number(opt("--samples", "9"));
const envB = opt("--env-b", undefined);
const picked = (opt("--queries", "0,1,2,6") ?? "").split(",").map(Number);
const runq = args.includes("--runq");
const builds = [
  { name: "A", bin: join(resolve(base), "dist/bin/tsdump.js"), env: {} },
  { name: "B", bin: join(root, "dist/bin/tsdump.js"), env: envB ? Object.fromEntries([envB.split("=")]) : {} },
];
for (const b of builds) if (!existsSync(b.bin)) throw new Error(`bench: ${b.bin} missing (npm run build)`);

function run(build, argv) {
  const fd = openSync("/dev/null", "w");
  const pre = runq ? ["-r", join(root, "bench/runq.cjs")] : [];
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "node", ...pre, build.bin, ...argv], {
    env: { ...process.env, TZ: "UTC", ...build.env },
    stdio: ["ignore", fd, "pipe"],
    encoding: "utf8",
  });
  closeSync(fd);
  if (r.status !== 0) throw new Error(`bench: ${build.bin} ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  const [wall, user, sys] = lines.pop().split(" ").map(Number);
  const q = lines.find((l) => l.startsWith("runq "));
  return { wall, cpu: user + sys, quiet: q === undefined ? NaN : wall - Number(q.slice(5)) / 1e9 };
}

const median = (a) => a.slice().sort((x, y) => x - y)[(a.length - 1) >> 1];
console.log(`A = ${builds[0].bin}\nB = ${builds[1].bin}${envB ? ` with ${envB}` : ""}\n`);
console.log(
  runq
    ? "| query | A wall s | B wall s | A wall − runq s | B wall − runq s | A CPU s | B CPU s |\n|---|---:|---:|---:|---:|---:|---:|"
    : "| query | A wall s | B wall s | A CPU s | B CPU s |\n|---|---:|---:|---:|---:|",
);
for (const q of picked) {
  const [label, argv] = q === 0 ? ["`-V` (start-up)", ["-V"]] : [QUERIES[q - 1][0], ["-R", ts, ...QUERIES[q - 1][1]]];
  for (const b of builds) run(b, argv); // warm: page cache, V8 code cache
  const res = builds.map(() => ({ wall: [], cpu: [], quiet: [] }));
  for (let s = 0; s < samples; s++) {
    const order = s % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const r = run(builds[k], argv);
      res[k].wall.push(r.wall);
      res[k].cpu.push(r.cpu);
      res[k].quiet.push(r.quiet);
    }
  }
  const f = (x) => x.toFixed(runq ? 3 : 2);
  const rq = runq ? ` ${f(median(res[0].quiet))} | ${f(median(res[1].quiet))} |` : "";
  console.log(
    `| ${label} | ${f(median(res[0].wall))} | ${f(median(res[1].wall))} |${rq} ${f(median(res[0].cpu))} | ${f(median(res[1].cpu))} |`,
  );
}
