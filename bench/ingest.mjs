#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Ingest loss at fixed rates: one synthetic stream replayed at each rate into nfcapd and into tscapd (one after
// the other in the same run, same sender — bench/replay.mjs — same loopback, same -B), then the stored flows
// counted with nfdump -I / tsdump -I and reported as stored/sent.
//
//   npm run build && node bench/ingest.mjs [--stream FILE] [--rates 30000,60000,95000] [--repeat N]
//   node bench/ingest.mjs --soak 600 [--rate 30000]      # tscapd only: RSS every 10 s over a looped stream
//   --collectors tscapd (or nfcapd) runs only one of them; tscapd:DIR runs the build in DIR (e.g. an older dist/
//   for A/B; also tscapd:DIR+clickhouse); tscapd+monitor runs tscapd with two monitors (--monitor: a moving
//   average keyed on dstip and a 100-key fixed window on srcip into a CSV file; "monitored" = the flows in that
//   file / flows stored);
//   -B BYTES changes both collectors' socket buffer
//
// Without --stream a 3 M-flow synthetic v9 stream (bench/stream.mjs) is built once in the temp directory (cached). Each repeat
// alternates which collector goes first. Between a run's last datagram and SIGTERM the script waits until the
// collector's CPU time stops growing (its backlog is written). "kernel drops" is the growth of the host-wide
// UDP RcvbufErrors counter during the run (other traffic on the host adds to it); "socket drops" is the drops
// column of the collector's own socket in /proc/net/udp, read just before SIGTERM. "CPU" is the collector's
// user + system time (all its threads) from the first datagram until its backlog was written, and per flow stored.
// TSCAPD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to node for tscapd, TSCAPD_ARGS
// (e.g. "--clickhouse http://127.0.0.1:8123/?database=ingest") to tscapd after its other arguments.
// --collectors tscapd+clickhouse runs tscapd with --clickhouse into a ClickHouse server this script starts
// (Debian's clickhouse-server in a temp directory, `--clickhouse-nice N` lowers its priority; a fresh database per
// run, the spool outside the flow directory) and reports what the sink sent, found stored, failed and left in
// the spool (its exit line), and the table's count(). Before SIGTERM it waits (up to 15 min) for the sink to
// drain: every stored flow sent, back-filled from the files (the blocks its thread could not take while the
// stream ran), found stored or failed, nothing spooled, no reference pending (--metrics); "drain" is the time
// from the last datagram until then.
// --sender dgram replays with node:dgram instead of bench/replay.mjs's default native sendmmsg sender (both
// senders sleep ≥ 1 ms when ahead of schedule; until 2026-12-05 the replay spun on setImmediate and took the CPU a
// collector left free — figures before that date were taken with it).

import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startClickHouse } from "./clickhouse-server.mjs";
import { writeSyntheticStream } from "./stream.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const buffer = opt("-B", "16000000");
let stream = opt("--stream", undefined);
if (stream === undefined) {
  stream = join(tmpdir(), "tsflow-ingest-3m-v9.bin");
  if (!existsSync(stream)) {
    await writeSyntheticStream({ flows: 3_000_000, seed: 7, step: 17, exporters: 3, out: stream });
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Flows per datagram of the stream (v9: header count minus template records; v5: count; IPFIX: not needed). */
function flowsPerDatagram(file) {
  const data = readFileSync(file);
  const out = [];
  for (let off = 0; off + 4 <= data.length;) {
    const len = data.readUInt32BE(off);
    const p = off + 4;
    off = p + len;
    const version = data.readUInt16BE(p);
    let n = data.readUInt16BE(p + 2);
    if (version === 9) {
      // subtract template (set 0) and options template (set 1) records
      for (let s = p + 20; s + 4 <= p + len;) {
        const id = data.readUInt16BE(s);
        const slen = data.readUInt16BE(s + 2);
        if (slen < 4) break;
        if (id === 0)
          for (let t = s + 4; t + 4 <= s + slen;) {
            n--;
            t += 4 + 4 * data.readUInt16BE(t + 2);
          }
        else if (id === 1) n--;
        s += slen;
      }
    } else if (version !== 5) throw new Error(`ingest: only v9 and v5 streams are counted (version ${version})`);
    out.push(n);
  }
  return out;
}

const perDatagram = flowsPerDatagram(stream);
const prefix = new Float64Array(perDatagram.length + 1);
for (let i = 0; i < perDatagram.length; i++) prefix[i + 1] = prefix[i] + perDatagram[i];
const total = prefix[perDatagram.length];
/** flows in the first `sent` datagrams of the (looped) stream */
const flowsSent = (sent) => Math.floor(sent / perDatagram.length) * total + prefix[sent % perDatagram.length];

function udpRcvbufErrors() {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp:"));
  const keys = lines[0].split(/\s+/);
  const vals = lines[1].split(/\s+/);
  return Number(vals[keys.indexOf("RcvbufErrors")]);
}

/** drops counted on the collector's own socket (/proc/net/udp "drops"; IPv4 loopback sockets) */
function socketDrops(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) return Number(f[f.length - 1]);
  }
  return NaN;
}

function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { cpu: Number(f[11]) + Number(f[12]), rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return { cpu: 0, rssKb: 0, hwmKb: 0 };
  }
}

/** The two monitors of `tscapd+monitor`; returns the configuration file (beside the flow directory). */
function monitorConfig(dir) {
  const conf = `${dir}.monitor.yaml`;
  writeFileSync(
    conf,
    [
      "monitors:",
      "  - name: ddos_dst",
      "    key: [dstip]",
      "    value: pps",
      "    window: 10s",
      "    over: 100000000",
      "  - name: top_src",
      "    key: [srcip]",
      "    period: 5s",
      "    top: 100",
      `    to: ${dir}.top_src.csv`,
      "",
    ].join("\n"),
  );
  return conf;
}

/** Flows in the fixed window's CSV file (every period's rows, the rest rows included). */
function monitored(dir) {
  const file = `${dir}.top_src.csv`;
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const line of readFileSync(file, "utf8").split("\n").slice(1)) if (line !== "") n += Number(line.split(",")[2]);
  rmSync(file);
  rmSync(`${dir}.monitor.yaml`);
  return n;
}

let clickhouse = null;
let chRun = 0;

function startCollector(kind, dir, port, metricsPort) {
  if (kind === "nfcapd")
    return spawn("nfcapd", ["-y", "-b", "127.0.0.1", "-p", String(port), "-w", dir, "-B", buffer], {
      stdio: "ignore",
    });
  const nodeArgs = (process.env.TSCAPD_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // "tscapd:DIR" runs the build in DIR (A/B against another dist/)
  const dist = kind.startsWith("tscapd:") ? kind.slice(7).replace(/\+(monitor|clickhouse)$/, "") : join(root, "dist");
  return spawn(
    process.execPath,
    [
      ...nodeArgs,
      existsSync(join(dist, "bin/tscapd.js")) ? join(dist, "bin/tscapd.js") : join(dist, "capd/main.js"),
      "-b",
      "127.0.0.1",
      "-p",
      String(port),
      "-l",
      dir,
      "-B",
      buffer,
      ...(kind.endsWith("+monitor") ? ["--monitor", monitorConfig(dir)] : []),
      ...(kind.endsWith("+clickhouse")
        ? [
            "--clickhouse",
            `${clickhouse.url}?database=ingest_${++chRun}`,
            "--clickhouse-spool",
            mkdtempSync(join(tmpdir(), "ingest-spool-")),
            "--metrics",
            `127.0.0.1:${metricsPort}`,
          ]
        : []),
      ...(process.env.TSCAPD_ARGS ?? "").split(" ").filter(Boolean),
    ],
    { stdio: ["ignore", "ignore", process.env.TSCAPD_LOG || kind.endsWith("+clickhouse") ? "pipe" : "ignore"] },
  );
}

function send(port, rate, duration) {
  return new Promise((resolve, reject) => {
    const a = [join(root, "bench/replay.mjs"), "--replay", stream, "--to", `127.0.0.1:${port}`, "--pps", String(rate)];
    if (duration > 0) a.push("--duration", String(duration));
    a.push("--sender", opt("--sender", "native"));
    const child = spawn(process.execPath, [...a, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`replay exited ${code}`))));
  });
}

/** Waits until the process's CPU time grows by less than 2 % of a core over 500 ms (at most 60 s). */
async function settle(pid) {
  let last = procStat(pid).cpu;
  for (let i = 0; i < 120; i++) {
    await sleep(500);
    const now = procStat(pid).cpu;
    if (now - last <= 1) return;
    last = now;
  }
}

/** bytes of the flow files under dir (templates and other dot files left out) */
function bytesOnDisk(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && !e.name.startsWith(".")) n += statSync(join(e.parentPath ?? e.path, e.name)).size;
  return n;
}

function stored(kind, dir) {
  const info =
    kind === "nfcapd"
      ? execFileSync("nfdump", ["-R", dir, "-I"], { encoding: "utf8" })
      : execFileSync(process.execPath, [join(root, "dist/bin/tsdump.js"), "-R", dir, "-I"], { encoding: "utf8" });
  return Number(/^Flows: (\d+)/m.exec(info)?.[1] ?? 0);
}

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function metrics(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // 0 for a metric an older build does not have (tscapd:DIR)
  const v = (name) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
  return {
    stored: v("tscapd_flows_stored_total"),
    sent: v("tscapd_clickhouse_rows_sent_total"),
    backfilled: v("tscapd_clickhouse_rows_backfilled_total"),
    duplicates: v("tscapd_clickhouse_rows_duplicate_total"),
    failed: v("tscapd_clickhouse_rows_failed_total"),
    referenced: v("tscapd_clickhouse_rows_referenced_total"),
    pending: v("tscapd_clickhouse_backfill_pending"),
    spooled: v("tscapd_clickhouse_spool_batches"),
  };
}

/** Waits until the sink has dealt with every stored flow (or 15 min); resolves with its metrics and the seconds. */
async function drain(port) {
  const t0 = Date.now();
  let m;
  for (let calm = 0; calm < 2 && Date.now() - t0 < 900_000;) {
    await sleep(500);
    // a collector that died is reported by the run, not here
    const got = await metrics(port).catch(() => undefined);
    if (got === undefined) break;
    m = got;
    const done = m.sent + m.backfilled + m.duplicates + m.failed >= m.stored && m.pending === 0 && m.spooled === 0;
    calm = done ? calm + 1 : 0;
  }
  return { ...m, seconds: (Date.now() - t0) / 1000 };
}

async function run(kind, rate) {
  const dir = mkdtempSync(join(tmpdir(), `ingest-${kind === "nfcapd" ? "nfcapd" : "tscapd"}-`));
  const port = kind === "nfcapd" ? 40655 : 40656;
  if (kind.endsWith("+clickhouse") && clickhouse === null)
    clickhouse = await startClickHouse({ nice: Number(opt("--clickhouse-nice", "0")) });
  const metricsPort = kind.endsWith("+clickhouse") ? await freeTcpPort() : 0;
  const child = startCollector(kind, dir, port, metricsPort);
  let log = "";
  child.stderr?.on("data", (d) => {
    log += d;
    if (process.env.TSCAPD_LOG) process.stderr.write(d);
  });
  const exited = new Promise((r) => child.on("exit", r));
  await sleep(1000);
  const drops0 = udpRcvbufErrors();
  const cpu0 = procStat(child.pid).cpu;
  const serverCpu0 = kind.endsWith("+clickhouse") ? clickhouse.cpu() : 0;
  const s = await send(port, rate, 0);
  const drained = kind.endsWith("+clickhouse") ? await drain(metricsPort) : undefined;
  const serverCpu = kind.endsWith("+clickhouse") ? clickhouse.cpu() - serverCpu0 : 0;
  await settle(child.pid);
  const drops = udpRcvbufErrors() - drops0;
  const sockDrops = socketDrops(port);
  const { hwmKb, cpu } = procStat(child.pid);
  child.kill("SIGTERM");
  await exited;
  const flows = stored(kind, dir);
  const bytes = bytesOnDisk(dir);
  rmSync(dir, { recursive: true, force: true });
  const mon = kind.endsWith("+monitor") ? monitored(dir) : undefined;
  let ch;
  if (kind.endsWith("+clickhouse")) {
    const line = /clickhouse: \d+ rows sent.*/.exec(log)?.[0] ?? "no exit line";
    const rows = await clickhouse.query(`SELECT count() FROM ingest_${chRun}.flows`).catch((e) => e.message);
    const d = drained;
    ch =
      `after the drain (${d.seconds.toFixed(1)} s after the last datagram): table ${Number(rows)} rows = ` +
      `${((100 * Number(rows)) / Math.max(1, flows)).toFixed(1)} % of the files' ${flows}; streamed ${d.sent}, ` +
      `referenced ${d.referenced} → back-filled ${d.backfilled}, found stored ${d.duplicates}, failed ${d.failed}; ` +
      `server CPU ${serverCpu.toFixed(1)} s from the first datagram to the drain; ${line}`;
  }
  return {
    kind,
    rate,
    achieved: s.rate,
    sent: flowsSent(s.sent),
    flows,
    drops,
    sockDrops,
    hwmMb: hwmKb / 1024,
    bytes,
    mon,
    ch,
    // clock ticks (1/100 s) of user + system time from the first datagram until the backlog was written
    cpuS: (cpu - cpu0) / 100,
  };
}

async function soak(seconds, rate, kind) {
  const dir = mkdtempSync(join(tmpdir(), "ingest-soak-"));
  const port = 40657;
  const child = startCollector(kind, dir, port);
  const exited = new Promise((r) => child.on("exit", r));
  await sleep(1000);
  const samples = [];
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const { rssKb } = procStat(child.pid);
    samples.push(rssKb / 1024);
    console.log(`t=${Math.round((Date.now() - t0) / 1000)}s rss=${(rssKb / 1024).toFixed(0)} MB`);
  }, 10_000);
  const s = await send(port, rate, seconds);
  clearInterval(sampler);
  await settle(child.pid);
  child.kill("SIGTERM");
  await exited;
  const flows = stored(kind, dir);
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...samples].sort((a, b) => a - b);
  const mb = (x) => `${x.toFixed(0)} MB`;
  const sent = flowsSent(s.sent);
  console.log(
    `soak ${seconds}s at ${rate}/s (achieved ${s.rate}/s): sent ${sent} flows, stored ${flows} ` +
      `(${((100 * flows) / sent).toFixed(2)} %); RSS start ${mb(samples[0])}, median ${mb(sorted[sorted.length >> 1])}, ` +
      `max ${mb(sorted[sorted.length - 1])}, end ${mb(samples[samples.length - 1])} (${samples.length} samples)`,
  );
}

const rmemMax = readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim();
console.log(
  `stream ${stream}: ${perDatagram.length} datagrams, ${total} flows; -B ${buffer} (net.core.rmem_max = ${rmemMax}); ` +
    `sender ${opt("--sender", "native") === "dgram" ? "node:dgram" : "sendmmsg (native/send.c)"}`,
);
if (args.includes("--soak")) {
  await soak(Number(opt("--soak", "600")), Number(opt("--rate", "30000")), opt("--collectors", "tscapd"));
} else {
  const rates = opt("--rates", "30000,60000,95000").split(",").map(Number);
  const repeat = Number(opt("--repeat", "1"));
  const collectors = opt("--collectors", "nfcapd,tscapd").split(",");
  const pct = (r) => `${((100 * r.flows) / r.sent).toFixed(1)} %`;
  console.log(
    "| run | datagrams/s asked | collector | sent/s | flows sent | flows stored | stored/sent | kernel drops | socket drops | peak RSS | B/flow | monitored | CPU s | CPU ns/flow |",
  );
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (let k = 0; k < repeat; k++) {
    for (const rate of rates) {
      const order = k % 2 === 0 ? collectors : [...collectors].reverse();
      for (const kind of order) {
        const r = await run(kind, rate);
        console.log(
          `| ${k + 1} | ${rate} | ${kind} | ${r.achieved} | ${r.sent} | ${r.flows} | ${pct(r)} | ${r.drops} | ${r.sockDrops} | ${r.hwmMb.toFixed(0)} MB | ${(r.bytes / Math.max(1, r.flows)).toFixed(1)} | ${r.mon === undefined ? "" : `${((100 * r.mon) / Math.max(1, r.flows)).toFixed(1)} %`} | ${r.cpuS.toFixed(2)} | ${((r.cpuS * 1e9) / Math.max(1, r.flows)).toFixed(0)} |`,
        );
        if (r.ch !== undefined) console.log(`|   | ClickHouse: ${r.ch} |`);
      }
    }
  }
}
await clickhouse?.stop();
