// SPDX-License-Identifier: BSD-3-Clause
// tsweb's query worker: one job per worker (workerData), replies through the parent port. The server bounds
// it: heap (resourceLimits), wall time and a gone client end it with terminate().

import { parentPort, workerData } from "node:worker_threads";
import { FilterSyntaxError } from "../api.js";
import { FlowError } from "../util/errors.js";
import { runJob, type Job, type JobReply } from "./jobs.js";

const send = (r: JobReply): void => {
  parentPort!.postMessage(r);
};

try {
  runJob(workerData as Job, send);
} catch (err) {
  if (err instanceof FilterSyntaxError)
    send({ type: "error", kind: "filter", message: err.message, detail: err.format() });
  else if (err instanceof FlowError || err instanceof RangeError || (err as Error).name === "CommanderError")
    send({ type: "error", kind: "usage", message: (err as Error).message });
  else send({ type: "error", kind: "internal", message: (err as Error).stack ?? String(err) });
}
