// SPDX-License-Identifier: BSD-3-Clause
// tspcapd vs nfpcapd 1.7.1 vs softflowd: packets per second turning one capture file into flows, same machine,
// same run. The capture is generated here (seeded): Ethernet frames, 85 % IPv4 and 15 % IPv6, TCP conversations
// (SYN … FIN), UDP and ICMP, a tenth with an 802.1Q tag, 60–1514-byte frames captured with a 128-byte snaplen
// (the wire length is kept, as a capture with -s 128 records it), a pool of 40 k concurrent conversations at
// 100 k packets/s of capture time.
//
//   node bench/pcapd.mjs [--packets 5000000] [--runs 3] [--keep]
//
// Each program runs --runs times; the table gives the median wall time and CPU time (user + system; steadier than
// wall time on a shared machine), packets per second of each, and the peak RSS, and every
// run checks its own output: tspcapd's and nfpcapd's files hold every packet and the same byte total (read back
// with tsdump and nfdump); softflowd's count of packets processed is taken from its exit report.

import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
};
const PACKETS = arg("packets", 5_000_000);
const RUNS = arg("runs", 3);
const KEEP = process.argv.includes("--keep");
const SNAP = 128;
const CONCURRENT = 40_000;

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the capture; returns its path, packets and the sum of IP total lengths. */
function generate(path) {
  const r = prng(42);
  const fd = openSync(path, "w");
  const buf = Buffer.alloc(8 << 20);
  let used = 0;
  buf.writeUInt32LE(0xa1b2c3d4, 0);
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(SNAP, 16);
  buf.writeUInt32LE(1, 20);
  used = 24;
  // conversation pool: [v6, proto, a, b, sport, dport, left, vlan, stage]
  const pool = [];
  const fresh = () => {
    const kind = r();
    const proto = kind < 0.6 ? 6 : kind < 0.95 ? 17 : 1;
    return {
      v6: r() < 0.15,
      proto,
      a: 0x0a000000 + Math.floor(r() * 65536),
      b: 0xc0000200 + Math.floor(r() * 4096),
      sport: 1024 + Math.floor(r() * 60000),
      dport:
        proto === 6 ? [80, 443, 22, 25][Math.floor(r() * 4)] : proto === 17 ? [53, 123, 4500][Math.floor(r() * 3)] : 0,
      left: 2 + Math.floor(r() * 40),
      vlan: r() < 0.1 ? 1 + Math.floor(r() * 100) : 0,
      n: 0,
    };
  };
  for (let i = 0; i < CONCURRENT; i++) pool.push(fresh());
  let bytes = 0;
  let us = 1_700_000_000_000_000;
  for (let k = 0; k < PACKETS; k++) {
    const i = Math.floor(r() * CONCURRENT);
    const c = pool[i];
    const up = c.n === 0 || r() < 0.5;
    c.n++;
    c.left--;
    const last = c.left === 0;
    const l4 = c.proto === 6 ? 20 : 8;
    const payload = c.n <= 1 || last ? 0 : Math.floor(r() < 0.5 ? r() * 100 : r() * 1400);
    const ipLen = (c.v6 ? 40 : 20) + l4 + payload;
    const l2 = 14 + (c.vlan ? 4 : 0);
    const wire = Math.max(60, l2 + ipLen);
    const cap = Math.min(SNAP, wire);
    if (used + 16 + cap > buf.length) {
      writeSync(fd, buf, 0, used);
      used = 0;
    }
    us += 10 + Math.floor(r() * 10);
    buf.writeUInt32LE(Math.floor(us / 1e6), used);
    buf.writeUInt32LE(us % 1e6, used + 4);
    buf.writeUInt32LE(cap, used + 8);
    buf.writeUInt32LE(wire, used + 12);
    let o = used + 16;
    buf.fill(0, o, o + cap);
    buf.writeUInt32BE(0x02000000, o);
    buf.writeUInt16BE(up ? 1 : 2, o + 4);
    buf.writeUInt32BE(0x02000000, o + 6);
    buf.writeUInt16BE(up ? 2 : 1, o + 10);
    o += 12;
    if (c.vlan) {
      buf.writeUInt16BE(0x8100, o);
      buf.writeUInt16BE(c.vlan, o + 2);
      o += 4;
    }
    buf.writeUInt16BE(c.v6 ? 0x86dd : 0x0800, o);
    o += 2;
    const src = up ? c.a : c.b;
    const dst = up ? c.b : c.a;
    let t;
    if (c.v6) {
      buf.writeUInt32BE(0x60000000, o);
      buf.writeUInt16BE(ipLen - 40, o + 4);
      buf[o + 6] = c.proto === 1 ? 58 : c.proto;
      buf[o + 7] = 64;
      buf.writeUInt32BE(0x20010db8, o + 8);
      buf.writeUInt32BE(src, o + 20);
      buf.writeUInt32BE(0x20010db8, o + 24);
      buf.writeUInt32BE(dst, o + 36);
      t = o + 40;
    } else {
      buf[o] = 0x45;
      buf.writeUInt16BE(ipLen, o + 2);
      buf[o + 8] = 64;
      buf[o + 9] = c.proto;
      buf.writeUInt32BE(src, o + 12);
      buf.writeUInt32BE(dst, o + 16);
      t = o + 20;
    }
    if (c.proto === 1) {
      buf[t] = up ? 8 : 0;
    } else {
      buf.writeUInt16BE(up ? c.sport : c.dport, t);
      buf.writeUInt16BE(up ? c.dport : c.sport, t + 2);
      if (c.proto === 6) {
        buf[t + 12] = 0x50;
        buf[t + 13] = c.n === 1 ? 0x02 : last ? 0x11 : 0x18;
      } else buf.writeUInt16BE(l4 + payload, t + 4);
    }
    used += 16 + cap;
    bytes += ipLen;
    if (last) pool[i] = fresh();
  }
  writeSync(fd, buf, 0, used);
  closeSync(fd);
  return { packets: PACKETS, bytes };
}

/** Runs a program under /usr/bin/time; returns wall seconds, CPU seconds (user + system) and peak RSS (KiB). */
function timed(cmd, args, env = {}) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M %U %S", cmd, ...args], {
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC", ...env },
    maxBuffer: 1 << 26,
  });
  const lines = r.stderr.trim().split("\n");
  const [wall, rss, user, sys] = lines[lines.length - 1].split(" ").map(Number);
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return { wall, rss, cpu: user + sys, stderr: r.stderr, stdout: r.stdout };
}

function totals(program, args) {
  const r = spawnSync(program, args, { encoding: "utf8", env: { ...process.env, TZ: "UTC" }, maxBuffer: 1 << 26 });
  const get = (key) => {
    const m = new RegExp(`^${key}: (\\d+)$`, "m").exec(r.stdout);
    if (!m) throw new Error(`${program}: no ${key} in -I:\n${r.stdout.slice(-500)}${r.stderr.slice(-500)}`);
    return Number(m[1]);
  };
  return { flows: get("Flows"), bytes: get("Bytes"), packets: get("Packets") };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const work = mkdtempSync(join(tmpdir(), "pcapd-bench-"));
  const file = join(work, "bench.pcap");
  process.stderr.write(`generating ${PACKETS} packets …\n`);
  const truth = generate(file);
  const results = {};
  const record = (name, r, check) => {
    (results[name] ??= []).push(r);
    process.stderr.write(
      `${name}: ${r.wall} s wall, ${r.cpu.toFixed(2)} s CPU, ${Math.round(PACKETS / r.wall)} packets/s, ${r.rss} KiB${check ? `; ${check}` : ""}\n`,
    );
  };
  // a sink for softflowd's datagrams
  const sink = createSocket("udp4");
  sink.on("message", () => undefined);
  await new Promise((ok) => sink.bind(0, "127.0.0.1", ok));
  const port = sink.address().port;
  for (let run = 0; run < RUNS; run++) {
    const ts = join(work, `ts${run}`);
    const r1 = timed(process.execPath, [
      join(root, "dist/bin/tspcapd.js"),
      "-r",
      file,
      "-l",
      ts,
      "-S",
      "0",
      "-e",
      "300,60",
    ]);
    const t1 = totals(process.execPath, [join(root, "dist/bin/tsdump.js"), "-R", ts, "-I"]);
    if (t1.packets !== truth.packets || t1.bytes !== truth.bytes)
      throw new Error(`tspcapd: wrong totals ${JSON.stringify(t1)}`);
    record("tspcapd", r1, `${t1.flows} flows`);
    const nf = join(work, `nf${run}`);
    mkdirSync(nf);
    const r2 = timed("nfpcapd", ["-r", file, "-w", nf, "-e", "300,60"]);
    const t2 = totals("nfdump", ["-R", nf, "-I"]);
    if (t2.packets !== truth.packets || t2.bytes !== truth.bytes)
      throw new Error(`nfpcapd: wrong totals ${JSON.stringify(t2)}`);
    record("nfpcapd", r2, `${t2.flows} flows`);
    // softflowd keeps at most -m flows (default 8192): given the same cache as the others; IPv6 tracked (-6),
    // exported as v9; -c none: with a control socket softflowd 1.1.0 blocks in accept() when reading a file
    const r3 = timed("softflowd", [
      "-d",
      "-6",
      "-r",
      file,
      "-n",
      `127.0.0.1:${port}`,
      "-v",
      "9",
      "-m",
      "524288",
      "-p",
      join(work, "sf.pid"),
      "-c",
      "none",
    ]);
    const report = r3.stdout + r3.stderr;
    const processed = /Packets processed: (\d+)/.exec(report);
    const flows = /Flows exported: (\d+) \((\d+) records\)/.exec(report);
    if (processed === null || Number(processed[1]) !== truth.packets)
      throw new Error(`softflowd: ${report.slice(-1500)}`);
    record("softflowd", r3, `${flows?.[1]} bidirectional flows (${flows?.[2]} records)`);
    rmSync(ts, { recursive: true, force: true });
    rmSync(nf, { recursive: true, force: true });
  }
  sink.close();
  const rows = Object.entries(results).map(([name, rs]) => {
    const wall = median(rs.map((r) => r.wall));
    const cpu = median(rs.map((r) => r.cpu));
    const pps = (s) => Math.round(PACKETS / s).toLocaleString("en-US");
    return `| ${name} | ${wall.toFixed(2)} | ${pps(wall)} | ${cpu.toFixed(2)} | ${pps(cpu)} | ${Math.round(median(rs.map((r) => r.rss)) / 1024)} |`;
  });
  console.log(`${PACKETS.toLocaleString("en-US")} packets, ${RUNS} runs, medians (Node ${process.version})\n`);
  console.log(
    "| program | wall s | packets/s (wall) | CPU s | packets per CPU second | peak RSS MiB |\n|---|---|---|---|---|---|",
  );
  for (const r of rows) console.log(r);
  if (!KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`\nkept ${work}`);
}

await main();
