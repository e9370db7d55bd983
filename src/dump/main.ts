#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsdump: query tsflow flow files with nfdump's option letters, filter language and output layouts.
//
// Exit codes: 0 ok (also "No matching flows" and a closed output pipe), 1 usage, 2 unreadable or
// corrupt data (reported with file/block/offset, the rest still read), 254 filter error.

import { CommanderError } from "commander";
import { EXIT } from "../cli/common.js";
import { FilterSyntaxError } from "../filter/index.js";
import { BufferedOutput } from "../format/out.js";
import { FlowError, UsageError } from "../util/errors.js";
import { buildProgram, parseQueryOptions, type QueryOptions } from "./options.js";
import { runQuery } from "./query.js";
import { fstatSync } from "node:fs";

/**
 * Whether stderr is a terminal (progress is drawn there). fstat first: node:tty, which loads node:net and the
 * stream classes, only for a character device (a terminal, or /dev/null).
 */
function stderrIsTty(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.getBuiltinModule("node:tty").isatty(2);
}

/** Set by a ClickHouse load: its sockets may still be closing when main returns. */
let lingering = false;

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return EXIT.OK; // nfdump prints its usage and exits 0 without arguments
  }
  let options: QueryOptions;
  try {
    options = parseQueryOptions(program, argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    process.stderr.write(`tsdump: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  const out = new BufferedOutput(1);
  try {
    // not process.stderr.isTTY: a run that writes nothing to stderr never builds its stream
    const progress = options.progress ?? stderrIsTty();
    const io = { out, err: (t: string) => process.stderr.write(t), now: Date.now, progress };
    lingering = options.clickhouse !== undefined;
    const code =
      options.clickhouse !== undefined
        ? await (await import("./clickhouse.js")).runClickHouseLoad(options, options.clickhouse, io)
        : await runQuery(options, io);
    out.flush();
    return code;
  } catch (err) {
    out.flush();
    if (err instanceof FilterSyntaxError) {
      process.stderr.write(`${err.format()}\n`);
      return EXIT.FILTER;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tsdump: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof FlowError) {
      process.stderr.write(`tsdump: ${err.message}\n`);
      return err.code.startsWith("ERR_STORE") ? EXIT.DATA : EXIT.USAGE;
    }
    throw err;
  }
}

/**
 * The exit once main is done. On Linux, Node writes process.stdout and process.stderr synchronously to files,
 * pipes and terminals, and tsdump writes its output with writeSync: nothing is pending when main returns, and
 * process.exit ends the process without tearing down the environment and the heap first (docs/benchmarks.md).
 * Elsewhere, and after a ClickHouse load, the process ends when its event loop is empty.
 */
function finish(code: number): void {
  process.exitCode = code;
  if (process.platform === "linux" && !lingering) process.exit();
}

main(process.argv.slice(2)).then(
  (code) => {
    finish(code);
  },
  (err: unknown) => {
    process.stderr.write(`tsdump: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = EXIT.DATA;
  },
);
