// SPDX-License-Identifier: BSD-3-Clause
// tscapd's command line: nfcapd's letters (reference §1.1) with long forms, validated into CollectorOptions.

import { Command, Option } from "commander";
import { collect, parseIntOption, VERSION } from "../cli/common.js";
import { UsageError } from "../util/errors.js";
import { parsePrefix } from "./allow.js";
import { MAX_REPEATERS, parseRepeatTarget, type RepeatTarget } from "./repeater.js";
import { parseClickHouseUrl, type ClickHouseTarget } from "../clickhouse/client.js";

/** One flow source: where its files go and what ident they carry. */
export interface SourceSpec {
  readonly ident: string;
  /** Exporter prefixes routed to this source; empty = everything not claimed by another source. */
  readonly prefixes: readonly string[];
  readonly dir: string;
}

export interface CollectorOptions {
  readonly port: number;
  readonly bind: string | undefined;
  readonly family: 4 | 6 | 0; // 0 = both (dual stack)
  readonly sources: readonly SourceSpec[];
  readonly dynamicDir: string | undefined; // -M
  readonly interval: number; // -t seconds
  readonly subdirLayout: number; // -S
  readonly socketBuffer: number | undefined; // -B
  readonly pidFile: string | undefined;
  readonly daemon: boolean;
  readonly command: string | undefined; // -x
  readonly expire: boolean; // -e
  readonly sampling: number; // -s (negative = override)
  readonly repeaters: readonly RepeatTarget[];
  readonly multicast: string | undefined; // -J
  readonly zoneInName: boolean; // -Z
  readonly codec: "lz4" | "none";
  readonly verbose: number;
  readonly allow: readonly string[];
  readonly metrics: string | undefined;
  readonly templatesFile: string | undefined;
  readonly logFile: string | undefined;
  /** --clickhouse: where every stored flow also goes, and the spool directory for when it is away */
  readonly clickhouse: { readonly target: ClickHouseTarget; readonly spoolDir: string } | undefined;
  /** --monitor FILE (monitoring configuration) and --events FILE (its events log) */
  readonly monitor: string | undefined;
  readonly events: string | undefined;
}

export function buildProgram(): Command {
  return new Command("tscapd")
    .description("collect NetFlow v1/v5/v7/v9, IPFIX and sFlow v5 on one UDP port into rotated tsflow files")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .option("-p, --port <port>", "UDP port to listen on", parseIntOption(0, 65535), 9995)
    .option("-b, --bind <host>", "address to bind to (default: all)")
    .option("-4", "IPv4 only")
    .option("-6", "IPv6 only (with -4: both)")
    .option("-l, --flowdir <dir>", "flow directory (created if missing)")
    .addOption(new Option("-w <dir>", "same as -l (nfcapd spelling)"))
    .option(
      "-t, --interval <seconds>",
      "rotate files every N seconds, aligned to the clock",
      parseIntOption(1, 86400 * 7),
      300,
    )
    .option(
      "-S, --subdirs <n>",
      "sub-directory layout 0-8 as nfcapd (default 1 = %Y/%m/%d; 0 = flat)",
      parseIntOption(0, 8),
      1,
    )
    .option("-I, --ident <ident>", "ident stored in every file", "none")
    .option(
      "-n, --source <ident,IP,dir>",
      "a fixed source: packets from IP (or IP/len; ;-separated list) go to dir; repeatable",
      collect,
    )
    .option("-M, --dynamic <dir>", "one sub-directory per exporter address below dir")
    .option("-B, --buffer <bytes>", "socket receive buffer size", parseIntOption(1024, 1 << 30))
    .option("-P, --pidfile <file>", "write the process id here; refuse to start if it names a running process")
    .option("-D, --daemon", "run in the background")
    .option(
      "-x, --exec <cmd>",
      "run cmd after each rotation (%f file, %d dir, %t time, %u unix time, %i ident); no shell",
    )
    .option("-e, --expire", "expire old files after each rotation by the limits stored with tsexpire -u")
    .option(
      "-s, --sampling <rate>",
      "default sampling rate; negative = override the exporter's",
      parseIntOption(-10_000_000, 10_000_000),
      1,
    )
    .option("-R, --repeat <host/port>", "repeat every datagram to host/port (up to 8); repeatable", collect)
    .option("-J, --multicast <group>", "join a multicast group")
    .option("-Z", "add the time zone offset to file names")
    .option("-z, --compress [codec]", "block compression: lz4 (default) or none")
    .addOption(new Option("-y", "LZ4 (nfcapd compatibility; the default)").hideHelp())
    .addOption(new Option("-j", "accepted for nfcapd compatibility; tsflow writes LZ4").hideHelp())
    .option("-v, --verbose", "more log output (repeatable)", (_v, prev: number) => prev + 1, 0)
    .option("--allow <cidr...>", "accept datagrams only from these exporter prefixes")
    .option("--metrics <host:port>", "serve Prometheus metrics on host:port")
    .option("--templates <file>", "template cache file (default: .tscapd-templates.json in the flow directory)")
    .option("--log <file>", "log to this file instead of stderr (reopened on SIGHUP)")
    .option("--clickhouse <url>", "also insert every stored flow into ClickHouse (http://host:8123/?database=flows)")
    .option(
      "--clickhouse-spool <dir>",
      "spool for --clickhouse while the server is away (default: .clickhouse-spool in the flow directory)",
    )
    .option(
      "--monitor <file>",
      "live monitors (YAML/JSON): moving-average alerts, fixed windows into PostgreSQL; SIGHUP reloads",
    )
    .option("--events <file>", "append the monitors' over/back events here (ndjson; reopened on SIGHUP)");
}

function splitSource(text: string): SourceSpec {
  const first = text.indexOf(",");
  const last = text.lastIndexOf(",");
  if (first < 0 || last === first) throw new UsageError(`-n: want ident,IP,dir, got ${text}`);
  const ident = text.slice(0, first);
  const prefixes = text
    .slice(first + 1, last)
    .split(";")
    .filter((p) => p.length > 0);
  const dir = text.slice(last + 1);
  if (!/^[^\s]{1,128}$/.test(ident)) throw new UsageError(`-n: bad ident '${ident}' (1-128 characters, no blanks)`);
  if (prefixes.length === 0 || dir.length === 0) throw new UsageError(`-n: want ident,IP,dir, got ${text}`);
  for (const p of prefixes) parsePrefix(p);
  return { ident, prefixes, dir };
}

export function parseCollectorOptions(program: Command, argv: readonly string[]): CollectorOptions {
  program.parse([...argv], { from: "user" });
  const o = program.opts<Record<string, unknown>>();
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? o[k] : undefined);
  const flowdir = str("flowdir") ?? str("w");
  const ident = str("ident") ?? "none";
  if (!/^[^\s]{1,128}$/.test(ident)) throw new UsageError(`-I: bad ident '${ident}' (1-128 characters, no blanks)`);
  const named = ((o["source"] as string[] | undefined) ?? []).map(splitSource);
  const dynamicDir = str("dynamic");
  if (named.length > 0 && flowdir !== undefined)
    throw new UsageError("-n and -l/-w do not mix: give each source its directory with -n");
  if (dynamicDir !== undefined && (named.length > 0 || flowdir !== undefined))
    throw new UsageError("-M does not mix with -n or -l/-w");
  if (named.length === 0 && flowdir === undefined && dynamicDir === undefined) {
    throw new UsageError("no flow directory: give -l DIR (or -w DIR, -n ident,IP,dir, -M DIR)");
  }
  const sources = named.length > 0 ? named : flowdir !== undefined ? [{ ident, prefixes: [], dir: flowdir }] : [];
  const repeaters = ((o["repeat"] as string[] | undefined) ?? []).map(parseRepeatTarget);
  if (repeaters.length > MAX_REPEATERS) throw new UsageError(`-R: at most ${MAX_REPEATERS} repeaters`);
  const allow = (o["allow"] as string[] | undefined) ?? [];
  for (const a of allow) parsePrefix(a);
  const codecText = o["compress"] === true || o["y"] === true || o["j"] === true ? "lz4" : (str("compress") ?? "lz4");
  if (codecText !== "lz4" && codecText !== "none") throw new UsageError(`-z: unknown codec ${codecText} (lz4 or none)`);
  const sampling = o["sampling"] as number;
  if (sampling === 0) throw new UsageError("-s: the sampling rate cannot be 0");
  const v4 = o["4"] === true;
  const v6 = o["6"] === true;
  const bind = str("bind");
  const multicast = str("multicast");
  if (bind !== undefined && multicast !== undefined) throw new UsageError("-b and -J are mutually exclusive");
  // checked here, before anything is bound or written
  if (str("events") !== undefined && str("monitor") === undefined) throw new UsageError("--events wants --monitor");
  const metrics = str("metrics");
  if (metrics !== undefined) parseHostPort(metrics);
  const chUrl = str("clickhouse");
  let clickhouse: CollectorOptions["clickhouse"];
  if (chUrl !== undefined) {
    try {
      const firstDir = sources[0]?.dir ?? dynamicDir ?? ".";
      clickhouse = {
        target: parseClickHouseUrl(chUrl),
        spoolDir: str("clickhouseSpool") ?? `${firstDir}/.clickhouse-spool`,
      };
    } catch (err) {
      throw new UsageError(`--clickhouse: ${(err as Error).message}`);
    }
  } else if (str("clickhouseSpool") !== undefined) throw new UsageError("--clickhouse-spool needs --clickhouse");
  return {
    port: o["port"] as number,
    bind,
    family: v4 && v6 ? 0 : v6 ? 6 : v4 ? 4 : 0,
    sources,
    dynamicDir,
    interval: o["interval"] as number,
    subdirLayout: o["subdirs"] as number,
    socketBuffer: o["buffer"] as number | undefined,
    pidFile: str("pidfile"),
    daemon: o["daemon"] === true,
    command: str("exec"),
    expire: o["expire"] === true,
    sampling,
    repeaters,
    multicast,
    zoneInName: o["Z"] === true,
    codec: codecText,
    verbose: o["verbose"] as number,
    allow,
    metrics,
    templatesFile: str("templates"),
    logFile: str("log"),
    clickhouse,
    monitor: str("monitor"),
    events: str("events"),
  };
}

/** `--metrics host:port` ([v6]:port for IPv6). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--metrics: want host:port, got ${text}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`--metrics: bad port in ${text}`);
  return { host: m[1] ?? m[2]!, port };
}
