#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Decoder throughput: records per second on one core, over the built dist/ (run `npm run build` first).
//
//   node bench/stream.mjs --flows 1000000 --proto v9    --out /tmp/v9.bin
//   node bench/stream.mjs --flows 1000000 --proto ipfix --out /tmp/ipfix.bin
//   node bench/stream.mjs --flows 1000000 --proto v5    --out /tmp/v5.bin
//   node bench/decode.mjs /tmp/v9.bin /tmp/ipfix.bin /tmp/v5.bin [--sflow DIR] [--passes N] [--dist DIR]
//
// Stream files are 4-byte big-endian length-prefixed datagrams. --sflow DIR loops over the sFlow captures
// (*.pcap whose name starts with "sflow" or contains "--sflow") in DIR and its subdirectories (default
// test/fixtures/packets). Each pass decodes
// the whole stream with a fresh DecoderState into a 16384-row RecordBatch that is reset when full (as the
// collector hands full batches to the writer). The pass with the median CPU time is reported (CPU time of
// this process, so a shared machine does not distort records/s per core); every pass checks its record
// count against the first one ("wrong result!" otherwise).

import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { resolve, dirname, basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let dist = resolve(here, "../dist");
let passes = 7;
let sflowDir = resolve(here, "../test/fixtures/packets");
let wantSflow = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--dist") dist = resolve(args[++i]);
  else if (a === "--passes") passes = Number(args[++i]);
  else if (a === "--sflow") {
    wantSflow = true;
    if (args[i + 1] && !args[i + 1].startsWith("--") && existsSync(args[i + 1]) && statSync(args[i + 1]).isDirectory())
      sflowDir = resolve(args[++i]);
  } else files.push(a);
}
if (files.length === 0 && !wantSflow) {
  console.error("usage: node bench/decode.mjs STREAM.bin… [--sflow [DIR]] [--passes N] [--dist DIR]");
  process.exit(1);
}

const { decodeDatagram, DecoderState } = await import(pathToFileURL(join(dist, "decode/index.js")).href);
const { RecordBatch } = await import(pathToFileURL(join(dist, "record/batch.js")).href);

function readStream(path) {
  const buf = readFileSync(path);
  const out = [];
  let o = 0;
  while (o + 4 <= buf.length) {
    const len = buf.readUInt32BE(o);
    o += 4;
    out.push(new Uint8Array(buf.buffer, buf.byteOffset + o, len));
    o += len;
  }
  return out.map((d, i) => ({ payload: d, address: `10.0.0.${1 + (i % 1)}`, port: 2055 }));
}

function readPcapUdp(path) {
  const b = readFileSync(path);
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  const out = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const incl = le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
    const f = b.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    let p = 14;
    let type = f.readUInt16BE(12);
    while (type === 0x8100) {
      type = f.readUInt16BE(p + 2);
      p += 4;
    }
    let src;
    if (type === 0x0800) {
      src = `${f[p + 12]}.${f[p + 13]}.${f[p + 14]}.${f[p + 15]}`;
      p += (f[p] & 15) * 4;
    } else if (type === 0x86dd) {
      src = "::1";
      p += 40;
    } else continue;
    out.push({
      payload: new Uint8Array(f.buffer, f.byteOffset + p + 8, f.readUInt16BE(p + 4) - 8),
      address: src,
      port: f.readUInt16BE(p),
    });
  }
  return out;
}

function run(name, datagrams, repeat = 1) {
  const batch = new RecordBatch(16384);
  let rows = 0;
  const sink = {
    batch,
    flush() {
      rows += batch.length;
      batch.reset();
    },
  };
  const times = [];
  let expected = -1;
  for (let p = 0; p < passes + 1; p++) {
    const state = new DecoderState();
    rows = 0;
    batch.reset();
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const now = Date.now();
    for (let r = 0; r < repeat; r++) {
      for (let i = 0; i < datagrams.length; i++) {
        const d = datagrams[i];
        decodeDatagram(d.payload, d, now, state, sink);
      }
    }
    rows += batch.length;
    const wall = Number(process.hrtime.bigint() - t0);
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) * 1000; // ns of CPU time of this process
    if (expected < 0) expected = rows;
    else if (rows !== expected) throw new Error(`${name}: wrong result! ${rows} records, expected ${expected}`);
    if (p > 0) times.push([cpu, wall]); // pass 0 warms up
  }
  // CPU time, not wall time: the records/s of one busy core even when the machine is shared. The median pass
  // is the figure; the best pass shows what an unloaded core does.
  times.sort((a, b) => a[0] - b[0]);
  const [median, wall] = times[Math.floor(times.length / 2)];
  const best = times[0][0];
  const perSec = expected / (median / 1e9);
  const bytes = datagrams.reduce((a, d) => a + d.payload.length, 0) * repeat;
  console.log(
    `${name.padEnd(30)} ${String(expected).padStart(8)} rec  cpu ${(median / 1e6).toFixed(0).padStart(5)} ms (wall ${(wall / 1e6).toFixed(0)})  ` +
      `${(perSec / 1e6).toFixed(2).padStart(5)} M rec/s/core (best ${(expected / (best / 1e9) / 1e6).toFixed(2)})  ` +
      `${(median / expected).toFixed(0).padStart(4)} ns/rec  ${(bytes / (median / 1e9) / 1e6).toFixed(0)} MB/s`,
  );
  return perSec;
}

console.log(`node ${process.version}, v8 ${process.versions.v8}, ${passes} passes (median)`);
for (const f of files) run(basename(f), readStream(f));
if (wantSflow) {
  const dgrams = [];
  const isSflow = (f) => /(^|--)sflow/.test(f) && f.endsWith(".pcap");
  for (const entry of existsSync(sflowDir) ? readdirSync(sflowDir) : []) {
    const p = join(sflowDir, entry);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p)) if (isSflow(f)) dgrams.push(...readPcapUdp(join(p, f)));
    } else if (isSflow(entry)) dgrams.push(...readPcapUdp(p));
  }
  if (dgrams.length === 0) console.log(`sflow: no captures under ${sflowDir}`);
  else run(`sflow captures (${dgrams.length} dgrams x2000)`, dgrams, 2000);
}
