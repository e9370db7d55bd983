#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// A paced UDP sender for the ingest benchmark: sends the datagrams of a synthetic stream file (each datagram
// prefixed by its 4-byte big-endian length) to a loopback collector at a fixed rate. flowgen's Python sender
// tops out near 28 000 datagrams/s here; this one passes 95 000/s.
//
//   node bench/replay.mjs --replay FILE --to 127.0.0.1:PORT [--pps N] [--duration SECONDS] [--json]
//
//   --pps N          datagrams per second (0: as fast as possible); default 20000
//   --duration S     loop the file until S seconds have passed (sequence numbers repeat); default: once
//   --json           print the result as one JSON line on stdout (else a flowgen-like line on stderr)
//   --sender dgram   send with node:dgram (default: the native sendmmsg sender, dist/native/tsflow_send.node,
//                    when it is built; native/send.c)
//
// The sender's own CPU matters on a two-core machine: node:dgram costs ≈ 8 µs of user time per datagram (0.45 core
// at 60 000/s, taken from the collector under test); sendmmsg of up to 64 datagrams per call costs ≈ 1 µs. The
// kernel's time per datagram (on loopback, the delivery into the collector's socket) is the same for both.
//
// Pacing: the file is read into memory and cut into Buffer views once. Each turn of the loop sends what the
// clock says is due (at most one millisecond's worth plus a small catch-up allowance), then sleeps with a
// timer (≥ 1 ms) when ahead, so the sender does not spin on a core the collector needs. The socket is connected, so
// send() does no address lookup per datagram.

import { createSocket } from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const file = opt("--replay", opt("--file", undefined));
const to = opt("--to", undefined);
const pps = Number(opt("--pps", "20000"));
const duration = Number(opt("--duration", "0"));
const json = args.includes("--json");
const senderName = opt("--sender", "native");
if (file === undefined || to === undefined || !Number.isFinite(pps) || pps < 0) {
  console.error("usage: replay.mjs --replay FILE --to 127.0.0.1:PORT [--pps N] [--duration SECONDS] [--json]");
  process.exit(1);
}
const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(to);
if (m === null) {
  console.error(`replay: bad --to ${to}`);
  process.exit(1);
}
const host = m[1];
const port = Number(m[2]);
// traffic to loopback only
if (!(host.startsWith("127.") || host === "::1" || host === "localhost")) {
  console.error("replay: --to must be a loopback address");
  process.exit(1);
}

const data = readFileSync(file);
const packets = [];
const offsets = [];
for (let off = 0; off + 4 <= data.length;) {
  const len = data.readUInt32BE(off);
  if (off + 4 + len > data.length) break;
  packets.push(data.subarray(off + 4, off + 4 + len));
  offsets.push(off + 4);
  off += 4 + len;
}
const packetOffsets = Uint32Array.from(offsets);
const packetLengths = Uint32Array.from(packets, (p) => p.length);
if (packets.length === 0) {
  console.error(`replay: no datagrams in ${file}`);
  process.exit(1);
}

/** the native sender (open/send/close), or null: not built, or --sender dgram */
function nativeSender() {
  if (senderName === "dgram") return null;
  const path = fileURLToPath(new URL("../dist/native/tsflow_send.node", import.meta.url));
  if (!existsSync(path)) {
    console.error("replay: native sender not built (npm run build); sending with node:dgram");
    return null;
  }
  const module = { exports: {} };
  process.dlopen(module, path);
  return module.exports;
}
const native = nativeSender();
const nativeFd = native === null ? -1 : native.open(host === "localhost" ? "127.0.0.1" : host, port, 4 << 20);
let sock = null;
if (native === null) {
  sock = createSocket({ type: host.includes(":") ? "udp6" : "udp4", sendBufferSize: 4 << 20 });
  await new Promise((ok, fail) => {
    sock.once("error", fail);
    sock.connect(port, host, () => {
      sock.off("error", fail);
      ok();
    });
  });
  sock.on("error", () => {
    // ECONNREFUSED from an ICMP port-unreachable (collector not up yet or gone): counted as sent, like flowgen
    errors++;
  });
}

let errors = 0;
let sent = 0;
let idx = 0;
let laps = 0;
const t0 = process.hrtime.bigint();
const elapsedS = () => Number(process.hrtime.bigint() - t0) / 1e9;
/** largest burst per turn: one millisecond's worth, at least 16 (catch-up after a late timer stays bounded) */
const burst = pps > 0 ? Math.max(16, Math.ceil(pps / 1000)) : 256;

function done() {
  // queued sends (the socket buffer was full) complete before the socket closes
  if (sock !== null && sock.getSendQueueCount() > 0) {
    setTimeout(done, 1);
    return;
  }
  const dt = elapsedS();
  if (sock !== null) sock.close();
  else native.close(nativeFd);
  const r = {
    sent,
    seconds: Number(dt.toFixed(3)),
    rate: Math.round(sent / dt),
    target: pps,
    laps,
    errors,
    sender: sock === null ? "sendmmsg" : "node:dgram",
  };
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else console.error(`replay: sent ${sent} datagrams in ${dt.toFixed(2)}s (${r.rate}/s) to ${to}`);
}

function turn() {
  for (;;) {
    const t = elapsedS();
    if (duration > 0 ? t >= duration : laps > 0) {
      done();
      return;
    }
    let due = pps > 0 ? Math.floor(t * pps) - sent : burst;
    if (due <= 0) {
      // ahead of the clock: sleep until the next datagram is due (timers fire ≥ 1 ms late; the next turn catches up)
      const wait = ((sent + 1) / pps - t) * 1000;
      // (never less than a timer tick: spinning on setImmediate until the next datagram is due took whatever CPU
      // the collector left free, and so competed with a collector that runs several threads)
      setTimeout(turn, Math.max(1, Math.floor(wait)));
      return;
    }
    if (due > burst * 4) due = burst * 4;
    if (native !== null) {
      // in runs up to the end of the file
      while (due > 0) {
        const k = Math.min(due, packets.length - idx);
        const done = native.send(nativeFd, data, packetOffsets, packetLengths, idx, k);
        sent += done;
        due -= done;
        idx += done;
        // the socket's buffer is full (the sender never blocks): the rest goes out on the next turn
        if (done < k) break;
        if (idx === packets.length) {
          idx = 0;
          laps++;
          if (duration <= 0) break;
        }
      }
    } else
      for (let k = 0; k < due; k++) {
        sock.send(packets[idx]);
        sent++;
        if (++idx === packets.length) {
          idx = 0;
          laps++;
          if (duration <= 0) break;
        }
      }
    // give libuv a turn to complete the sends (queued ones hold their Buffer until written)
    setImmediate(turn);
    return;
  }
}
turn();
