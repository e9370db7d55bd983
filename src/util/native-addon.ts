// SPDX-License-Identifier: BSD-3-Clause
// Loads one of the project's native addons (native/*.c, built by scripts/build-native.mjs). They are looked
// for in dist/native/ (beside the bundled programs in dist/bin/ and the compiled modules in dist/util/) and in
// native/build/Release/ (tests run from src/). Callers fall back to their JS path when this returns a reason.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const loaded = new Map<string, unknown>();

/** The exports object of addon `file` (e.g. "tsflow_lz4.node"), or why it cannot be used. Loaded once per thread. */
export function loadNativeAddon(file: string): object | string {
  if (loaded.has(file)) return loaded.get(file) as object | string;
  let result: unknown;
  if (process.platform !== "linux") result = `not available on ${process.platform}`;
  else {
    const path = [`../native/${file}`, `../../native/build/Release/${file}`]
      .map((p) => fileURLToPath(new URL(p, import.meta.url)))
      .find((p) => existsSync(p));
    if (path === undefined) result = "native addon not built";
    else {
      try {
        const module = { exports: {} };
        process.dlopen(module, path);
        result = module.exports;
      } catch (err) {
        result = `native addon failed to load: ${(err as Error).message}`;
      }
    }
  }
  loaded.set(file, result);
  return result as object | string;
}
