// SPDX-License-Identifier: BSD-3-Clause
// Output format throughput: records/s of `-o line`, `extended`, `csv` (direct writer and csv-stringify),
// `csv-legacy`, `json` and `ndjson` over synthetic rows (flowgen-like: ~10 % IPv6, weighted ports, log-normal
// packets/bytes), written through BufferedOutput to /dev/null, one core, main thread.
//
//   npm run build && node bench/format.mjs                # 1M rows, every case in its own process
//   ROWS=200000 node bench/format.mjs line                # one case
//   TSFLOW_DIST=/tmp/out node bench/format.mjs            # another build output
//
// Only the formatter calls are timed (rows are generated up front, batch by batch). Each case checks its own
// output on the first batch (one line per record, or a parseable document for json) and prints "wrong result!"
// otherwise. nfdump figures for comparison (same 2-vCPU machine, reference §6.3): master -o line ≈ 0.37 M rec/s,
// -o csv ≈ 0.65 M rec/s; 1.7.1 -o csv ≈ 65 k rec/s.
import { spawnSync } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = resolve(process.env.TSFLOW_DIST ?? fileURLToPath(new URL("../dist", import.meta.url)));
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const BATCH = 16384;
const CASES = {
  line: ["line", {}],
  extended: ["extended", {}],
  csv: ["csv", {}],
  "csv-stringify": ["csv", { csvEngine: "stringify" }],
  "csv-legacy": ["csv-legacy", {}],
  json: ["json", {}],
  ndjson: ["ndjson", {}],
};

const which = process.argv[2];
if (!which) {
  console.log(`node ${process.version}, ${ROWS} rows, batches of ${BATCH}, output /dev/null`);
  for (const name of Object.keys(CASES)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], {
      stdio: "inherit",
      env: process.env,
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

const { RecordBatch } = await import(pathToFileURL(`${dist}/record/batch.js`).href);
const fmt = await import(pathToFileURL(`${dist}/format/index.js`).href);

// ── deterministic generator ──────────────────────────────────────────────────────────────────────────────
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const PORTS = [443, 80, 53, 22, 25, 123, 8080, 993];
const v6 = new Uint8Array(16);
function fill(batch, n, base) {
  batch.reset();
  const c = batch.cols;
  for (let k = 0; k < n; k++) {
    const r = batch.addRow();
    const t = 1767225600000 + (base + k) * 3;
    c.msecFirst[r] = t;
    c.msecLast[r] = t + Math.floor(rnd() * 60000);
    c.msecReceived[r] = t + 61000;
    const proto = rnd() < 0.78 ? 6 : rnd() < 0.9 ? 17 : 1;
    c.proto[r] = proto;
    if (rnd() < 0.1) {
      v6.fill(0);
      v6[0] = 0x20;
      v6[1] = 0x01;
      v6[2] = 0x0d;
      v6[3] = 0xb8;
      v6[14] = (rnd() * 256) | 0;
      v6[15] = (rnd() * 256) | 0;
      batch.setV6("srcAddr", r, v6, 0);
      v6[13] = 7;
      batch.setV6("dstAddr", r, v6, 0);
    } else {
      batch.setV4("srcAddr", r, (0x0a000000 + Math.floor(rnd() * 65536)) >>> 0);
      batch.setV4("dstAddr", r, (0x08080000 + Math.floor(rnd() * 65536)) >>> 0);
    }
    c.srcPort[r] = 1024 + Math.floor(rnd() * 64000);
    c.dstPort[r] = proto === 1 ? 0x0800 : PORTS[Math.floor(rnd() * PORTS.length)];
    c.tcpFlags[r] = proto === 6 ? 0x1b : 0;
    const pkts = Math.max(1, Math.floor(Math.exp(rnd() * 8)));
    c.inPackets[r] = pkts;
    c.inBytes[r] = pkts * (40 + Math.floor(rnd() * 1400));
    c.flows[r] = 1;
    c.input[r] = 10;
    c.output[r] = 20;
    batch.setV4("exporterAddr", r, 0x7f000001);
    batch.setV4("nextHop", r, 0xc0000201);
  }
}

const [spec, opts] = CASES[which];
const batches = [];
for (let done = 0; done < ROWS; done += BATCH) {
  const b = new RecordBatch(BATCH);
  fill(b, Math.min(BATCH, ROWS - done), done);
  batches.push(b);
}

// self-check on the first batch
{
  const out = new fmt.StringOutput();
  const f = fmt.createFormatter(spec, opts);
  f.prolog(out);
  for (let i = 0; i < batches[0].length; i++) f.record(batches[0], i, out);
  f.epilog(out);
  const text = out.text();
  let ok;
  if (spec === "json") {
    try {
      ok = JSON.parse(text).length === batches[0].length;
    } catch {
      ok = false;
    }
  } else {
    const lines = text.split("\n").length - 1;
    ok = lines === batches[0].length + (spec === "ndjson" ? 0 : 1);
  }
  if (!ok) console.log(`${which}: wrong result!`);
}

const fd = openSync("/dev/null", "w");
const out = new fmt.BufferedOutput(fd);
const f = fmt.createFormatter(spec, opts);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
f.prolog(out);
// a block at a time where the formatter has records() (tsdump's listing path), else row by row (older builds)
if (f.records) for (const b of batches) f.records(b, null, b.length, out);
else for (const b of batches) for (let i = 0; i < b.length; i++) f.record(b, i, out);
f.epilog(out);
out.flush();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
closeSync(fd);
const rate = ROWS / (ms / 1000);
// CPU time is reported beside wall time: on a shared machine the wall figure mostly measures the neighbours
console.log(
  `${which.padEnd(14)} ${(rate / 1e6).toFixed(3)} M rec/s wall, ${(ROWS / (cpuMs / 1000) / 1e6).toFixed(3)} M rec/cpu-s  (${ms.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms, ${(out.written / ROWS).toFixed(0)} chars/rec, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`,
);
