#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsdump of two builds on the same queries at millisecond resolution: each run a fresh process (start-up
// included), builds alternating A, B, B, A … so both see the same machine noise; wall time by hrtime around the
// child (spawn included, the same for both), CPU time (all threads, user + sys) by `perf stat -e task-clock` when
// perf is there, else by /usr/bin/time (10 ms steps). Prints medians and the 25th/75th percentiles, in ms.
//
//   npm run build
//   node bench/tsdump-ab.mjs --base BASE_ROOT (--ts DIR | --file FILE) [--samples 21] [--queries V,scan,needle,srcas]
//     --base      the root of the other build (A; a worktree or copy with dist/ built); this checkout is B
//     --ts        a directory of tscapd files (tsdump -R), or --file one file (-r)
//     --queries   names (V = `-V`, start-up alone; scan, needle, srcas, dstport) or the 1-based numbers of
//                 bench/queries.mjs (0 = `-V`)
//     --no-ca     run both without NODE_EXTRA_CA_CERTS (Node parses that whole root store before any JS runs)
//     --env-b K=V run B with this environment variable as well (A/B in one build with --base ., e.g.
//                 TSFLOW_READAHEAD=0)
//     --nfdump NF a third column: nfdump on NF (a directory with --ts, a file with --file; not for -V)
//     --runq      also the wall time less the main thread's run-queue wait (bench/runq.cjs, Linux): an estimate
//                 of the wall time on a quiet machine, taken on a busy one

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
const base = opt("--base", undefined);
const dir = opt("--ts", undefined);
const file = opt("--file", undefined);
if (base === undefined || (dir === undefined) === (file === undefined))
  throw new Error("usage: tsdump-ab.mjs --base ROOT (--ts DIR | --file FILE) [--samples N] [--queries ...]");
const source = dir !== undefined ? ["-R", dir] : ["-r", file];
const samples = Number(opt("--samples", "21"));
const envB = opt("--env-b", undefined);
const nf = opt("--nfdump", undefined);
const runq = args.includes("--runq");
const pre = runq ? ["-r", join(root, "bench/runq.cjs")] : [];
const NAMED = { V: 0, scan: 1, needle: 2, dstport: 5, srcas: 6 };
const picked = opt("--queries", "V,scan,needle,srcas")
  .split(",")
  .map((q) => {
    const n = NAMED[q] ?? Number(q);
    if (!Number.isInteger(n) || n < 0 || n > QUERIES.length) throw new Error(`bench: no query ${q}`);
    return n;
  });
const env = { ...process.env, TZ: "UTC" };
if (args.includes("--no-ca")) delete env.NODE_EXTRA_CA_CERTS;
const builds = [
  { name: "A", cmd: ["node", ...pre, join(resolve(base), "dist/bin/tsdump.js")], env, source },
  {
    name: "B",
    cmd: ["node", ...pre, join(root, "dist/bin/tsdump.js")],
    env: envB ? { ...env, ...Object.fromEntries([envB.split("=")]) } : env,
    source,
  },
];
if (nf !== undefined) builds.push({ name: "nfdump", cmd: ["nfdump"], env, source: [source[0], nf] });
for (const b of builds.slice(0, 2)) if (!existsSync(b.cmd.at(-1))) throw new Error(`bench: ${b.cmd.at(-1)} missing`);
const perf = spawnSync("perf", ["stat", "-x,", "-e", "task-clock", "true"], { encoding: "utf8" }).status === 0;

function run(build, argv) {
  const fd = openSync("/dev/null", "w");
  const wrap = perf ? ["perf", "stat", "-x,", "-e", "task-clock", "--"] : ["/usr/bin/time", "-f", "%U %S"];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(wrap[0], [...wrap.slice(1), ...build.cmd, ...argv], {
    env: build.env,
    stdio: ["ignore", fd, "pipe"],
    encoding: "utf8",
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  if (r.status !== 0)
    throw new Error(`bench: ${build.cmd.join(" ")} ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  const last = lines.pop();
  const cpu = perf
    ? Number(last.split(",")[0])
    : last
        .split(" ")
        .map(Number)
        .reduce((a, b) => a + b, 0) * 1000;
  const rq = lines.find((l) => l.startsWith("runq "));
  return { wall, cpu, quiet: rq === undefined ? wall : wall - Number(rq.slice(5)) / 1e6 };
}

const q = (a, p) => {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
};
const f = (a) => `${q(a, 0.5).toFixed(1)} (${q(a, 0.25).toFixed(1)}–${q(a, 0.75).toFixed(1)})`;
console.log(`A = ${builds[0].cmd.at(-1)}\nB = ${builds[1].cmd.at(-1)}${envB ? ` with ${envB}` : ""}`);
console.log(
  `NODE_EXTRA_CA_CERTS ${env.NODE_EXTRA_CA_CERTS === undefined ? "unset" : "set"}; ${samples} runs each; ms, median (quartiles)\n`,
);
const cols = builds.map((b) => b.name);
const quietCols = runq ? ` ${cols.map((c) => `${c} wall − runq`).join(" | ")} |` : "";
console.log(
  `| query | ${cols.map((c) => `${c} wall`).join(" | ")} |${quietCols} ${cols.map((c) => `${c} CPU`).join(" | ")} |`,
);
const dash = cols.map(() => "---:").join("|");
console.log(`|---|${dash}|${runq ? `${dash}|` : ""}${dash}|`);
for (const n of picked) {
  const [label, argv] = n === 0 ? ["`-V` (start-up)", ["-V"]] : QUERIES[n - 1];
  const use = builds.filter((b) => b.name !== "nfdump" || n !== 0);
  const argsOf = (b) => (n === 0 ? argv : [...b.source, ...argv]);
  for (const b of use) run(b, argsOf(b)); // warm: page cache, V8 code cache
  const res = use.map(() => ({ wall: [], cpu: [], quiet: [] }));
  for (let s = 0; s < samples; s++) {
    const order = use.map((_, i) => i);
    if (s % 2 === 1) order.reverse();
    for (const k of order) {
      const r = run(use[k], argsOf(use[k]));
      res[k].wall.push(r.wall);
      res[k].cpu.push(r.cpu);
      res[k].quiet.push(r.quiet);
    }
  }
  const pad = builds.length - use.length;
  console.log(
    `| ${label} | ${res.map((r) => f(r.wall)).join(" | ")}${" | –".repeat(pad)} |${
      runq ? ` ${res.map((r) => f(r.quiet)).join(" | ")}${" | –".repeat(pad)} |` : ""
    } ${res.map((r) => f(r.cpu)).join(" | ")}${" | –".repeat(pad)} |`,
  );
}
