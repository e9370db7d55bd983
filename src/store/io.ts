// SPDX-License-Identifier: BSD-3-Clause
// Positional file I/O of the store (readers and writers alike) and the StoreError for an I/O failure.

import * as fs from "node:fs";
import { STORE_ERROR, StoreError, storeWhere } from "./errors.js";

/** An ERR_STORE_IO error naming the file and offset, with the system error as its cause. */
export function ioError(file: string, offset: number, msg: string, cause: unknown): StoreError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new StoreError(STORE_ERROR.IO, `${storeWhere(file, -1, offset)}${msg}${detail}`, { file, offset }, { cause });
}

/** Writes all of `bytes` at `position` (writeSync may write less than asked). */
export function writeAllSync(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

/** Reads up to `into.length` bytes at `position`; fewer only at the end of the file. Returns the count. */
export function readAt(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Reads exactly `into.length` bytes at `position`; throws when the file ends first. */
export function readFully(fd: number, into: Uint8Array, position: number): void {
  const n = readAt(fd, into, position);
  if (n < into.length) throw new Error(`unexpected end of file at ${position + n}`);
}
