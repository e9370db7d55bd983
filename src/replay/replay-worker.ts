// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's worker thread: reads and encodes (produce.ts) into the shared ring (ring.ts) while the main thread
// paces and sends, so the two halves run on two cores. Replies through the parent port:
//   { type: "warn", message }   a damaged file or block (skipped)
//   { type: "done", stats, damaged }
//   { type: "failed", kind: "filter" | "store" | "usage" | "bug", message }

import { parentPort, workerData } from "node:worker_threads";
import { FilterSyntaxError } from "../filter/index.js";
import { FlowError } from "../util/errors.js";
import { FlowEncoder, type EncoderOptions } from "./encode.js";
import { produce, type ReplayInput } from "./produce.js";
import { RingWriter, type RingBuffers } from "./ring.js";

export interface ReplayWorkerData {
  readonly input: ReplayInput;
  readonly protocol: EncoderOptions["protocol"];
  readonly templateEveryPackets: number;
  readonly templateEveryMs?: number;
  readonly ring: RingBuffers;
}

export type ReplayWorkerReply =
  | { type: "warn"; message: string }
  | { type: "done"; stats: FlowEncoder["stats"]; damaged: number }
  | { type: "failed"; kind: "filter" | "store" | "usage" | "bug"; message: string };

const port = parentPort!;
const data = workerData as ReplayWorkerData;
const post = (m: ReplayWorkerReply): void => {
  port.postMessage(m);
};

const enc = new FlowEncoder(
  {
    protocol: data.protocol,
    templateEveryPackets: data.templateEveryPackets,
    ...(data.templateEveryMs !== undefined
      ? { templateEveryMs: data.templateEveryMs, clock: () => performance.now() }
      : {}),
  },
  new RingWriter(data.ring),
);
produce(data.input, enc, undefined, (message) => {
  post({ type: "warn", message });
}).then(
  (damaged) => {
    post({ type: "done", stats: enc.stats, damaged });
  },
  (err: unknown) => {
    if (err instanceof FilterSyntaxError) post({ type: "failed", kind: "filter", message: err.format() });
    else if (err instanceof FlowError)
      post({ type: "failed", kind: err.code.startsWith("ERR_STORE") ? "store" : "usage", message: err.message });
    else post({ type: "failed", kind: "bug", message: String((err as Error).stack ?? err) });
  },
);
