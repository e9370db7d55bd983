// SPDX-License-Identifier: BSD-3-Clause
// `-P pidfile`: refuses to start when the file names a live process (nfcapd behaviour), removed at exit.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { UsageError } from "../util/errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writePidFile(path: string): void {
  let old = NaN;
  try {
    old = Number(readFileSync(path, "utf8").trim());
  } catch {
    // no file: fine
  }
  if (Number.isInteger(old) && old > 0 && old !== process.pid && alive(old)) {
    throw new UsageError(`pidfile ${path}: process ${old} is still running`);
  }
  writeFileSync(path, `${process.pid}\n`);
}

export function removePidFile(path: string): void {
  try {
    if (Number(readFileSync(path, "utf8").trim()) === process.pid) rmSync(path);
  } catch {
    // already gone
  }
}
