// SPDX-License-Identifier: BSD-3-Clause
// StatsError: errors of the statistics and aggregation engine (-s, -A, -a, -O), codes ERR_STATS_<WHAT>.

import { FlowError } from "../util/errors.js";

export type StatsErrorCode =
  | "ERR_STATS_UNKNOWN_ELEMENT"
  | "ERR_STATS_UNKNOWN_ORDER"
  | "ERR_STATS_BAD_SPEC"
  | "ERR_STATS_TOO_MANY"
  | "ERR_STATS_UNKNOWN_KEY"
  | "ERR_STATS_BAD_MASK"
  | "ERR_STATS_DUPLICATE_KEY"
  | "ERR_STATS_MEMORY";

export class StatsError extends FlowError {
  declare readonly code: StatsErrorCode;
}

/** Levenshtein distance, for "did you mean" hints (names are short; no hot path). */
function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** " (did you mean x?)" for the closest candidates, or "" when nothing is close (commander's suggestSimilar rule). */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const w = word.toLowerCase();
  let best = Infinity;
  let found: string[] = [];
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    const limit = Math.max(1, Math.floor(c.length * 0.4));
    if (d > limit) continue;
    if (d < best) {
      best = d;
      found = [c];
    } else if (d === best && !found.includes(c)) {
      found.push(c);
    }
  }
  if (found.length === 0) {
    // a prefix is a good hint too ("srcpo" → srcport)
    for (const c of candidates) if (w.length >= 3 && c.toLowerCase().startsWith(w)) found.push(c);
  }
  if (found.length === 0) return "";
  return ` (did you mean ${found.slice(0, 3).join(", ")}?)`;
}
