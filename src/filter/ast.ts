// SPDX-License-Identifier: BSD-3-Clause
// Filter syntax trees.
//
// RawExpr is what the Peggy parser (grammar/filter.peggy) returns: keywords recognised, values still text,
// with source offsets so later passes can put a caret under a bad value. resolve.ts turns it into a
// FilterNode tree over schema columns (the IR): the compiler (compile.ts), the interpreter and the zone-map
// predicate all work on FilterNode only.

import type { AddrColumnName, ColumnName, ColumnOfType } from "../record/schema.js";

/** [start, end) character offsets into the filter text. */
export type Span = readonly [number, number];

export interface RawNum {
  readonly kind: "num";
  readonly v: number;
  readonly text: string;
  readonly at: Span;
}
export interface RawWord {
  readonly kind: "word";
  readonly s: string;
  readonly at: Span;
}
export interface RawPrefix {
  readonly kind: "prefix";
  readonly addr: RawWord;
  readonly len: RawNum | null;
  readonly mask: RawWord | null;
  readonly at: Span;
}
export interface RawList {
  readonly kind: "list";
  readonly items: readonly (RawNum | RawWord | RawPrefix)[];
  readonly at: Span;
}
export type RawValue = RawNum | RawWord | RawPrefix | RawList;

export type RawCmp = "eq" | "gt" | "lt" | "ge" | "le";

export interface RawPrim {
  readonly type: "prim";
  /** Canonical primitive name chosen by the grammar (e.g. "ip", "portlist", "bytes", "unsupported"). */
  readonly prim: string;
  readonly dir: RawWord | null;
  readonly cmp: RawCmp | null;
  readonly value: RawValue | null;
  readonly sub?: RawWord;
  readonly at: Span;
}
export interface RawBinary {
  readonly type: "and" | "or";
  readonly left: RawExpr;
  readonly right: RawExpr;
  readonly at: Span;
}
export interface RawNot {
  readonly type: "not";
  readonly expr: RawExpr;
  readonly at: Span;
}
export type RawExpr = RawPrim | RawBinary | RawNot;

// ── IR ──────────────────────────────────────────────────────────────────────────────────────────────

export type CmpOp = "eq" | "gt" | "lt" | "ge" | "le";

/** Columns held in one width-1 numeric array (everything except addr columns). */
export type NumColumn = Exclude<ColumnName, AddrColumnName>;
export type MplsColumn = ColumnOfType<"u32"> & `mpls${number}`;

export type DerivedFn = "duration" | "pps" | "bps" | "bpp" | "mplsEos";

export type FilterNode =
  | { readonly t: "const"; readonly v: boolean }
  | { readonly t: "and"; readonly a: readonly FilterNode[] }
  | { readonly t: "or"; readonly a: readonly FilterNode[] }
  | { readonly t: "not"; readonly a: FilterNode }
  /** cols[col][i] op v */
  | { readonly t: "cmp"; readonly col: NumColumn; readonly op: CmpOp; readonly v: number }
  /** ((cols[col][i] >>> shift) & mask) op v — MPLS label / exp fields */
  | {
      readonly t: "bits";
      readonly col: NumColumn;
      readonly shift: number;
      readonly mask: number;
      readonly op: CmpOp;
      readonly v: number;
    }
  /** TCP flags: all of `mask` set, or (nfdump's rule under an odd number of `not`s) any of them set */
  | { readonly t: "flags"; readonly mask: number; readonly any: boolean }
  /** cols[col][i] is one of `values` (sorted, unique) */
  | { readonly t: "set"; readonly col: NumColumn; readonly values: readonly number[] }
  /** the row's value of an addr column is IPv6 (v6 = true) or IPv4 */
  | { readonly t: "family"; readonly col: AddrColumnName; readonly v6: boolean }
  /** IPv4 value with (addr & mask) === net */
  | { readonly t: "prefix4"; readonly col: AddrColumnName; readonly net: number; readonly mask: number }
  /** IPv6 value inside words/len */
  | { readonly t: "prefix6"; readonly col: AddrColumnName; readonly words: readonly number[]; readonly len: number }
  /** value inside any of the prefixes (IPv4 ones apply to IPv4 rows, IPv6 ones to IPv6 rows) */
  | {
      readonly t: "list";
      readonly col: AddrColumnName;
      readonly v4: readonly Prefix4[];
      readonly v6: readonly Prefix6[];
    }
  | { readonly t: "fn"; readonly fn: DerivedFn; readonly op: CmpOp; readonly v: number }
  /** any of the ten MPLS labels equals v */
  | { readonly t: "mplsAny"; readonly v: number }
  /** the file's ident string equals `value` (known at scan time) */
  | { readonly t: "ident"; readonly value: string };

export interface Prefix4 {
  readonly net: number;
  readonly len: number;
}
export interface Prefix6 {
  readonly words: readonly number[];
  readonly len: number;
}
