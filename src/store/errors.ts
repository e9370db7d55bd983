// SPDX-License-Identifier: BSD-3-Clause
// StoreError: everything that can be wrong with a flow file. Each error names the file, the block
// (index in file order, -1 for the header/footer/trailer) and the byte offset where the damage was found, so
// tsdump can print "file X block 3 offset 123456: …", skip the block and carry on.

import { FlowError } from "../util/errors.js";

/** Stable error codes of the store (never changed once released). */
export const STORE_ERROR = {
  /** File or block does not start with the expected magic. */
  BAD_MAGIC: "ERR_STORE_BAD_MAGIC",
  /** Format version newer than this reader understands. */
  VERSION: "ERR_STORE_VERSION",
  /** CRC32 of a header, block or footer does not match. */
  CHECKSUM: "ERR_STORE_CHECKSUM",
  /** The file ends inside a header, block or footer. */
  TRUNCATED: "ERR_STORE_TRUNCATED",
  /** A length, count or offset that cannot be right (past the end, not aligned, too large). */
  BAD_LENGTH: "ERR_STORE_BAD_LENGTH",
  /** Compressed column data that does not decompress to its recorded size. */
  CORRUPT: "ERR_STORE_CORRUPT",
  /** The file has no footer (a collector was killed); readable by scanning, repairable with recover(). */
  NO_FOOTER: "ERR_STORE_NO_FOOTER",
  /** Unsupported codec id. */
  CODEC: "ERR_STORE_CODEC",
  /** I/O failure (open, read, write, fsync, rename). */
  IO: "ERR_STORE_IO",
  /** Writer used after close, or other API misuse by the caller. */
  STATE: "ERR_STORE_STATE",
  /** A listing argument (-R range, -M dirs, file name) that cannot be resolved. */
  LIST: "ERR_STORE_LIST",
  /** nfdump 1.6 (layout 1) file: convert it with nfdump 1.7 first. */
  NFFILE_V1: "ERR_STORE_NFFILE_V1",
  /** nfdump 1.8 (file format V3): not read yet. */
  NFFILE_V3: "ERR_STORE_NFFILE_V3",
  /** Encrypted nffile. */
  NFFILE_ENCRYPTED: "ERR_STORE_NFFILE_ENCRYPTED",
} as const;

export type StoreErrorCode = (typeof STORE_ERROR)[keyof typeof STORE_ERROR];

export class StoreError extends FlowError {
  /** The file the error is about. */
  readonly file: string;
  /** Block index in file order, or -1 when the error is not inside a block. */
  readonly block: number;
  /** Byte offset in the file where the problem was found (-1 when not applicable). */
  readonly offset: number;

  constructor(
    code: StoreErrorCode,
    message: string,
    where: { file: string; block?: number; offset?: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.file = where.file;
    this.block = where.block ?? -1;
    this.offset = where.offset ?? -1;
  }
}

/** Builds the conventional message prefix: `store: <file> block 3 offset 1234: `. */
export function storeWhere(file: string, block: number, offset: number): string {
  let s = `store: ${file}`;
  if (block >= 0) s += ` block ${block}`;
  if (offset >= 0) s += ` offset ${offset}`;
  return s + ": ";
}
