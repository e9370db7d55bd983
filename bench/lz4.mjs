#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// LZ4 block decoders of the nffile reader on the blocks of a real nfcapd -y file: the WebAssembly decoder
// (SIMD and 8-byte variants, src/store/lz4/wasm.ts) and the JS one (src/store/lz4/js.ts), CPU ms per block.
// Every output is checked against the JS decoder's first.
//
//   npm run build && node bench/lz4.mjs [--file bench/data/nfcapd/nfcapd.202611231300] [--passes 3]

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// default data directory (git-ignored): what bench/prepare.mjs writes without --out
const BENCH_DATA = new URL("./data", import.meta.url).pathname;

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = process.env.TSFLOW_DIST ?? path.join(root, "dist");
const { createLz4Wasm, LZ4_WASM_DST, LZ4_WASM_SRC } = await import(path.join(dist, "store/lz4/wasm.js"));
const { decodeLz4Raw } = await import(path.join(dist, "store/lz4/js.js"));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const file = opt("--file", `${BENCH_DATA}/nfcapd/nfcapd.202611231300`);
const passes = Number(opt("--passes", "3"));

// the compressed payloads of the record blocks (type 3, not stored uncompressed)
const buf = fs.readFileSync(file);
const blocks = [];
for (let p = 40; p + 12 <= buf.length;) {
  const size = buf.readUInt32LE(p + 4);
  const type = buf.readUInt16LE(p + 8);
  const flags = buf.readUInt16LE(p + 10);
  if (type === 3 && (flags & 1) === 0) blocks.push(buf.subarray(p + 12, p + 12 + size));
  p += 12 + size;
}
const ref = blocks.map((b) => {
  const out = new Uint8Array(5 * 1024 * 1024);
  return Buffer.from(out.subarray(0, decodeLz4Raw(b, 0, b.length, out)));
});

const cpuMs = (c) => (c.user + c.system) / 1000;
function run(label, decode) {
  for (let pass = 0; pass < passes; pass++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < blocks.length; i++) decode(blocks[i], i, pass === 0);
    const cpu = cpuMs(process.cpuUsage(c0));
    console.log(
      `${label.padEnd(14)} pass ${pass}: ${blocks.length} blocks, wall ${(performance.now() - t0).toFixed(0)} ms, ` +
        `CPU ${cpu.toFixed(0)} ms, ${(cpu / blocks.length).toFixed(3)} ms/block`,
    );
  }
}
for (const [label, simd] of [
  ["wasm SIMD", true],
  ["wasm 8-byte", false],
]) {
  const w = createLz4Wasm(simd);
  run(label, (b, i, check) => {
    w.bytes.set(b, LZ4_WASM_SRC);
    const n = w.decode(b.length);
    if (check && !Buffer.from(w.bytes.buffer, LZ4_WASM_DST, n).equals(ref[i])) {
      const got = Buffer.from(w.bytes.buffer, LZ4_WASM_DST, n);
      let d = 0;
      while (d < n && got[d] === ref[i][d]) d++;
      throw new Error(`${label}: block ${i} differs: ${n} bytes (JS ${ref[i].length}), first difference at ${d}`);
    }
  });
}
const out = new Uint8Array(5 * 1024 * 1024);
run("js", (b) => decodeLz4Raw(b, 0, b.length, out));
