#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsweb: the web view of tsflow's files (NfSen's job): overview graphs, tsdump's statistics, flow listing and
// aggregation as pages whose URLs are tsdump's words, on the library engine tsdump uses.
//
// Exit codes: 0 stopped by a signal, 1 usage, 2 cannot listen.

import { Command, CommanderError, InvalidArgumentError } from "commander";
import { EXIT, parseIntOption, VERSION } from "../cli/common.js";
import { WebServer } from "./server.js";

interface WebOptions {
  readRange?: string;
  multiDir?: string;
  port: number;
  bind: string;
  auth?: string;
  queries: number;
  queue: number;
  timeout: number;
  memory: number;
  rows: number;
}

function parseAuth(v: string): string {
  if (v.length < 8) throw new InvalidArgumentError("at least 8 characters (token or user:password)");
  if (/[\s\u0000-\u001f]/.test(v)) throw new InvalidArgumentError("no blanks or control characters");
  return v;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 86400)
    throw new InvalidArgumentError("seconds: 0 < s ≤ 86400");
  return n;
}

function buildProgram(): Command {
  return new Command("tsweb")
    .description("web view of tsflow files: graphs, tsdump -s statistics, flows and -A aggregation in the browser")
    .version(VERSION, "-V, --version")
    .option("-R, --read-range <dir>", "flow files: a directory (walked) or first:last file names, as tsdump -R")
    .option("-M, --multi-dir <dirs>", "base/dir1:dir2…, with -R relative to each, as tsdump -M")
    .option("-p, --port <port>", "TCP port to listen on", parseIntOption(0, 65535), 8080)
    .option("-b, --bind <addr>", "address to listen on (loopback unless told otherwise)", "127.0.0.1")
    .option("--auth <secret>", "require a token (Bearer, or basic password) or user:password (basic)", parseAuth)
    .option("--queries <n>", "queries running at once", parseIntOption(1, 64), 2)
    .option("--queue <n>", "queries waiting for a slot; more are answered 503", parseIntOption(0, 1000), 8)
    .option("--timeout <seconds>", "wall time of one query (decimals allowed)", parseSeconds, 60)
    .option("--memory <MiB>", "heap of one query", parseIntOption(64, 65536), 512)
    .option("--rows <n>", "rows a table or download holds at most", parseIntOption(1, 10_000_000), 10_000)
    .exitOverride();
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  let o: WebOptions;
  try {
    program.parse(argv, { from: "user" });
    o = program.opts<WebOptions>();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    throw err;
  }
  if (o.readRange === undefined && o.multiDir === undefined) {
    process.stderr.write("tsweb: no input: give -R dir or -M dirs\n");
    return EXIT.USAGE;
  }
  if (process.env["TSWEB_AUTH"] !== undefined && o.auth === undefined) o.auth = process.env["TSWEB_AUTH"];
  const web = new WebServer({
    selection: {
      ...(o.readRange !== undefined ? { range: o.readRange } : {}),
      ...(o.multiDir !== undefined ? { multiDir: o.multiDir } : {}),
    },
    auth: o.auth,
    limits: { concurrent: o.queries, queued: o.queue, timeoutMs: o.timeout * 1000, memoryMb: o.memory },
    maxRows: o.rows,
    // the tables may take half the heap: the rest is the scan's blocks and the answer
    memoryLimit: Math.floor(o.memory / 2) * 1024 * 1024,
    address: o.bind,
  });
  let where;
  try {
    where = await web.listen(o.port, o.bind);
  } catch (err) {
    process.stderr.write(`tsweb: cannot listen on ${o.bind}:${o.port}: ${(err as Error).message}\n`);
    return EXIT.DATA;
  }
  const host = where.address.includes(":") ? `[${where.address}]` : where.address;
  process.stdout.write(`tsweb: listening on http://${host}:${where.port}/\n`);
  // read the footers once now, so the first overview does not wait for them
  setImmediate(() => {
    web.warm();
  });
  await new Promise<void>((ok) => {
    const stop = (): void => {
      void web.close().then(ok);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return EXIT.OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsweb: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = EXIT.DATA;
  },
);
