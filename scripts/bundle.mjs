// SPDX-License-Identifier: BSD-3-Clause
// Bundles each program and each worker into one ES module in dist/bin/ (esbuild), after tsc emitted dist/.
//
// Why: Node 20 loads an unbundled program as ~80 modules (resolve, read, compile, link each) before tsdump
// reads its first block, and again in every scan worker. One file per program cuts start-up
// (docs/benchmarks.md, start-up).
//
// The worker URLs (`new URL("./scan-worker.js", import.meta.url)`) and `../../package.json` resolve the same
// from dist/bin/ as from dist/dump/; lazily required packages (createRequire(...)("cli-table3")) stay lazy and
// resolve from node_modules at run time; lz4-napi's native addon stays external. tscapd's own receive addon
// is not bundled either: src/capd/native.ts loads it with process.dlopen from `../native/tsflow_recv.node`
// relative to the module — dist/native/ from dist/bin/tscapd.js — where scripts/build-native.mjs copies it.
import { build } from "esbuild";

const entries = {
  tsdump: "dist/dump/main.js",
  "scan-worker": "dist/dump/scan-worker.js",
  tscapd: "dist/capd/main.js",
  "writer-worker": "dist/capd/writer-worker.js",
  "ingest-worker": "dist/capd/ingest-worker.js",
  "stream-worker": "dist/clickhouse/stream-worker.js",
  "monitor-worker": "dist/monitor/monitor-worker.js",
  tsexpire: "dist/capd/expire-main.js",
  tsreplay: "dist/replay/main.js",
  tspcapd: "dist/pcapd/main.js",
  tsweb: "dist/web/main.js",
  "web-worker": "dist/web/web-worker.js",
};

await build({
  entryPoints: Object.entries(entries).map(([out, input]) => ({
    out,
    in: new URL(`../${input}`, import.meta.url).pathname,
  })),
  outdir: new URL("../dist/bin/", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["lz4-napi"],
  // CommonJS packages inside an ES module bundle call require(): give them Node's.
  banner: {
    js: 'import { createRequire as __tsflowRequire } from "node:module"; const require = __tsflowRequire(import.meta.url);',
  },
  logLevel: "warning",
});

// tsweb's front end (browser code with uPlot and its CSS) into dist/web-assets/app.js and app.css, which tsweb
// serves itself: no CDN, works offline. tsweb finds them at ../web-assets/ from dist/web/ and dist/bin/ alike.
await build({
  entryPoints: [new URL("../src/web/client/app.ts", import.meta.url).pathname],
  outfile: new URL("../dist/web-assets/app.js", import.meta.url).pathname,
  bundle: true,
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  format: "esm",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
});
