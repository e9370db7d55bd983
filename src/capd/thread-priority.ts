// SPDX-License-Identifier: BSD-3-Clause
// Lowers the scheduling priority of the calling thread only (Linux: setpriority on the thread id, which
// /proc/thread-self names). The collector's decode and writer threads call it so that the receiving thread,
// whose only job is to empty the socket buffer, wins the CPU whenever a datagram arrives: a few milliseconds
// off the CPU there overflow the kernel buffer, the same delay on the other threads is absorbed by the queues.
// Elsewhere (or when not permitted) it does nothing.

import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** Thread nice value of the decode and writer threads (the main thread keeps the process's). */
export const WORKER_NICE = 5;

/** Sets the calling thread's nice value to the process's plus `delta`; returns false when it could not. */
export function lowerThreadPriority(delta: number = WORKER_NICE): boolean {
  if (process.platform !== "linux") return false;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/")[2]);
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, Math.min(19, getPriority(process.pid) + delta));
    return true;
  } catch {
    return false;
  }
}
