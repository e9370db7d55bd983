#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Ingest loss at fixed rates: one flowgen stream replayed at each rate into nfcapd and into tscapd (one after
// the other, same sender, same loopback), then the stored flows counted with nfdump -I / tsdump -I.
//
//   npm run build && node bench/ingest.mjs [--stream FILE --flows N] [--rates 10000,20000,28000]
//
// flowgen's Python sender tops out near 28 000 datagrams/s on this machine; higher rates need another sender.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const flowgen = join(root, "../shared/tools/flowgen.py");
let stream = opt("--stream", undefined);
if (stream === undefined) {
  stream = join(tmpdir(), "tsflow-ingest-1m-v9.bin");
  execFileSync("python3", [
    flowgen,
    "--flows",
    "1000000",
    "--seed",
    "7",
    "--step",
    "17",
    "--exporters",
    "3",
    "--out",
    stream,
  ]);
}
const rates = opt("--rates", "10000,20000,28000").split(",").map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(kind, rate) {
  const dir = mkdtempSync(join(tmpdir(), `ingest-${kind}-`));
  const port = kind === "nfcapd" ? 40655 : 40656;
  const child =
    kind === "nfcapd"
      ? spawn("nfcapd", ["-y", "-b", "127.0.0.1", "-p", String(port), "-w", dir, "-B", "16000000"], { stdio: "ignore" })
      : spawn(
          process.execPath,
          [join(root, "dist/capd/main.js"), "-b", "127.0.0.1", "-p", String(port), "-l", dir, "-B", "16000000"],
          { stdio: "ignore" },
        );
  await sleep(1000);
  const r = spawnSync("python3", [flowgen, "--replay", stream, "--to", `127.0.0.1:${port}`, "--pps", String(rate)], {
    encoding: "utf8",
  });
  const sent = /\((\d+)\/s\)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "?";
  await sleep(2000);
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  await exited;
  const info =
    kind === "nfcapd"
      ? execFileSync("nfdump", ["-R", dir, "-I"], { encoding: "utf8" })
      : execFileSync(process.execPath, [join(root, "dist/dump/main.js"), "-R", dir, "-I"], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
  return { flows: Number(/^Flows: (\d+)/m.exec(info)?.[1] ?? 0), sent };
}

/** flows in the stream (flowgen's default stream has 1 M; give --flows for another) */
const total = Number(opt("--flows", "1000000"));
console.log("| datagrams/s asked | sent/s (nfcapd run) | nfcapd stored | sent/s (tscapd run) | tscapd stored |");
console.log("|---:|---:|---:|---:|---:|");
for (const rate of rates) {
  const nf = await run("nfcapd", rate);
  const ts = await run("tscapd", rate);
  const pct = (n) => `${((100 * n) / total).toFixed(1)} %`;
  console.log(`| ${rate} | ${nf.sent} | ${pct(nf.flows)} | ${ts.sent} | ${pct(ts.flows)} |`);
}
