// SPDX-License-Identifier: BSD-3-Clause
// Leveled stderr logger with per-key rate limiting (goflow2's BatchMute): the first `burst` messages of a key
// per interval are printed, the rest counted and summarised as "muted, K skipped" when the interval ends.
// journald-friendly: one line per message, no colour when stderr is not a TTY or NO_COLOR is set.

export type LogLevel = "error" | "warn" | "info" | "debug";
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  level: LogLevel;
  private readonly sink: LogSink;
  private readonly burst: number;
  private readonly intervalMs: number;
  private readonly windows = new Map<string, { start: number; count: number; skipped: number }>();
  private readonly now: () => number;

  constructor(
    options: { level?: LogLevel; sink?: LogSink; burst?: number; intervalMs?: number; now?: () => number } = {},
  ) {
    this.level = options.level ?? "info";
    this.sink = options.sink ?? { write: (line) => process.stderr.write(line) };
    this.burst = options.burst ?? 10;
    this.intervalMs = options.intervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  error(msg: string): void {
    this.log("error", msg);
  }
  warn(msg: string): void {
    this.log("warn", msg);
  }
  info(msg: string): void {
    this.log("info", msg);
  }
  debug(msg: string): void {
    this.log("debug", msg);
  }

  /** Logs `msg` unless more than `burst` messages with the same key came in this interval. */
  limited(level: LogLevel, key: string, msg: string): void {
    if (RANK[level] > RANK[this.level]) return;
    const t = this.now();
    let w = this.windows.get(key);
    if (w === undefined || t - w.start >= this.intervalMs) {
      if (w !== undefined && w.skipped > 0) this.log(level, `${key}: muted, ${w.skipped} skipped`);
      if (w === undefined && this.windows.size >= 1024) this.windows.clear(); // bounded: keys can come from packets
      w = { start: t, count: 0, skipped: 0 };
      this.windows.set(key, w);
    }
    if (++w.count <= this.burst) this.log(level, msg);
    else w.skipped++;
  }

  log(level: LogLevel, msg: string): void {
    if (RANK[level] > RANK[this.level]) return;
    this.sink.write(`${level}: ${msg}\n`);
  }
}
