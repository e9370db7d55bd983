#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Decoder A/B: two builds' decoders in one process, passes interleaved (A B A B …) over the same stream, so a
// shared machine's load falls on both alike. Reports each build's median CPU time per pass and the ratio.
//
//   node bench/decode-ab.mjs STREAM.bin --a OLD/dist --b dist [--passes 15]
//
// STREAM.bin: 4-byte big-endian length-prefixed datagrams (bench/stream.mjs). Every pass checks its record count
// against the first one ("wrong result!" otherwise).

import { readFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
let a = "";
let b = "";
let passes = 15;
let file = "";
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--a") a = resolve(args[++i]);
  else if (args[i] === "--b") b = resolve(args[++i]);
  else if (args[i] === "--passes") passes = Number(args[++i]);
  else file = args[i];
}
if (!file || !a || !b) {
  console.error("usage: node bench/decode-ab.mjs STREAM.bin --a DIST --b DIST [--passes N]");
  process.exit(1);
}

async function load(dist) {
  const d = await import(pathToFileURL(join(dist, "decode/index.js")).href);
  const r = await import(pathToFileURL(join(dist, "record/batch.js")).href);
  return { decodeDatagram: d.decodeDatagram, DecoderState: d.DecoderState, RecordBatch: r.RecordBatch };
}

const buf = readFileSync(file);
const datagrams = [];
for (let o = 0; o + 4 <= buf.length;) {
  const len = buf.readUInt32BE(o);
  datagrams.push({ payload: new Uint8Array(buf.buffer, buf.byteOffset + o + 4, len), address: "10.0.0.1", port: 2055 });
  o += 4 + len;
}

function pass(m, batch) {
  let rows = 0;
  const sink = {
    batch,
    flush() {
      rows += batch.length;
      batch.reset();
    },
  };
  batch.reset();
  const state = new m.DecoderState();
  const now = Date.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < datagrams.length; i++) m.decodeDatagram(datagrams[i].payload, datagrams[i], now, state, sink);
  const cu = process.cpuUsage(c0);
  return { cpu: (cu.user + cu.system) / 1000, rows: rows + batch.length };
}

const builds = [
  { name: "A", dist: a, m: await load(a), times: [], rows: -1 },
  { name: "B", dist: b, m: await load(b), times: [], rows: -1 },
];
for (const x of builds) x.batch = new x.m.RecordBatch(16384);
for (let p = 0; p < passes + 1; p++) {
  for (const x of p % 2 === 0 ? builds : [...builds].reverse()) {
    const r = pass(x.m, x.batch);
    if (x.rows < 0) x.rows = r.rows;
    else if (r.rows !== x.rows) throw new Error(`${x.name}: wrong result! ${r.rows} records, expected ${x.rows}`);
    if (p > 0) x.times.push(r.cpu); // pass 0 warms up
  }
}
const median = (t) => [...t].sort((u, v) => u - v)[Math.floor(t.length / 2)];
console.log(`node ${process.version}, ${passes} interleaved passes, ${datagrams.length} datagrams`);
for (const x of builds) {
  const m = median(x.times);
  console.log(
    `${x.name} ${x.dist}: ${x.rows} rec, median cpu ${m.toFixed(1)} ms, ${(x.rows / m / 1000).toFixed(2)} M rec/s/core`,
  );
}
console.log(`B/A cpu time: ${(median(builds[1].times) / median(builds[0].times)).toFixed(3)}`);
