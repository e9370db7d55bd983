// tsdump -W n formats a listing in pieces (one per work item, on n threads) and joins them in order: every
// output format must come out byte-equal to the single-threaded run (-W 1), json included (one array, `,`
// between objects where two pieces meet) and raw (its RecordCount numbers run on over the whole listing).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FlowFileWriter } from "../../src/store/writer.js";
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
