#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// nffile reader benchmark: rows/s reading an nfdump 1.7 file with NfdumpFileReader (decompress + decode into
// RecordBatches, plus a checksum over bytes and ports so nothing is optimised away) vs `nfdump -r FILE -o null`.
//
//   npm run build && node bench/nffile.mjs [--file bench/data/nfcapd/nfcapd.202611231300] [--no-nfdump]
//     [--columns inBytes,dstPort]   decode only these columns (what a query asks for; default: every column)
//   (TSFLOW_DIST=/other/dist to load a different build). One thread: tsdump's workers split the blocks.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// default data directory (git-ignored): what bench/prepare.mjs writes without --out
const BENCH_DATA = new URL("./data", import.meta.url).pathname;

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.env.TSFLOW_DIST ?? path.join(root, "dist");
const { NfdumpFileReader } = await import(path.join(dist, "store/nffile/index.js"));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const file = opt("--file", `${BENCH_DATA}/nfcapd/nfcapd.202611231300`);
const columnsArg = opt("--columns", undefined);
// the checksum below reads inBytes and dstPort: always decoded
const columns = columnsArg === undefined ? undefined : new Set([...columnsArg.split(","), "inBytes", "dstPort"]);
const size = fs.statSync(file).size;

function readOnce() {
  const t0 = process.hrtime.bigint();
  const r = NfdumpFileReader.open(file, { onError: (e) => console.error(e.message) });
  let rows = 0;
  let bytes = 0;
  let ports = 0;
  for (let i = 0; i < r.blockCount; i++) {
    const b = r.readBlock(i, columns);
    if (!b) continue;
    const by = b.cols.inBytes;
    const dp = b.cols.dstPort;
    for (let k = 0; k < b.length; k++) {
      bytes += by[k];
      ports += dp[k];
    }
    rows += b.length;
  }
  const codec = r.header().codec;
  const blocks = r.blockCount;
  r.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage();
  return { rows, bytes, ports, s, codec, blocks, cpu: (cpu.user + cpu.system) / 1e6 };
}

const res = readOnce();
console.log(
  `tsflow NfdumpFileReader: ${res.rows} rows in ${res.s.toFixed(2)} s = ${(res.rows / res.s / 1e6).toFixed(2)} M rows/s, ` +
    `${(size / res.s / 1e6).toFixed(0)} MB/s (${res.codec}, ${res.blocks} blocks, ${(size / 1e6).toFixed(0)} MB; ` +
    `${columns ? `columns ${[...columns].join(",")}` : "every column"}; process CPU ${res.cpu.toFixed(2)} s; ` +
    `bytes ${res.bytes}, ports ${res.ports})`,
);

if (!args.includes("--no-nfdump")) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync("nfdump", ["-r", file, "-o", "null"], { encoding: "utf8", maxBuffer: 1 << 24 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /total flows: (\d+)/.exec(out);
  const flows = m ? Number(m[1]) : NaN;
  console.log(`nfdump -r FILE -o null: ${flows} flows in ${s.toFixed(2)} s = ${(flows / s / 1e6).toFixed(2)} M rows/s`);
  console.log(`ratio tsflow/nfdump time: ${(res.s / s).toFixed(2)}`);
}
