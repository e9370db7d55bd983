// SPDX-License-Identifier: BSD-3-Clause
// What an `over` or `back` event does: a line in the events log (`--events FILE`, ndjson) and a run of the
// monitor's `exec` program (argv, never a shell) with the event's JSON on stdin. Runs are bounded: at most
// `concurrency` at once (in the configuration file's directory), a queue of MAX_QUEUE beyond which events are not run (counted), a timeout after which
// the program is killed, and at most one run per monitor, key and event within the monitor's exec_interval.

import { spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import type { MonitorEvent } from "./moving.js";

export const MAX_QUEUE = 1000;
/** Keys remembered for the per-key rate limit, at most. */
const MAX_LIMITED = 100_000;

export type ActionLog = (level: "info" | "warn" | "error", key: string, message: string) => void;

interface Job {
  readonly argv: readonly string[];
  readonly input: string;
  readonly timeoutMs: number;
}

export class Actions {
  /** runs started, finished with status 0, failed (status, signal, spawn error), not run (queue full / rate limit) */
  readonly counts = { started: 0, ok: 0, failed: 0, dropped: 0, limited: 0 };
  private readonly concurrency: number;
  private readonly log: ActionLog;
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly lastRun = new Map<string, number>();
  private events: WriteStream | null = null;
  private readonly eventsPath: string | undefined;
  private idleWaiters: (() => void)[] = [];

  /** programs run in this directory (the configuration file's) */
  private readonly cwd: string;

  constructor(concurrency: number, eventsPath: string | undefined, log: ActionLog, cwd: string) {
    this.concurrency = concurrency;
    this.cwd = cwd;
    this.eventsPath = eventsPath;
    this.log = log;
    this.reopen();
  }

  /** Opens (again) the events log: SIGHUP after logrotate. */
  reopen(): void {
    if (this.eventsPath === undefined) return;
    const old = this.events;
    const s = createWriteStream(this.eventsPath, { flags: "a" });
    s.on("error", (err) => {
      this.log("error", "events", `--events ${this.eventsPath!}: ${err.message}`);
    });
    this.events = s;
    old?.end();
  }

  /** Logs the event and runs `argv` for it (when given and not rate-limited). */
  emit(
    ev: MonitorEvent,
    exec: readonly string[] | undefined,
    timeoutMs: number,
    intervalMs: number,
    keyLabel: string,
  ): void {
    const line = JSON.stringify(ev);
    this.events?.write(`${line}\n`);
    if (exec === undefined) return;
    const id = `${ev.monitor}\u0000${ev.event}\u0000${keyLabel}`;
    const now = Date.now();
    const last = this.lastRun.get(id);
    if (last !== undefined && now - last < intervalMs) {
      this.counts.limited++;
      return;
    }
    if (this.lastRun.size >= MAX_LIMITED) {
      for (const [k, t] of this.lastRun) if (now - t >= intervalMs) this.lastRun.delete(k);
      if (this.lastRun.size >= MAX_LIMITED) this.lastRun.clear();
    }
    this.lastRun.set(id, now);
    if (this.queue.length >= MAX_QUEUE) {
      this.counts.dropped++;
      this.log("warn", "exec-queue", `monitor ${ev.monitor}: ${MAX_QUEUE} runs queued, event not run`);
      return;
    }
    this.queue.push({ argv: exec, input: `${line}\n`, timeoutMs });
    this.next();
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      this.counts.started++;
      this.start(job, () => {
        this.running--;
        this.next();
        if (this.running === 0 && this.queue.length === 0) {
          for (const w of this.idleWaiters) w();
          this.idleWaiters = [];
        }
      });
    }
  }

  private start(job: Job, done: () => void): void {
    const prog = job.argv[0]!;
    let finished = false;
    const finish = (ok: boolean, why?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (ok) this.counts.ok++;
      else {
        this.counts.failed++;
        this.log("warn", `exec:${prog}`, `monitor exec ${prog}: ${why ?? "failed"}`);
      }
      done();
    };
    const child = spawn(prog, job.argv.slice(1), { stdio: ["pipe", "ignore", "ignore"], cwd: this.cwd });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(false, `killed after ${job.timeoutMs / 1000} s`);
    }, job.timeoutMs);
    child.on("error", (err) => {
      finish(false, err.message);
    });
    child.on("exit", (code, signal) => {
      finish(code === 0, signal !== null ? `ended by ${signal}` : `exit status ${code ?? "?"}`);
    });
    child.stdin.on("error", () => undefined); // a program that does not read its input
    child.stdin.end(job.input);
  }

  /** Resolves when no run is queued or running (or after `ms`). */
  async idle(ms: number): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return;
    await Promise.race([
      new Promise<void>((r) => this.idleWaiters.push(r)),
      new Promise((r) => setTimeout(r, ms).unref()),
    ]);
  }

  close(): void {
    this.events?.end();
    this.events = null;
  }
}
