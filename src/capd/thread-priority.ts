// SPDX-License-Identifier: BSD-3-Clause
// Lowers the scheduling priority of the calling thread only (Linux: setpriority on the thread id, which
// /proc/thread-self names). The collector's decode and writer threads call it when the receiving thread is
// node:dgram's JS main thread: that thread must win the CPU whenever a datagram arrives (a few milliseconds off
// the CPU there overflow the kernel buffer; the same delay on the other threads is absorbed by the queues).
// The native receiver's recvmmsg thread needs little CPU per datagram and wakes from poll with the scheduler's
// sleeper credit, so with it the decode and writer threads keep the process's priority (a lower priority there
// lost flows at high rates: they lost the CPU to other processes, not to the receiver; docs/benchmarks.md).
// Elsewhere (or when not permitted) it does nothing.

import { access, readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/** Nice increment of the decode and writer threads under node:dgram (the main thread keeps the process's). */
export const WORKER_NICE_JS = 5;

/**
 * The decode and writer threads' nice increment: TSCAPD_WORKER_NICE (0..19), which IngestThread sets for its
 * threads from the receiver in use (0 native, WORKER_NICE_JS node:dgram) unless the operator did.
 */
export function workerNice(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env["TSCAPD_WORKER_NICE"] ?? WORKER_NICE_JS);
  return Number.isInteger(n) && n >= 0 && n <= 19 ? n : WORKER_NICE_JS;
}

let poolStarted = false;

/**
 * Starts libuv's thread pool from the calling thread. The pool is made by the first thread that queues work, and
 * its threads inherit that thread's nice value: the main thread calls this before it starts a thread that may
 * lower its priority, else the pool, made later by such a thread, would run at that thread's lower priority.
 */
export function startThreadPool(): void {
  if (poolStarted) return;
  poolStarted = true;
  access(".", () => undefined); // any request queued to the pool
}

/** Sets the calling thread's nice value to the process's plus `delta`; returns false when it could not. */
export function lowerThreadPriority(delta: number = workerNice()): boolean {
  if (delta === 0) return true;
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
