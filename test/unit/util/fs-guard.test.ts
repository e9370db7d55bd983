// SPDX-License-Identifier: BSD-3-Clause
// The fs guard every test file runs under (vitest setupFiles): reads outside the repository and the temp
// directory throw, whichever fs entry point a test uses; reads inside both still work.
import fs, { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../../..");
const SHARED = resolve(REPO, "../shared");

describe("fs guard (test/helpers/fs-guard.ts)", () => {
  it("throws on ../shared whichever fs function reads it", async () => {
    const outside = /outside the repository/;
    expect(() => readFileSync(join(SHARED, "DESIGN.md"))).toThrow(outside);
    expect(() => readFileSync("../shared/DESIGN.md")).toThrow(outside); // relative to the repository
    expect(() => existsSync(join(SHARED, "testdata"))).toThrow(outside);
    expect(() => readdirSync(SHARED)).toThrow(outside);
    expect(() => statSync(SHARED)).toThrow(outside);
    expect(() => fs.openSync(new URL(`file://${SHARED}/DESIGN.md`), "r")).toThrow(outside);
    expect(() => createReadStream(join(SHARED, "DESIGN.md"))).toThrow(outside);
    await expect(readFile(join(SHARED, "DESIGN.md"))).rejects.toThrow(outside);
    await expect(stat(SHARED)).rejects.toThrow(outside);
    await expect(fs.promises.readdir(SHARED)).rejects.toThrow(outside);
    expect(() => readFileSync("/root/.npmrc")).toThrow(outside);
  });

  it("lets the repository, the temp directory and the system trees be read", () => {
    expect(readFileSync(join(REPO, "package.json"), "utf8")).toContain('"name": "tsflow"');
    expect(existsSync(join(REPO, "test/fixtures/packets/README.md"))).toBe(true);
    const dir = fs.mkdtempSync(join(tmpdir(), "fs-guard-"));
    fs.writeFileSync(join(dir, "a"), "x");
    expect(readFileSync(join(dir, "a"), "utf8")).toBe("x");
    const fd = fs.openSync(join(dir, "a"), "r");
    expect(readFileSync(fd, "utf8")).toBe("x"); // descriptors are not paths
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true });
    expect(existsSync("/proc/self/status")).toBe(true);
  });
});
