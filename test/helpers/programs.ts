// Runs the built programs (dist/) as a user would: tscapd on a free loopback port, tsdump with arguments.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freeUdpPort, REPO_ROOT } from "./nfdump.js";

const run = promisify(execFile);
export const TSCAPD = join(REPO_ROOT, "dist/bin/tscapd.js");
export const TSDUMP = join(REPO_ROOT, "dist/bin/tsdump.js");

export interface Daemon {
  readonly port: number;
  readonly proc: ChildProcess;
  log(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts tscapd on a free 127.0.0.1 port with extra arguments (and environment); resolves once it listens. */
export async function startTscapd(
  args: readonly string[],
  port?: number,
  env: Record<string, string> = {},
): Promise<Daemon> {
  const p = port ?? (await freeUdpPort());
  const proc = spawn(process.execPath, [TSCAPD, "-b", "127.0.0.1", "-p", String(p), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TZ: "UTC", ...env },
  });
  let log = "";
  proc.stdout.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((ok) =>
    proc.on("exit", (code) => {
      ok(code);
    }),
  );
  const deadline = Date.now() + 15_000;
  while (!log.includes("listening on")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`tscapd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port: p,
    proc,
    log: () => log,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Runs tsdump (extra environment in `env`); resolves with stdout, stderr and the exit code (never rejects). */
export async function tsdump(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSDUMP, ...args], {
      env: { ...process.env, TZ: "UTC", ...env },
      maxBuffer: 1 << 30,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : -1 };
  }
}

/** Every finished tscapd flow file below dir (recursive), sorted. */
export function flowFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/^tscapd\.\d{12,14}(\.\d+)?$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}
