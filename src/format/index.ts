// SPDX-License-Identifier: BSD-3-Clause
// Output format registry (nfdump printmap, goflow2 format drivers): `-o <name>` → Formatter.
//
//   line long extended biline bilong nsel nel   predefined fmt formats (+ `6` variants: line6, long6, …)
//   fmt:<format>                               user format with nfdump %tokens (`%line` etc. expand)
//   csv  csv:<tokens>  csv-legacy              see csv.ts
//   json ndjson pipe raw null
//
// A Formatter is compiled once per query; record() is called per row in file/block order and writes through
// the BufferedOutput. `summary` tells tsdump which footer nfdump prints after this format.

import type { RecordBatch } from "../record/batch.js";
import { CsvFormatter, CsvLegacyFormatter, PipeFormatter, type CsvEngine } from "./csv.js";
import { FormatError } from "./errors.js";
import { compileFmt, PREDEFINED_FORMATS, type CompiledFmt } from "./fmt.js";
import { JSON_RUN_SEPARATOR, JsonFormatter, NdjsonFormatter } from "./json.js";
import { BufferedOutput, type Output } from "./out.js";
import { NullFormatter } from "./null.js";
import { RawFormatter } from "./raw.js";

export interface Formatter {
  /** Header (column titles, `[`, csv header); nothing with -q where nfdump prints nothing. */
  prolog(out: Output): void;
  record(batch: RecordBatch, row: number, out: Output): void;
  /**
   * The records of rows `sel[0..n)` of a batch (rows 0..n when `sel` is null), as record() prints them one by
   * one: the listing's path, one call per block (the column formats and csv run one generated loop).
   */
  records(batch: RecordBatch, sel: ArrayLike<number> | null, n: number, out: Output): void;
  /** Closing text (`]` for json). */
  epilog(out: Output): void;
  /**
   * Which footer follows (unless -q): `text` = the Summary/Time window/Total/Sys lines (summary.ts),
   * `csv-legacy` = 1.7.1's csv Summary block, `none` = nothing (json, ndjson, pipe, csv).
   */
  readonly summary: "text" | "csv-legacy" | "none";
  /**
   * Text between two runs' output when a listing is formatted in pieces by several formatters (tsdump -W:
   * one formatter per thread, one run per work item) and joined in order: `,\n` between json objects.
   */
  readonly runSeparator?: string;
  /** Starts a run: the next record is formatted as the first of a piece (no leading separator). */
  newRun?(): void;
  /**
   * The physical columns record() and records() read (format/columns.ts), or undefined for any: a sorted
   * listing keeps only these of each row.
   */
  readonly columns?: ReadonlySet<string> | undefined;
}

export interface FormatterOptions {
  /** -N */
  readonly plain?: boolean;
  /** -6 (the `…6` names set it too) */
  readonly longV6?: boolean;
  /** -q: no header line, no json brackets */
  readonly quiet?: boolean;
  /** csv writer: direct (default) or csv-stringify */
  readonly csvEngine?: CsvEngine;
}

/** Every name `-o` accepts (the prefixes `fmt:` and `csv:` take a format after the colon). */
export const FORMAT_NAMES: readonly string[] = [
  ...PREDEFINED_FORMATS.map(([n]) => n),
  "line6",
  "long6",
  "extended6",
  "biline6",
  "bilong6",
  "raw",
  "csv",
  "csv-legacy",
  "json",
  "ndjson",
  "pipe",
  "null",
  "fmt:",
  "csv:",
];

class FmtFormatter implements Formatter {
  readonly summary = "text" as const;
  readonly columns: ReadonlySet<string>;
  private readonly fmt: CompiledFmt;
  private readonly quiet: boolean;
  constructor(format: string, opts: FormatterOptions) {
    this.fmt = compileFmt(format, { plain: opts.plain ?? false, longV6: opts.longV6 ?? false });
    this.columns = this.fmt.physical;
    this.quiet = opts.quiet ?? false;
  }
  prolog(out: Output): void {
    if (!this.quiet) out.write(`${this.fmt.header}\n`);
  }
  record(b: RecordBatch, i: number, out: Output): void {
    if (out instanceof BufferedOutput) {
      if (!out.stopped) this.fmt.emit(b, i, out);
    } else out.write(`${this.fmt.line(b, i)}\n`);
  }
  records(b: RecordBatch, sel: ArrayLike<number> | null, n: number, out: Output): void {
    if (out instanceof BufferedOutput) this.fmt.emitRows(b, sel, n, out);
    else for (let j = 0; j < n; j++) this.record(b, sel === null ? j : sel[j]!, out);
  }
  epilog(): void {
    // nothing after the rows
  }
  /** The header line (also used by -A / -s record tables). */
  get header(): string {
    return this.fmt.header;
  }
}

function wrap(
  f: {
    prolog(out: Output): void;
    record(b: RecordBatch, i: number, out: Output): void;
    records?(b: RecordBatch, sel: ArrayLike<number> | null, n: number, out: Output): void;
    epilog(out: Output): void;
    readonly runSeparator?: string;
    newRun?(): void;
    readonly columns?: ReadonlySet<string>;
  },
  summary: Formatter["summary"],
): Formatter {
  return {
    summary,
    ...(f.columns !== undefined ? { columns: f.columns } : {}),
    ...(f.runSeparator !== undefined ? { runSeparator: f.runSeparator } : {}),
    ...(f.newRun
      ? {
          newRun: () => {
            f.newRun!();
          },
        }
      : {}),
    prolog: (out) => {
      f.prolog(out);
    },
    record: (b, i, out) => {
      f.record(b, i, out);
    },
    records: f.records
      ? (b, sel, n, out) => {
          f.records!(b, sel, n, out);
        }
      : (b, sel, n, out) => {
          for (let j = 0; j < n && !out.stopped; j++) f.record(b, sel === null ? j : sel[j]!, out);
        },
    epilog: (out) => {
      f.epilog(out);
    },
  };
}

/** Levenshtein distance for "did you mean" (commander's suggestSimilar idea). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  }
  return d[a.length]![b.length]!;
}

function suggest(name: string): string {
  let best = "";
  let bestD = Infinity;
  for (const n of FORMAT_NAMES) {
    const dd = distance(name.toLowerCase(), n.replace(/:$/, ""));
    if (dd < bestD) {
      bestD = dd;
      best = n;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean ${best}?)` : "";
}

/**
 * Builds the formatter for an `-o` argument.
 * @throws FormatError ERR_FORMAT_UNKNOWN (with a "did you mean" hint), ERR_FORMAT_TOKEN, ERR_FORMAT_CSV_TOKEN.
 */
export function createFormatter(spec: string, opts: FormatterOptions = {}): Formatter {
  if (spec.startsWith("fmt:")) return new FmtFormatter(spec.slice(4), opts);
  if (spec.startsWith("csv:")) return wrap(new CsvFormatter(spec.slice(4), opts.csvEngine), "none");
  const lower = spec.toLowerCase();
  let name = lower;
  let longV6 = opts.longV6 ?? false;
  if (name.endsWith("6") && PREDEFINED_FORMATS.some(([n]) => n === name.slice(0, -1))) {
    name = name.slice(0, -1);
    longV6 = true;
  }
  const predefined = PREDEFINED_FORMATS.find(([n]) => n === name);
  if (predefined) return new FmtFormatter(predefined[1], { ...opts, longV6 });
  switch (lower) {
    case "csv":
      return wrap(new CsvFormatter(undefined, opts.csvEngine), "none");
    case "csv-legacy":
      return wrap(new CsvLegacyFormatter(opts.quiet ?? false), "csv-legacy");
    case "json":
      return wrap(new JsonFormatter(opts.quiet ?? false), "none");
    case "ndjson":
      return wrap(new NdjsonFormatter(), "none");
    case "pipe":
      return wrap(new PipeFormatter(), "none");
    case "raw":
      return wrap(new RawFormatter(opts.longV6 ?? false), "text");
    case "null":
      return new NullFormatter();
    default:
      throw new FormatError("ERR_FORMAT_UNKNOWN", `unknown output format '${spec}'${suggest(spec)}`);
  }
}

/**
 * What a listing formatted in pieces needs (tsdump -W): the text between two pieces (`runSeparator`), and
 * whether it must be formatted by one formatter in order (`raw` numbers its records).
 */
export function pieceRules(spec: string): { separator: string; sequential: boolean } {
  const lower = spec.toLowerCase();
  return { separator: lower === "json" ? JSON_RUN_SEPARATOR : "", sequential: lower === "raw" };
}

/** The format string `-A` uses when no -o is given (see aggregate.ts). */
export { aggregateFormat } from "./aggregate.js";
export { compileFmt, expandPredefined, PREDEFINED_FORMATS } from "./fmt.js";
export { BufferedOutput, BytesOutput, StringOutput, type Output } from "./out.js";
export { FormatError } from "./errors.js";
export * from "./summary.js";
export * from "./stat-table.js";
