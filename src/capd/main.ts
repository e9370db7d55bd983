#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tscapd: the flow collector daemon (nfcapd's option letters). Wires the command line, logging, pidfile,
// daemon mode, metrics and signals around the Collector.
//
// Exit codes: 0 after TERM/INT, 1 for a bad command line, 2 for a resource failure (bind, directory, disk).

import { spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { CommanderError } from "commander";
import { EXIT, VERSION } from "../cli/common.js";
import { FlowError } from "../util/errors.js";
import { Logger, type LogSink } from "../util/log.js";
import { FatalError } from "./collector.js";
import { IngestThread } from "./ingest-thread.js";
import { createMetricsRegistry, startMetricsServer } from "./metrics.js";
import { buildProgram, parseCollectorOptions, type CollectorOptions } from "./options.js";
import { removePidFile, writePidFile } from "./pidfile.js";

/** Log sink writing to stderr or to a file that SIGHUP reopens (logrotate). */
class FileSink implements LogSink {
  private fd = -1;
  private readonly path: string | undefined;
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
    const stamped = `${new Date().toISOString()} ${line}`;
    if (this.fd >= 0) writeSync(this.fd, stamped);
    else process.stderr.write(this.path === undefined ? line : stamped);
  }
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

  if (options.daemon) {
    // Re-exec ourselves without -D, detached, and leave: the child is the daemon.
    const args = process.argv.slice(1).filter((a) => a !== "-D" && a !== "--daemon");
    const child = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
    child.unref();
    return EXIT.OK;
  }

  const sink = new FileSink(options.logFile);
  const log = new Logger({ level: options.verbose > 0 ? "debug" : "info", sink });
  if (options.pidFile !== undefined) {
    try {
      writePidFile(options.pidFile);
    } catch (err) {
      log.error((err as Error).message);
      return EXIT.USAGE;
    }
  }

  let exitCode: number = EXIT.OK;
  let shuttingDown: Promise<void> | null = null;
  const collector = new IngestThread(options, log, sink, `tscapd ${VERSION}`, (msg) => {
    log.error(`fatal: ${msg}`);
    exitCode = EXIT.DATA;
    void shutdown();
  });

  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      try {
        await collector.stop();
      } catch (err) {
        log.error(`shutdown: ${(err as Error).message}`);
        exitCode = EXIT.DATA;
      }
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
  });
  process.on("SIGPIPE", () => undefined);

  try {
    await collector.start();
  } catch (err) {
    log.error(
      err instanceof FatalError || err instanceof FlowError ? err.message : String((err as Error).stack ?? err),
    );
    if (options.pidFile !== undefined) removePidFile(options.pidFile);
    return EXIT.DATA;
  }
  if (options.metrics !== undefined) {
    try {
      const registry = createMetricsRegistry(() => {
        const { counters, exporters } = collector.sample();
        return {
          datagrams: counters.datagrams,
          notAllowed: counters.notAllowed,
          queueDropped: counters.queueDropped,
          flowsStored: counters.flowsStored,
          filesWritten: counters.filesWritten,
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
      const server = await startMetricsServer(options.metrics, registry);
      server.unref();
      log.info(`metrics on http://${options.metrics}/metrics`);
    } catch (err) {
      log.error(`--metrics ${options.metrics}: ${(err as Error).message}`);
      await shutdown();
    }
  }
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
