// tsdump as a careless user or a hostile script drives it: absurd filters and formats, odd file names and
// paths, timestamps out of range. Each gets a clear message and nfdump's exit code, never a stack trace.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tsdump } from "../helpers/programs.js";

const tmp = mkdtempSync(join(tmpdir(), "tsdump-limits-"));

describe("tsdump: filters too deep or too long", () => {
  it.each([
    ["2,000 nested parentheses", `${"(".repeat(2000)}any${")".repeat(2000)}`, /nested too deep/],
    ["100,000 not", `${"not ".repeat(100_000)}any`, /nested too deep/],
    ["256 KiB of one word", "a".repeat(1 << 18), /syntax error/],
  ])("%s: exit 254 with the place, fast", async (_name, filter, message) => {
    const f = join(tmp, "filter.txt");
    writeFileSync(f, filter);
    const t0 = performance.now();
    const r = await tsdump(["-Z", "-f", f]);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(254);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/RangeError|    at /);
    expect(r.stderr.length).toBeLessThan(1000);
  });

  it("20,000 `and` terms are a good filter (as in nfdump)", async () => {
    const f = join(tmp, "and.txt");
    writeFileSync(f, Array.from({ length: 20_000 }, () => "any").join(" and "));
    const r = await tsdump(["-Z", "-f", f]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
