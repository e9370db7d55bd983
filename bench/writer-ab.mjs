#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// The flow-file writer of two builds, A/B in one process: the same decoded blocks of a synthetic stream go through
// A's and B's FlowFileWriter.appendBatchSync in alternating rounds (A,B then B,A …), CPU time per flow of each.
// Alternating inside one process lets both builds see the same machine noise — the way to compare them on a
// shared machine. Then both write the whole stream with a fixed creation time and the files are compared byte
// for byte (the writer must store the same bytes unless a change means to); when they differ, the rows B's reader
// decodes from both files are compared (liblz4 and lz4-napi write different LZ4 bytes for the same columns).
//
//   npm run build
//   node bench/writer-ab.mjs BASE_DIST [DIST] [--stream FILE] [--blocks 40] [--rounds 12] [--lean]
//
// --lean writes the blocks as tscapd's writer does while it is behind (no LZ4, no address sets or Bloom filters;
// a build without that option ignores `sets: false`). Stream: a 4-byte big-endian length + datagram
// (default /tmp/tsflow-ingest-3m-v9.bin, as bench/ingest.mjs builds it).

import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (["--stream", "--blocks", "--rounds"].includes(args[i])) i++;
  else if (!args[i].startsWith("--")) positional.push(args[i]);
}
if (positional.length < 1) {
  console.error("usage: node bench/writer-ab.mjs BASE_DIST [DIST] [--stream FILE] [--blocks N] [--rounds N] [--lean]");
  process.exit(1);
}
const A = resolve(positional[0]);
const B = resolve(positional[1] ?? join(here, "../dist"));
const streamFile = opt("--stream", join(tmpdir(), "tsflow-ingest-3m-v9.bin"));
const maxBlocks = Number(opt("--blocks", "40"));
const rounds = Number(opt("--rounds", "12"));
const lean = args.includes("--lean");
const write = { compress: !lean, sets: !lean };

const load = (d, p) => import(pathToFileURL(join(d, p)).href);
const data = readFileSync(streamFile);
const T0 = 1764000000000;

/** Decodes the stream with build `dist`; hands each full batch to `onBatch` (null: keep them, up to maxBlocks). */
async function decodeAll(dist, onBatch, limit) {
  const { decodeDatagram, DecoderState } = await load(dist, "decode/index.js");
  const { RecordBatch } = await load(dist, "record/batch.js");
  const state = new DecoderState();
  const kept = [];
  const sink = {
    batch: new RecordBatch(16384),
    flush() {
      if (onBatch) {
        onBatch(this.batch);
        this.batch.reset();
      } else {
        kept.push(this.batch);
        this.batch = new RecordBatch(16384);
      }
    },
  };
  let i = 0;
  for (let o = 0; o + 4 <= data.length && kept.length < limit; i++) {
    const len = data.readUInt32BE(o);
    const d = new Uint8Array(data.buffer, data.byteOffset + o + 4, len);
    decodeDatagram(d, { address: "127.0.0.1", port: 2055 }, T0 + Math.floor(i / 60), state, sink);
    o += 4 + len;
  }
  if (onBatch && sink.batch.length > 0) onBatch(sink.batch);
  return kept;
}

const WA = (await load(A, "store/index.js")).FlowFileWriter;
const WB = (await load(B, "store/index.js")).FlowFileWriter;
const batches = await decodeAll(A, null, maxBlocks);
const rows = batches.reduce((a, b) => a + b.length, 0);
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
};
const scratch = join(tmpdir(), `writer-ab-${process.pid}.tsf`);
function pass(W) {
  const w = W.open(scratch, { fsync: false });
  const c0 = cpu();
  for (const b of batches) w.appendBatchSync(b, write);
  const ns = cpu() - c0;
  w.closeSync();
  rmSync(scratch);
  return ns / rows;
}
const ra = [];
const rb = [];
const ratio = [];
for (let r = 0; r < rounds; r++) {
  const [a, b] = r % 2 === 0 ? [pass(WA), pass(WB)] : [pass(WB), pass(WA)].reverse();
  if (r < 2) continue; // warm-up
  ra.push(a);
  rb.push(b);
  ratio.push(b / a);
}
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const f = (x) => x.toFixed(0).padStart(4);
console.log(`${batches.length} blocks, ${rows} flows, ${rounds - 2} rounds${lean ? ", lean blocks" : ""}`);
console.log(`A ${A}: median ${f(med(ra))} min ${f(Math.min(...ra))} ns/flow`);
console.log(`B ${B}: median ${f(med(rb))} min ${f(Math.min(...rb))} ns/flow   B/A median ${med(ratio).toFixed(3)}`);

// the same bytes? (each build decodes and writes the whole stream; fixed creation time)
async function fileOf(dist, W) {
  const file = join(tmpdir(), `writer-ab-${process.pid}-full.tsf`);
  const w = W.open(file, { fsync: false, created: T0, creator: "bench/writer-ab.mjs" });
  await decodeAll(dist, (b) => w.appendBatchSync(b, write), Infinity);
  w.closeSync();
  const bytes = readFileSync(file);
  rmSync(file);
  return bytes;
}
const fa = await fileOf(A, WA);
const fb = await fileOf(B, WB);
const sha = (b) => createHash("sha256").update(b).digest("hex").slice(0, 16);
console.log(
  `whole stream: A ${fa.length} bytes ${sha(fa)}, B ${fb.length} bytes ${sha(fb)}: ${fa.equals(fb) ? "identical" : "DIFFERENT"}`,
);

/** SHA-256 of every physical column of every block as B's reader decodes the file (its rows, not its bytes). */
async function rowsOf(bytes) {
  const { FlowFileReader } = await load(B, "store/index.js");
  const { PHYSICAL_COLUMNS } = await load(B, "record/schema.js");
  const file = join(tmpdir(), `writer-ab-${process.pid}-rows.tsf`);
  writeFileSync(file, bytes);
  const r = FlowFileReader.open(file);
  const h = createHash("sha256");
  let rows = 0;
  for (const b of r.batches()) {
    rows += b.length;
    for (const pc of PHYSICAL_COLUMNS) {
      const a = b.cols[pc.name];
      const v = a.subarray(0, b.length * pc.width);
      h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
  }
  const errors = r.errors.length;
  r.close();
  rmSync(file);
  return `${rows} rows, ${errors} errors, ${h.digest("hex").slice(0, 16)}`;
}
// a different LZ4 (liblz4 against lz4-napi) changes the bytes, never the rows
if (!fa.equals(fb)) {
  const [ra2, rb2] = [await rowsOf(fa), await rowsOf(fb)];
  console.log(`decoded rows: A ${ra2}, B ${rb2}: ${ra2 === rb2 ? "identical" : "DIFFERENT"}`);
}
