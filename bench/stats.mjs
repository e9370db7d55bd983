// SPDX-License-Identifier: BSD-3-Clause
// Statistics engine throughput: rows/s and peak RSS of `-s ip/bytes` and `-A srcip,dstip -O bytes -n 20`
// over synthetic rows shaped like flowgen's (Zipf-ranked hosts inside 10.0/16 and six outside /16s, ~10 %
// IPv6, weighted well-known ports, log-normal packets/bytes), one core, main thread.
//
//   npm run build && node bench/stats.mjs                 # 10M rows, both cases, each in its own process
//   ROWS=2000000 node bench/stats.mjs ip                  # one case
//   TSFLOW_DIST=/tmp/out node bench/stats.mjs             # another build output
//
// Rows are generated batch by batch (16384 rows) and only the engine calls are timed; each case checks its
// own result (flows counted = rows × sides; the top rows are ordered) and prints "wrong result!" otherwise.
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = resolve(process.env.TSFLOW_DIST ?? fileURLToPath(new URL("../dist", import.meta.url)));
const ROWS = Number(process.env.ROWS ?? 10_000_000);
const BATCH = 16384;
const CASES = {
  ip: "-s ip/bytes -n 10",
  aggr: "-A srcip,dstip -O bytes -n 20",
  srcport: "-s srcport:p/flows -n 10",
};

const which = process.argv[2];
if (!which) {
  // parent: one child per case, so the peak RSS is the case's own
  console.log(`node ${process.version}, ${ROWS} rows, batches of ${BATCH}`);
  for (const name of ["ip", "aggr"]) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], {
      stdio: "inherit",
      env: process.env,
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

const { RecordBatch } = await import(pathToFileURL(`${dist}/record/batch.js`).href);
const stats = await import(pathToFileURL(`${dist}/stats/index.js`).href);

// ── deterministic generator ──────────────────────────────────────────────────────────────────────────────
let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
function zipf(n, a) {
  const cdf = new Float64Array(n);
  let s = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = s += 1 / k ** a;
  for (let k = 0; k < n; k++) cdf[k] /= s;
  return () => {
    const u = rnd();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
const inside = zipf(65536, 1.1);
const outside = zipf(65536, 1.05);
const prefix = zipf(6, 1.3);
const host6 = zipf(4096, 1.1);
const PREF = [0x08080000, 0x8efa0000, 0x68100000, 0x17000000, 0xc6336400, 0x2d4c0000];
const PORTS = [443, 443, 443, 443, 80, 80, 53, 53, 22, 123, 993, 8080, 3389];
const PROTOS = [6, 6, 6, 6, 6, 6, 6, 17, 17, 1];

const batch = new RecordBatch(BATCH);
function fill(n, t0) {
  batch.reset();
  const c = batch.cols;
  for (let i = 0; i < n; i++) {
    const r = batch.addRow();
    const out = rnd() < 0.5;
    if (rnd() < 0.1) {
      const o = r * 4;
      c.srcAddr6[o] = 0x20010db8;
      c.srcAddr6[o + 1] = 0x00010000;
      c.srcAddr6[o + 3] = host6();
      c.dstAddr6[o] = 0x2a000000 | (outside() & 0xffff);
      c.dstAddr6[o + 3] = outside() & 0xff;
      c.v6Flags[r] = 3;
    } else {
      const a = (0x0a000000 + inside()) >>> 0;
      const b = (PREF[prefix()] + outside()) >>> 0;
      c.srcAddr[r] = out ? a : b;
      c.dstAddr[r] = out ? b : a;
    }
    const server = PORTS[Math.floor(rnd() * PORTS.length)];
    const client = 1024 + Math.floor(rnd() * 64512);
    c.srcPort[r] = out ? client : server;
    c.dstPort[r] = out ? server : client;
    c.proto[r] = PROTOS[Math.floor(rnd() * PROTOS.length)];
    const pkts = Math.max(1, Math.floor(Math.exp(1.5 + 1.6 * (rnd() + rnd() + rnd() - 1.5))));
    c.inPackets[r] = pkts;
    c.inBytes[r] = pkts * (40 + Math.floor(rnd() * 1460));
    c.msecFirst[r] = t0 + Math.floor(rnd() * 300_000);
    c.msecLast[r] = c.msecFirst[r] + Math.floor(rnd() * 30_000);
    c.flows[r] = 1;
  }
}

// ── run ──────────────────────────────────────────────────────────────────────────────────────────────────
const budget = new stats.MemoryBudget(8 * 1024 ** 3);
let engine;
let sides = 1;
if (which === "ip" || which === "srcport") {
  const spec = stats.parseStatSpec(which === "ip" ? "ip/bytes" : "srcport:p/flows");
  sides = spec.element.columns.length;
  engine = new stats.StatAccumulator(spec, budget);
} else {
  engine = new stats.Aggregator(stats.parseAggregation("srcip,dstip"), budget);
}
let addMs = 0;
let cpuMs = 0; // CPU time of the engine calls: steadier than wall time on a shared machine
let genMs = 0;
const t0 = 1_767_225_600_000;
for (let done = 0; done < ROWS; done += BATCH) {
  const n = Math.min(BATCH, ROWS - done);
  const g = performance.now();
  fill(n, t0);
  const a = performance.now();
  const u = process.cpuUsage();
  engine.add(batch, null, n);
  const du = process.cpuUsage(u);
  cpuMs += (du.user + du.system) / 1000;
  addMs += performance.now() - a;
  genMs += a - g;
}
const s = performance.now();
const u0 = process.cpuUsage();
let ok = true;
let keys;
let top;
if (which === "aggr") {
  const { order } = stats.parseRecordOrder("bytes");
  const out = [...engine.toBatches(order, false, 20)];
  top = out[0];
  keys = engine.size;
  let flows = 0;
  for (const tb of [engine.t4, engine.t6])
    if (tb) for (let e = 0; e < tb.count; e++) flows += tb.acc[e * stats.ACC_STRIDE];
  ok = flows === ROWS && top.length === 20;
  for (let r = 1; r < top.length; r++) if (top.cols.inBytes[r - 1] < top.cols.inBytes[r]) ok = false;
} else {
  const t = engine.top(10, engine.spec.orders[0]);
  top = t;
  keys = t.distinct;
  let flows = 0;
  for (const tb of [engine.t4, engine.t6])
    if (tb) for (let e = 0; e < tb.count; e++) flows += tb.acc[e * stats.ACC_STRIDE];
  ok = flows === ROWS * sides && t.rows.length === 10;
  for (let r = 1; r < t.rows.length; r++) if (t.rows[r - 1].orderValue < t.rows[r].orderValue) ok = false;
}
const topMs = performance.now() - s;
const topCpu = process.cpuUsage(u0);
cpuMs += (topCpu.user + topCpu.system) / 1000;
const rssMiB = process.resourceUsage().maxRSS / 1024;
const total = addMs + topMs;
console.log(
  `${CASES[which].padEnd(32)} ${(ROWS / (total / 1000) / 1e6).toFixed(2)} M rows/s  ` +
    `engine ${(total / 1000).toFixed(2)} s wall (add ${(addMs / 1000).toFixed(2)} s, top ${(topMs / 1000).toFixed(3)} s), ` +
    `${(cpuMs / 1000).toFixed(2)} s CPU = ${(ROWS / (cpuMs / 1000) / 1e6).toFixed(2)} M rows/CPU-s  ` +
    `keys ${keys}  tables ${(budget.peak / 1048576).toFixed(0)} MiB  peak RSS ${rssMiB.toFixed(0)} MiB  ` +
    `(generator ${(genMs / 1000).toFixed(1)} s, not counted)${ok ? "" : "  wrong result!"}`,
);
if (!ok) process.exit(1);
