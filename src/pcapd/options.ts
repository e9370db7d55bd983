// SPDX-License-Identifier: BSD-3-Clause
// tspcapd's command line: nfpcapd's letters (-r -i -w -l -H -e -B -t -S -z -I -P -D -u -g -s) with softflowd's
// -v 5|9|10 for the export version, and an optional pcap filter expression as the remaining arguments.

import { Command, Option } from "commander";
import { collect, parseIntOption, VERSION } from "../cli/common.js";
import type { ExportProtocol } from "../replay/encode.js";
import { UsageError } from "../util/errors.js";
import { parseExportTarget } from "./output.js";

export interface PcapdOptions {
  readonly files: readonly string[];
  readonly iface: string | undefined;
  readonly flowdir: string | undefined;
  readonly host: { host: string; port: number } | undefined;
  readonly protocol: ExportProtocol;
  readonly activeMs: number;
  readonly inactiveMs: number;
  readonly cacheSize: number;
  readonly interval: number;
  readonly subdirLayout: number;
  readonly zoneInName: boolean;
  readonly codec: "lz4" | "none";
  readonly ident: string;
  readonly pidFile: string | undefined;
  readonly daemon: boolean;
  readonly user: string | undefined;
  readonly group: string | undefined;
  readonly snaplen: number;
  readonly promisc: boolean;
  readonly filter: string;
  readonly verbose: number;
}

export function buildProgram(): Command {
  return new Command("tspcapd")
    .description(
      "turn packets (pcap/pcapng files, gzip too, or a live interface) into flows: tsflow files or NetFlow/IPFIX export",
    )
    .usage("[options] [pcap filter expression]")
    .argument("[filter...]", "pcap filter expression (needs the libpcap addon)")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .option("-r, --read <file>", "read packets from a pcap or pcapng file (.gz too); repeatable", collect)
    .option("-i, --interface <if>", "capture live on an interface (libpcap)")
    .option("-l, --flowdir <dir>", "flow directory (created if missing)")
    .addOption(new Option("-w <dir>", "same as -l (nfpcapd spelling)"))
    .option("-H, --host <host/port>", "export flows to a collector instead of writing files (port 9995 when omitted)")
    .option("-v, --export-version <n>", "export as NetFlow v5, v9 or IPFIX (10) with -H", "9")
    .option("-e, --expire <active,inactive>", "active and inactive flow timeouts in seconds", "300,60")
    .option("-B, --cache <flows>", "flow cache size (flows held at most)", parseIntOption(1, 1 << 26), 524288)
    .option(
      "-t, --interval <seconds>",
      "rotate files every N seconds of packet time",
      parseIntOption(1, 86400 * 7),
      300,
    )
    .option(
      "-S, --subdirs <n>",
      "sub-directory layout 0-8 as nfcapd (default 1 = %Y/%m/%d; 0 = flat)",
      parseIntOption(0, 8),
      1,
    )
    .option("-Z", "add the time zone offset to file names")
    .option("-z, --compress [codec]", "block compression: lz4 (default) or none")
    .addOption(new Option("-y", "LZ4 (nfpcapd compatibility; the default)").hideHelp())
    .addOption(new Option("-j", "accepted for nfpcapd compatibility; tsflow writes LZ4").hideHelp())
    .option("-I, --ident <ident>", "ident stored in every file", "none")
    .option("-P, --pidfile <file>", "write the process id here")
    .option("-D, --daemon", "run in the background (live capture)")
    .option("-u, --user <user>", "drop privileges to this user after opening the interface")
    .option("-g, --group <group>", "drop privileges to this group after opening the interface")
    .option("-s, --snaplen <bytes>", "live capture snapshot length", parseIntOption(64, 262144), 1522)
    .option("--no-promisc", "do not put the interface into promiscuous mode")
    .option("--verbose", "more log output (repeatable)", (_v, prev: number) => prev + 1, 0);
}

function parseExpire(text: string): { activeMs: number; inactiveMs: number } {
  const m = /^(\d+),(\d+)$/.exec(text);
  if (!m) throw new UsageError(`-e: want active,inactive in seconds, got ${text}`);
  const active = Number(m[1]);
  const inactive = Number(m[2]);
  if (active < 1 || inactive < 1 || active > 86400 * 7 || inactive > 86400 * 7)
    throw new UsageError(`-e: timeouts must be 1..604800 s, got ${text}`);
  return { activeMs: active * 1000, inactiveMs: inactive * 1000 };
}

export function parsePcapdOptions(program: Command, argv: readonly string[]): PcapdOptions {
  program.parse([...argv], { from: "user" });
  const o = program.opts<Record<string, unknown>>();
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? o[k] : undefined);
  const files = (o["read"] as string[] | undefined) ?? [];
  const iface = str("interface");
  if (files.length === 0 && iface === undefined) throw new UsageError("no packet source: give -r FILE or -i INTERFACE");
  if (files.length > 0 && iface !== undefined) throw new UsageError("-r and -i are mutually exclusive");
  const flowdir = str("flowdir") ?? str("w");
  const hostText = str("host");
  if (flowdir === undefined && hostText === undefined)
    throw new UsageError("no output: give -l DIR (or -w DIR) for flow files, or -H host/port to export");
  if (flowdir !== undefined && hostText !== undefined) throw new UsageError("-l/-w and -H are mutually exclusive");
  let host: { host: string; port: number } | undefined;
  if (hostText !== undefined) {
    try {
      host = parseExportTarget(hostText);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const version = str("exportVersion") ?? "9";
  const protocol: ExportProtocol | undefined =
    version === "5" ? "v5" : version === "9" ? "v9" : version === "10" ? "ipfix" : undefined;
  if (protocol === undefined) throw new UsageError(`-v: export version 5, 9 or 10, got ${version}`);
  const ident = str("ident") ?? "none";
  if (!/^[^\s]{1,128}$/.test(ident)) throw new UsageError(`-I: bad ident '${ident}' (1-128 characters, no blanks)`);
  const codecText = o["compress"] === true || o["y"] === true || o["j"] === true ? "lz4" : (str("compress") ?? "lz4");
  if (codecText !== "lz4" && codecText !== "none") throw new UsageError(`-z: unknown codec ${codecText} (lz4 or none)`);
  const { activeMs, inactiveMs } = parseExpire(str("expire") ?? "300,60");
  return {
    files,
    iface,
    flowdir,
    host,
    protocol,
    activeMs,
    inactiveMs,
    cacheSize: o["cache"] as number,
    interval: o["interval"] as number,
    subdirLayout: o["subdirs"] as number,
    zoneInName: o["Z"] === true,
    codec: codecText,
    ident,
    pidFile: str("pidfile"),
    daemon: o["daemon"] === true,
    user: str("user"),
    group: str("group"),
    snaplen: o["snaplen"] as number,
    promisc: o["promisc"] !== false,
    filter: program.args.join(" ").trim(),
    verbose: o["verbose"] as number,
  };
}
