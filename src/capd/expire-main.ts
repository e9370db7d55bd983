#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsexpire: retention of flow directories by size, age and watermark (nfexpire's options).
//
//   tsexpire -l DIR                      list the directory's statistics and stored limits
//   tsexpire -e DIR [-s 500G] [-t 30d]   expire now (limits given, else the stored ones)
//   tsexpire -u DIR -s 500G -t 30d -w 90 store limits for tscapd -e

import { Command, InvalidArgumentError } from "commander";
import { EXIT, VERSION } from "../cli/common.js";
import {
  DEFAULT_WATERMARK,
  expireDirectory,
  parseLifetime,
  parseSize,
  readLimits,
  scanDirectory,
  writeLimits,
  type ExpireLimits,
} from "../store/expire.js";

const wrap =
  <T>(f: (s: string) => T) =>
  (s: string): T => {
    try {
      return f(s);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

const two = (n: number): string => String(n).padStart(2, "0");
function stamp(ms: number): string {
  if (ms === 0) return "-";
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
const gib = (b: number): string => (b === 0 ? "unlimited" : `${(b / 1024 ** 3).toFixed(2)} GiB (${b} bytes)`);
const life = (ms: number): string => (ms === 0 ? "unlimited" : `${(ms / 3_600_000).toFixed(1)} hours`);

function main(argv: readonly string[]): number {
  const program = new Command("tsexpire")
    .description("expire old flow files by size, lifetime and watermark, as nfexpire")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .option("-l, --list <dir>", "print the statistics and stored limits of a flow directory")
    .option("-r, --rescan <dir>", "rescan a flow directory and update its statistics file")
    .option("-e, --expire <dir>", "expire files now")
    .option("-u, --update <dir>", "store the limits given with -s/-t/-w for tscapd -e")
    .option("-s, --size <size>", "maximum size (binary units b k m g t; 0 = none)", wrap(parseSize))
    .option("-t, --lifetime <time>", "maximum age (w d H M; default unit hours; 0 = none)", wrap(parseLifetime))
    .option(
      "-w, --watermark <percent>",
      "expire down to this percentage of the limits",
      wrap((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error("watermark must be 1..100");
        return n;
      }),
    )
    .exitOverride();
  try {
    program.parse([...argv], { from: "user" });
  } catch {
    return argv.includes("-h") || argv.includes("--help") || argv.includes("-V") ? EXIT.OK : EXIT.USAGE;
  }
  const o = program.opts<{
    list?: string;
    rescan?: string;
    expire?: string;
    update?: string;
    size?: number;
    lifetime?: number;
    watermark?: number;
  }>();
  const merged = (dir: string): ExpireLimits => {
    const stored = readLimits(dir);
    return {
      maxSize: o.size ?? stored.maxSize,
      maxLife: o.lifetime ?? stored.maxLife,
      watermark: o.watermark ?? stored.watermark ?? DEFAULT_WATERMARK,
    };
  };
  try {
    if (o.update !== undefined) {
      writeLimits(o.update, merged(o.update));
      process.stdout.write(`limits stored in ${o.update}\n`);
    }
    if (o.rescan !== undefined) writeLimits(o.rescan, merged(o.rescan));
    if (o.expire !== undefined) {
      const r = expireDirectory(o.expire, merged(o.expire));
      process.stdout.write(`Expired ${r.deleted} files, ${r.freed} bytes; ${r.files} files, ${r.size} bytes remain\n`);
    }
    const listDir = o.list ?? o.rescan;
    if (listDir !== undefined) {
      const s = scanDirectory(listDir);
      const l = readLimits(listDir);
      process.stdout.write(
        [
          `Directory: ${listDir}`,
          `First:     ${stamp(s.first)}`,
          `Last:      ${stamp(s.last)}`,
          `Size:      ${s.size}`,
          `Files:     ${s.files}`,
          `Max size:  ${gib(l.maxSize)}`,
          `Lifetime:  ${life(l.maxLife)}`,
          `Watermark: ${l.watermark}%`,
          "",
        ].join("\n"),
      );
    }
    if (o.list === undefined && o.rescan === undefined && o.expire === undefined && o.update === undefined) {
      process.stderr.write("tsexpire: nothing to do: give -l, -r, -e or -u DIR (see --help)\n");
      return EXIT.USAGE;
    }
  } catch (err) {
    process.stderr.write(`tsexpire: ${(err as Error).message}\n`);
    return EXIT.DATA;
  }
  return EXIT.OK;
}

process.exitCode = main(process.argv.slice(2));
