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
/** Longest filter text (after @include expansion): far above any list a script builds, checked before parsing. */
export const MAX_FILTER_LENGTH = 4 << 20;
/**
 * Deepest nesting of parentheses and `not`s: the parser and the passes over the tree recurse once per level
 * (a few thousand levels exhaust the stack). nfdump's bison parser stops near 10,000 with "memory exhausted".
 */
export const MAX_FILTER_NESTING = 500;

export interface ParseOptions {
  /** Directory relative @include paths are tried against after the working directory (the -f file's folder). */
  readonly baseDir?: string;
}

/** Parses filter text (nfdump syntax) into the raw tree. Throws FilterSyntaxError. */
export function parseFilter(text: string, options: ParseOptions = {}): { tree: RawExpr; text: string } {
  const expanded = text.includes("@include") ? expandIncludes(text, options.baseDir, 0) : text;
  checkLimits(expanded);
  try {
    return { tree: peggyParse(expanded), text: expanded };
  } catch (err) {
    if (err instanceof PeggySyntaxError) throw fromPeggy(err, expanded);
    throw err;
  }
}

/**
 * Rejects a filter the parser cannot take, before parsing: longer than MAX_FILTER_LENGTH, or nested deeper
 * than MAX_FILTER_NESTING (each `(` and each `not` or `!` before a primitive is a level; `and`/`or` end the
 * `not`s of their level). Skips `#` comments and quoted strings. One pass over the text.
 */
function checkLimits(text: string): void {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new FilterSyntaxError(
      "ERR_FILTER_LIMIT",
      `filter too long: ${text.length} characters (at most ${MAX_FILTER_LENGTH})`,
      text,
      locationOf(text, MAX_FILTER_LENGTH, MAX_FILTER_LENGTH + 1),
    );
  }
  // `nots[k]`: the not-levels open at parenthesis depth k; `depth`: parentheses + every level's nots
  const nots: number[] = [0];
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < n && text.charCodeAt(i) !== 10) i++;
    } else if (c === 0x22 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 0x22) i++;
    } else if (c === 0x28 /* ( */) {
      nots.push(0);
      depth++;
    } else if (c === 0x29 /* ) */) {
      if (nots.length > 1) depth -= 1 + nots.pop()!;
    } else if (c === 0x21 /* ! */ && text.charCodeAt(i + 1) !== 0x3d /* = */) {
      nots[nots.length - 1]!++;
      depth++;
    } else if (isWordChar(c) && (i === 0 || !isWordChar(text.charCodeAt(i - 1)))) {
      let j = i;
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      const word = j - i <= 3 ? text.slice(i, j).toLowerCase() : "";
      if (word === "not") {
        nots[nots.length - 1]!++;
        depth++;
      } else if (word === "and" || word === "or") {
        depth -= nots[nots.length - 1]!;
        nots[nots.length - 1] = 0;
      }
      i = j - 1;
    } else if ((c === 0x26 /* & */ || c === 0x7c) /* | */ && text.charCodeAt(i + 1) === c) {
      depth -= nots[nots.length - 1]!;
      nots[nots.length - 1] = 0;
      i++;
    }
    if (depth > MAX_FILTER_NESTING) {
      throw new FilterSyntaxError(
        "ERR_FILTER_LIMIT",
        `filter nested too deep: more than ${MAX_FILTER_NESTING} levels of parentheses and not`,
        text,
        locationOf(text, i, i + 1),
      );
    }
  }
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
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
/** Longest offending word a syntax error shows (and tries to correct). */
const MAX_TOKEN_SHOWN = 64;

/** Shown instead of the full list when the parser expected any primitive. */
const PRIMARY_HINT = ["not", "(", "any", "ip", "net", "port", "proto", "flags", "packets", "bytes", "as", "if", "vlan"];

function fromPeggy(err: PeggySyntaxError, text: string): FilterSyntaxError {
  const start = err.location.start.offset;
  const rest = text.slice(start);
  const m = WORD.exec(rest);
  // (a word of a garbage filter may be megabytes long: shown cut, and too long for a suggestion)
  const word = start >= text.length ? "" : m ? m[0] : rest.slice(0, 1);
  const token = word.length > MAX_TOKEN_SHOWN ? `${word.slice(0, MAX_TOKEN_SHOWN)}...` : word;
  const expected = describeExpected(err);
  const found = token === "" ? "end of filter" : `"${token}"`;
  const what =
    expected.length > 12
      ? `a filter primitive (${PRIMARY_HINT.filter((k) => expected.includes(k)).join(", ")}, ...)`
      : expected.join(", ");
  const message = `syntax error: expected ${what} but ${found} found`;
  const suggestion = token === "" || word.length > MAX_TOKEN_SHOWN ? undefined : suggest(token, expected);
  return new FilterSyntaxError(
    "ERR_FILTER_SYNTAX",
    message,
    text,
    locationOf(text, start, start + Math.max(1, Math.min(word.length, MAX_TOKEN_SHOWN))),
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
