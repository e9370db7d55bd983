// The programs start through V8's code cache (scripts/bundle.mjs): a run leaves the cache of its bundle, named
// after the hash of the bundle's content so a rebuilt bundle never takes an old one; a damaged cache is rejected by V8,
// the run is unchanged, and the cache is written again. A query on one thread does not load the worker code.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { RecordBatch } from "../../src/record/batch.js";
import { FlowFileReader } from "../../src/store/reader.js";
import { FlowFileWriter } from "../../src/store/writer.js";
import { REPO_ROOT } from "../helpers/nfdump.js";
import { TSDUMP, tsdump } from "../helpers/programs.js";
import { randomBatch } from "../unit/store/helpers.js";

const BIN = join(REPO_ROOT, "dist/bin");

/**
 * The cache file the loader of bundle `name` uses: named after the hash of the bundle's content, and for tsdump
 * after the kind of run (`mode`: list, null, stat, aggr, info).
 */
function cacheOf(name: string, mode?: string): string {
  const id = createHash("sha256")
    .update(fs.readFileSync(join(BIN, `${name}.bundle.cjs`)))
    .digest("hex")
    .slice(0, 20);
  expect(fs.readFileSync(join(BIN, `${name}.js`), "utf8")).toContain(`${id}.bin`);
  const kind = mode !== undefined ? `${mode}-` : "";
  return join(BIN, ".v8-cache", `${name}-${kind}${process.version}-${process.arch}-${id}.bin`);
}

const stable = (text: string): string =>
  text
    .split("\n")
    .filter((l) => !l.startsWith("Sys:"))
    .join("\n");

describe("start-up through V8's code cache", () => {
  let file = "";
  beforeAll(() => {
    file = join(mkdtempSync(join(tmpdir(), "tsflow-startup-")), "flows.tsf");
    const w = FlowFileWriter.open(file, { fsync: false });
    w.appendBatchSync(randomBatch(3, 300, { v6: 0.2 }));
    w.closeSync();
  });

  it("a run leaves the cache of its bundle; the next run prints the same", async () => {
    const args = ["-r", file, "-s", "srcip/bytes", "-n", "5"];
    const cache = cacheOf("tsdump", "stat");
    fs.rmSync(cache, { force: true }); // the cache of an earlier run may be kept (a third of the bundle is enough)
    const first = await tsdump(args);
    expect(first.code).toBe(0);
    expect(fs.existsSync(cache)).toBe(true);
    // a run that compiled what a query needs (not only `-V`): above the third of the bundle below which the
    // loader writes the cache again
    expect(fs.statSync(cache).size).toBeGreaterThan(fs.statSync(join(BIN, "tsdump.bundle.cjs")).size / 3);
    const second = await tsdump(args);
    expect(second.code).toBe(0);
    expect(stable(second.stdout)).toBe(stable(first.stdout));
    expect(second.stderr).toBe(first.stderr);
  });

  it("a run of -o null keeps the cache an -o null run left (it is not written again at every exit)", async () => {
    const args = ["-r", file, "-o", "null"];
    const cache = cacheOf("tsdump", "null");
    fs.rmSync(cache, { force: true });
    expect((await tsdump(args)).code).toBe(0);
    const first = fs.statSync(cache);
    // -V compiles too little of the bundle: its cache is replaced by the next run's
    expect(first.size).toBeGreaterThan(fs.statSync(join(BIN, "tsdump.bundle.cjs")).size / 3);
    expect((await tsdump(args)).code).toBe(0);
    const second = fs.statSync(cache);
    expect([second.mtimeMs, second.ino]).toEqual([first.mtimeMs, first.ino]);
  });

  it("each kind of run keeps a cache of its own: a listing, -s, -o null and -V do not replace each other's", async () => {
    const kinds: [string, string[]][] = [
      ["list", ["-r", file, "-c", "5", "src net 0.0.0.0/1"]],
      ["stat", ["-r", file, "-s", "dstport/bytes"]],
      ["null", ["-r", file, "-o", "null"]],
      ["aggr", ["-r", file, "-A", "srcip"]],
      ["info", ["-V"]],
    ];
    for (const [kind] of kinds) fs.rmSync(cacheOf("tsdump", kind), { force: true });
    for (const [, args] of kinds) expect((await tsdump(args)).code).toBe(0);
    const first = kinds.map(([kind]) => fs.statSync(cacheOf("tsdump", kind)));
    // -V compiles little: its cache is small, and kept (its own kind)
    expect(first[4]!.size).toBeLessThan(first[0]!.size);
    for (const [, args] of kinds) expect((await tsdump(args)).code).toBe(0);
    const second = kinds.map(([kind]) => fs.statSync(cacheOf("tsdump", kind)));
    expect(second.map((s) => [s.mtimeMs, s.ino])).toEqual(first.map((s) => [s.mtimeMs, s.ino]));
  });

  it("a damaged cache is rejected, the run is the same, and the cache is written again", async () => {
    const args = ["-r", file, "-o", "csv"];
    const good = await tsdump(args);
    const cache = cacheOf("tsdump", "list");
    fs.writeFileSync(cache, Buffer.alloc(4096, 0x5a));
    const run = await tsdump(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(good.stdout);
    const rewritten = fs.readFileSync(cache);
    expect(rewritten.length).toBeGreaterThan(4096);
    expect(rewritten.subarray(0, 16).every((b) => b === 0x5a)).toBe(false);
  });

  it("each bundle is ASCII and the module function itself (the loader reads it as latin1 and compiles it as it is)", async () => {
    const bundles = fs.readdirSync(BIN).filter((f) => f.endsWith(".bundle.cjs"));
    expect(bundles.length).toBeGreaterThan(10);
    for (const name of bundles) {
      const text = fs.readFileSync(join(BIN, name), "latin1");
      expect(/^[\x00-\x7f]*$/.test(text), name).toBe(true);
      expect(text.startsWith("(function (exports, require, module, __filename, __dirname) {"), name).toBe(true);
      expect(text.endsWith("\n})"), name).toBe(true);
      // node's modules as they are: no copy of each export as a getter at each start (`import * as fs`)
      expect(text.includes('__toESM(require("node:'), name).toBe(false);
    }
    // text that is not ASCII in the source prints as before (escaped in the bundle)
    const values = Array.from({ length: 18 }, (_, i) => i + 1).join(" ");
    const run = await tsdump(["-r", file, "-X", `dst port in [${values}]`]);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("dstPort in [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 \u2026 (18)]");
  });

  it("tsdump exits as soon as its output is written, none of it lost through a pipe read slowly", async () => {
    // more than a pipe holds (64 KiB): tsdump's writes wait for the reader
    const big = join(mkdtempSync(join(tmpdir(), "tsflow-startup-exit-")), "flows.tsf");
    const w = FlowFileWriter.open(big, { fsync: false });
    w.appendBatchSync(randomBatch(5, 6000, { v6: 0.2 }));
    w.closeSync();
    const dir = mkdtempSync(join(tmpdir(), "tsflow-startup-exit-"));
    const preload = join(dir, "before-exit.cjs");
    const marker = join(dir, "before-exit");
    // Node emits beforeExit when its event loop runs empty, never on process.exit
    fs.writeFileSync(
      preload,
      `process.on("beforeExit", () => require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x"));\n`,
    );
    const fast = await tsdump(["-r", big, "-o", "extended"]);
    expect(fast.code).toBe(0);
    expect(fast.stdout.length).toBeGreaterThan(256 * 1024);
    const child = spawn(process.execPath, [TSDUMP, "-r", big, "-o", "extended", "not src port 1"], {
      env: { ...process.env, TZ: "UTC", NODE_OPTIONS: `--require ${preload}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stdout.resume();
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code).toBe(0);
    const slow = Buffer.concat(chunks).toString("utf8");
    // the same rows (the filter passes all of them) and summary but its Sys/Wall line
    expect(stable(slow).split("\n").length).toBe(stable(fast.stdout).split("\n").length);
    expect(slow.split("\n").slice(0, 6001)).toEqual(fast.stdout.split("\n").slice(0, 6001));
    if (process.platform === "linux") expect(fs.existsSync(marker)).toBe(false);
    // a run that fails keeps its exit status
    const bad = await tsdump(["-r", join(dir, "missing")]);
    expect(bad.code).not.toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every message of a run that reports much on stderr arrives through a pipe read late, with exit status 2", async () => {
    // 3000 one-row blocks, each with a damaged data CRC: 3000 lines on stderr, more than a pipe holds
    const dir = mkdtempSync(join(tmpdir(), "tsflow-startup-stderr-"));
    const damaged = join(dir, "damaged.tsf");
    const w = FlowFileWriter.open(damaged, { fsync: false });
    const b = new RecordBatch(1);
    for (let i = 0; i < 3000; i++) {
      b.reset();
      b.cols.srcPort[b.addRow()] = i;
      w.appendBatchSync(b);
    }
    w.closeSync();
    const r = FlowFileReader.open(damaged);
    const fd = fs.openSync(damaged, "r+");
    const byte = Buffer.alloc(1);
    for (let i = 0; i < r.blockCount; i++) {
      const at = r.blockInfo(i).offset + r.blockInfo(i).length - 1;
      fs.readSync(fd, byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0xff;
      fs.writeSync(fd, byte, 0, 1, at);
    }
    fs.closeSync(fd);
    r.close();
    const child = spawn(process.execPath, [TSDUMP, "-r", damaged], {
      env: { ...process.env, TZ: "UTC" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.pause();
    const closed = new Promise<number | null>((res) => child.on("close", res));
    // not read until the process has exited (a write lost at exit is lost for good) or has waited long enough to
    // be waiting for this reader
    const exited = new Promise((res) => child.on("exit", res));
    await Promise.race([exited, new Promise((res) => setTimeout(res, 2000))]);
    const chunks: Buffer[] = [];
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.resume();
    expect(await closed).toBe(2);
    const lines = Buffer.concat(chunks).toString("utf8").trimEnd().split("\n");
    expect(lines.length).toBe(3000);
    expect(lines[2999]).toMatch(/block 2999 offset \d+: data checksum/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a query on one thread loads neither the worker code nor ClickHouse's, nor modules it does not use", async () => {
    // Node's list of the built-in modules it loaded, written when the run exits
    const dir = mkdtempSync(join(tmpdir(), "tsflow-startup-modules-"));
    const preload = join(dir, "modules.cjs");
    const list = join(dir, "modules.txt");
    fs.writeFileSync(
      preload,
      `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")));\n`,
    );
    const run = await tsdump(["-r", file, "-s", "srcip/bytes", "-n", "5"], { NODE_OPTIONS: `--require ${preload}` });
    expect(run.code).toBe(0);
    const loaded = fs.readFileSync(list, "utf8").split("\n");
    expect(loaded).toContain("NativeModule fs");
    expect(loaded).not.toContain("NativeModule worker_threads");
    expect(loaded).not.toContain("NativeModule crypto");
    // commander's node:child_process is required on first use only, node:tty only for a terminal on stderr
    // (here a pipe): neither loads node:net and the stream classes
    expect(loaded).not.toContain("NativeModule child_process");
    expect(loaded).not.toContain("NativeModule net");
    expect(loaded).not.toContain("NativeModule stream");
    // the loader is CommonJS: Node's ES module loader is never started
    expect(loaded).not.toContain("NativeModule internal/modules/esm/module_job");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
