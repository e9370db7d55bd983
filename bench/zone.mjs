#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// The writer's zone maps alone: ZoneBuilder.encode through native/zone.c and through the JS code (the same build,
// alternating in one process) on the decoded blocks of a synthetic stream, CPU time per flow of each, and a check
// that both wrote the same bytes. The arguments of encode are captured from encodeColumns (block.ts), so the
// columns, ranges and zero sets are the writer's own.
//
//   npm run build
//   node bench/zone.mjs [--dist DIR] [--stream FILE] [--blocks 40] [--rounds 30]
//
// Stream: a 4-byte big-endian length + datagram (default /tmp/tsflow-ingest-3m-v9.bin, as
// bench/ingest.mjs builds it).

import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const dist = resolve(opt("--dist", join(here, "../dist")));
const streamFile = opt("--stream", join(tmpdir(), "tsflow-ingest-3m-v9.bin"));
const maxBlocks = Number(opt("--blocks", "40"));
const rounds = Number(opt("--rounds", "30"));
const load = (p) => import(pathToFileURL(join(dist, p)).href);

const { decodeDatagram, DecoderState } = await load("decode/index.js");
const { RecordBatch } = await load("record/batch.js");
const { ZoneBuilder } = await load("store/zone-map.js");
const { encodeColumns } = await load("store/block.js");
const { PlanScratch } = await load("store/codec.js");

const data = readFileSync(streamFile);
const state = new DecoderState();
const batches = [];
const sink = {
  batch: new RecordBatch(16384),
  flush() {
    batches.push(this.batch);
    this.batch = new RecordBatch(16384);
  },
};
for (let o = 0, i = 0; o + 4 <= data.length && batches.length < maxBlocks; i++) {
  const len = data.readUInt32BE(o);
  const d = new Uint8Array(data.buffer, data.byteOffset + o + 4, len);
  decodeDatagram(d, { address: "127.0.0.1", port: 2055 }, 1764000000000 + Math.floor(i / 60), state, sink);
  o += 4 + len;
}
const rows = batches.reduce((a, b) => a + b.length, 0);

// the writer's arguments of encode, block by block (range entries copied: encode fills some in)
const calls = [];
const capture = new ZoneBuilder(512, 256, true, false);
const encode = capture.encode.bind(capture);
capture.encode = (n, cols, v6Flags, ranges, ids, zero, sets) => {
  calls.push({ n, cols, v6Flags, ranges: ranges.map((r) => ({ ...r })), ids, zero, sets });
  return encode(n, cols, v6Flags, ranges, ids, zero, sets);
};
const scratch = new PlanScratch();
for (const b of batches) encodeColumns(b, capture, scratch);

const native = new ZoneBuilder();
const js = new ZoneBuilder(512, 256, true, false);
if (!native.native) console.log("(the addon is not built or TSFLOW_WRITER=js: both runs are the JS code)");
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
};
function pass(zb, out) {
  const c0 = cpu();
  for (const c of calls) {
    const z = zb.encode(
      c.n,
      c.cols,
      c.v6Flags,
      c.ranges.map((r) => ({ ...r })),
      c.ids,
      c.zero,
      c.sets,
    );
    if (out) out.push(z);
  }
  return (cpu() - c0) / rows;
}
const a = [];
const b = [];
pass(native, a);
pass(js, b);
const same = a.every((z, i) => Buffer.from(z).equals(Buffer.from(b[i])));
const rn = [];
const rj = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    rn.push(pass(native));
    rj.push(pass(js));
  } else {
    rj.push(pass(js));
    rn.push(pass(native));
  }
}
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const f = (x) => x.toFixed(1).padStart(6);
console.log(`${batches.length} blocks, ${rows} flows, ${rounds} rounds; ${dist}`);
console.log(`native: median ${f(med(rn))} min ${f(Math.min(...rn))} ns/flow`);
console.log(`JS:     median ${f(med(rj))} min ${f(Math.min(...rj))} ns/flow`);
console.log(`zone sections ${same ? "identical" : "DIFFER"}`);
if (!same) process.exitCode = 1;
