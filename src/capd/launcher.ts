// SPDX-License-Identifier: BSD-3-Clause
// `-x cmd`: the command run after each rotation (nfcapd's launcher). The template is split on blanks and each
// word's %-tokens expanded; the program is started with execFile — never through a shell, so file names with
// spaces or quotes cannot inject anything. Commands run one at a time from a bounded queue, so a slow command
// cannot pile up processes; what overflows is dropped and logged.

import { spawn } from "node:child_process";

/** Values of the placeholders (reference §1.4). */
export interface LaunchVars {
  /** %f: the new file, absolute path. */
  readonly file: string;
  /** %d: the flow directory of the source. */
  readonly dir: string;
  /** %t: slot time string, the digits of the file name. */
  readonly time: string;
  /** %u: slot start, Unix seconds. */
  readonly unix: number;
  /** %i: ident. */
  readonly ident: string;
}

const MAX_ARGS = 256;
const MAX_CHARS = 4096;

/**
 * Expands a `-x` template into argv. Unknown `%x` tokens stay as written (nfcapd logs and keeps them);
 * `%%` is a literal percent sign. Throws RangeError past nfcapd's limits (256 args, 4096 chars).
 */
export function expandCommand(template: string, vars: LaunchVars): { argv: string[]; unknown: string[] } {
  const unknown: string[] = [];
  const words = template.split(/\s+/).filter((w) => w.length > 0);
  if (words.length > MAX_ARGS) throw new RangeError(`-x: more than ${MAX_ARGS} arguments`);
  const argv = words.map((word) =>
    word.replace(/%(.)/g, (tok, ch: string) => {
      switch (ch) {
        case "f":
          return vars.file;
        case "d":
          return vars.dir;
        case "t":
          return vars.time;
        case "u":
          return String(vars.unix);
        case "i":
          return vars.ident;
        case "%":
          return "%";
        default:
          unknown.push(tok);
          return tok;
      }
    }),
  );
  if (argv.join(" ").length > MAX_CHARS)
    throw new RangeError(`-x: expanded command longer than ${MAX_CHARS} characters`);
  return { argv, unknown };
}

export interface LauncherEvents {
  onError(message: string): void;
  onExit?(argv: readonly string[], code: number | null): void;
}

/** Runs expanded commands one at a time; at most `maxQueued` wait. */
export class Launcher {
  private readonly queue: string[][] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];

  private readonly template: string;
  private readonly events: LauncherEvents;
  private readonly maxQueued: number;

  constructor(template: string, events: LauncherEvents, maxQueued = 16) {
    this.template = template;
    this.events = events;
    this.maxQueued = maxQueued;
  }

  launch(vars: LaunchVars): void {
    let argv: string[];
    try {
      const expanded = expandCommand(this.template, vars);
      argv = expanded.argv;
      for (const tok of expanded.unknown) this.events.onError(`-x: unknown format token ${tok} left in place`);
    } catch (err) {
      this.events.onError((err as Error).message);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.events.onError(`-x: ${this.queue.length} commands already waiting; dropped the one for ${vars.file}`);
      return;
    }
    this.queue.push(argv);
    this.next();
  }

  /** Resolves when no command runs or waits. */
  async idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    if (this.running) return;
    const argv = this.queue.shift();
    if (argv === undefined) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    this.running = true;
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: "ignore", shell: false });
    let done = false;
    const finish = (code: number | null): void => {
      if (done) return;
      done = true;
      this.running = false;
      this.events.onExit?.(argv, code);
      this.next();
    };
    child.on("error", (err) => {
      this.events.onError(`-x: cannot run ${cmd!}: ${err.message}`);
      finish(null);
    });
    child.on("exit", (code) => {
      finish(code);
    });
  }
}
