#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Rate accuracy of tsreplay against nfreplay: one nfcapd file (a synthetic stream sent by tsreplay into nfcapd on
// loopback) replayed as NetFlow v9 to a counting sink at each target rate, several runs per tool. tsreplay paces
// with --pps N; nfreplay can only pace with a fixed gap, -d round(1e6 / N) µs. The sink (a node:dgram socket in
// this process, 16 MB receive buffer asked, capped by net.core.rmem_max) notes the arrival time of every
// datagram; the achieved rate of a run is (received - 1) / (last arrival - first arrival).
//
//   npm run build && node bench/replay-rate.mjs [--rates 20000,60000,150000] [--runs 3] [--flows 1000000]
//     [--file NFCAPD_FILE] [--tools tsreplay,nfreplay]
//
// Reported per tool and rate: the median achieved datagrams/s of the runs, its deviation from the target, the
// datagrams received (median) and the drops counted on the sink's socket (/proc/net/udp, all runs).

import { execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
const tsreplay = join(root, "dist/bin/tsreplay.js");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.trim()}`))));
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

const work = mkdtempSync(join(tmpdir(), "tsflow-replay-rate-"));
let file = opt("--file", undefined);
if (file === undefined) {
  // nfcapd stores what tsreplay sends it; SIGTERM closes the file
  const dir = join(work, "nfcapd");
  execFileSync("mkdir", ["-p", dir]);
  const port = 40571;
  const nfcapd = spawn("nfcapd", ["-b", "127.0.0.1", "-p", String(port), "-w", dir, "-B", "16000000"], {
    stdio: "ignore",
  });
  await sleep(1000);
  await run(process.execPath, [
    tsreplay,
    ...["--synthetic", String(flows), "--seed", "7", "--step", "17", "--exporters", "3"],
    ...["-p", String(port), "--pps", "30000"],
  ]);
  await sleep(1500);
  const exited = new Promise((r) => nfcapd.on("exit", r));
  nfcapd.kill("SIGTERM");
  await exited;
  const name = readdirSync(dir).find((f) => /^nfcapd\.\d{12}$/.test(f));
  if (name === undefined) throw new Error(`replay-rate: nfcapd wrote no file in ${dir}`);
  file = join(dir, name);
}
const stored = /total flows: (\d+)/.exec(execFileSync("nfdump", ["-r", file, "-o", "null"], { encoding: "utf8" }));

const sink = createSocket({ type: "udp4", recvBufferSize: 16_000_000 });
await new Promise((r) => sink.bind(0, "127.0.0.1", r));
const sinkPort = sink.address().port;
let times = new Float64Array(1 << 20);
let n = 0;
sink.on("message", () => {
  if (n === times.length) {
    const t = new Float64Array(times.length * 2);
    t.set(times);
    times = t;
  }
  times[n++] = performance.now();
});

console.log(
  `file ${file}: ${stored ? stored[1] : "?"} flows; sink rcvbuf ${sink.getRecvBufferSize()} B; ` +
    `node ${process.version}; load ${(await import("node:os")).loadavg()[0].toFixed(2)}`,
);
const tools = {
  tsreplay: (rate) => [
    process.execPath,
    [tsreplay, "-r", file, "-H", "127.0.0.1", "-p", String(sinkPort), "-v", "9", "--pps", String(rate)],
  ],
  nfreplay: (rate) => [
    "nfreplay",
    ["-r", file, "-H", "127.0.0.1", "-p", String(sinkPort), "-v", "9", "-d", String(Math.round(1e6 / rate))],
  ],
};
const rows = [];
for (const rate of rates) {
  const results = { tsreplay: [], nfreplay: [] };
  for (let r = 0; r < runs; r++) {
    // alternate which tool goes first
    for (const tool of r % 2 === 0 ? toolNames : [...toolNames].reverse()) {
      n = 0;
      const drops0 = socketDrops(sinkPort);
      const [cmd, argv] = tools[tool](rate);
      await run(cmd, argv);
      await sleep(300);
      const achieved = n > 1 ? ((n - 1) * 1000) / (times[n - 1] - times[0]) : 0;
      results[tool].push({ achieved, received: n, drops: socketDrops(sinkPort) - drops0 });
    }
  }
  for (const tool of toolNames) {
    const rs = results[tool];
    const achieved = median(rs.map((x) => x.achieved));
    rows.push(
      `| ${tool} | ${rate} | ${tool === "nfreplay" ? `-d ${Math.round(1e6 / rate)}` : `--pps ${rate}`} | ` +
        `${Math.round(achieved)} | ${(((achieved - rate) / rate) * 100).toFixed(1)} % | ` +
        `${rs.map((x) => Math.round(x.achieved)).join(", ")} | ${median(rs.map((x) => x.received))} | ` +
        `${rs.reduce((s, x) => s + x.drops, 0)} |`,
    );
  }
}
sink.close();
console.log(`| tool | target datagrams/s | pacing | achieved/s (median) | deviation | runs | received | sink drops |`);
console.log(`|---|---:|---|---:|---:|---|---:|---:|`);
for (const row of rows) console.log(row);
rmSync(work, { recursive: true, force: true });
