// SPDX-License-Identifier: BSD-3-Clause
// Filter scan throughput: rows/s of the compiled scan over one 1M-row batch (one core, main thread).
//
//   npm run build && node bench/filter.mjs            # uses dist/
//   TSFLOW_DIST=/tmp/out node bench/filter.mjs        # another build output
//   ROWS=4000000 RUNS=15 node bench/filter.mjs
//
// Every case checks itself: the compiled scan's count must equal the interpreter's on the first 200k rows.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const dist = resolve(process.env.TSFLOW_DIST ?? new URL("../dist", import.meta.url).pathname);
const { compileFilter } = await import(pathToFileURL(`${dist}/filter/index.js`).href);
const { RecordBatch } = await import(pathToFileURL(`${dist}/record/batch.js`).href);

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 11);

// deterministic xorshift PRNG
let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];

function makeBatch(n) {
  const b = new RecordBatch(n);
  const c = b.cols;
  const v6 = new Uint8Array(16);
  const ports = [443, 443, 443, 80, 80, 53, 22, 8080, 123, 3389];
  for (let i = 0; i < n; i++) {
    b.addRow();
    const out = rnd() < 0.5;
    const inside = (0x0a000000 + Math.floor(rnd() * rnd() * 65536)) >>> 0;
    const outside = (pick([0x08080000, 0x8efa0000, 0x68100000, 0x17000000]) + Math.floor(rnd() * 65536)) >>> 0;
    if (rnd() < 0.1) {
      v6[0] = 0x20;
      v6[1] = 0x01;
      v6[2] = 0x0d;
      v6[3] = 0xb8;
      v6[15] = i & 0xff;
      b.setV6("srcAddr", i, v6, 0);
      v6[1] = 0x02;
      b.setV6("dstAddr", i, v6, 0);
    } else {
      c.srcAddr[i] = out ? inside : outside;
      c.dstAddr[i] = out ? outside : inside;
    }
    const r = rnd();
    c.proto[i] = r < 0.78 ? 6 : r < 0.96 ? 17 : r < 0.98 ? 1 : 47;
    const server = pick(ports);
    const client = 1024 + Math.floor(rnd() * 64512);
    c.srcPort[i] = out ? client : server;
    c.dstPort[i] = out ? server : client;
    c.tcpFlags[i] = c.proto[i] === 6 ? pick([0x1b, 0x1f, 0x02, 0x12, 0x14, 0x18]) : 0;
    const pkts = Math.max(1, Math.floor(Math.exp(1.5 + 1.6 * (rnd() + rnd() + rnd() - 1.5))));
    c.inPackets[i] = pkts;
    c.inBytes[i] = pkts * (40 + Math.floor(rnd() * 1460));
    c.msecFirst[i] = 1_700_000_000_000 + i;
    c.msecLast[i] = c.msecFirst[i] + Math.floor(rnd() * 30_000);
    c.flows[i] = 1;
  }
  return b;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const t0 = performance.now();
const batch = makeBatch(ROWS);
const buildMs = performance.now() - t0;

// 1000 addresses: 500 that occur in the batch, 500 that do not
const list = [];
for (let i = 0; list.length < 500; i += 997) {
  if (!batch.isV6("srcAddr", i)) list.push(batch.cols.srcAddr[i]);
}
for (let k = 0; k < 500; k++) list.push((0xc6336400 + k) >>> 0);
const fmt = (v) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
const ipList = `ip in [${list.map(fmt).join(" ")}]`;

const CASES = [
  ["proto tcp", "proto tcp"],
  [
    "src net 10/8 and dst port in [80 443 8080] and bytes > 1k",
    "src net 10.0.0.0/8 and dst port in [80 443 8080] and bytes > 1k",
  ],
  ["ip in [1000 addresses]", ipList],
  ["any", "any"],
  ["not flags AS or port 53", "not flags AS or port 53"],
  ["net 2001:db8::/32", "net 2001:db8::/32"],
  ["bps > 1M", "bps > 1M"],
];

const sel = new Uint32Array(ROWS);
const check = new RecordBatch(200_000);
for (let i = 0; i < 200_000; i++) check.copyRowFrom(batch, i);
const checkSel = new Uint32Array(check.length);

console.log(
  `filter scan, ${ROWS} rows, ${RUNS} runs, node ${process.version} (V8 ${process.versions.v8}); batch built in ${buildMs.toFixed(0)} ms`,
);
console.log(`${"case".padEnd(60)} ${"matched".padStart(9)} ${"median ms".padStart(10)} ${"M rows/s".padStart(9)}`);
for (const [name, text] of CASES) {
  const f = compileFilter(text);
  // self-check against the interpreter
  const k = f.scan(check, checkSel);
  let slow = 0;
  for (let i = 0; i < check.length; i++) if (f.matchRow(check, i)) slow++;
  if (k !== slow) throw new Error(`wrong result for ${name}: compiled ${k}, interpreter ${slow}`);
  let matched = 0;
  const times = [];
  for (let r = 0; r < RUNS + 3; r++) {
    const s = performance.now();
    matched = f.scan(batch, sel);
    const ms = performance.now() - s;
    if (r >= 3) times.push(ms);
  }
  const ms = median(times);
  console.log(
    `${name.padEnd(60)} ${String(matched).padStart(9)} ${ms.toFixed(2).padStart(10)} ${(ROWS / ms / 1000).toFixed(1).padStart(9)}`,
  );
}
