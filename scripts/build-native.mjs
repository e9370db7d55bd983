// SPDX-License-Identifier: BSD-3-Clause
// Builds tscapd's native receive addon (native/recv.c, native/binding.gyp) with node-gyp and copies it to
// dist/native/, where dist/bin/tscapd.js looks for it (src/capd/native.ts). node-gyp is npm's own (npm passes
// its path in npm_config_node_gyp; the copy bundled with npm otherwise) and builds against the installed Node
// headers (npm_config_nodedir, else the prefix of this node), so nothing is downloaded.
//
// A failed build is not fatal: tscapd then receives with node:dgram and says so at start-up. TSFLOW_NATIVE=0
// skips the build (and removes a copy left in dist/).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "native");
const built = join(dir, "build/Release/tsflow_recv.node");
const target = join(root, "dist/native/tsflow_recv.node");

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
  const steps = existsSync(join(dir, "build/Makefile")) ? [["build"]] : [["configure"], ["build"]];
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
  return existsSync(built) ? undefined : "node-gyp built nothing";
}

rmSync(target, { force: true });
if (process.env.TSFLOW_NATIVE === "0") process.exit(0);
const failure = build();
if (failure === undefined) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(built, target);
} else {
  process.stderr.write(`build-native: ${failure}; tscapd will receive with node:dgram\n`);
}
