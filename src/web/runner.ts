// SPDX-License-Identifier: BSD-3-Clause
// Runs tsweb's queries few at a time, each in its own worker thread with a heap limit, ended by terminate()
// when its time is up or its client went away. A query beyond the running and waiting slots is refused (busy).

import { Worker } from "node:worker_threads";
import type { Job, JobReply } from "./jobs.js";

export interface RunnerLimits {
  /** queries running at once */
  readonly concurrent: number;
  /** queries waiting for a slot; more are refused */
  readonly queued: number;
  /** wall time of one query (ms), waiting included */
  readonly timeoutMs: number;
  /** heap of one query's worker (MiB) */
  readonly memoryMb: number;
}

/** Why a query ended without an answer. */
export type RunFailure = "busy" | "timeout" | "memory" | "aborted" | "crashed";

export class RunError extends Error {
  readonly reason: RunFailure;
  constructor(reason: RunFailure, message: string) {
    super(message);
    this.name = "RunError";
    this.reason = reason;
  }
}

const WORKER_URL = new URL("./web-worker.js", import.meta.url);

export class QueryRunner {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  readonly limits: RunnerLimits;

  constructor(limits: RunnerLimits) {
    this.limits = limits;
  }

  /** Queries running now (tests, diagnostics). */
  get active(): number {
    return this.running;
  }

  /**
   * Runs `job`; `onReply` gets each reply. Resolves when the worker is done; rejects with RunError when the
   * query was refused, timed out, ran out of memory, crashed or `signal` aborted it.
   */
  async run(job: Job, onReply: (r: JobReply) => void, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.limits.timeoutMs;
    await this.acquire(signal, deadline);
    try {
      await this.spawn(job, onReply, signal, deadline);
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal, deadline: number): Promise<void> {
    if (this.running < this.limits.concurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.queued) {
      return Promise.reject(new RunError("busy", "too many queries at once; try again"));
    }
    return new Promise((ok, fail) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", gone);
        this.running++;
        ok();
      };
      const drop = (): void => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
      };
      const gone = (): void => {
        clearTimeout(timer);
        drop();
        fail(new RunError("aborted", "client went away"));
      };
      const timer = setTimeout(
        () => {
          signal.removeEventListener("abort", gone);
          drop();
          fail(new RunError("timeout", `query waited longer than ${this.limits.timeoutMs / 1000} s`));
        },
        Math.max(0, deadline - Date.now()),
      );
      signal.addEventListener("abort", gone, { once: true });
      this.waiting.push(wake);
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private spawn(job: Job, onReply: (r: JobReply) => void, signal: AbortSignal, deadline: number): Promise<void> {
    return new Promise((ok, fail) => {
      if (signal.aborted) {
        fail(new RunError("aborted", "client went away"));
        return;
      }
      const worker = new Worker(WORKER_URL, {
        workerData: job,
        resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb, maxYoungGenerationSizeMb: 16 },
        stdout: false,
        stderr: false,
      });
      let failure: RunError | undefined;
      const stop = (e: RunError): void => {
        failure ??= e;
        void worker.terminate();
      };
      const timer = setTimeout(
        () => {
          stop(new RunError("timeout", `query ran longer than ${this.limits.timeoutMs / 1000} s`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const gone = (): void => {
        stop(new RunError("aborted", "client went away"));
      };
      signal.addEventListener("abort", gone, { once: true });
      worker.on("message", (r: JobReply) => {
        if (failure === undefined) onReply(r);
      });
      worker.on("error", (err: Error & { code?: string }) => {
        failure ??=
          err.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? new RunError("memory", `query needed more than ${this.limits.memoryMb} MiB`)
            : new RunError("crashed", err.message);
      });
      worker.on("exit", () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", gone);
        if (failure) fail(failure);
        else ok();
      });
    });
  }
}
