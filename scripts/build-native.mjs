// SPDX-License-Identifier: BSD-3-Clause
// Builds the native addons (native/binding.gyp) with node-gyp and copies them to dist/native/, where the bundled
// programs look for them: tscapd's receive thread (native/recv.c, src/capd/native.ts), tsdump's LZ4 binding
// to the system's liblz4 (native/lz4.c, src/store/lz4/native.ts), the flow-file writer's column encoders
// and LZ4 compressor (native/encode.c, src/store/native-encode.ts) and zone maps (native/zone.c,
// src/store/zone-map.ts), and the benchmarks' sendmmsg sender (native/send.c, bench/replay.mjs). node-gyp is
// npm's own (npm passes its path in npm_config_node_gyp; the copy bundled with npm otherwise) and builds against
// the installed Node headers (npm_config_nodedir, else the prefix of this node), so nothing is downloaded.
// tspcapd's libpcap binding (native/pcap.c, src/pcapd/live.ts) is built only where libpcap's headers are
// installed (Debian: libpcap-dev); without it tspcapd still reads capture files, but cannot capture live or
// apply a pcap filter expression.
//
// A failed build is not fatal: tscapd then receives with node:dgram and says so at start-up. TSFLOW_NATIVE=0
// skips the build (and removes a copy left in dist/).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "native");
const ADDONS = ["tsflow_recv.node", "tsflow_lz4.node", "tsflow_encode.node", "tsflow_zone.node", "tsflow_send.node"];
const OPTIONAL = ["tsflow_pcap.node"];
const built = (name) => join(dir, "build/Release", name);
const target = (name) => join(root, "dist/native", name);

function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const bundled = join(dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  return existsSync(bundled) ? bundled : undefined;
}

function nodedir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm) return fromNpm;
  const prefix = join(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include/node/node_api.h")) ? prefix : undefined;
}

function build() {
  if (process.platform !== "linux") return "only built on Linux";
  const gyp = nodeGyp();
  if (gyp === undefined) return "node-gyp not found";
  const nd = nodedir();
  const flags = nd === undefined ? [] : [`--nodedir=${nd}`];
  // configure again when binding.gyp changed (a new addon) since the Makefile was generated
  const makefile = join(dir, "build/Makefile");
  const fresh = existsSync(makefile) && statSync(makefile).mtimeMs >= statSync(join(dir, "binding.gyp")).mtimeMs;
  const steps = fresh ? [["build"]] : [["configure"], ["build"]];
  for (const step of steps) {
    const r = spawnSync(process.execPath, [gyp, ...step, ...flags, "--loglevel=warn"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    // make's chatter only when something went wrong (or the compiler warned)
    if (r.status !== 0 || /warning|error/i.test(r.stderr)) process.stderr.write(r.stdout + r.stderr);
    if (r.status !== 0) return `node-gyp ${step[0]} failed`;
  }
  return ADDONS.every((name) => existsSync(built(name))) ? undefined : "node-gyp did not build every addon";
}

for (const name of [...ADDONS, ...OPTIONAL]) rmSync(target(name), { force: true });
if (process.env.TSFLOW_NATIVE === "0") process.exit(0);
const failure = build();
for (const name of [...ADDONS, ...OPTIONAL]) {
  if (!existsSync(built(name))) continue;
  mkdirSync(dirname(target(name)), { recursive: true });
  copyFileSync(built(name), target(name));
}
if (failure !== undefined) {
  process.stderr.write(
    `build-native: ${failure}; tscapd will receive with node:dgram and build zone maps in JS, tsdump decode LZ4 in WebAssembly\n`,
  );
}
if (failure === undefined && !OPTIONAL.every((name) => existsSync(built(name)))) {
  process.stderr.write("build-native: libpcap headers not found (libpcap-dev): tspcapd reads capture files only\n");
}
