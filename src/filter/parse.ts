// SPDX-License-Identifier: BSD-3-Clause
// parse(text) → RawExpr: @include expansion, the Peggy parser, and the translation of Peggy's SyntaxError
// into a FilterSyntaxError with a caret excerpt and a "did you mean" hint for near-miss keywords.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { RawExpr } from "./ast.js";
import { FilterFileError, FilterSyntaxError, locationOf } from "./errors.js";
import { PROTOCOLS } from "./names.js";
import { parse as peggyParse, SyntaxError as PeggySyntaxError } from "./parser.generated.js";

/** nfdump's MAX_INCLUDE_DEPTH */
export const MAX_INCLUDE_DEPTH = 10;

export interface ParseOptions {
  /** Directory relative @include paths are tried against after the working directory (the -f file's folder). */
  readonly baseDir?: string;
}

/** Parses filter text (nfdump syntax) into the raw tree. Throws FilterSyntaxError. */
export function parseFilter(text: string, options: ParseOptions = {}): { tree: RawExpr; text: string } {
  const expanded = text.includes("@include") ? expandIncludes(text, options.baseDir, 0) : text;
  try {
    return { tree: peggyParse(expanded), text: expanded };
  } catch (err) {
    if (err instanceof PeggySyntaxError) throw fromPeggy(err, expanded);
    throw err;
  }
}

/** Reads a filter file (tsdump -f). Throws FlowError ERR_FILTER_FILE when it cannot be read. */
export function readFilterFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const msg = err instanceof Error && "code" in err ? String((err as { code: unknown }).code) : String(err);
    throw new FilterFileError(`filter: cannot read filter file ${path}: ${msg}`, { cause: err });
  }
}

function expandIncludes(text: string, baseDir: string | undefined, depth: number): string {
  return text.replace(/@include[ \t]+([^ \t\r\n]+)/g, (whole: string, file: string, offset: number) => {
    if (depth >= MAX_INCLUDE_DEPTH) {
      throw new FilterSyntaxError(
        "ERR_FILTER_INCLUDE",
        `@include nested more than ${MAX_INCLUDE_DEPTH} deep`,
        text,
        locationOf(text, offset, offset + whole.length),
      );
    }
    const candidates = isAbsolute(file) || baseDir === undefined ? [file] : [file, resolve(baseDir, file)];
    let content: string | undefined;
    let used = file;
    let lastErr: unknown;
    for (const c of candidates) {
      try {
        content = readFileSync(c, "utf8");
        used = c;
        break;
      } catch (err) {
        lastErr = err;
      }
    }
    if (content === undefined) {
      const code =
        lastErr instanceof Error && "code" in lastErr ? String((lastErr as { code: unknown }).code) : "unreadable";
      throw new FilterSyntaxError(
        "ERR_FILTER_INCLUDE",
        `cannot open include file ${file}: ${code}`,
        text,
        locationOf(text, offset, offset + whole.length),
        { cause: lastErr },
      );
    }
    // keep the included text on its own lines so a trailing `#` comment cannot swallow what follows
    return `\n${expandIncludes(content, dirname(resolve(used)), depth + 1)}\n`;
  });
}

const WORD = /^[A-Za-z0-9_:.\-]+/;

/** Shown instead of the full list when the parser expected any primitive. */
const PRIMARY_HINT = ["not", "(", "any", "ip", "net", "port", "proto", "flags", "packets", "bytes", "as", "if", "vlan"];

function fromPeggy(err: PeggySyntaxError, text: string): FilterSyntaxError {
  const start = err.location.start.offset;
  const rest = text.slice(start);
  const m = WORD.exec(rest);
  const token = start >= text.length ? "" : m ? m[0] : rest.slice(0, 1);
  const expected = describeExpected(err);
  const found = token === "" ? "end of filter" : `"${token}"`;
  const what =
    expected.length > 12
      ? `a filter primitive (${PRIMARY_HINT.filter((k) => expected.includes(k)).join(", ")}, ...)`
      : expected.join(", ");
  const message = `syntax error: expected ${what} but ${found} found`;
  const suggestion = token === "" ? undefined : suggest(token, expected);
  return new FilterSyntaxError(
    "ERR_FILTER_SYNTAX",
    message,
    text,
    locationOf(text, start, start + Math.max(1, token.length)),
    {
      expected,
      suggestion,
      cause: err,
    },
  );
}

function describeExpected(err: PeggySyntaxError): string[] {
  const out = new Set<string>();
  for (const e of err.expected ?? []) {
    switch (e.type) {
      case "literal":
        out.add(e.text.toLowerCase());
        break;
      case "other":
        if (e.description !== "whitespace") out.add(e.description);
        break;
      case "end":
        out.add("end of filter");
        break;
      case "class":
      case "any":
        break;
    }
  }
  // keywords first (alphabetical), then punctuation and descriptions
  return [...out].sort((a, b) => Number(!/^[a-z]/.test(a)) - Number(!/^[a-z]/.test(b)) || a.localeCompare(b));
}

/** "did you mean": a keyword within a small edit distance, or `proto X` when X is a protocol name. */
export function suggest(word: string, expected: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (expected.includes("proto") && PROTOCOLS.has(w)) return `proto ${w}`;
  let best: string | undefined;
  let bestD = Infinity;
  const candidates = expected.includes("direction qualifier")
    ? [...expected, "src", "dst", "in", "out", "prev", "next"]
    : expected;
  for (const k of candidates) {
    if (!/^[a-z]/.test(k) || k === w) continue;
    // a keyword the word is a prefix of wins ties ("prot" → "proto", not "port")
    const d = editDistance(w, k) - (k.startsWith(w) ? 0.5 : 0);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  const limit = w.length <= 3 ? 1 : w.length <= 6 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) =>
    Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      row[j] = v;
    }
  }
  return d[m]![n]!;
}
