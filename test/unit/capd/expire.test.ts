import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  expireDirectory,
  parseLifetime,
  parseSize,
  readLimits,
  scanDirectory,
  writeLimits,
} from "../../../src/store/expire.js";
import { flowFilePath } from "../../../src/store/layout.js";

const HOUR = 3_600_000;

/** A -S 1 tree with one 64 KiB file per hour for `hours` hours ending at `end`. */
function tree(hours: number, end: number): string {
  const dir = mkdtempSync(join(tmpdir(), "tsflow-expire-"));
  for (let h = hours - 1; h >= 0; h--) {
    const p = flowFilePath(dir, end - h * HOUR, { interval: 300, zone: "utc", subdirLevel: 1 });
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, Buffer.alloc(65536, 1));
  }
  return dir;
}

describe("expiry", () => {
  it("parses nfexpire's units", () => {
    expect(parseSize("1G")).toBe(1073741824);
    expect(parseSize("500m")).toBe(500 * 1024 * 1024);
    expect(parseSize("0")).toBe(0);
    expect(parseLifetime("12")).toBe(12 * HOUR);
    expect(parseLifetime("1w2d")).toBe(9 * 24 * HOUR);
    expect(parseLifetime("90M")).toBe(90 * 60_000);
    expect(() => parseSize("12Q")).toThrow(/bad size/);
    expect(() => parseLifetime("3y")).toThrow(/bad lifetime/);
  });

  it("deletes the oldest files down to the watermark of the lifetime, and empty day directories", () => {
    const end = Date.UTC(2026, 10, 23, 12, 0, 0);
    const dir = tree(72, end); // three days
    expect(scanDirectory(dir).files).toBe(72);
    const r = expireDirectory(dir, { maxSize: 0, maxLife: 48 * HOUR, watermark: 50 }, end);
    // lifetime 48 h, watermark 50 %: keep files at most 24 h old
    expect(r.files).toBe(25);
    expect(r.deleted).toBe(47);
    expect(r.first).toBe(end - 24 * HOUR);
    expect(existsSync(join(dir, "2026/11/20"))).toBe(false);
    expect(existsSync(join(dir, "2026/11/21"))).toBe(false);
  });

  it("deletes by size down to the watermark and never below one file", () => {
    const end = Date.UTC(2026, 10, 23, 12, 0, 0);
    const dir = tree(10, end);
    const per = scanDirectory(dir).size / 10;
    const r = expireDirectory(dir, { maxSize: per * 8, maxLife: 0, watermark: 50 }, end);
    expect(r.files).toBe(4);
    expect(expireDirectory(dir, { maxSize: 1, maxLife: 0, watermark: 50 }, end).files).toBe(1);
  });

  it("leaves a directory within its limits alone and stores limits for tscapd -e", () => {
    const end = Date.UTC(2026, 10, 23, 12, 0, 0);
    const dir = tree(5, end);
    writeLimits(dir, { maxSize: parseSize("1G"), maxLife: parseLifetime("30d"), watermark: 90 });
    expect(readLimits(dir)).toEqual({ maxSize: 1073741824, maxLife: 30 * 24 * HOUR, watermark: 90 });
    expect(expireDirectory(dir, readLimits(dir), end).deleted).toBe(0);
    expect(readdirSync(join(dir, "2026/11/23")).length).toBe(5);
  });

  it("tsexpire -u then -e works from the command line", () => {
    const dir = tree(48, Date.now());
    const bin = join(import.meta.dirname, "../../../dist/bin/tsexpire.js");
    execFileSync(process.execPath, [bin, "-u", dir, "-t", "12", "-w", "100"]);
    const out = execFileSync(process.execPath, [bin, "-e", dir], { encoding: "utf8" });
    expect(out).toMatch(/^Expired 36 files/);
    expect(scanDirectory(dir).files).toBe(12);
  });
});
