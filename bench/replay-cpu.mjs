#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// CPU time tsreplay spends per datagram, robust to a busy machine: one nfcapd file (bench/replay-rate.mjs builds
// it under bench/data/replay-rate/) written with -w (a pcap file) and sent unpaced to a bound, idle loopback socket
// (never read: the kernel drops what overflows it), by one or more builds, the builds alternating. Reports the
// median user + sys CPU of the runs (/usr/bin/time), the start-up cost (--synthetic 0) and, per datagram,
// (CPU - start-up) / datagrams; checks that every build's -w output is the same bytes.
//
//   npm run build && node bench/replay-cpu.mjs [--file NFCAPD_FILE] [--runs 5] [--builds DIR,DIR…]
//     DIR: a checkout with a built dist/ (default: this one)

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const runs = Number(opt("--runs", "5"));
const builds = opt("--builds", root).split(",");
let file = opt("--file", undefined);
if (file === undefined) {
  const dir = join(root, "bench/data/replay-rate/synthetic-1000000");
  const name = existsSync(dir) ? readdirSync(dir).find((f) => /^nfcapd\.\d{12}$/.test(f)) : undefined;
  if (name === undefined) {
    console.error("replay-cpu: no input: run bench/replay-rate.mjs once (it builds the file) or give --file");
    process.exit(1);
  }
  file = join(dir, name);
}
if (!existsSync("/usr/bin/time")) {
  console.error("replay-cpu: needs /usr/bin/time (Debian: apt-get install time)");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "tsflow-replay-cpu-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// bound and never read: this process waits in spawnSync while tsreplay sends
const idle = createSocket({ type: "udp4" });
await new Promise((r) => idle.bind(0, "127.0.0.1", r));
const port = idle.address().port;

/** user + sys CPU seconds and the datagrams tsreplay reported */
function measure(build, argv) {
  const cpuFile = join(work, "cpu");
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%U %S", "-o", cpuFile, process.execPath, join(build, "dist/bin/tsreplay.js"), ...argv],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`tsreplay failed: ${r.stderr}`);
  const [u, s] = readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
  const dg = /in (\d+) \w+ datagrams/.exec(r.stderr);
  return { cpu: u + s, datagrams: dg ? Number(dg[1]) : 0 };
}

const cases = {
  "-w": (i) => ["-r", file, "-w", join(work, `out-${i}.pcap`)],
  send: () => ["-r", file, "-H", "127.0.0.1", "-p", String(port)],
  "start-up": () => ["--synthetic", "0", "-H", "127.0.0.1", "-p", String(port)],
};
const results = builds.map(() => Object.fromEntries(Object.keys(cases).map((k) => [k, []])));
const digests = builds.map(() => new Set());
for (let r = 0; r < runs; r++) {
  const order = builds.map((_, i) => i);
  if (r % 2 === 1) order.reverse();
  for (const b of order)
    for (const [name, argv] of Object.entries(cases)) {
      results[b][name].push(measure(builds[b], argv(b)));
      if (name === "-w")
        digests[b].add(
          createHash("sha256")
            .update(readFileSync(join(work, `out-${b}.pcap`)))
            .digest("hex"),
        );
    }
}
idle.close();
console.log(`file ${file}; ${runs} runs; node ${process.version}; load ${loadavg()[0].toFixed(2)}`);
console.log(`| build | -w: CPU | send: CPU | start-up | -w: µs/datagram | send: µs/datagram | -w sha256 |`);
console.log(`|---|---:|---:|---:|---:|---:|---|`);
builds.forEach((b, i) => {
  const res = results[i];
  const up = median(res["start-up"].map((x) => x.cpu));
  const w = median(res["-w"].map((x) => x.cpu));
  const s = median(res.send.map((x) => x.cpu));
  const n = res["-w"][0].datagrams;
  let rev = "";
  try {
    rev = execFileSync("git", ["-C", b, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    rev = "?";
  }
  console.log(
    `| ${b} (${rev}) | ${w.toFixed(2)} s | ${s.toFixed(2)} s | ${up.toFixed(2)} s | ` +
      `${(((w - up) / n) * 1e6).toFixed(1)} | ${(((s - up) / n) * 1e6).toFixed(1)} | ${[...digests[i]].map((d) => d.slice(0, 16)).join(" ")} |`,
  );
});
rmSync(work, { recursive: true, force: true });
