#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tscapd's CPU per flow without UDP: a synthetic stream fed straight into the Collector (decode thread's work,
// here on the main thread) and through its writer thread (encode, zone maps, LZ4, write), each thread's CPU
// time read from /proc/self/task/<tid>/schedstat (ns). No sockets, no receive ring: what is left is exactly
// the decode thread's and the writer thread's work per flow.
//
//   npm run build
//   node bench/stream.mjs --flows 3000000 --seed 7 --step 17 --exporters 3 --out /tmp/tsflow-ingest-3m-v9.bin
//   node bench/collector.mjs [--stream FILE] [--passes 3] [--inflight 2] [--dist DIR] [--keep DIR] [--check]
//
// Each pass runs a fresh Collector (its own temp directory, -t 3600) over the whole stream, waiting for the
// writer when it has --inflight blocks queued (default 2: every block gets LZ4, as when tscapd keeps up; 9 or
// more: the decode thread's own back-pressure, and blocks beyond 4 queued are stored without LZ4), then stops it (last block, footer, rename). The
// receive times are synthetic (60 k datagrams/s from a fixed start), so two builds store the same rows.
// Reported per pass and as the median of the passes: decode thread CPU, writer thread CPU, other threads (GC
// helpers, libuv) — ns per flow stored — and the flows stored. --check prints a SHA-256 of the stored rows
// as `tsdump -o csv` of that build prints them (compare it between builds: the stored data must not change).
// A/B on a shared machine: run two builds alternately (`--dist ../other/dist`) and compare the medians.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
const passes = Number(opt("--passes", "3"));
const keep = opt("--keep", undefined);
const check = args.includes("--check");
/** blocks queued at the writer from which the feed waits (tscapd stores blocks without LZ4 above 4) */
const inflight = Number(opt("--inflight", "2"));
if (!existsSync(streamFile)) {
  console.error(`bench/collector: no stream ${streamFile} (see the header comment for the bench/stream.mjs command)`);
  process.exit(1);
}

const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { Collector } = await load("capd/collector.js");
const { buildProgram, parseCollectorOptions } = await load("capd/options.js");
const { Logger } = await load("util/log.js");

const data = readFileSync(streamFile);
const dgrams = [];
for (let o = 0; o + 4 <= data.length;) {
  const len = data.readUInt32BE(o);
  dgrams.push(new Uint8Array(data.buffer, data.byteOffset + o + 4, len));
  o += 4 + len;
}
const T0 = Date.UTC(2026, 10, 23, 12, 0);

const tasks = () => new Set(readdirSync("/proc/self/task"));
/** on-CPU time of a thread of this process in ns (0 when it is gone) */
function threadNs(tid) {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}
const allNs = (tids) => {
  const m = new Map();
  for (const t of tids) m.set(t, threadNs(t));
  return m;
};

async function pass() {
  const dir = mkdtempSync(join(tmpdir(), "bench-collector-"));
  const options = parseCollectorOptions(buildProgram(), ["-l", dir, "-t", "3600", "-I", "bench"]);
  const log = new Logger({ level: "warn", sink: { write: (l) => process.stderr.write(`${l}\n`) } });
  const before = tasks();
  const collector = new Collector(options, log, "bench/collector.mjs", (m) => {
    throw new Error(`fatal: ${m}`);
  });
  await new Promise((r) => setTimeout(r, 200)); // the writer thread is up
  const writerTids = [...tasks()].filter((t) => !before.has(t));
  collector.start();
  let wake = null;
  collector.onWriterProgress = () => {
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const main = String(process.pid);
  const others0 = allNs(tasks());
  const m0 = threadNs(main);
  const w0 = writerTids.reduce((a, t) => a + threadNs(t), 0);
  const t0 = performance.now();
  let decodeNs = 0;
  let mark = threadNs(main);
  for (let i = 0; i < dgrams.length; i++) {
    while (collector.backlogged || collector.writer.queued >= inflight) {
      decodeNs += threadNs(main) - mark;
      await new Promise((r) => (wake = r));
      mark = threadNs(main);
    }
    collector.receive(dgrams[i], "127.0.0.1", 2055, T0 + Math.floor(i / 60));
  }
  decodeNs += threadNs(main) - mark;
  // the writer thread ends with stop(): read its CPU time just before
  let writerEnd = 0;
  const terminate = collector.writer.terminate.bind(collector.writer);
  collector.writer.terminate = () => {
    writerEnd = writerTids.reduce((a, t) => a + threadNs(t), 0);
    return terminate();
  };
  await collector.stop();
  const wall = performance.now() - t0;
  const mainNs = threadNs(main) - m0;
  const writerNs = writerEnd - w0;
  let otherNs = 0;
  for (const [t, v] of others0) if (t !== main && !writerTids.includes(t)) otherNs += Math.max(0, threadNs(t) - v);
  const stored = collector.counters.flowsStored;
  let digest = "";
  if (check) {
    const csv = execFileSync(process.execPath, [join(dist, "bin/tsdump.js"), "-R", dir, "-o", "csv", "-q"], {
      maxBuffer: 4 << 30,
    });
    digest = createHash("sha256").update(csv).digest("hex").slice(0, 16);
  }
  if (keep) execFileSync("cp", ["-r", "--", dir, keep]);
  rmSync(dir, { recursive: true, force: true });
  return { decodeNs, mainNs, writerNs, otherNs, wall, stored, digest, fast: collector.writer.fastBlocks };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const per = (ns, n) => (ns / n).toFixed(0).padStart(4);
console.log(`node ${process.version}; ${dist}; ${dgrams.length} datagrams; ${passes} passes`);
const results = [];
for (let p = 0; p < passes; p++) {
  const r = await pass();
  results.push(r);
  console.log(
    `pass ${p + 1}: stored ${r.stored}  decode ${per(r.decodeNs, r.stored)} ns/flow  (main thread ${per(r.mainNs, r.stored)})  ` +
      `writer ${per(r.writerNs, r.stored)} ns/flow  other threads ${per(r.otherNs, r.stored)} ns/flow  wall ${(r.wall / 1000).toFixed(2)} s  blocks without LZ4 ${r.fast}` +
      (r.digest ? `  csv sha256 ${r.digest}` : ""),
  );
  if (r.stored !== results[0].stored) throw new Error("wrong result! stored flows differ between passes");
}
const n = results[0].stored;
console.log(
  `median: decode ${per(median(results.map((r) => r.decodeNs)), n)} ns/flow (main thread ${per(median(results.map((r) => r.mainNs)), n)})  writer ${per(median(results.map((r) => r.writerNs)), n)} ns/flow  ` +
    `other ${per(median(results.map((r) => r.otherNs)), n)} ns/flow  (${n} flows)`,
);
