// SPDX-License-Identifier: BSD-3-Clause
// Filter errors: every problem with a filter's text is a FilterSyntaxError carrying the location and a
// format() that prints the text with a caret under the offending token (peggy's style). tsdump prints
// format() and exits 254 as nfdump does.
//
// Codes (stable): ERR_FILTER_SYNTAX (grammar), ERR_FILTER_VALUE (a value out of range or unparsable),
// ERR_FILTER_UNSUPPORTED (an nfdump primitive over a field tsflow does not store yet),
// ERR_FILTER_INCLUDE (@include nesting or an unreadable include file), ERR_FILTER_FILE (-f file unreadable),
// ERR_FILTER_LIMIT (longer or nested deeper than the parser takes).

import { FlowError } from "../util/errors.js";

export interface FilterPosition {
  readonly offset: number;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export interface FilterLocation {
  readonly start: FilterPosition;
  readonly end: FilterPosition;
}

export function positionAt(text: string, offset: number): FilterPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(0, offset), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: end, line, column: end - lineStart + 1 };
}

export function locationOf(text: string, start: number, end: number): FilterLocation {
  return { start: positionAt(text, start), end: positionAt(text, Math.max(start, end)) };
}

/** Characters of the filter line shown before and after the error. */
const EXCERPT_BEFORE = 100;
const EXCERPT_AFTER = 100;

export type FilterErrorCode =
  "ERR_FILTER_SYNTAX" | "ERR_FILTER_VALUE" | "ERR_FILTER_UNSUPPORTED" | "ERR_FILTER_INCLUDE" | "ERR_FILTER_LIMIT";

export class FilterSyntaxError extends FlowError {
  /** The filter text the location refers to (after @include expansion). */
  readonly text: string;
  readonly location: FilterLocation;
  /** What the parser expected there (syntax errors only). */
  readonly expected: readonly string[];
  /** A near-miss keyword, when one is close to the offending word. */
  readonly suggestion: string | undefined;

  constructor(
    code: FilterErrorCode,
    message: string,
    text: string,
    location: FilterLocation,
    extra: { expected?: readonly string[]; suggestion?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.text = text;
    this.location = location;
    this.expected = extra.expected ?? [];
    this.suggestion = extra.suggestion;
  }

  /**
   * The message, the offending line of the filter and a caret line under the token, plus a "did you mean"
   * hint when there is one:
   *
   *     filter: line 1, column 6: syntax error: expected ... but "prot" found
   *       port prot tcp
   *            ^^^^
   *     did you mean "proto"?
   */
  format(): string {
    const { start, end } = this.location;
    const lines = this.text.split("\n");
    const whole = lines[start.line - 1] ?? "";
    // a long line (a generated filter) is shown around the error only
    const from = Math.max(0, start.column - 1 - EXCERPT_BEFORE);
    const src = `${from > 0 ? "..." : ""}${whole.slice(from, start.column - 1 + EXCERPT_AFTER)}${
      whole.length > start.column - 1 + EXCERPT_AFTER ? "..." : ""
    }`;
    const col = start.column - from + (from > 0 ? 3 : 0);
    const width = Math.min(
      EXCERPT_AFTER,
      end.line === start.line ? Math.max(1, end.column - start.column) : Math.max(1, whole.length - start.column + 1),
    );
    const pad = src.slice(0, col - 1).replace(/[^\t]/g, " ");
    let out = `filter: line ${start.line}, column ${start.column}: ${this.message}\n  ${src}\n  ${pad}${"^".repeat(width)}`;
    if (this.suggestion !== undefined) out += `\ndid you mean "${this.suggestion}"?`;
    return out;
  }
}

/** A known nfdump primitive over a field tsflow does not store (yet): never a silent false. */
export class FilterUnsupportedError extends FilterSyntaxError {
  constructor(message: string, text: string, location: FilterLocation) {
    super("ERR_FILTER_UNSUPPORTED", message, text, location);
  }
}

/** A filter file (tsdump -f) that cannot be read. */
export class FilterFileError extends FlowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_FILTER_FILE", message, options);
  }
}
