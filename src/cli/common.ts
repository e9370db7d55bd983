// SPDX-License-Identifier: BSD-3-Clause
// Shared CLI pieces: exit codes, the program version, and option parsers that throw commander's
// InvalidArgumentError so every program reports bad values the same way.

import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";

/** Exit codes: 0 ok, 1 usage, 2 unreadable/corrupt data, 254 filter syntax (as nfdump). */
export const EXIT = { OK: 0, USAGE: 1, DATA: 2, FILTER: 254 } as const;

/** package.json's version, written into the bundles by scripts/bundle.mjs (esbuild `define`). */
declare const TSFLOW_VERSION: string | undefined;

/** The version of package.json: the bundles have it as text; the modules of dist/ read the file. */
export const VERSION: string =
  typeof TSFLOW_VERSION === "string"
    ? TSFLOW_VERSION
    : (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Parses a decimal integer within [min, max]. */
export function parseIntOption(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`not an integer: ${value}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

/** Collects repeated options into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
