// SPDX-License-Identifier: BSD-3-Clause
// The physical columns an output field reads, so that a sorted listing keeps only those of every row
// (stats/row-store.ts): each format declares its set, built from these helpers; test/unit/format/columns.test.ts
// formats every token and mode from rows that hold nothing else.

import { fixName, type ExactCounter } from "../record/u64.js";
import type { AddrColumnName, PhysicalName } from "../record/schema.js";
import { RAW_ELEMENTS } from "../record/batch.js";

/** The raw elements of a row: NSEL connection id, ACL ids, user name and `-o raw`'s other elements. */
export { RAW_ELEMENTS };

/** What a format reads: physical columns and the raw elements. */
export type FormatColumn = PhysicalName | typeof RAW_ELEMENTS;

/** An address: its IPv4 word, IPv6 words and the flag telling which. */
export function addrColumns(col: AddrColumnName): PhysicalName[] {
  return [col, `${col}6`, "v6Flags"];
}

/** A u64 counter and its exact companion (record/u64.ts). */
export function counterColumns(col: ExactCounter): PhysicalName[] {
  return [col, fixName(col)];
}

/** A destination port that prints ICMP type.code for ICMP flows. */
export const ICMP_COLUMNS: readonly PhysicalName[] = ["proto", "dstPort", "icmpType", "icmpCode"];

/** Duration and times. */
export const DURATION_COLUMNS: readonly PhysicalName[] = ["msecFirst", "msecLast"];
