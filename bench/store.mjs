#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Store benchmark: write and read rows/s, MB/s and bytes per flow on disk for N synthetic flows.
//
//   npm run build && node bench/store.mjs [--flows 2000000] [--codec lz4|none] [--dir /tmp] [--keep]
//   (TSFLOW_DIST=/other/dist to load a different build)
//
// Flows are shaped like the synthetic generator's (src/replay/synthetic.ts): 10 % IPv6, Zipf addresses in a few prefixes
// (10.0/16 inside, six outside /16s), weighted well-known ports, log-normal packets and bytes per packet,
// exponential durations, msecReceived increasing (30 flows per export packet), one exporter. Blocks of 16384 rows.
// Self-checking: the read pass sums rows, inBytes and ports and compares them with what was written.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.env.TSFLOW_DIST ?? path.join(root, "dist");
const { RecordBatch } = await import(path.join(dist, "record/batch.js"));
const { FlowFileWriter, FlowFileReader } = await import(path.join(dist, "store/index.js"));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt("--flows", "2000000"));
const codec = opt("--codec", "lz4");
const outDir = opt("--dir", os.tmpdir());
const ROWS = 16384;

// ── synthetic-like generator ────────────────────────────────────────────────────────────────────────────────
let seed = 42 >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const lognormal = (mu, sigma) => Math.exp(mu + sigma * normal());
function zipf(a) {
  // Devroye's rejection sampler for the Zipf distribution (numpy.random.zipf), k ≥ 1
  const b = 2 ** (a - 1);
  for (;;) {
    const x = Math.floor((1 - rand()) ** (-1 / (a - 1)));
    if (!Number.isFinite(x) || x < 1) continue;
    const t = (1 + 1 / x) ** (a - 1);
    if ((rand() * x * (t - 1)) / (b - 1) <= t / b) return x;
  }
}
const zipfPick = (n, a) => (zipf(a) - 1) % n;
const choice = (values, p) => {
  let u = rand();
  for (let i = 0; i < values.length; i++) {
    u -= p[i];
    if (u < 0) return values[i];
  }
  return values[values.length - 1];
};
const WK = [443, 80, 53, 22, 25, 123, 993, 3389, 8080, 1194];
const WKP = [0.45, 0.2, 0.15, 0.04, 0.03, 0.04, 0.03, 0.02, 0.03, 0.01];
const FLAGS = [0x1b, 0x1f, 0x02, 0x12, 0x14, 0x18, 0x11, 0x04];
const FLAGP = [0.5, 0.15, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05];
const TOS = [0, 0, 0, 0, 0x20, 0xb8, 0x48];
const IFS = [1, 2, 3, 4, 10, 11];
const ASNS = [0, 15169, 13335, 16509, 8075, 32934, 2906, 20940, 3356, 174, 6939, 1299, 64512, 64513, 65001];
const PREF = [0x08080000, 0x8efa0000, 0x68100000, 0x17000000, 0xc6336400, 0x2d4c0000];
const T0 = Date.UTC(2026, 10, 23, 12, 0);
const v6in = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const v6out = new Uint8Array([0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
let made = 0;
const sums = { rows: 0, bytes: 0, ports: 0 };

function fill(batch, n) {
  batch.reset();
  const c = batch.cols;
  for (let k = 0; k < n; k++) {
    const i = batch.addRow();
    const received = T0 + Math.floor(made / 30) * 2; // 30 flows per export packet, ~15 k flows/s
    made++;
    const proto = choice([6, 17, 1, 47, 50], [0.78, 0.18, 0.02, 0.01, 0.01]);
    const server = choice(WK, WKP);
    const client = 1024 + Math.floor(rand() * 64512);
    const outbound = rand() < 0.5;
    let sp = outbound ? client : server;
    let dp = outbound ? server : client;
    if (proto === 1) {
      sp = 0;
      dp = [0x0800, 0, 0x0303, 0x0b00][Math.floor(rand() * 4)];
    } else if (proto === 47 || proto === 50) {
      sp = 0;
      dp = 0;
    }
    const pkts = Math.min(5_000_000, Math.max(1, Math.floor(lognormal(1.5, 1.6))));
    const bpp = Math.floor(Math.min(1500, Math.max(40, lognormal(6.0, 0.9))));
    const dur = Math.floor(Math.min(-Math.log(1 - rand()) * 8000, 300000));
    const last = received - Math.floor(rand() * 60000);
    c.msecReceived[i] = received;
    c.msecLast[i] = last;
    c.msecFirst[i] = last - dur;
    c.proto[i] = proto;
    c.srcPort[i] = sp;
    c.dstPort[i] = dp;
    c.tcpFlags[i] = proto === 6 ? choice(FLAGS, FLAGP) : 0;
    c.srcTos[i] = TOS[Math.floor(rand() * TOS.length)];
    c.inPackets[i] = pkts;
    c.inBytes[i] = pkts * bpp;
    c.input[i] = IFS[Math.floor(rand() * IFS.length)];
    c.output[i] = IFS[Math.floor(rand() * IFS.length)];
    c.srcAs[i] = ASNS[zipfPick(ASNS.length, 1.5)];
    c.dstAs[i] = ASNS[zipfPick(ASNS.length, 1.5)];
    c.exporterId[i] = 1;
    c.nfVersion[i] = 9;
    c.samplingInterval[i] = 1;
    batch.setV4("exporterAddr", i, 0x7f000001);
    if (rand() < 0.1) {
      const hin = zipfPick(4096, 1.1);
      const hout = zipfPick(65536, 1.05);
      v6in[14] = hin >>> 8;
      v6in[15] = hin & 0xff;
      v6out[2] = hout >>> 8;
      v6out[15] = hout & 0xff;
      batch.setV6(outbound ? "srcAddr" : "dstAddr", i, v6in, 0);
      batch.setV6(outbound ? "dstAddr" : "srcAddr", i, v6out, 0);
    } else {
      const inside = (0x0a000000 + zipfPick(65536, 1.1)) >>> 0;
      const outside = (PREF[zipfPick(PREF.length, 1.3)] + zipfPick(65536, 1.05)) >>> 0;
      batch.setV4("srcAddr", i, outbound ? inside : outside);
      batch.setV4("dstAddr", i, outbound ? outside : inside);
      c.srcMask[i] = outbound ? 16 : 24;
      c.dstMask[i] = outbound ? 24 : 16;
      batch.setV4("nextHop", i, 0xc0000201);
    }
    sums.rows++;
    sums.bytes += pkts * bpp;
    sums.ports += sp + dp;
  }
}

// ── write ─────────────────────────────────────────────────────────────────────────────────────────────────
const file = path.join(outDir, `tsflow-bench-${process.pid}.tsf`);
const batch = new RecordBatch(ROWS);
const w = FlowFileWriter.open(file, { codec, creator: "bench/store.mjs", fsync: false });
let writeNs = 0n;
let writeCpu = 0;
const cpu = (c) => (c.user + c.system) / 1e6;
for (let done = 0; done < N; done += ROWS) {
  fill(batch, Math.min(ROWS, N - done));
  const t = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  w.appendBatchSync(batch);
  writeCpu += cpu(process.cpuUsage(c0));
  writeNs += process.hrtime.bigint() - t;
}
const tc = process.hrtime.bigint();
const cc = process.cpuUsage();
w.closeSync();
writeCpu += cpu(process.cpuUsage(cc));
writeNs += process.hrtime.bigint() - tc;
const size = fs.statSync(file).size;

// ── read (page cache warm: the file was just written) ─────────────────────────────────────────────────────
const readOnce = () => {
  const t = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = FlowFileReader.open(file);
  let rows = 0;
  let bytes = 0;
  let ports = 0;
  for (const b of r.batches()) {
    rows += b.length;
    const by = b.cols.inBytes;
    const sp = b.cols.srcPort;
    const dp = b.cols.dstPort;
    for (let i = 0; i < b.length; i++) {
      bytes += by[i];
      ports += sp[i] + dp[i];
    }
  }
  const ns = process.hrtime.bigint() - t;
  const cpuS = cpu(process.cpuUsage(c0));
  if (r.errors.length > 0) throw new Error(`read errors: ${r.errors[0].message}`);
  r.close();
  if (rows !== sums.rows || bytes !== sums.bytes || ports !== sums.ports) {
    throw new Error(
      `wrong result! rows ${rows}/${sums.rows} bytes ${bytes}/${sums.bytes} ports ${ports}/${sums.ports}`,
    );
  }
  return [Number(ns) / 1e9, cpuS];
};
const reads = [readOnce(), readOnce(), readOnce(), readOnce(), readOnce()];
const readS = reads.map((x) => x[0]).sort((a, b) => a - b)[2];
const readCpu = reads.map((x) => x[1]).sort((a, b) => a - b)[2];

// decode only (no summing loop), to separate decompression + views from the consumer
const decodes = [];
for (let k = 0; k < 5; k++) {
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage();
  const r2 = FlowFileReader.open(file);
  let rows2 = 0;
  for (const b of r2.batches()) rows2 += b.length;
  r2.close();
  if (rows2 !== N) throw new Error("wrong result! rows");
  decodes.push([Number(process.hrtime.bigint() - t1) / 1e9, cpu(process.cpuUsage(c1))]);
}
// a query that touches three columns (e.g. `-s dstport/bytes` with a proto filter): readBlock(i, columns)
const sel = new Set(["proto", "dstPort", "inBytes"]);
const selected = [];
for (let k = 0; k < 5; k++) {
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage();
  const r3 = FlowFileReader.open(file);
  let bytes3 = 0;
  for (const b of r3.batches(undefined, sel)) {
    const by = b.cols.inBytes;
    for (let i = 0; i < b.length; i++) bytes3 += by[i];
  }
  r3.close();
  if (bytes3 !== sums.bytes) throw new Error("wrong result! selected bytes");
  selected.push([Number(process.hrtime.bigint() - t1) / 1e9, cpu(process.cpuUsage(c1))]);
}
const selS = selected.map((x) => x[0]).sort((a, b) => a - b)[2];
const selCpu = selected.map((x) => x[1]).sort((a, b) => a - b)[2];
const decodeS = decodes.map((x) => x[0]).sort((a, b) => a - b)[2];
const decodeCpu = decodes.map((x) => x[1]).sort((a, b) => a - b)[2];

const ws = Number(writeNs) / 1e9;
const mb = size / 1e6;
console.log(`node ${process.version} ${os.cpus()[0]?.model ?? ""}`);
console.log(`flows ${N}  codec ${codec}  sync writer  blocks of ${ROWS}`);
console.log(`file  ${size} bytes  ${(size / N).toFixed(2)} B/flow`);
const rate = (s) => `${(N / s / 1e6).toFixed(2)} M rows/s  ${(mb / s).toFixed(1)} MB/s`;
console.log(
  `load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores (wall figures suffer when the machine is shared)`,
);
console.log(`write  wall ${rate(ws)}  | per CPU second ${rate(writeCpu)}`);
console.log(
  `read   wall ${rate(readS)}  | per CPU second ${rate(readCpu)}  (median of 5, incl. a sum over inBytes/ports)`,
);
console.log(`decode wall ${rate(decodeS)}  | per CPU second ${rate(decodeCpu)}  (decompress + column views only)`);
console.log(
  `3 cols wall ${rate(selS)}  | per CPU second ${rate(selCpu)}  (readBlock(i, {proto, dstPort, inBytes}) + sum)`,
);
if (!args.includes("--keep")) fs.rmSync(file);
else console.log(`kept ${file}`);
