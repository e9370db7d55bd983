// SPDX-License-Identifier: BSD-3-Clause
// URL parameters → tsdump's words, checked before any work starts. Every view is a URL in tsdump's words:
//
//   /?t=START-END                                   overview (t: tsdump's -t syntax)
//   /stats?s=srcip/bytes&n=10&t=…&filter=…          -s (repeatable), -n
//   /flows?filter=…&t=…&n=…                         the listing, -c n
//   /aggregate?A=srcip,dstip&O=bytes&n=…&t=…        -A, -O, -n
//
// Text is bounded (lengths, counts); the filter goes only to the filter parser; t only to tsdump's -t parser.

import { parseTimeWindow } from "../dump/options.js";
import type { TimeWindow } from "../engine/window.js";

/** A bad parameter: answered 400 with this message. */
export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParamError";
  }
}

export const MAX_FILTER = 4096;
const MAX_WORD = 256;
const MAX_STATS = 8;

/** The parameters a view understands; anything else is ignored. */
export interface ViewParams {
  /** t as given ("" when none) */
  readonly t: string;
  readonly window: TimeWindow | undefined;
  readonly filter: string;
  readonly stats: readonly string[];
  readonly aggregate: string;
  readonly order: string;
  readonly n: number | undefined;
}

function one(q: URLSearchParams, name: string, max: number): string {
  const all = q.getAll(name);
  if (all.length > 1) throw new ParamError(`${name}: given ${all.length} times`);
  const v = all[0] ?? "";
  if (v.length > max) throw new ParamError(`${name}: longer than ${max} characters`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) throw new ParamError(`${name}: control characters`);
  return v.trim();
}

/** Parses tsdump's -t text; "" = no window. */
export function parseWindow(t: string): TimeWindow | undefined {
  if (t === "") return undefined;
  try {
    return parseTimeWindow(t);
  } catch (err) {
    throw new ParamError(`t: ${(err as Error).message}`);
  }
}

/** Reads and checks the parameters of a view. @throws ParamError */
export function parseViewParams(q: URLSearchParams): ViewParams {
  const t = one(q, "t", MAX_WORD);
  const filter = one(q, "filter", MAX_FILTER);
  const stats = q
    .getAll("s")
    .flatMap((s) => s.trim().split(/\s+/))
    .filter((s) => s !== "");
  if (stats.length > MAX_STATS) throw new ParamError(`s: at most ${MAX_STATS} statistics`);
  for (const s of stats) {
    if (s.length > MAX_WORD || !/^[A-Za-z0-9_/:,.-]+$/.test(s))
      throw new ParamError(`s: bad statistic '${s.slice(0, 40)}'`);
  }
  const aggregate = one(q, "A", MAX_WORD);
  if (aggregate !== "" && !/^[A-Za-z0-9_/,]+$/.test(aggregate)) throw new ParamError("A: bad aggregation keys");
  const order = one(q, "O", 32);
  if (order !== "" && !/^[A-Za-z0-9_:]+$/.test(order)) throw new ParamError("O: bad order");
  const nText = one(q, "n", 12);
  let n: number | undefined;
  if (nText !== "") {
    if (!/^\d+$/.test(nText)) throw new ParamError(`n: not a number: ${nText}`);
    n = Number(nText);
  }
  return { t, window: parseWindow(t), filter, stats, aggregate, order, n };
}
