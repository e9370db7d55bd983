// The library API as a user imports it ("tsflow" through package.json exports, the built dist/): query() and
// openFlows() agree with tsdump on an nfcapd file, and the example scripts run.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  captureWithNfcapd,
  syntheticStream,
  NFDUMP_MISSING,
  nfdump,
  readDatagramStream,
  REPO_ROOT,
} from "../helpers/nfdump.js";

const run = promisify(execFile);

describe.skipIf(NFDUMP_MISSING !== undefined)('library API (import from "tsflow")', () => {
  let file = "";
  beforeAll(async () => {
    const stream = await syntheticStream({ flows: 20_000, proto: "v9", seed: 11 });
    file = await captureWithNfcapd("tsdump-e2e-v9-20000", () => readDatagramStream(stream), ["-y"]);
  });

  it("examples/top-ports.mjs prints nfdump's top ports and the TCP byte total", async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, "examples/top-ports.mjs"), file], {
      cwd: REPO_ROOT,
    });
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe("top dstport by bytes");
    const want = (await nfdump(["-r", file, "-q", "-s", "dstport/bytes", "-n", "5", "-N", "proto tcp"]))
      .trim()
      .split("\n")
      .filter((l) => /^\d{4}-/.test(l))
      .map((l) => l.trim().split(/\s+/)[4]);
    expect(lines.slice(1, 6).map((l) => l.split("\t")[0])).toEqual(want);
    const total = (await nfdump(["-r", file, "-q", "-N", "-o", "fmt:%byt", "proto tcp"]))
      .trim()
      .split("\n")
      .reduce((s, l) => s + Number(l.trim()), 0);
    const [, bytes] = lines[6]!.split("\t");
    expect(Number(bytes)).toBe(total);
  });
});
