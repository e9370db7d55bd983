// SPDX-License-Identifier: BSD-3-Clause
// LZ4 for the whole store: the flow-file reader and writer and the nffile reader compress and decompress only
// through this module, which alone decides which back end does the work.
//
// Back ends:
//   liblz4 (the system's liblz4.so.1 through native addons): decodes nfcapd's raw blocks and the flow-file
//          reader's columns (native/lz4.c, native.ts; off with TSFLOW_LZ4=wasm) and compresses the writer's columns (native/encode.c; off with
//          TSFLOW_WRITER=js)
//   WebAssembly (wasm.ts): decodes into its own memory, nothing allocated per block; the flow-file and nffile
//          readers' decoder when liblz4 is missing
//   lz4-napi: its size-prefixed form (u32 LE raw length + block) is the flow-file column format; compresses when
//          liblz4 is missing or just misses, decodes columns larger than the WebAssembly memory
//   JS (js.ts): raw blocks when neither liblz4 nor WebAssembly is there

import { createRequire } from "node:module";
import { nativeCompress, type ColumnArena, type NativeCompress } from "../native-encode.js";
import { decodeLz4Raw } from "./js.js";
import { nativeLz4, type NativeLz4Decompress } from "./native.js";
import { LZ4_WASM_CAPACITY, LZ4_WASM_DST, LZ4_WASM_SRC, sharedLz4Wasm, type Lz4Wasm } from "./wasm.js";

export {
  decodeLz4Raw,
  LZ4_WASM_CAPACITY,
  LZ4_WASM_DST,
  LZ4_WASM_SRC,
  type Lz4Wasm,
  type NativeCompress,
  type NativeLz4Decompress,
};

interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}
let napi: Lz4Napi | undefined;

/** lz4-napi, loaded on first use: most runs never need it, and loading it (resolve, dlopen) delays start-up. */
function lz4Napi(): Lz4Napi {
  napi ??= createRequire(import.meta.url)("lz4-napi") as Lz4Napi;
  return napi;
}

/**
 * Loads every back end a later compression or decoding may fall back to, while the process can still read its
 * installation: a daemon that drops privileges (tspcapd -u) may no longer reach node_modules afterwards.
 */
export function loadLz4BackEnds(): void {
  lz4Napi();
}

// ── decoding ───────────────────────────────────────────────────────────────────────────────────────────────

let wasm: Lz4Wasm | null | undefined;

/**
 * The thread's WebAssembly decoder (one instance, shared by every reader of the thread: a reader checks `owner`
 * before reusing output it left in its memory), or null when WebAssembly is missing.
 */
export function lz4Wasm(): Lz4Wasm | null {
  if (wasm === undefined) wasm = sharedLz4Wasm() ?? null;
  return wasm;
}

/**
 * The decoder for raw LZ4 blocks (nfcapd -y, and the LZ4 block after a flow-file column's size prefix) that works in
 * the caller's memory: liblz4 when it loads, else null —
 * the caller then decodes in the WebAssembly decoder's memory (lz4Wasm) or with decodeRawLz4.
 */
export function nativeRawLz4(): NativeLz4Decompress | null {
  return nativeLz4();
}

/**
 * Decodes the raw LZ4 block src[start, end) into dst from offset 0 with the fastest back end that works in the
 * caller's memory (liblz4, else JS). Returns the bytes written, or -1 when the block is damaged or dst too small.
 */
export function decodeRawLz4(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  const native = nativeLz4();
  return native !== null ? native(src, start, end - start, dst) : decodeLz4Raw(src, start, end, dst);
}

/**
 * Decodes the size-prefixed form (u32 LE raw length + block) into a new array (lz4-napi).
 * @throws Error when the data does not decode.
 */
export function decodePrefixedLz4(stored: Uint8Array): Uint8Array {
  const out = lz4Napi().uncompressSync(stored);
  return new Uint8Array(out.buffer, out.byteOffset, out.length); // one hidden class for the decoders
}

// ── compression ────────────────────────────────────────────────────────────────────────────────────────────

/** The size-prefixed form of `raw` in a new array (lz4-napi). */
export function compressPrefixedLz4(raw: Uint8Array): Uint8Array {
  return lz4Napi().compressSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
}

/** liblz4's compressor (size-prefixed form into the caller's memory), or null (no addon, no liblz4.so.1, or
 * TSFLOW_WRITER=js). */
export function liblz4Compressor(): NativeCompress | null {
  return nativeCompress();
}

/** LZ4 output (size prefix included) is kept only when shorter than this: it saves at least 1/4. */
export function keepBelow(rawLength: number): number {
  return rawLength - (rawLength >>> 2);
}

/** liblz4's output up to this size (saving 1/5) is a near miss that lz4-napi may bring under keepBelow. */
function tryBelow(rawLength: number): number {
  return rawLength - Math.floor(rawLength / 5);
}

/**
 * Size-prefixed LZ4 of `raw` from liblz4 into `out` when it saves 1/4; undefined when it would not save 1/5
 * (liblz4 stops early); null for a near miss (saves 1/5 but not 1/4), which the caller hands to lz4-napi: lz4_flex
 * finds a few more matches in byte-shuffled addresses (the synthetic srcAddr/dstAddr), and without it they would be
 * stored uncompressed (docs/benchmarks.md, design figures).
 */
export function compressLiblz4(lz4: NativeCompress, raw: Uint8Array, out: ColumnArena): Uint8Array | undefined | null {
  const len = raw.length;
  const max = tryBelow(len);
  out.reserve(max);
  const got = lz4(raw, 0, len, out.bytes, out.at, max);
  if (got === 0) return undefined;
  return got < keepBelow(len) ? out.take(got) : null;
}
