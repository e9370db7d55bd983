// SPDX-License-Identifier: BSD-3-Clause
// Bundles each program and each worker into one CommonJS file in dist/bin/ (esbuild), after tsc emitted dist/,
// and writes dist/bin/<name>.js: a small CommonJS script that runs the bundle through a V8 code cache.
//
// Why: Node 20 loads an unbundled program as ~80 modules (resolve, read, compile, link each) before tsdump
// reads its first block, and again in every scan worker; one file per program cuts that. Compiling the one file
// is still the largest part of start-up; Node 20 has no compile cache for ES modules (module.enableCompileCache
// is Node 22), but vm.Script takes V8's code cache for a CommonJS function. The loader keeps the code cache of
// the functions a run compiled in dist/bin/.v8-cache/ (or the temporary directory when dist/ is read-only) and
// hands it to V8 on the next start; V8 checks it against the source and its own version and flags, and a
// rejected cache is rewritten (docs/benchmarks.md, start-up). The loaders are CommonJS (dist/bin/package.json
// says so): Node starts an ES module entry through its ES module loader, which loads a score of its own modules
// (fs/promises, readline among them) before the first line runs.
//
// The worker URLs (`new URL("./scan-worker.js", import.meta.url)`) and `../../package.json` resolve the same
// from dist/bin/ as from dist/dump/ (import.meta.url is the bundle's own URL); lazily required packages
// (createRequire(...)("cli-table3"), lz4-napi) stay lazy and resolve from node_modules at run time. tscapd's own
// receive addon is not bundled either: src/capd/native.ts loads it with process.dlopen from
// `../native/tsflow_recv.node` relative to the module — dist/native/ from dist/bin/tscapd.js — where
// scripts/build-native.mjs copies it.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

/**
 * commander requires node:child_process at its top only to spawn the executables of subcommands, which tsflow's
 * programs have none of; loading it brings net, dgram and the stream classes into every start (docs/benchmarks.md).
 * The bundle gets commander with that require made on first use.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`bundle: ${args.path} no longer has: ${eager}`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: "js" };
    });
  },
};

/**
 * `import * as fs from "node:fs"` becomes, in a CommonJS bundle, a copy of the module's every export as a getter
 * (esbuild's __toESM), made at each start for each importing module, and each call goes through a getter. The
 * bundle takes the module object itself, which has the same members.
 */
const plainBuiltinNamespaces = {
  name: "plain-builtin-namespaces",
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const re = /^import \* as (\w+) from "(node:[\w/]+)";$/gm;
      if (!re.test(text)) return undefined;
      return { contents: text.replace(re, 'const $1 = require("$2");'), loader: "js" };
    });
  },
};

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
  "replay-worker": "dist/replay/replay-worker.js",
  tspcapd: "dist/pcapd/main.js",
  tsweb: "dist/web/main.js",
  "web-worker": "dist/web/web-worker.js",
};
const outdir = new URL("../dist/bin/", import.meta.url);
const packageVersion = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
rmSync(new URL(".v8-cache", outdir), { recursive: true, force: true });

await build({
  entryPoints: Object.entries(entries).map(([out, input]) => ({
    out: `${out}.bundle`,
    in: new URL(`../${input}`, import.meta.url).pathname,
  })),
  outdir: outdir.pathname,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["lz4-napi"],
  // the version as text: no read of package.json at each start (src/cli/common.ts)
  define: { "import.meta.url": "__tsflowModuleUrl", TSFLOW_VERSION: JSON.stringify(packageVersion) },
  banner: { js: 'var __tsflowModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
  plugins: [lazyChildProcess, plainBuiltinNamespaces],
});
writeFileSync(new URL("package.json", outdir), `${JSON.stringify({ type: "commonjs" })}\n`);

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

/**
 * The kind of tsdump run, from its arguments: each kind keeps a code cache of its own. A cache holds the functions
 * the runs that wrote it compiled; a run that needs others compiles them from source at every start (a needle's
 * listing code, when the cache is a scan's), and a cache of every kind is larger to read (docs/benchmarks.md).
 * A wrong guess costs only time. Embedded in the loader by its source text: no closure, no module.
 */
function tsdumpMode(argv) {
  const valued =
    /^(-[rRMtTcnsAOPovEwJfW]|--(read|range|multi-dir|time-window|last|count|top|stat|aggregate|order|post-filter|output|verify|exporters|write|recompress|filter-file|workers|clickhouse))$/;
  let kind = "list";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-V" || a === "--version" || a === "-h" || a === "--help") return "info";
    if (a.startsWith("-s") || a === "--stat") kind = "stat";
    else if (kind !== "stat" && (a.startsWith("-A") || a === "--aggregate" || /^-[abB]$/.test(a))) kind = "aggr";
    else if (kind === "list" && (a === "-o" || a === "--output") && argv[i + 1] === "null") kind = "null";
    else if (kind === "list" && a === "-onull") kind = "null";
    if (valued.test(a)) i++;
  }
  return argv.length === 0 ? "info" : kind;
}
const modes = { tsdump: tsdumpMode };

/** The CommonJS script that starts bundle `name` (content hash `id`) with V8's code cache (see above). */
function loader(name, id) {
  const mode = modes[name];
  // a run of tsdump -V compiles under 30 % of its bundle, -o null (no formatter loaded) under 50 %, a listing more
  const minShare = name.endsWith("-worker") ? 4 : 3;
  return `#!/usr/bin/env node
// Generated by scripts/bundle.mjs: runs ${name}.bundle.cjs with V8's code cache of its last run (CommonJS:
// dist/bin/package.json); node:worker_threads only when the cache is written.
"use strict";
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { tmpdir } = require("node:os");
const { dirname, join } = require("node:path");
const { Script } = require("node:vm");

const file = join(__dirname, "${name}.bundle.cjs");
// V8 checks a cache against the source's length only: the bundle's content hash (taken at build) names the cache
${mode ? `// one cache per kind of run\nconst mode = (${mode.toString()})(process.argv.slice(2));\n` : ""}const key = \`${name}-${mode ? "${mode}-" : ""}\${process.version}-\${process.arch}-${id}.bin\`;
const dirs = [join(dirname(file), ".v8-cache"), join(tmpdir(), \`tsflow-v8-cache-\${process.getuid?.() ?? 0}\`)];
let cached;
for (const d of dirs) {
  try {
    cached = readFileSync(join(d, key));
    break;
  } catch {
    // not there: the next place, else compile from source
  }
}
// ASCII (checked at build): read as latin1, a one-byte string without UTF-8 decoding; the file is the function
const source = readFileSync(file, "latin1");
const script = new Script(source, { filename: file, cachedData: cached });
// written again when missing, rejected, or made by a run that compiled little of the bundle (a run stopped
// early; tsdump -V keeps a small cache of its own): the
// functions a run compiled are in the cache it writes, those it loaded from a cache included. A worker's
// bundle is mostly code its thread never runs (a scan worker's full cache is under half its source): its
// threshold is lower, else every run would write it again, in the middle of its work
if (cached === undefined || script.cachedDataRejected || ${mode ? 'mode !== "info" && ' : ""}cached.length < source.length / ${minShare}) {
  // after the run; a worker is terminated without an exit event, often as soon as it has replied: 100 ms after it
  // starts (its hot code is compiled by then)
  const { isMainThread, threadId } = require("node:worker_threads");
  const save = () => {
    const data = script.createCachedData();
    for (const d of dirs) {
      try {
        mkdirSync(d, { recursive: true });
        const tmp = join(d, \`\${key}.\${process.pid}.\${threadId}\`);
        writeFileSync(tmp, data);
        renameSync(tmp, join(d, key));
        return;
      } catch {
        // read-only: the next place
      }
    }
  };
  if (isMainThread) process.once("exit", save);
  else setTimeout(save, 100).unref();
}
const bundleModule = { exports: {} };
script.runInThisContext()(bundleModule.exports, createRequire(file), bundleModule, file, dirname(file));
`;
}

/**
 * The bundle as the loader compiles it: wrapped in the CommonJS module function (the loader passes the file to V8
 * as it is, no copy joined at run time), in ASCII so the loader reads it as latin1. esbuild escapes what is not
 * ASCII in code; what is left is in comments, escaped here all the same (`\\uXXXX`, valid in comments, strings,
 * templates and regular expressions alike).
 */
function wrapped(text) {
  // a shebang kept from the entry module is not valid inside the function
  const body = text.startsWith("#!") ? `//${text.slice(2)}` : text;
  const code = `(function (exports, require, module, __filename, __dirname) {${body}\n})`.replace(
    /[^\x00-\x7f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (!/^[\x00-\x7f]*$/.test(code)) throw new Error("bundle: not ASCII after escaping");
  return code;
}

for (const name of Object.keys(entries)) {
  const bundle = new URL(`${name}.bundle.cjs`, outdir);
  const code = wrapped(readFileSync(bundle, "utf8"));
  writeFileSync(bundle, code);
  writeFileSync(
    new URL(`${name}.js`, outdir),
    loader(name, createHash("sha256").update(code).digest("hex").slice(0, 20)),
  );
}
