// SPDX-License-Identifier: BSD-3-Clause
// The filter's public API: compileFilter(text) → CompiledFilter { scan, mayMatch, source, ... }.
//
//   const f = compileFilter("src net 10.0.0.0/8 and dst port in [80 443]");
//   if (f.mayMatch(block.zone)) { const k = f.scan(batch, sel, ident); ... rows sel[0..k) match }

import type { RecordBatch } from "../record/batch.js";
import type { ZoneMap } from "../record/zone.js";
import type { FilterNode } from "./ast.js";
import { evaluateRow, generateScan, zoneMay } from "./compile.js";
import { explainFilter } from "./explain.js";
import { FilterSyntaxError, locationOf } from "./errors.js";
import { parseFilter, type ParseOptions } from "./parse.js";
import { resolveFilter } from "./resolve.js";

export interface CompiledFilter {
  /** The filter text as given (after @include expansion). */
  readonly text: string;
  /** The generated scan function's source (tsdump -X). */
  readonly source: string;
  /** The checked, folded filter tree. */
  readonly tree: FilterNode;
  /** The tree, one node per line (tsdump -X prints this, then `source`). */
  readonly explain: string;
  /** True when the filter matches every record (`any`, empty filter, or folded to true). */
  readonly matchesAll: boolean;
  /** True when the filter can match nothing (e.g. `not any`). */
  readonly matchesNone: boolean;
  /** Physical columns the scan reads (a reader may decompress only these). */
  readonly columns: readonly string[];
  /**
   * Writes the indices of the matching rows of `batch` (rows 0..batch.length-1) into `sel` and returns their
   * count. `sel` must hold at least batch.length entries. `ident` is the file's ident (for `ident X`).
   */
  scan(batch: RecordBatch, sel: Uint32Array, ident?: string): number;
  /**
   * False only when no row of a block with this zone map can match (conservative). Pass the file's ident
   * to let `ident X` decide too (UNKNOWN_ZONE + ident = a whole-file test).
   */
  mayMatch(zone: ZoneMap, ident?: string): boolean;
  /** The slow interpreter over one row (differential tests). */
  matchRow(batch: RecordBatch, row: number, ident?: string): boolean;
}

/**
 * Compiles an nfdump filter expression.
 * @throws FilterSyntaxError (ERR_FILTER_SYNTAX, ERR_FILTER_VALUE, ERR_FILTER_INCLUDE) or its subclass
 *   FilterUnsupportedError (ERR_FILTER_UNSUPPORTED); all print with `format()`.
 */
export function compileFilter(text: string, options: ParseOptions = {}): CompiledFilter {
  return tooComplex(text, () => compile(text, options));
}

/** Runs `f`; a stack overflow in a pass over a (still too) deep tree becomes a filter error, never a trace. */
function tooComplex<T>(text: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new FilterSyntaxError(
        "ERR_FILTER_LIMIT",
        "filter too complex (nested too deep)",
        text,
        locationOf(text, 0, 1),
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

function compile(text: string, options: ParseOptions): CompiledFilter {
  const parsed = parseFilter(text, options);
  const tree = resolveFilter(parsed.tree, parsed.text);
  const gen = generateScan(tree);
  const scanFn = gen.scan;
  const matchesAll = tree.t === "const" && tree.v;
  const matchesNone = tree.t === "const" && !tree.v;
  return {
    text: parsed.text,
    source: gen.source,
    tree,
    explain: explainFilter(tree),
    matchesAll,
    matchesNone,
    columns: gen.columns,
    scan(batch: RecordBatch, sel: Uint32Array, ident?: string): number {
      const n = batch.length;
      if (sel.length < n) throw new RangeError(`filter: selection vector holds ${sel.length} rows, batch has ${n}`);
      return scanFn(batch.cols, n, sel, ident);
    },
    mayMatch(zone: ZoneMap, ident?: string): boolean {
      return zoneMay(tree, zone, true, ident);
    },
    matchRow(batch: RecordBatch, row: number, ident?: string): boolean {
      return evaluateRow(tree, batch, row, ident);
    },
  };
}

/** Checks a filter without keeping it (tsdump -Z). Throws like compileFilter. */
export function checkFilter(text: string, options: ParseOptions = {}): void {
  tooComplex(text, () => {
    const parsed = parseFilter(text, options);
    resolveFilter(parsed.tree, parsed.text);
  });
}

export { readFilterFile, parseFilter, MAX_INCLUDE_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_NESTING } from "./parse.js";
export { FilterSyntaxError, FilterUnsupportedError, FilterFileError } from "./errors.js";
export type { FilterLocation, FilterPosition } from "./errors.js";
export type { FilterNode } from "./ast.js";
export { explainFilter } from "./explain.js";
