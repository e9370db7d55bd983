// The module structure of src/: no import cycles (type-only imports included), the store's readers do not
// depend on its writer, and LZ4 is reached only through src/store/lz4/index.ts.

import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../../src");

interface Module {
  file: string;
  /** resolved relative imports (src files) */
  local: string[];
  /** package imports */
  packages: string[];
}

function modules(): Module[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) files.push(p);
    }
  };
  walk(SRC);
  return files.map((file) => {
    const text = fs.readFileSync(file, "utf8");
    const local: string[] = [];
    const packages: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) local.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.push(spec);
    }
    return { file, local, packages };
  });
}

const rel = (f: string): string => path.relative(SRC, f);

describe("module structure of src/", () => {
  const mods = modules();
  const byFile = new Map(mods.map((m) => [m.file, m] as const));

  it("has no import cycles", () => {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 1);
      stack.push(f);
      for (const d of byFile.get(f)?.local ?? []) {
        if (state.get(d) === 1) cycles.push(stack.slice(stack.indexOf(d)).map(rel).join(" → "));
        else if (state.get(d) === undefined && byFile.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 2);
    };
    for (const m of mods) if (state.get(m.file) === undefined) visit(m.file);
    expect(cycles).toEqual([]);
  });

  it("the store's readers and recover() do not import the writer", () => {
    const writer = path.join(SRC, "store/writer.ts");
    const readers = ["store/reader.ts", "store/nffile/reader.ts", "store/recover.ts", "store/block-index.ts"];
    for (const r of readers) expect(byFile.get(path.join(SRC, r))?.local ?? [], r).not.toContain(writer);
  });

  it("only src/store/lz4/ imports lz4-napi and the LZ4 back ends", () => {
    const lz4Dir = path.join(SRC, "store/lz4") + path.sep;
    const backEnds = ["wasm.ts", "native.ts", "js.ts"].map((b) => lz4Dir + b);
    const outside = mods.filter((m) => !m.file.startsWith(lz4Dir));
    const offenders = outside
      .filter((m) => m.packages.includes("lz4-napi") || m.local.some((l) => backEnds.includes(l)))
      .map((m) => rel(m.file));
    expect(offenders).toEqual([]);
    expect(fs.existsSync(path.join(lz4Dir, "index.ts"))).toBe(true);
  });
});
