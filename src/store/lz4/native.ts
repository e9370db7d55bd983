// SPDX-License-Identifier: BSD-3-Clause
// The LZ4 block decoder of the system's liblz4 (native/lz4.c, loaded by util/native-addon.ts), a back end of
// index.ts: faster than the WebAssembly decoder (wasm.ts) on nfcapd's blocks (docs/benchmarks.md). Without the
// addon, without liblz4.so.1 on the machine, or with TSFLOW_LZ4=wasm, there is none (null).

import { loadNativeAddon } from "../../util/native-addon.js";

/** decompress(src, offset, length, dst): bytes written into dst, or -1 (malformed input). */
export type NativeLz4Decompress = (src: Uint8Array, offset: number, length: number, dst: Uint8Array) => number;

let decoder: NativeLz4Decompress | null | undefined;

/** The native decoder, or null when it cannot be used. */
export function nativeLz4(): NativeLz4Decompress | null {
  if (decoder !== undefined) return decoder;
  const addon = (process.env["TSFLOW_LZ4"] === "wasm" ? "" : loadNativeAddon("tsflow_lz4.node")) as
    { decompress?: NativeLz4Decompress } | string;
  // without liblz4.so.1 the addon loads but exports nothing
  decoder = typeof addon === "string" ? null : (addon.decompress ?? null);
  return decoder;
}
