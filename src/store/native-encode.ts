// SPDX-License-Identifier: BSD-3-Clause
// The writer's native column encoders and LZ4 compressor (native/encode.c, loaded by util/native-addon.ts): the
// transforms of codec.ts, byte for byte, and LZ4 blocks from the system's liblz4 written into the caller's memory
// (no Buffer per column as lz4-napi's compressSync). Without the addon, or with TSFLOW_WRITER=js, the writer
// keeps codec.ts and lz4-napi; without liblz4.so.1 it encodes natively and compresses with lz4-napi.

import { loadNativeAddon } from "../util/native-addon.js";

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Slots of the plan array `encode` fills (as codec.ts ColumnPlan, plus the all-zero-bytes flag). */
export const PLAN = {
  transform: 0,
  width: 1,
  base: 2,
  min: 3,
  max: 4,
  ranged: 5,
  allZero: 6,
  /** 1: the column's bytes are all zero (nothing written; the block lists it as a zero column) */
  zeroBytes: 7,
} as const;

/** Room `encode` needs in `out` beyond n × element size (unpacked dictionary indexes). */
export const ENCODE_SLACK = 136;

export interface NativeEncoder {
  /** Transformed (or raw) bytes of the first n rows written at out[outOffset]; their length. Plan in `plan`. */
  encode(column: Column, n: number, out: Uint8Array, outOffset: number, plan: Float64Array): number;
  /** sparse6 rows (16 bytes each) written at out[outOffset]; their length, or -2 when the words are all zero. */
  sparse6(words: Uint32Array, flags: Uint8Array, n: number, bit: number, out: Uint8Array, outOffset: number): number;
  /** The reader's decoder of `for` columns into f64 (codec.ts forToF64, the same results). */
  forF64?(src: Uint8Array, off: number, n: number, w: number, base: number, out: Float64Array): void;
  /** The same into u32 for an integer base in [0, 2^32) (codec.ts forToU32, the same results). */
  forU32?(src: Uint8Array, off: number, n: number, w: number, base: number, out: Uint32Array): void;
  /** The same into a Uint16Array, w 1 or 2, for an integer base in [0, 2^32) (codec.ts forToU16). */
  forU16?: (src: Uint8Array, off: number, n: number, w: number, base: number, out: Uint16Array) => void;
  /** A `delta` column into f64 (codec.ts unshuffle + finishDeltaF64, the same results). */
  deltaF64?: (src: Uint8Array, off: number, n: number, w: number, base: number, out: Float64Array) => void;
  /**
   * The reader's decoder of `dict` columns (codec.ts dictToU8/U16/U32/F64, the same results): u32 values into a
   * Uint8/16/32Array, f64 values into a Float64Array; values has at least 16 entries.
   */
  dict?: (
    src: Uint8Array,
    off: number,
    n: number,
    bits: number,
    values: Uint32Array | Float64Array,
    out: Uint8Array | Uint16Array | Uint32Array | Float64Array,
  ) => void;
  /** zlib's CRC32 of src[off, off + len) continued from seed (only where the CPU has PCLMULQDQ). */
  crc32?: (src: Uint8Array, off: number, len: number, seed: number) => number;
  /**
   * engine/sums.ts sumRows's loop over rows sel[0, k) (rows 0..k when sel is null): state[0..2] = the sums of
   * inBytes, inPackets and flows (0 counted as 1), state[3] and [4] lowered / raised to the rows' first and last.
   */
  sums?: (
    inBytes: Float64Array,
    inPackets: Float64Array,
    flows: Float64Array,
    first: Float64Array,
    last: Float64Array,
    sel: Uint32Array | null,
    k: number,
    state: Float64Array,
  ) => void;
  /** The reader's read-ahead (read-ahead.ts): a handle of 8 job slots, claimed in order by its thread or the caller. */
  readahead?: () => object;
  readaheadStart?: (
    h: object,
    k: number,
    fd: number,
    offset: number,
    length: number,
    buf: Uint8Array,
    arena: Uint8Array,
    mask: Uint8Array,
    res: Float64Array,
  ) => void;
  readaheadWait?: (h: object, k: number, use: boolean, waitUs: number) => boolean;
  readaheadClose?: (h: object) => void;
  /** [ns the caller waited, jobs the caller ran, ns it ran them, jobs the thread ran, ns it ran them] */
  readaheadStats?: (h: object, out: Float64Array) => void;
}

/**
 * u32 LE srcLength + LZ4 block of src[srcOffset, +srcLength) written at dst[dstOffset]; its length, or 0 when it
 * would not be shorter than maxStored (dst must have maxStored bytes from dstOffset).
 */
export type NativeCompress = (
  src: Uint8Array,
  srcOffset: number,
  srcLength: number,
  dst: Uint8Array,
  dstOffset: number,
  maxStored: number,
) => number;

let addon: (NativeEncoder & { compress?: NativeCompress }) | null | undefined;

function load(): (NativeEncoder & { compress?: NativeCompress }) | null {
  if (addon !== undefined) return addon;
  const a = process.env["TSFLOW_WRITER"] === "js" ? "" : loadNativeAddon("tsflow_encode.node");
  addon = typeof a === "string" ? null : (a as NativeEncoder & { compress?: NativeCompress });
  return addon;
}

/**
 * Chooses the writer's path for this thread from now on: "js" (codec.ts, lz4-napi), "native" (the addon when it
 * loads), or undefined (TSFLOW_WRITER decides, as at start). For tests and benchmarks comparing the two.
 */
export function setWriterPath(path: "js" | "native" | undefined): void {
  if (path === "js") addon = null;
  else if (path === "native") {
    const a = loadNativeAddon("tsflow_encode.node");
    addon = typeof a === "string" ? null : (a as NativeEncoder & { compress?: NativeCompress });
  } else addon = undefined;
}

/** The native encoders, or null (addon not built, or TSFLOW_WRITER=js). */
export function nativeEncoder(): NativeEncoder | null {
  return load();
}

let reader: NativeEncoder | null | undefined;

/**
 * The addon for the reader's decoders (forF64, forU32), or null (not built, or TSFLOW_WRITER=js): loaded once, whatever
 * setWriterPath chose for the writer.
 */
export function nativeDecoder(): NativeEncoder | null {
  if (reader !== undefined) return reader;
  const a = process.env["TSFLOW_WRITER"] === "js" ? "" : loadNativeAddon("tsflow_encode.node");
  reader =
    typeof a === "string" ||
    typeof (a as NativeEncoder).forF64 !== "function" ||
    typeof (a as NativeEncoder).forU32 !== "function"
      ? null
      : (a as NativeEncoder);
  return reader;
}

/** The native CRC32, or null (addon not built, no PCLMULQDQ, or TSFLOW_WRITER=js): node:zlib's crc32 then. */
export function nativeCrc32(): NativeEncoder["crc32"] | null {
  const a = nativeDecoder();
  return a?.crc32 ?? null;
}

/** liblz4's compressor, or null (addon not built, no liblz4.so.1, or TSFLOW_WRITER=js). */
export function nativeCompress(): NativeCompress | null {
  return load()?.compress ?? null;
}

/**
 * Memory the native encoder writes a block's columns into: each column a view of `bytes` (8-aligned), valid until
 * the arena is reset for another block. When a column does not fit, a larger array replaces `bytes`; views of the
 * old one stay valid (they keep it alive).
 */
export class ColumnArena {
  bytes: Uint8Array;
  at: number;

  constructor(size = 1 << 20) {
    this.bytes = new Uint8Array(size);
    this.at = 0;
  }

  /** Makes room for `need` bytes at `at`. */
  reserve(need: number): void {
    if (this.bytes.length - this.at >= need) return;
    this.bytes = new Uint8Array(Math.max(need, 2 * this.bytes.length));
    this.at = 0;
  }

  /** The `len` bytes at `at` (written by the encoder), and moves `at` past them. */
  take(len: number): Uint8Array {
    const v = this.bytes.subarray(this.at, this.at + len);
    this.at = (this.at + len + 7) & ~7;
    return v;
  }
}
