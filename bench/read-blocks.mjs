#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// The reader's per-block work alone, in one process: every block of one tsflow file read (pread, both CRCs,
// LZ4, column decoding) PASSES times with a column selection; prints the CPU and wall milliseconds of the first
// pass (code not yet optimised by V8, as in a one-shot tsdump run) and the medians of the others.
//
//   node bench/read-blocks.mjs FILE [--columns all|srcAS,inBytes,...] [--passes 5] [--ahead]
//
// --ahead: each read gives the reader the order of the blocks, as a scan does: the next few are posted to its
// read-ahead (store/read-ahead.ts; TSFLOW_READAHEAD=n sets the queue's depth); on a machine with a free core the
// wall time falls below the CPU time (both threads count in the CPU time).
//
// A/B of the native paths in one build: TSFLOW_WRITER=js (codec.ts decoders, node:zlib's crc32) and
// TSFLOW_LZ4=wasm (the WebAssembly LZ4 decoder instead of liblz4). Needs `npm run build` (reads dist/).

import { readFileSync } from "node:fs";
import { FlowFileReader } from "../dist/store/reader.js";

/** The main thread's run-queue wait so far (ns; Linux), 0 elsewhere: wall minus it estimates a quiet machine's. */
function runq() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[1]);
  } catch {
    return 0;
  }
}

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const file = args[0];
if (file === undefined || file.startsWith("--"))
  throw new Error("usage: read-blocks.mjs FILE [--columns ...] [--passes N]");
const columns = opt("--columns", "srcAS,inBytes,inPackets,outBytes,outPackets,flows,msecFirst,msecLast");
const passes = Math.max(2, Number(opt("--passes", "5")));
const sel = columns === "all" ? undefined : new Set(columns.split(","));
const ahead = args.includes("--ahead");
const order = { next: (b) => (b + 1 < reader.blockCount ? b + 1 : undefined) };

const reader = FlowFileReader.open(file);
const ms = [];
const wall = [];
const quiet = [];
let rows = 0;
const n = reader.blockCount;
for (let p = 0; p < passes; p++) {
  const c0 = process.cpuUsage();
  const q0 = runq();
  const t0 = process.hrtime.bigint();
  rows = 0;
  for (let i = 0; i < n; i++) rows += reader.readBlock(i, sel, ahead ? order : undefined)?.length ?? 0;
  wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  quiet.push(wall[p] - (runq() - q0) / 1e6);
  const c = process.cpuUsage(c0);
  ms.push((c.user + c.system) / 1000);
}
const hits = reader.aheadHits ?? 0;
const byCaller = reader.aheadByCaller ?? 0;
const gaveUp = reader.aheadGaveUp ?? 0;
const st = reader.aheadStats;
reader.close();
const median = (a) => a.slice(1).sort((x, y) => x - y)[(a.length - 2) >> 1];
console.log(
  `${n} blocks, ${rows} rows, columns ${columns}${ahead ? `, read ahead (${hits} blocks, ${hits - byCaller} of them on the thread, ${gaveUp} given up)` : ""}: first pass ` +
    `${ms[0].toFixed(0)} ms CPU ${wall[0].toFixed(0)} ms wall (${quiet[0].toFixed(0)} without the run-queue wait), ` +
    `then median ${median(ms).toFixed(0)} ms CPU ${median(wall).toFixed(0)} ms wall (${median(quiet).toFixed(0)})`,
);
if (st !== undefined)
  console.log(
    `  per pass: the reader waited ${(st.waitMs / passes).toFixed(1)} ms for the thread, ran ` +
      `${(st.callerJobs / passes).toFixed(0)} jobs in ${(st.callerMs / passes).toFixed(1)} ms; the thread ran ` +
      `${(st.threadJobs / passes).toFixed(0)} in ${(st.threadMs / passes).toFixed(1)} ms`,
  );
