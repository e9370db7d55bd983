// SPDX-License-Identifier: BSD-3-Clause
// Reading nfdump archives: NfdumpFileReader (nffile V2, nfdump 1.7.x) and openAnyFlowFile(), which sniffs the
// magic and opens either a tsflow file (FlowFileReader) or an nfdump file (NfdumpFileReader).

import * as fs from "node:fs";
import { STORE_ERROR, StoreError, storeWhere } from "../errors.js";
import { FILE_MAGIC } from "../format.js";
import { FlowFileReader } from "../reader.js";
import { NFFILE_MAGIC, NfdumpFileReader } from "./reader.js";
import type { FlowFileSource, FlowSourceOptions } from "./source.js";

export {
  NfdumpFileReader,
  NFFILE_ERROR,
  NFFILE_CODEC,
  parseNffileHeader,
  type NffileCodec,
  type NffileErrorCode,
  type NffileHeader,
} from "./reader.js";
export type { ExporterListing, FlowFileSource, FlowSourceHeader, FlowSourceOptions, SamplerInfo } from "./source.js";
export { decodeLzo1x } from "./lzo.js";
export { decodeLz4Raw } from "../lz4/index.js";

/** What the first bytes of a file say it is. */
export function sniffFlowFile(head: Uint8Array): "tsflow" | "nffile" | "unknown" {
  if (head.length >= 4 && (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0 === FILE_MAGIC)
    return "tsflow";
  if (head.length >= 2 && (head[0]! | (head[1]! << 8)) === NFFILE_MAGIC) return "nffile";
  if (head.length >= 2 && head[0] === 0xa5 && head[1] === 0x0c) return "nffile"; // big-endian nffile: the reader rejects it clearly
  return "unknown";
}

/** Reads the first bytes of a file; an unreadable file gives an empty array (the reader reports it later). */
function headOf(file: string): Uint8Array {
  const head = new Uint8Array(4);
  try {
    const fd = fs.openSync(file, "r");
    try {
      return head.subarray(0, fs.readSync(fd, head, 0, 4, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return head.subarray(0, 0);
  }
}

/**
 * True when any of the first `probe` files is an nfdump file (query planning: their blocks cost more to decode
 * than tsflow blocks, which changes where worker threads pay off).
 */
export function nffileInput(files: readonly string[], probe = 8): boolean {
  for (let i = 0; i < files.length && i < probe; i++) if (sniffFlowFile(headOf(files[i]!)) === "nffile") return true;
  return false;
}

/**
 * Opens a tsflow or an nfdump (nffile V2) file, chosen by its magic.
 * @throws StoreError as FlowFileReader.open / NfdumpFileReader.open; ERR_STORE_BAD_MAGIC when neither.
 */
export function openAnyFlowFile(file: string, opts: FlowSourceOptions = {}): FlowFileSource {
  const head = new Uint8Array(4);
  let n = 0;
  try {
    const fd = fs.openSync(file, "r");
    try {
      n = fs.readSync(fd, head, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new StoreError(
      STORE_ERROR.IO,
      `${storeWhere(file, -1, -1)}cannot read: ${(err as Error).message}`,
      { file },
      { cause: err },
    );
  }
  const kind = sniffFlowFile(head.subarray(0, n));
  if (kind === "tsflow") return FlowFileReader.open(file, opts);
  if (kind === "nffile") return NfdumpFileReader.open(file, opts);
  throw new StoreError(
    STORE_ERROR.BAD_MAGIC,
    `${storeWhere(file, -1, 0)}neither a tsflow nor an nfdump file (bad magic)`,
    { file, offset: 0 },
  );
}
