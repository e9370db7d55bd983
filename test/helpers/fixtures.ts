// SPDX-License-Identifier: BSD-3-Clause
// The packet fixtures of test/fixtures/packets (provenance in its README.md): capture paths by corpus name and
// their golden files. A missing fixture is an error, never a reason to skip.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";

export const FIXTURES = resolve(import.meta.dirname, "../fixtures/packets");

/** The path of a capture or golden file named as in the corpus ("telegraf/nf5-example.pcap"); throws when absent. */
export function fixture(name: string): string {
  const path = resolve(FIXTURES, name.replace("/", "--"));
  if (!existsSync(path)) throw new Error(`missing test fixture ${path} (see test/fixtures/packets/README.md)`);
  return path;
}

/** Whether a golden file exists beside a capture, as is or gzipped (`path` or `path.gz`). */
export function hasGolden(path: string): boolean {
  return existsSync(path) || existsSync(`${path}.gz`);
}

/** A golden file's text; large ones are stored gzipped as `path.gz`. Throws when neither exists. */
export function readGolden(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8");
  if (existsSync(`${path}.gz`)) return gunzipSync(readFileSync(`${path}.gz`)).toString("utf8");
  throw new Error(`missing golden file ${path} (see test/fixtures/packets/README.md)`);
}

export interface FixtureCapture {
  /** "<corpus directory>/<capture>", e.g. "telegraf/nf5-example". */
  readonly name: string;
  readonly pcap: string;
}

/** Every capture of the fixtures, sorted by name. */
export function fixtureCaptures(): FixtureCapture[] {
  const out = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".pcap"))
    .map((f) => ({ name: f.slice(0, -5).replace("--", "/"), pcap: resolve(FIXTURES, f) }));
  if (out.length === 0) throw new Error(`no captures in ${FIXTURES}`);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
