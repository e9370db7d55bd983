// SPDX-License-Identifier: BSD-3-Clause
// Writes a synthetic length-prefixed stream file (4-byte big-endian length before each datagram) with the
// built generator (dist/replay/synthetic-stream.js, the one behind `tsreplay --synthetic`), the format the
// benches read. Written in chunks so a 10 M-flow stream never sits in memory whole.
//
//   node bench/stream.mjs --flows N --out FILE [--proto v9|ipfix|v5] [--seed S] [--step S] [--exporters K]

import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Writes the stream to `out` (via a temporary name, so an interrupted run leaves no truncated cache). */
export async function writeSyntheticStream({ flows, out, protocol = "v9", seed = 1, step = 1, exporters = 1 }) {
  const { syntheticDatagrams } = await import(pathToFileURL(join(root, "dist/replay/synthetic-stream.js")).href);
  const tmp = `${out}.part`;
  const fd = openSync(tmp, "w");
  const chunk = Buffer.allocUnsafe(1 << 22);
  let used = 0;
  let datagrams = 0;
  try {
    for (const d of syntheticDatagrams({ flows, protocol, seed, step, exporters })) {
      if (used + 4 + d.length > chunk.length) {
        writeSync(fd, chunk, 0, used);
        used = 0;
      }
      chunk.writeUInt32BE(d.length, used);
      chunk.set(d, used + 4);
      used += 4 + d.length;
      datagrams++;
    }
    if (used > 0) writeSync(fd, chunk, 0, used);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  return datagrams;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
  };
  const flows = Number(opt("--flows", "NaN"));
  const out = opt("--out", undefined);
  if (!Number.isSafeInteger(flows) || flows < 0 || out === undefined) {
    console.error(
      "usage: node bench/stream.mjs --flows N --out FILE [--proto v9|ipfix|v5] [--seed S] [--step S] [--exporters K]",
    );
    process.exit(1);
  }
  const n = await writeSyntheticStream({
    flows,
    out,
    protocol: opt("--proto", "v9"),
    seed: Number(opt("--seed", "1")),
    step: Number(opt("--step", "1")),
    exporters: Number(opt("--exporters", "1")),
  });
  console.error(`stream: ${flows} flows in ${n} datagrams -> ${out}`);
}
