// SPDX-License-Identifier: BSD-3-Clause
// The LZ4 block decoder of the system's liblz4 (native/lz4.c, built by scripts/build-native.mjs), for the
// nffile reader: ≈ 1.4× the WebAssembly decoder (lz4-wasm.ts) on nfcapd's blocks. The addon is looked for in
// dist/native/ (beside the bundled programs in dist/bin/ and the compiled modules in dist/store/nffile/) and in
// native/build/Release/ (tests run from src/). Without it, or without liblz4.so.1 on the machine, or with
// TSFLOW_LZ4=wasm, the reader keeps the WebAssembly decoder.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** decompress(src, offset, length, dst): bytes written into dst, or -1 (malformed input). */
export type NativeLz4Decompress = (src: Uint8Array, offset: number, length: number, dst: Uint8Array) => number;

const ADDON_FILE = "tsflow_lz4.node";
let loaded: NativeLz4Decompress | null | undefined;

/** The native decoder, or null when it cannot be used. */
export function nativeLz4(): NativeLz4Decompress | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux" || process.env["TSFLOW_LZ4"] === "wasm") return loaded;
  const path = [`../native/${ADDON_FILE}`, `../../native/${ADDON_FILE}`, `../../../native/build/Release/${ADDON_FILE}`]
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(p));
  if (path === undefined) return loaded;
  try {
    const module = { exports: {} as { decompress?: NativeLz4Decompress } };
    process.dlopen(module, path);
    loaded = module.exports.decompress ?? null;
  } catch {
    loaded = null;
  }
  return loaded;
}
