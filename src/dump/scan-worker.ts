// SPDX-License-Identifier: BSD-3-Clause
// tsdump's scan worker (worker_threads): a Scanner (scanner.ts) fed by the main thread's messages (parallel.ts),
// replying through the parent port.

import { parentPort } from "node:worker_threads";
import { Scanner, type ScanReply, type ScanRequest } from "./scanner.js";

export type { ScanConfig, ScanReply, ScanRequest } from "./scanner.js";

const scanner = new Scanner((reply, transfer) => {
  parentPort!.postMessage(reply, transfer);
});

/** Messages are handled in arrival order; init may wait for a module, the blocks sent meanwhile wait for it. */
let queue: Promise<void> = Promise.resolve();

function handle(msg: ScanRequest): void | Promise<void> {
  if (msg.type === "init") return scanner.init(msg);
  if (msg.type === "block") scanner.scanBlocks(msg.seq, msg.file, msg.block, msg.count ?? 1);
  else if (msg.type === "recycle") scanner.recycle(msg.buffer);
  else scanner.finish();
}

parentPort?.on("message", (msg: ScanRequest) => {
  queue = queue
    .then(() => handle(msg))
    .catch((err: unknown) => {
      const reply: ScanReply = { type: "failed", message: (err as Error).stack ?? String(err) };
      parentPort!.postMessage(reply);
    });
});
