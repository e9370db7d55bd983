// End to end: tscapd's default layout is time-partitioned (-S 1, %Y/%m/%d); -S 0 keeps nfcapd's flat directory;
// tsdump -R reads both.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/nfdump.js";
import { startTscapd, tsdump } from "../helpers/programs.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "tscapd-layout-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.startsWith("tscapd."))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

async function capture(args: readonly string[], out: string): Promise<void> {
  const d = await startTscapd(["-l", out, ...args]);
  try {
    await run(process.execPath, [join(REPO_ROOT, "dist/bin/tsreplay.js"), "--synthetic", "5000", "-p", String(d.port)]);
    await new Promise((ok) => setTimeout(ok, 300));
  } finally {
    await d.stop();
  }
}

describe("tscapd directory layout", () => {
  it("writes %Y/%m/%d by default, flat with -S 0, and tsdump -R reads both", async () => {
    const tree = join(dir, "tree");
    const flat = join(dir, "flat");
    await capture([], tree);
    await capture(["-S", "0"], flat);
    const t = files(tree);
    expect(t.length).toBeGreaterThan(0);
    for (const f of t) expect(f).toMatch(/^\d{4}\/\d{2}\/\d{2}\/tscapd\.\d{12}$/);
    const f = files(flat);
    expect(f.length).toBeGreaterThan(0);
    for (const name of f) expect(name).toMatch(/^tscapd\.\d{12}$/);
    for (const root of [tree, flat]) {
      const r = await tsdump(["-R", root, "-o", "null"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toContain("total flows: 5000,");
    }
  }, 60_000);
});
