// SPDX-License-Identifier: BSD-3-Clause
// tsdump's command line: nfdump's letters (reference §2.1) plus long forms, parsed into a QueryOptions value.
// Trailing arguments are joined with blanks into the filter, as nfdump does.

import { Command, InvalidArgumentError, Option } from "commander";
import { availableParallelism } from "node:os";
import { collect, parseIntOption, VERSION } from "../cli/common.js";

export interface QueryOptions {
  readonly readFile: string | undefined; // -r
  readonly readRange: string | undefined; // -R
  readonly multiDir: string | undefined; // -M
  readonly timeWindow: { readonly start: number; readonly end: number } | undefined; // -t (ms, inclusive bounds, as nfdump)
  readonly lastSeconds: number | undefined; // -T
  readonly limit: number | undefined; // -c
  readonly topN: number | undefined; // -n
  readonly stats: readonly string[]; // -s
  readonly aggregate: string | undefined; // -A
  readonly aggregateFiveTuple: boolean; // -a
  readonly bidirectional: 0 | 1 | 2; // -b 1, -B 2
  readonly order: string | undefined; // -O
  readonly postFilter: string | undefined; // -P
  readonly format: string | undefined; // -o
  readonly csvLegacy: boolean;
  readonly fullIPv6: boolean; // -6
  readonly plainNumbers: boolean; // -N
  readonly quiet: boolean; // -q
  readonly info: boolean; // -I
  readonly verifyFile: string | undefined; // -v
  readonly exportersFile: string | undefined; // -E
  readonly writeFile: string | undefined; // -w
  readonly compress: string | undefined; // -z / -y / -j for -w
  readonly recompress: string | undefined; // -J
  readonly filterFile: string | undefined; // -f
  readonly checkOnly: boolean; // -Z
  readonly explain: boolean; // -X
  readonly workers: number; // -W
  readonly progress: boolean | undefined; // --progress / --no-progress (undefined = when stderr is a TTY)
  readonly table: boolean; // --table
  readonly filter: string; // trailing words
  readonly clickhouse: string | undefined; // --clickhouse URL: load the selection instead of printing it
}

const two = (n: number): string => String(n).padStart(2, "0");

/**
 * Parses nfdump's time window `YYYY/MM/dd.hh:mm:ss[-YYYY/MM/dd.hh:mm:ss]` in local time. Partial specs are
 * allowed (`2026/11/23`, `2026/11/23.12`, `2026/11/23.12:05`): a missing end means "to the end of time" as in
 * nfdump. Returns ms since the epoch.
 */
export function parseTimeWindow(text: string): { start: number; end: number } {
  const parts = text.split(/-(?=\d{4}\/)/);
  if (parts.length > 2 || parts[0] === undefined) throw new InvalidArgumentError(`bad time window ${text}`);
  const start = parseTimeSpec(parts[0]);
  const end = parts[1] === undefined ? Number.MAX_SAFE_INTEGER : parseTimeSpec(parts[1]);
  if (end < start) throw new InvalidArgumentError(`time window ends before it starts: ${text}`);
  return { start, end };
}

export function parseTimeSpec(spec: string): number {
  const m = /^(\d{4})\/(\d{1,2})(?:\/(\d{1,2})(?:\.(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?)?$/.exec(spec.trim());
  if (!m) throw new InvalidArgumentError(`bad time ${spec} (want YYYY/MM/dd.hh:mm:ss)`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  const date = new Date(y!, mo! - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0, 0);
  if (date.getMonth() !== mo! - 1 || date.getDate() !== (d ?? 1))
    throw new InvalidArgumentError(`no such date: ${spec}`);
  return date.getTime();
}

/** Formats ms as nfdump prints window times: `YYYY-MM-DD hh:mm:ss` (local time). */
export function formatWindowTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function buildProgram(): Command {
  return new Command("tsdump")
    .description(
      "filter, list, aggregate and summarise stored flows (tsflow files and nfdump archives) with nfdump's options",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .option("-r, --read <path>", "read a flow file, or every flow file below a directory")
    .option("-R, --range <spec>", "read dir, dir/file (to the end of its directory) or dir/first:last")
    .option("-M, --multi-dir <dirs>", "read the same files from several directories: /base/d1:d2")
    .option(
      "-t, --time-window <window>",
      "only flows inside YYYY/MM/dd.hh:mm:ss[-YYYY/MM/dd.hh:mm:ss]",
      parseTimeWindow,
    )
    .option(
      "-T, --last <seconds>",
      "only flows of the last SECONDS before now (tsflow addition)",
      parseIntOption(1, 2 ** 40),
    )
    .option("-c, --count <n>", "stop after N flows passed the filter", parseIntOption(1, Number.MAX_SAFE_INTEGER))
    .option(
      "-n, --top <n>",
      "top N for -s (default 10), line limit for -O and -A (0 = all)",
      parseIntOption(0, Number.MAX_SAFE_INTEGER),
    )
    .option("-s, --stat <stat>", "top-N statistic elem[:p][/order[/order...]]; repeatable", collect)
    .option("-A, --aggregate <keys>", "aggregate flows on a comma list of keys (srcip,dstip,srcip4/24,...)")
    .option("-a", "aggregate on the 5-tuple")
    .option("-b", "bidirectional aggregation")
    .option("-B", "bidirectional aggregation, server side guessed by port")
    .option("-O, --order <order>", "sort the listed or aggregated flows: bytes, packets, flows, tstart, ...")
    .option("-P, --post-filter <filter>", "filter applied to aggregated or statistic results")
    .option(
      "-o, --output <format>",
      "line long extended raw csv csv:<fmt> json ndjson pipe null fmt:<fmt> (6 = full IPv6)",
    )
    .option("--csv-legacy", "-o csv as nfdump 1.7.1: 48 fixed columns and a Summary block")
    .option("-6", "do not condense IPv6 addresses")
    .option("-N", "plain numbers: no k/M/G scaling")
    .option("-q", "quiet: no header, no summary")
    .option("-I", "print the statistics record of the selected files")
    .option("-v, --verify <file>", "verify a file: header, blocks, checksums")
    .option("-E, --exporters <file>", "list the exporters of a file with their counters")
    .option("-w, --write <file>", "write the passed (or aggregated) flows to a new tsflow file")
    .option("-z, --compress [codec]", "compression for -w: lz4 (default) or none")
    .addOption(new Option("-y", "LZ4 compression for -w (nfdump compatibility)").hideHelp())
    .addOption(new Option("-j", "accepted for nfdump compatibility; tsflow writes LZ4").hideHelp())
    .option("-J, --recompress <codec>", "recompress the files given by -r/-R in place (lz4 or none)")
    .option("-f, --filter-file <file>", "read the filter from a file")
    .option("-Z", "check the filter syntax only (exit 254 on error)")
    .option("-X", "print the compiled filter")
    .option(
      "-W, --workers <n>",
      "scanning threads: the main one and n - 1 workers (default: number of cores)",
      parseIntOption(1, 256),
      Math.max(1, availableParallelism()),
    )
    .option("--progress", "show progress on stderr (default when stderr is a terminal)")
    .option("--no-progress", "never show progress")
    .option("--table", "draw -s and -I tables with box characters (terminal use)")
    .option(
      "--clickhouse <url>",
      "load the selected flows into ClickHouse (http://host:8123/?database=flows); resumable",
    )
    .argument("[filter...]", "nfdump filter expression, e.g. 'src ip 10.0.0.1 and dst port 443'");
}

/** Parses argv (without node and script) into QueryOptions; commander reports usage errors itself. */
export function parseQueryOptions(program: Command, argv: readonly string[]): QueryOptions {
  program.parse([...argv], { from: "user" });
  const o = program.opts<Record<string, unknown>>();
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? o[k] : undefined);
  const compress = o["y"] === true || o["j"] === true ? "lz4" : o["compress"] === true ? "lz4" : str("compress");
  return {
    readFile: str("read"),
    readRange: str("range"),
    multiDir: str("multiDir"),
    timeWindow: o["timeWindow"] as QueryOptions["timeWindow"],
    lastSeconds: o["last"] as number | undefined,
    limit: o["count"] as number | undefined,
    topN: o["top"] as number | undefined,
    stats: (o["stat"] as string[] | undefined) ?? [],
    aggregate: str("aggregate"),
    aggregateFiveTuple: o["a"] === true,
    bidirectional: o["B"] === true ? 2 : o["b"] === true ? 1 : 0,
    order: str("order"),
    postFilter: str("postFilter"),
    format: str("output"),
    csvLegacy: o["csvLegacy"] === true,
    fullIPv6: o["6"] === true,
    plainNumbers: o["N"] === true,
    quiet: o["q"] === true,
    info: o["I"] === true,
    verifyFile: str("verify"),
    exportersFile: str("exporters"),
    writeFile: str("write"),
    compress,
    recompress: str("recompress"),
    filterFile: str("filterFile"),
    checkOnly: o["Z"] === true,
    explain: o["X"] === true,
    workers: o["workers"] as number,
    progress: o["progress"] as boolean | undefined,
    table: o["table"] === true,
    filter: program.args.join(" ").trim(),
    clickhouse: str("clickhouse"),
  };
}
