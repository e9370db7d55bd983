#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// The reader's per-block work alone, in one process: every block of one tsflow file read (pread, both CRCs,
// LZ4, column decoding) PASSES times with a column selection; prints the CPU milliseconds (user + sys) of the
// first pass (code not yet optimised by V8, as in a one-shot tsdump run) and the median of the others.
//
//   node bench/read-blocks.mjs FILE [--columns all|srcAS,inBytes,...] [--passes 5]
//
// A/B of the native paths in one build: TSFLOW_WRITER=js (codec.ts decoders, node:zlib's crc32) and
// TSFLOW_LZ4=wasm (the WebAssembly LZ4 decoder instead of liblz4). Needs `npm run build` (reads dist/).

import { FlowFileReader } from "../dist/store/reader.js";

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

const reader = FlowFileReader.open(file);
const ms = [];
let rows = 0;
for (let p = 0; p < passes; p++) {
  const c0 = process.cpuUsage();
  rows = 0;
  for (let i = 0; i < reader.blockCount; i++) rows += reader.readBlock(i, sel)?.length ?? 0;
  const c = process.cpuUsage(c0);
  ms.push((c.user + c.system) / 1000);
}
reader.close();
const rest = ms.slice(1).sort((a, b) => a - b);
console.log(
  `${reader.blockCount} blocks, ${rows} rows, columns ${columns}: first pass ${ms[0].toFixed(0)} ms CPU, ` +
    `then median ${rest[(rest.length - 1) >> 1].toFixed(0)} ms`,
);
