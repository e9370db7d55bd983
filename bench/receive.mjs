#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// CPU of tscapd's receive path per datagram: one synthetic stream replayed (bench/replay.mjs) at a fixed rate into
// each build, alternating builds run after run; from /proc/<pid>/task/*/stat, the CPU time (user + system) the
// receiving thread spent while the datagrams arrived — the main thread for node:dgram, the `tscapd-recv` thread
// for the native receiver, whose main thread is reported too (it relays the decode thread's wake-ups) — and
// the sender's own CPU (not a cost figure: replay.mjs spins when ahead of its schedule, so it takes what the
// collector leaves free), and all of tscapd's threads
// (decode and write included). Per datagram that reached the socket (sent minus the socket's own drops in
// /proc/net/udp); medians over the runs.
//
//   npm run build && node bench/receive.mjs [--builds DIR,DIR…] [--rates 30000,60000,95000] [--seconds 4]
//       [--repeat 3] [--stream FILE]
//   a build is a dist/ directory (default: this checkout's); DIR=ENV=VALUE sets an environment variable for that
//   build, e.g. dist=TSCAPD_RECEIVER=js runs the same build on node:dgram
//
// The collector's decode and write threads run as usual (their CPU is not counted here); -t 3600 so no file
// rotates during a run.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const builds = opt("--builds", join(root, "dist")).split(",");
const rates = opt("--rates", "30000,60000,95000").split(",").map(Number);
const seconds = Number(opt("--seconds", "4"));
const repeat = Number(opt("--repeat", "3"));
const stream = opt("--stream", join(tmpdir(), "tsflow-ingest-3m-v9.bin"));
if (!existsSync(stream)) {
  console.error(`no stream ${stream}: run bench/ingest.mjs once (it builds it) or give --stream`);
  process.exit(1);
}
const CLK = 100; // USER_HZ
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** tid → { comm, ticks } for every thread of pid */
function threads(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), { comm: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")), ticks: +f[11] + +f[12] });
    } catch {
      // the thread ended
    }
  }
  return out;
}

function ticksOf(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return { self: +f[11] + +f[12], children: +f[13] + +f[14] };
}

/** drops counted on the collector's own socket (/proc/net/udp "drops"; IPv4) */
function socketDrops(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
  }
  return 0;
}

async function once(build, rate, port) {
  const [dist, ...env] = build.split("=");
  const extra = env.length > 0 ? { [env[0]]: env.slice(1).join("=") } : {};
  const dir = mkdtempSync(join(tmpdir(), "recv-bench-"));
  const child = spawn(
    process.execPath,
    [join(dist, "bin/tscapd.js"), "-b", "127.0.0.1", "-p", String(port), "-l", dir, "-t", "3600", "-B", "16000000"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...extra } },
  );
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((r) => child.on("exit", r));
  while (!log.includes("listening on")) await sleep(20);
  await sleep(500);
  const before = threads(child.pid);
  const sender0 = ticksOf(process.pid).children;
  const sent = await new Promise((ok, fail) => {
    const a = [join(root, "bench/replay.mjs"), "--replay", stream, "--to", `127.0.0.1:${port}`, "--pps", String(rate)];
    const s = spawn(process.execPath, [...a, "--duration", String(seconds), "--json"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    s.stdout.on("data", (d) => (out += d));
    s.on("exit", (code) => (code === 0 ? ok(JSON.parse(out).sent) : fail(new Error(`replay exited ${code}`))));
  });
  const senderTicks = ticksOf(process.pid).children - sender0;
  await sleep(200);
  const after = threads(child.pid);
  const received = sent - socketDrops(port);
  child.kill("SIGTERM");
  await exited;
  rmSync(dir, { recursive: true, force: true });
  const delta = (tid) => (after.get(tid)?.ticks ?? 0) - (before.get(tid)?.ticks ?? 0);
  const native = [...after].find(([, t]) => t.comm === "tscapd-recv");
  const mainTicks = delta(child.pid);
  const recvTicks = native ? delta(native[0]) : mainTicks;
  const us = (ticks) => (ticks / CLK / received) * 1e6;
  let all = 0;
  for (const tid of after.keys()) all += delta(tid);
  return {
    receiver: native ? "native" : "node:dgram",
    recv: us(recvTicks),
    main: us(mainTicks),
    sender: us(senderTicks),
    process: us(all),
    lost: 1 - received / sent,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`stream ${stream}, ${seconds} s per run, ${repeat} runs per build and rate (alternating builds)`);
console.log(
  "| datagrams/s | build | receiver | receive thread µs/datagram | main thread | whole tscapd | sender | socket drops | receive thread, each run |",
);
console.log("|---:|---|---|---:|---:|---:|---:|---:|---|");
for (const rate of rates) {
  const results = new Map(builds.map((b) => [b, []]));
  for (let k = 0; k < repeat; k++) {
    const order = k % 2 === 0 ? builds : [...builds].reverse();
    for (const b of order) results.get(b).push(await once(b, rate, 40760));
  }
  for (const [b, rs] of results) {
    const f = (key) => median(rs.map((r) => r[key])).toFixed(2);
    const all = rs.map((r) => r.recv.toFixed(2)).join(" ");
    const lost = `${(100 * median(rs.map((r) => r.lost))).toFixed(1)} %`;
    console.log(
      `| ${rate} | ${b} | ${rs[0].receiver} | ${f("recv")} | ${f("main")} | ${f("process")} | ${f("sender")} | ${lost} | ${all} |`,
    );
  }
}
