// SPDX-License-Identifier: BSD-3-Clause
// ZoneMap: what a file block says about its rows without decompressing them. The store writes and reads
// zone maps (src/store), the filter compiler turns a filter into a predicate over one (src/filter), so a
// needle search skips every block that cannot hold a match. Defined here so both sides share the contract.
//
// Every answer must be conservative: `true` / a wider range when unsure. A false "cannot match" drops data.

import type { AddrColumnName, PhysicalName } from "./schema.js";

export interface ZoneMap {
  /** Rows in the block. */
  readonly rows: number;

  /**
   * Smallest and largest value of a width-1 numeric physical column over the block's rows (an absent, all-zero
   * column has min = max = 0). For addr columns this is over the rows whose value is IPv4 (`<addr>` u32), and
   * undefined when the block has no IPv4 value in that column. Undefined when the block keeps no range.
   */
  min(column: PhysicalName): number | undefined;
  max(column: PhysicalName): number | undefined;

  /** False only when no row has an IPv4 value of `column` in [lo, hi] (u32, inclusive). */
  mayContainV4(column: AddrColumnName, lo: number, hi: number): boolean;

  /**
   * False only when no row has an IPv6 value of `column` inside the prefix `words`/`length`
   * (`words` = four big-endian u32 words, 0 ≤ length ≤ 128).
   */
  mayContainV6(column: AddrColumnName, words: ArrayLike<number>, length: number): boolean;

  /** False only when no row of `column` is IPv6 (resp. IPv4). */
  hasV6(column: AddrColumnName): boolean;
  hasV4(column: AddrColumnName): boolean;
}

/** A zone map that knows nothing: every question answers "may match". */
export const UNKNOWN_ZONE: ZoneMap = {
  rows: 0,
  min: () => undefined,
  max: () => undefined,
  mayContainV4: () => true,
  mayContainV6: () => true,
  hasV6: () => true,
  hasV4: () => true,
};
