// SPDX-License-Identifier: BSD-3-Clause
// Hand-written types for the Peggy output beside this file (grammar/filter.peggy; build: npm run grammar).
import type { RawExpr } from "./ast.js";

export interface PeggyPosition {
  offset: number;
  line: number;
  column: number;
}
export interface PeggyLocation {
  source: unknown;
  start: PeggyPosition;
  end: PeggyPosition;
}
export type PeggyExpectation =
  | { type: "literal"; text: string; ignoreCase: boolean }
  | { type: "class"; parts: unknown[]; inverted: boolean; ignoreCase: boolean }
  | { type: "any" }
  | { type: "end" }
  | { type: "other"; description: string };

export class SyntaxError extends Error {
  location: PeggyLocation;
  expected: PeggyExpectation[] | null;
  found: string | null;
  format(sources: { source: unknown; text: string }[]): string;
}

export const StartRules: string[];
export function parse(input: string, options?: { startRule?: "Filter"; grammarSource?: unknown }): RawExpr;
