#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Rate accuracy of tsreplay against nfreplay: one nfcapd file (a synthetic stream sent by tsreplay into nfcapd on
// loopback; built once under bench/data/replay-rate/) replayed as NetFlow v9 to a counting sink at each target
// rate, several runs per tool, the tools alternating. tsreplay paces with --pps N; nfreplay can only pace with a
// fixed gap, -d round(1e6 / N) µs.
//
// The sink is the native counter of native/send.c (recvmmsg in a worker thread of this process, receive buffer
// forced to 64 MB, only the first bytes of each datagram copied), so it costs the sender under test little CPU;
// it counts with the kernel's arrival time of each datagram (SO_TIMESTAMPNS), so its own scheduling does not move
// the figures. The achieved rate of a run is (received - 1) / (last arrival - first arrival). Without the native
// addon (not built) the sink is a node:dgram socket, which timestamps on its callback (said in the output).
//
//   npm run build && node bench/replay-rate.mjs [--rates 20000,60000,150000] [--runs 3] [--flows 1000000]
//     [--file NFCAPD_FILE] [--tools tsreplay,nfreplay] [--tsreplay DIST_BIN_TSREPLAY_JS]
//
// Reported per tool and rate: the median achieved datagrams/s of the runs, its deviation from the target, the
// datagrams received (median), the drops counted on the sink's socket (/proc/net/udp, all runs) and the sender's
// CPU time (user + sys, /usr/bin/time; median).

import { execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const rates = opt("--rates", "20000,60000,150000").split(",").map(Number);
const runs = Number(opt("--runs", "3"));
const flows = Number(opt("--flows", "1000000"));
const toolNames = opt("--tools", "tsreplay,nfreplay").split(",");
const tsreplay = opt("--tsreplay", join(root, "dist/bin/tsreplay.js"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const work = mkdtempSync(join(tmpdir(), "tsflow-replay-rate-"));

/** Runs a command; resolves to its user + sys CPU seconds (NaN without /usr/bin/time). */
function run(cmd, argv) {
  const cpuFile = join(work, "cpu");
  const [c, a] = TIME ? [TIME, ["-f", "%U %S", "-o", cpuFile, cmd, ...argv]] : [cmd, argv];
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${err.trim()}`));
      if (!TIME) return resolve(NaN);
      const [u, s] = readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
      resolve(u + s);
    });
  });
}

/** drops counted on a local IPv4 UDP socket (/proc/net/udp, last column) */
function socketDrops(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
  }
  return NaN;
}

/** A free loopback UDP port (bound and released). */
async function freePort() {
  const s = createSocket("udp4");
  await new Promise((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

let file = opt("--file", undefined);
if (file === undefined) {
  // nfcapd stores what tsreplay sends it (SIGTERM closes the file); kept for the next run
  const keep = join(root, "bench/data/replay-rate", `synthetic-${flows}`);
  const existing = existsSync(keep) ? readdirSync(keep).find((f) => /^nfcapd\.\d{12}$/.test(f)) : undefined;
  if (existing !== undefined) file = join(keep, existing);
  else {
    const dir = join(work, "nfcapd");
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const nfcapd = spawn("nfcapd", ["-b", "127.0.0.1", "-p", String(port), "-w", dir, "-B", "16000000"], {
      stdio: "ignore",
    });
    await sleep(1000);
    await run(process.execPath, [
      tsreplay,
      ...["--synthetic", String(flows), "--seed", "7", "--step", "17", "--exporters", "3"],
      ...["-p", String(port), "--pps", "20000"],
    ]);
    await sleep(1500);
    const exited = new Promise((r) => nfcapd.on("exit", r));
    nfcapd.kill("SIGTERM");
    await exited;
    const name = readdirSync(dir).find((f) => /^nfcapd\.\d{12}$/.test(f));
    if (name === undefined) throw new Error(`replay-rate: nfcapd wrote no file in ${dir}`);
    mkdirSync(keep, { recursive: true });
    renameSync(join(dir, name), join(keep, name));
    file = join(keep, name);
  }
}
const stored = /total flows: (\d+)/.exec(execFileSync("nfdump", ["-r", file, "-o", "null"], { encoding: "utf8" }));

/** The counting sink: { port, kind, reset(), result() → { n, first, last } (ms), close() }. */
async function nativeSink() {
  const path = join(root, "dist/native/tsflow_send.node");
  if (!existsSync(path)) return undefined;
  const addon = { exports: {} };
  process.dlopen(addon, path);
  if (typeof addon.exports.bindCounter !== "function") return undefined;
  const fd = addon.exports.bindCounter("127.0.0.1", 0, 64 << 20);
  const port = addon.exports.boundPort(fd);
  const stats = new Float64Array(new SharedArrayBuffer(24));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData: w } = require("node:worker_threads");
     const m = { exports: {} };
     process.dlopen(m, w.path);
     const stats = new Float64Array(w.stats), stop = new Int32Array(w.stop);
     while (Atomics.load(stop, 0) === 0) m.exports.count(w.fd, stats, 50);`,
    { eval: true, workerData: { path, fd, stats: stats.buffer, stop: stop.buffer } },
  );
  return {
    port,
    kind: "native recvmmsg counter, kernel arrival times",
    reset: () => stats.fill(0),
    result: () => ({ n: stats[0], first: stats[1] / 1e6, last: stats[2] / 1e6 }),
    async close() {
      Atomics.store(stop, 0, 1);
      await new Promise((r) => worker.on("exit", r));
      addon.exports.close(fd);
    },
  };
}

async function dgramSink() {
  const sink = createSocket({ type: "udp4", recvBufferSize: 16_000_000 });
  await new Promise((r) => sink.bind(0, "127.0.0.1", r));
  let n = 0;
  let first = 0;
  let last = 0;
  sink.on("message", () => {
    last = performance.now();
    if (n++ === 0) first = last;
  });
  return {
    port: sink.address().port,
    kind: `node:dgram in this process (rcvbuf ${sink.getRecvBufferSize()} B), callback times`,
    reset: () => (n = 0),
    result: () => ({ n, first, last }),
    close: () => new Promise((r) => sink.close(r)),
  };
}

const sink = (await nativeSink()) ?? (await dgramSink());
console.log(
  `file ${file}: ${stored ? stored[1] : "?"} flows; sink: ${sink.kind}; node ${process.version}; ` +
    `load ${loadavg()[0].toFixed(2)}`,
);
const tools = {
  tsreplay: (rate) => [
    process.execPath,
    [tsreplay, "-r", file, "-H", "127.0.0.1", "-p", String(sink.port), "-v", "9", "--pps", String(rate)],
  ],
  nfreplay: (rate) => [
    "nfreplay",
    ["-r", file, "-H", "127.0.0.1", "-p", String(sink.port), "-v", "9", "-d", String(Math.round(1e6 / rate))],
  ],
};
const rows = [];
for (const rate of rates) {
  const results = { tsreplay: [], nfreplay: [] };
  for (let r = 0; r < runs; r++) {
    // alternate which tool goes first
    for (const tool of r % 2 === 0 ? toolNames : [...toolNames].reverse()) {
      sink.reset();
      const drops0 = socketDrops(sink.port);
      const [cmd, argv] = tools[tool](rate);
      const cpu = await run(cmd, argv);
      await sleep(300);
      const { n, first, last } = sink.result();
      const achieved = n > 1 ? ((n - 1) * 1000) / (last - first) : 0;
      results[tool].push({ achieved, received: n, drops: socketDrops(sink.port) - drops0, cpu });
    }
  }
  for (const tool of toolNames) {
    const rs = results[tool];
    const achieved = median(rs.map((x) => x.achieved));
    rows.push(
      `| ${tool} | ${rate} | ${tool === "nfreplay" ? `-d ${Math.round(1e6 / rate)}` : `--pps ${rate}`} | ` +
        `${Math.round(achieved)} | ${(((achieved - rate) / rate) * 100).toFixed(1)} % | ` +
        `${rs.map((x) => Math.round(x.achieved)).join(", ")} | ${median(rs.map((x) => x.received))} | ` +
        `${rs.reduce((s, x) => s + x.drops, 0)} | ${median(rs.map((x) => x.cpu)).toFixed(2)} s |`,
    );
  }
}
await sink.close();
console.log(
  `| tool | target datagrams/s | pacing | achieved/s (median) | deviation | runs | received | sink drops | sender CPU |`,
);
console.log(`|---|---:|---|---:|---:|---|---:|---:|---:|`);
for (const row of rows) console.log(row);
rmSync(work, { recursive: true, force: true });
