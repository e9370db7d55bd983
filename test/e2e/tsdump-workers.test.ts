// tsdump -W n formats a listing in pieces (one per work item, on n threads) and joins them in order: every
// output format must come out byte-equal to the single-threaded run (-W 1), json included (one array, `,`
// between objects where two pieces meet) and raw (its RecordCount numbers run on over the whole listing).
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { FlowFileWriter } from "../../src/store/writer.js";
import { REPO_ROOT } from "../helpers/nfdump.js";
import { tsdump } from "../helpers/programs.js";
import { randomBatch } from "../unit/store/helpers.js";

/** Drops the lines that measure the run itself (CPU times). */
const stable = (text: string): string =>
  text
    .split("\n")
    .filter((l) => !l.startsWith("Sys:"))
    .join("\n");

const BLOCKS = 12;
const ROWS = 200;

describe("tsdump -W 1..4: every output format byte-equal", () => {
  let file = "";
  beforeAll(() => {
    file = join(mkdtempSync(join(tmpdir(), "tsdump-workers-")), "flows.tsf");
    const w = FlowFileWriter.open(file, { codec: "lz4", creator: "test" });
    for (let b = 0; b < BLOCKS; b++)
      w.appendBatchSync(randomBatch(100 + b, ROWS, { v6: 0.3, t0: 1_795_435_500_000 + b * 10_000 }));
    w.closeSync();
  });

  it.each([
    [["-o", "line"]],
    [["-o", "long"]],
    [["-o", "extended"]],
    [["-o", "biline"]],
    [["-o", "nsel"]],
    [["-o", "line6"]],
    [["-o", "csv"]],
    [["-o", "csv-legacy"]],
    [["-o", "csv:%ts,%sa,%da,%byt"]],
    [["-o", "json"]],
    [["-o", "json", "-q"]],
    [["-o", "ndjson"]],
    [["-o", "pipe"]],
    [["-o", "raw"]],
    [["-o", "fmt:%ts %sap -> %dap %pr %pkt %byt"]],
    [["-o", "null"]],
    [["-s", "srcip/bytes", "-n", "20"]],
    [["-s", "dstport/flows", "-s", "proto"]],
    [["-A", "proto,dstport", "-O", "bytes"]],
    [["-a", "-O", "packets", "-n", "50"]],
    [["-A", "srcip", "-o", "json"]],
  ])("%j", async (args) => {
    // worker threads even for these few blocks (without the override a small input is scanned on one thread)
    const runs = await Promise.all(
      [1, 2, 3, 4].map((n) => tsdump(["-W", String(n), "-r", file, ...args], { TSFLOW_WORKER_MIN_BLOCKS: "1" })),
    );
    const one = runs[0]!;
    expect(one.code).toBe(0);
    expect(one.stdout.length).toBeGreaterThan(100);
    if (args.includes("json") && !args.includes("-q")) expect(() => JSON.parse(one.stdout) as unknown).not.toThrow();
    for (const r of runs.slice(1)) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(one.stderr);
      const same = stable(r.stdout) === stable(one.stdout); // (a failed toBe on a long text takes long to print)
      expect(same).toBe(true);
    }
  });
});

describe("a worker that read with the read-ahead", () => {
  // Node unloads an addon that only a worker loaded at the worker's teardown: the read-ahead thread, told to end
  // at close, must be joined first, else it can still be running the addon's code (SIGSEGV, ~1 run in 15 when its
  // thread was detached). Sixty workers one after the other, each reading every block with the queue on.
  it("ends without crashing the process when its addon is unloaded", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tsdump-ahead-")), "flows.tsf");
    const w = FlowFileWriter.open(file, { codec: "lz4", creator: "test" });
    for (let b = 0; b < 8; b++) w.appendBatchSync(randomBatch(300 + b, 2000, { t0: 1_795_435_500_000 + b * 10_000 }));
    w.closeSync();
    const reader = pathToFileURL(join(REPO_ROOT, "dist/store/reader.js")).href;
    const script = `
      const { Worker } = require("node:worker_threads");
      const body = \`
        const { workerData } = require("node:worker_threads");
        import(workerData.reader).then(({ FlowFileReader }) => {
          const r = FlowFileReader.open(workerData.file);
          let rows = 0;
          for (let i = 0; i < r.blockCount; i++) rows += r.readBlock(i, undefined, i + 1 < r.blockCount ? i + 1 : undefined)?.length ?? 0;
          const hits = r.aheadHits;
          r.close();
          if (rows !== 16000 || hits === 0) process.exit(3);
        });\`;
      (async () => {
        for (let k = 0; k < 60; k++) {
          const code = await new Promise((ok) => new Worker(body, { eval: true, workerData: ${JSON.stringify({ reader, file })} }).on("exit", ok));
          if (code !== 0) process.exit(code);
        }
      })();`;
    const r = await promisify(execFile)(process.execPath, ["-e", script]).then(
      () => ({ code: 0, signal: null }),
      (e: unknown) => ({ code: (e as { code?: number }).code, signal: (e as { signal?: string }).signal }),
    );
    expect(r).toEqual({ code: 0, signal: null });
  }, 60_000);
});
