#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tscapd: the flow collector daemon (nfcapd's option letters). Wires the command line, logging, pidfile,
// daemon mode, metrics and signals around the Collector.
//
// Exit codes: 0 after TERM/INT, 1 for a bad command line, 2 for a resource failure (bind, directory, disk).

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { CommanderError } from "commander";
import { EXIT, VERSION } from "../cli/common.js";
import { FlowError } from "../util/errors.js";
import { Logger, type LogSink } from "../util/log.js";
import { FatalError } from "./collector.js";
import { IngestThread } from "./ingest-thread.js";
import { createMetricsRegistry, startMetricsServer } from "./metrics.js";
import { buildProgram, parseCollectorOptions, type CollectorOptions } from "./options.js";
import { removePidFile, writePidFile } from "./pidfile.js";
import { ClickHouseStream } from "../clickhouse/stream.js";
import { loadMonitorConfig } from "../monitor/config.js";
import { registerMonitorMetrics } from "../monitor/metrics.js";
import { MonitorThread } from "../monitor/thread.js";

/** Log sink writing to stderr or to a file that SIGHUP reopens (logrotate). */
class FileSink implements LogSink {
  private fd = -1;
  private readonly path: string | undefined;
  /** The daemon child's lines until it is ready (sent to the -D parent if it fails to start); last 50. */
  captured: string[] | null = null;
  constructor(path: string | undefined) {
    this.path = path;
    this.reopen();
  }
  reopen(): void {
    if (this.path === undefined) return;
    const old = this.fd;
    this.fd = openSync(this.path, "a");
    if (old >= 0) closeSync(old);
  }
  write(line: string): void {
    if (this.captured !== null) {
      this.captured.push(line);
      if (this.captured.length > 50) this.captured.shift();
    }
    const stamped = `${new Date().toISOString()} ${line}`;
    if (this.fd >= 0) writeSync(this.fd, stamped);
    else process.stderr.write(this.path === undefined ? line : stamped);
  }
}

/** Set in the environment of the process -D starts, which reports over IPC whether it started. */
const DAEMON_CHILD_ENV = "TSCAPD_DAEMON_CHILD";
/** How long -D waits for the daemon to bind and open its files. */
const DAEMON_START_MS = 30_000;

type DaemonMessage = { readonly op: "ready" } | { readonly op: "failed"; readonly log: string };

/**
 * -D: re-executes tscapd without -D, detached, and waits until it has bound its sockets and opened its files:
 * exit 0 then, or the daemon's exit code and its error lines when it fails to start.
 */
async function daemonize(): Promise<number> {
  const args = process.argv.slice(1).filter((a) => a !== "-D" && a !== "--daemon");
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "ipc"],
    env: { ...process.env, [DAEMON_CHILD_ENV]: "1" },
  });
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(`tscapd: the daemon (pid ${child.pid}) did not start within ${DAEMON_START_MS / 1000} s\n`);
      resolve(EXIT.DATA);
    }, DAEMON_START_MS);
    child.on("message", (m: DaemonMessage) => {
      if (m.op === "failed") {
        process.stderr.write(m.log);
        return;
      }
      clearTimeout(timer);
      child.removeAllListeners("exit");
      if (child.connected) child.disconnect();
      child.unref();
      resolve(EXIT.OK);
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      process.stderr.write(`tscapd: cannot start the daemon: ${err.message}\n`);
      resolve(EXIT.DATA);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      process.stderr.write(`tscapd: the daemon exited with status ${code ?? "(signal)"} before it started\n`);
      resolve(code !== null && code !== 0 ? code : EXIT.DATA);
    });
  });
}

/** The parent's pid as it is now (process.ppid is the one at start-up); -1 when it cannot be read. */
function currentPpid(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/**
 * Under npm/npx (`npx tscapd`, `npm start`) signals are not always passed on, and killing npm left tscapd
 * running: there, tscapd stops when its parent is gone.
 */
function watchParent(onGone: () => void): void {
  if (process.env["npm_command"] === undefined && process.env["npm_lifecycle_event"] === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    const now = currentPpid();
    let gone = now >= 0 && now !== parent;
    if (now < 0) {
      try {
        process.kill(parent, 0);
      } catch (err) {
        gone = (err as NodeJS.ErrnoException).code === "ESRCH";
      }
    }
    if (gone) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  let options: CollectorOptions;
  try {
    options = parseCollectorOptions(program, argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    process.stderr.write(`tscapd: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }

  // --monitor: a bad file stops the start here, with its file:line:column
  let monitorConfig: ReturnType<typeof loadMonitorConfig> | undefined;
  try {
    monitorConfig = options.monitor !== undefined ? loadMonitorConfig(options.monitor) : undefined;
  } catch (err) {
    process.stderr.write(`tscapd: --monitor: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  let monitor: MonitorThread | null = null;
  if (options.daemon) return daemonize();
  const daemonChild = process.env[DAEMON_CHILD_ENV] === "1" && typeof process.send === "function";

  const sink = new FileSink(options.logFile);
  if (daemonChild) sink.captured = [];
  const log = new Logger({ level: options.verbose > 0 ? "debug" : "info", sink });
  const failed = (code: number): number => {
    if (daemonChild && process.connected)
      process.send!({ op: "failed", log: (sink.captured ?? []).join("") } satisfies DaemonMessage, () => {
        process.disconnect();
      });
    return code;
  };

  // --clickhouse: the sink's thread listens before the writer thread stores (and posts) a block
  let clickhouse: ClickHouseStream | undefined;
  if (options.clickhouse !== undefined) {
    clickhouse = new ClickHouseStream(options.clickhouse.target, options.clickhouse.spoolDir, (level, m) => {
      log[level](m);
    });
    try {
      await clickhouse.start();
    } catch (err) {
      log.error(`--clickhouse: ${(err as Error).message}`);
      return failed(EXIT.DATA);
    }
    log.info(`clickhouse: streaming to ${options.clickhouse.target.display}, table ${options.clickhouse.target.table}`);
  }

  // the metrics port is bound first: a clash is reported before the UDP port is bound or a file written
  let sample: () => ReturnType<IngestThread["sample"]> = () => ({
    counters: {
      datagrams: 0,
      notAllowed: 0,
      badPackets: 0,
      crashes: 0,
      flowsStored: 0,
      flowsDropped: 0,
      filesWritten: 0,
      queueDropped: 0,
    },
    exporters: [],
  });
  if (options.metrics !== undefined) {
    try {
      const registry = createMetricsRegistry(() => {
        const { counters, exporters } = sample();
        return {
          datagrams: counters.datagrams,
          notAllowed: counters.notAllowed,
          queueDropped: counters.queueDropped,
          flowsStored: counters.flowsStored,
          filesWritten: counters.filesWritten,
          exportersEvicted: counters.exportersEvicted ?? 0,
          exporterCount: counters.exporters ?? exporters.length,
          heldBytes: counters.heldBytes ?? 0,
          heldDroppedTotal: counters.heldDroppedTotal ?? 0,
          clickhouse: clickhouse?.counters,
          exporters: exporters.map((e) => ({
            exporter: `${e.address}/${e.domain}`,
            packets: e.packets,
            flows: e.records,
            badPackets: Object.values(e.malformed).reduce((a, b) => a + b, 0),
            sequenceErrors: e.sequenceErrors,
            templateMisses: e.templateMisses,
            flowsUnscaled: e.flowsBySource[0] ?? 0,
            ratesRejected: e.ratesRejected,
            optionsMismatch: e.optionsMismatch,
            lengthOverruns: e.lengthOverruns,
            samplers: e.samplers,
          })),
        };
      });
      registerMonitorMetrics(
        registry,
        () =>
          monitor?.sample() ?? {
            monitors: [],
            rowsDropped: 0,
            rowsSeen: 0,
            exec: { started: 0, ok: 0, failed: 0, dropped: 0, limited: 0 },
          },
      );
      const server = await startMetricsServer(options.metrics, registry);
      server.unref();
      log.info(`metrics on http://${options.metrics}/metrics`);
    } catch (err) {
      log.error(`--metrics ${options.metrics}: ${(err as Error).message}`);
      return failed(EXIT.DATA);
    }
  }

  if (options.pidFile !== undefined) {
    try {
      writePidFile(options.pidFile);
    } catch (err) {
      log.error((err as Error).message);
      return failed(EXIT.USAGE);
    }
  }

  const flowDir = options.sources[0]?.dir ?? options.dynamicDir ?? ".";
  monitor = monitorConfig !== undefined ? new MonitorThread(monitorConfig, flowDir, options.events, log) : null;

  let exitCode: number = EXIT.OK;
  let shuttingDown: Promise<void> | null = null;
  const collector = new IngestThread(
    options,
    log,
    sink,
    `tscapd ${VERSION}`,
    (msg) => {
      log.error(`fatal: ${msg}`);
      exitCode = EXIT.DATA;
      void shutdown();
    },
    undefined,
    monitor ? { port: monitor.feedPort, columns: monitor.columns } : undefined,
  );
  sample = () => collector.sample();

  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      try {
        await collector.stop();
      } catch (err) {
        log.error(`shutdown: ${(err as Error).message}`);
        exitCode = EXIT.DATA;
      }
      if (clickhouse !== undefined) {
        await clickhouse.stop();
        const c = clickhouse.counters;
        log.info(
          `clickhouse: ${c.sent} rows sent, ${c.backfilled} back-filled, ${c.duplicates} found stored, ${c.failed} failed, ${c.spoolBatches} batches left in the spool, ${c.backfillPending} block references left to back-fill`,
        );
      }
      await monitor?.stop();
      if (options.pidFile !== undefined) removePidFile(options.pidFile);
      log.info(`Terminating tscapd.`);
      process.exit(exitCode);
    })();
    return shuttingDown;
  };

  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.on("SIGHUP", () => {
    sink.reopen();
    log.info("log reopened");
    monitor?.reopen();
    monitor?.reload();
  });
  process.on("SIGPIPE", () => undefined);

  try {
    await collector.start();
  } catch (err) {
    log.error(
      err instanceof FatalError || err instanceof FlowError ? err.message : String((err as Error).stack ?? err),
    );
    if (options.pidFile !== undefined) removePidFile(options.pidFile);
    return failed(EXIT.DATA);
  }
  if (daemonChild && process.connected) {
    sink.captured = null;
    process.send!({ op: "ready" } satisfies DaemonMessage, () => {
      process.disconnect();
    });
  }
  watchParent(() => {
    log.warn("parent process gone (npm/npx): stopping");
    void shutdown();
  });
  return -1; // keep running until a signal
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tscapd: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = EXIT.DATA;
  },
);
