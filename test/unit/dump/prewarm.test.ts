// Early worker start (src/dump/prewarm.ts): which option sets start workers for nfdump input, and that the pool
// hands out the prewarmed workers first and terminates the ones nobody took.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildProgram, parseQueryOptions } from "../../../src/dump/options.js";
import { plansNffileWorkers, prewarmWorkers, releaseWorkers, takeWorkers } from "../../../src/dump/prewarm.js";

const TMP = mkdtempSync(join(tmpdir(), "prewarm-"));
afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
});
// an nffile header (magic 0xA50C, layout 2) is all the guess reads; a tsflow file starts otherwise
const nfDir = join(TMP, "nf");
const tsFile = join(TMP, "tsflow.bin");
{
  mkdirSync(nfDir);
  writeFileSync(join(nfDir, "nfcapd.202611231300"), Uint8Array.of(0x0c, 0xa5, 2, 0, ...new Array<number>(36).fill(0)));
  writeFileSync(tsFile, Uint8Array.of(0x54, 0x53, 0x46, 0x4c, 1, 0, 0, 0));
}
const plans = (...argv: string[]): boolean => plansNffileWorkers(parseQueryOptions(buildProgram(), argv));

describe("plansNffileWorkers", () => {
  it("starts workers for nfdump input on the scans runQuery gives to workers", () => {
    expect(plans("-R", nfDir, "-o", "null")).toBe(true);
    expect(plans("-R", nfDir, "src ip 10.0.3.77")).toBe(true);
    expect(plans("-r", join(nfDir, "nfcapd.202611231300"), "-s", "srcas/bytes")).toBe(true);
    expect(plans("-R", nfDir, "-A", "srcip,dstip", "-O", "bytes")).toBe(true);
  });

  it("not for tsflow input, -W 1, -c, -w, sorted listings, record statistics, -b, -I", () => {
    expect(plans("-r", tsFile, "-o", "null")).toBe(false);
    expect(plans("-R", nfDir, "-W", "1")).toBe(false);
    expect(plans("-R", nfDir, "-c", "10")).toBe(false);
    expect(plans("-R", nfDir, "-w", join(TMP, "out"))).toBe(false);
    expect(plans("-R", nfDir, "-O", "bytes")).toBe(false);
    expect(plans("-R", nfDir, "-s", "record/bytes")).toBe(false);
    expect(plans("-R", nfDir, "-b")).toBe(false);
    expect(plans("-R", nfDir, "-I")).toBe(false);
    expect(plans("-R", join(TMP, "missing"))).toBe(false);
  });
});

describe("prewarmed workers", () => {
  // (from the sources the worker script does not exist: the workers fail to start, which the pool must survive)
  it("are handed out first, new ones after them; the ones left are terminated", async () => {
    prewarmWorkers(2);
    await new Promise((r) => setTimeout(r, 200)); // let them fail (a missing script): replaced when taken
    const [a, b, c] = takeWorkers(3);
    for (const w of [a, b, c]) w!.on("error", () => undefined);
    const first = takeWorkers(0);
    expect(first).toEqual([]);
    expect(new Set([a, b, c]).size).toBe(3);
    await Promise.all([a, b, c].map((w) => w!.terminate()));
    prewarmWorkers(1);
    await releaseWorkers();
    // nothing left to hand out: a new worker
    const [d] = takeWorkers(1);
    expect(d).toBeDefined();
    d!.on("error", () => undefined);
    await d!.terminate();
  });
});
