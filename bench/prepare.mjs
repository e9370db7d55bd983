#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// Builds the benchmark data set: one seeded synthetic stream (bench/stream.mjs, the generator behind
// tsreplay --synthetic; issue figures: 10 M flows, --step 17, 3 exporters) sent by bench/replay.mjs at the same
// rate to nfcapd -y and to tscapd, each on its own loopback port, so both suites store the same flows. Checks
// that each collector stored every flow.
//
//   node bench/prepare.mjs [--flows 10000000] [--out bench/data] [--pps 25000] [--only nfcapd|tscapd]
//     [--ports 40555,40556]   loopback ports of nfcapd and tscapd (pick free ones when other work runs)
//
// --only rebuilds one collector's directory (e.g. tscapd's after a file-format change); the other is kept.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticStream } from "./stream.mjs";

// default data directory (git-ignored): what bench/prepare.mjs writes without --out
const BENCH_DATA = new URL("./data", import.meta.url).pathname;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const flows = Number(opt("--flows", "10000000"));
const out = opt("--out", BENCH_DATA);
const pps = opt("--pps", "25000");
const stream = join(out, `flows-${flows}-v9.bin`);
const [nfPort, tsPort] = opt("--ports", "40555,40556").split(",");
mkdirSync(out, { recursive: true });

if (!existsSync(stream)) {
  await writeSyntheticStream({ flows, step: 17, exporters: 3, out: stream });
}

async function capture(name, cmd, argv, port) {
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const child = spawn(cmd, [...argv(dir)], { stdio: ["ignore", "inherit", "inherit"] });
  await new Promise((r) => setTimeout(r, 1000));
  execFileSync(
    process.execPath,
    [join(root, "bench/replay.mjs"), "--replay", stream, "--to", `127.0.0.1:${port}`, "--pps", pps],
    { stdio: "inherit" },
  );
  await new Promise((r) => setTimeout(r, 2000));
  const exited = new Promise((r) => child.on("exit", r));
  child.kill("SIGTERM");
  await exited;
  return dir;
}

const only = opt("--only", undefined);
const nf =
  only === "tscapd"
    ? join(out, "nfcapd")
    : await capture(
        "nfcapd",
        "nfcapd",
        (d) => ["-y", "-b", "127.0.0.1", "-p", nfPort, "-w", d, "-B", "16000000"],
        nfPort,
      );
const ts =
  only === "nfcapd"
    ? join(out, "tscapd")
    : await capture(
        "tscapd",
        process.execPath,
        (d) => [join(root, "dist/bin/tscapd.js"), "-b", "127.0.0.1", "-p", tsPort, "-l", d, "-B", "16000000"],
        tsPort,
      );
for (const [name, dir, tool] of [
  ["nfcapd", nf, "nfdump"],
  ["tscapd", ts, process.execPath],
]) {
  const argv =
    tool === "nfdump" ? ["-R", dir, "-o", "null"] : [join(root, "dist/bin/tsdump.js"), "-R", dir, "-o", "null"];
  const text = execFileSync(tool, argv, { encoding: "utf8" });
  const m = /total flows: (\d+)/.exec(text);
  console.log(`${name}: ${readdirSync(dir).length} entries, stored ${m ? m[1] : "?"} of ${flows} flows`);
}
