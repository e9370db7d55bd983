#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tscapd --monitor figures.
//
//   npm run build && node bench/monitor.mjs cpu [--flows 2000000] [--chunk 16384] [--repeat 5] [--base DIR]
//       CPU per flow of the monitor thread's work (the two monitors of bench/ingest.mjs's tscapd+monitor: a
//       moving average keyed on dstip, a 100-key fixed window on srcip) over the synthetic generator's flows in
//       chunks of --chunk rows, and of the decode thread's copy of the columns they read (process CPU time, user
//       + system). --base DIR: also the monitors of another built checkout (e.g. main's), its passes alternating
//       with this build's in the same process; the median of --repeat passes each.
//   npm run build && node bench/monitor.mjs latency [--window 10] [--over 20000] [--factors 2,10]
//       Alert latency: the real tscapd with one moving average (pps, per dstip); NetFlow v5 datagrams every
//       10 ms carry a background key at half the threshold, then a burst key at factor × the threshold. Prints the
//       time from the burst's first datagram to its `over` event (the event's time) against window·T/R + 1 s.

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function cpu() {
  const { syntheticRounds } = await import(join(root, "dist/replay/synthetic.js"));
  const { RecordBatch } = await import(join(root, "dist/record/batch.js"));
  const { PHYSICAL_COLUMNS } = await import(join(root, "dist/record/schema.js"));
  const dir = mkdtempSync(join(tmpdir(), "bench-monitor-"));
  const yaml =
    `monitors:\n  - name: ddos_dst\n    key: [dstip]\n    value: pps\n    window: 10s\n    over: 100000000\n` +
    `  - name: top_src\n    key: [srcip]\n    period: 5s\n    top: 100\n    to: ${join(dir, "top.csv")}\n`;
  const flows = Number(opt("--flows", "2000000"));
  const N = Number(opt("--chunk", "16384"));
  const repeat = Number(opt("--repeat", "5"));
  const now = Date.now();
  // chunks of N rows, received at ≈ 1.3 M flows/s
  const batches = [];
  let cur = new RecordBatch(N);
  for (const round of syntheticRounds({ flows, seed: 7 })) {
    const c = round.batch.cols;
    const n = round.batch.length;
    for (let i = 0; i < n;) {
      if (cur.length === N) {
        batches.push(cur);
        cur = new RecordBatch(N);
      }
      const m = Math.min(n - i, N - cur.length);
      const r = cur.length;
      for (const pc of PHYSICAL_COLUMNS)
        cur.cols[pc.name].set(c[pc.name].subarray(i * pc.width, (i + m) * pc.width), r * pc.width);
      cur.cols.msecReceived.fill(now + Math.floor((batches.length * N * 1000) / 1_300_000), r, r + m);
      cur.length += m;
      i += m;
    }
  }
  if (cur.length > 0) batches.push(cur);
  // CPU time (user + system) rather than wall time: the figures hold on a busy machine too
  const cpuNs = (f) => {
    const t = process.cpuUsage();
    f();
    const u = process.cpuUsage(t);
    return ((u.user + u.system) * 1e3) / flows;
  };
  // the builds compared: this one and, with --base DIR, another checkout's (its dist/monitor)
  const builds = [["this", root]];
  if (opt("--base", undefined) !== undefined) builds.unshift(["base", opt("--base")]);
  const sides = [];
  for (const [label, dist] of builds) {
    const { parseMonitorConfig, monitorColumns } = await import(join(dist, "dist/monitor/config.js"));
    const { Monitor } = await import(join(dist, "dist/monitor/monitor.js"));
    const cfg = parseMonitorConfig(yaml, join(dir, "m.yaml"));
    const mons = cfg.monitors.map((m) => new Monitor(m, dir, () => undefined, now));
    sides.push({ label, dist, mons, names: monitorColumns(cfg), runs: [] });
  }
  // as src/monitor/feed.ts: the decode thread copies the columns the monitors read into reused arrays
  const widths = new Map(PHYSICAL_COLUMNS.map((pc) => [pc.name, pc.width]));
  const names = sides[sides.length - 1].names;
  const into = Object.fromEntries(names.map((n) => [n, new batches[0].cols[n].constructor(N * widths.get(n))]));
  const copyNs = cpuNs(() => {
    for (const b of batches) for (const n of names) into[n].set(b.cols[n].subarray(0, b.length * widths.get(n)));
  });
  // passes alternate between the builds (first one, then the other first); the first pass (cold JIT) is left
  // out of the median
  for (let r = 0; r <= repeat; r++)
    for (const side of r % 2 === 0 ? sides : [...sides].reverse())
      side.runs.push(
        cpuNs(() => {
          for (const b of batches) for (const m of side.mons) m.add(b, "none");
        }),
      );
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(
    `${flows} synthetic flows (seed 7) in chunks of ${N}, columns ${names.join(" ")}: decode-thread copy ` +
      `${copyNs.toFixed(0)} ns/flow`,
  );
  for (const s of sides) {
    const ev = s.mons.map((m) => `${m.config.name} ${m.sample().evicted}`).join(", ");
    console.log(
      `${s.label} (${s.dist}): two monitors ${median(s.runs.slice(1)).toFixed(0)} ns/flow, median of ${repeat} ` +
        `(first pass ${s.runs[0].toFixed(0)}; all: ${s.runs.map((x) => x.toFixed(0)).join(" ")}); evicted: ${ev}`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

function v5(records, seq) {
  const b = Buffer.alloc(24 + 48 * records.length);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(records.length, 2);
  b.writeUInt32BE(100_000, 4);
  b.writeUInt32BE(Math.floor(Date.now() / 1000), 8);
  b.writeUInt32BE(seq, 16);
  records.forEach((r, i) => {
    const o = 24 + 48 * i;
    b.writeUInt32BE(0x0a000001, o);
    r.dst.split(".").forEach((x, k) => b.writeUInt8(Number(x), o + 4 + k));
    b.writeUInt32BE(r.packets, o + 16);
    b.writeUInt32BE(r.packets * 100, o + 20);
    b.writeUInt32BE(99_000, o + 24);
    b.writeUInt32BE(99_900, o + 28);
    b.writeUInt8(17, o + 38);
  });
  return b;
}

async function latency() {
  const window = Number(opt("--window", "10"));
  const over = Number(opt("--over", "20000"));
  const factors = opt("--factors", "2,10").split(",").map(Number);
  for (const factor of factors) {
    const dir = mkdtempSync(join(tmpdir(), "bench-monitor-"));
    const events = join(dir, "events.ndjson");
    writeFileSync(
      join(dir, "m.yaml"),
      `monitors:\n  - name: ddos\n    key: [dstip]\n    value: pps\n    window: ${window}s\n    over: ${over}\n    back: 1s\n`,
    );
    const port = 40000 + Math.floor(Math.random() * 20000);
    const child = spawn(
      process.execPath,
      [
        join(root, "dist/bin/tscapd.js"),
        "-b",
        "127.0.0.1",
        "-p",
        String(port),
        "-l",
        join(dir, "flows"),
        "--monitor",
        join(dir, "m.yaml"),
        "--events",
        events,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    child.stderr.on("data", (d) => (log += d));
    while (!log.includes("listening on")) await sleep(20);
    const sock = createSocket("udp4");
    // every 10 ms: background key at over/2, and (after 3 s) the burst key at factor × over
    const per = (rate) => Math.round(rate / 100);
    const t0 = Date.now();
    let burstStart = 0;
    let seq = 0;
    let event;
    const deadline = t0 + 3000 + (window + 5) * 1000;
    while (Date.now() < deadline && event === undefined) {
      const recs = [{ dst: "192.0.2.10", packets: per(over / 2) }];
      if (Date.now() - t0 >= 3000) {
        if (burstStart === 0) burstStart = Date.now();
        recs.push({ dst: "192.0.2.99", packets: per(over * factor) });
      }
      const d = v5(recs, seq);
      seq += recs.length;
      await new Promise((ok) => sock.send(d, port, "127.0.0.1", ok));
      await sleep(10);
      if (existsSync(events))
        event = readFileSync(events, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l))
          .find((e) => e.event === "over");
    }
    sock.close();
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
    rmSync(dir, { recursive: true, force: true });
    const bound = window / factor + 1;
    if (event === undefined) console.log(`window ${window} s, burst ${factor}× threshold: no over event`);
    else
      console.log(
        `window ${window} s, threshold ${over} pps, burst ${factor}× (key ${event.key.dstip}): over after ` +
          `${((Date.parse(event.time) - burstStart) / 1000).toFixed(2)} s (window·T/R + 1 s = ${bound.toFixed(1)} s; window + 1 s = ${window + 1} s)`,
      );
  }
}

if (args[0] === "cpu") await cpu();
else if (args[0] === "latency") await latency();
else {
  console.error("usage: node bench/monitor.mjs cpu|latency [options]");
  process.exitCode = 1;
}
