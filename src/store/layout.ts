// SPDX-License-Identifier: BSD-3-Clause
// Flow directory layout: time slots, file names, nfcapd's -S sub-directory formats, and file listing for tsdump
// (-r file|dir, -R range, -M dirs, time window).
//
// Names follow nfcapd (reference/nfdump.md §1.2–1.3):
//   tscapd.YYYYMMDDhhmm           slot start in local time (default), UTC, or a fixed offset
//   tscapd.YYYYMMDDhhmmss         when the interval is shorter than 60 s
//   tscapd.YYYYMMDDhhmm+0100      with `appendZone` (nfcapd -Z appends %z)
//   tscapd.YYYYMMDDhhmm.1         a second file of the same slot (a restart inside the slot never replaces the
//                                 earlier file; see FlowFileWriter close({ ifExists: "suffix" }))
//   tscapd.current.<pid>          the file being written (skipped by listings)
// Slots are wall-clock aligned like nfcapd: slot = t − t mod interval (seconds since the epoch).
// Listings also accept nfdump's `nfcapd.*` names (nfdump archives) and sort everything by the time in the name.

import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../util/errors.js";
import { STORE_ERROR, StoreError } from "./errors.js";

/** Time zone for names and sub-directories: the process's local zone, UTC, or a fixed offset east of UTC. */
export type Zone = "local" | "utc" | { offsetMinutes: number };

/** nfcapd -S formats 0..8 (strftime). */
export const SUBDIR_FORMATS = [
  "",
  "%Y/%m/%d",
  "%Y/%m/%d/%H",
  "%Y/%W/%u",
  "%Y/%W/%u/%H",
  "%Y/%j",
  "%Y/%j/%H",
  "%Y-%m-%d",
  "%Y-%m-%d/%H",
] as const;

export const FILE_PREFIX = "tscapd";

interface Parts {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday */
  wday: number;
  /** 0-based day of the year */
  yday: number;
  /** offset east of UTC in minutes */
  offset: number;
}

function partsOf(ms: number, zone: Zone): Parts {
  if (zone === "local") {
    const d = new Date(ms);
    const start = new Date(d.getFullYear(), 0, 1);
    // day of year by calendar dates (DST-safe: compare UTC midnights of the same calendar days)
    const yday = Math.round(
      (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(start.getFullYear(), 0, 1)) / 86_400_000,
    );
    return {
      year: d.getFullYear(),
      month: d.getMonth() + 1,
      day: d.getDate(),
      hour: d.getHours(),
      minute: d.getMinutes(),
      second: d.getSeconds(),
      wday: d.getDay(),
      yday,
      offset: -d.getTimezoneOffset(),
    };
  }
  const offset = zone === "utc" ? 0 : zone.offsetMinutes;
  const d = new Date(ms + offset * 60_000);
  const yday = Math.floor(
    (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000,
  );
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    wday: d.getUTCDay(),
    yday,
    offset,
  };
}

const p2 = (n: number): string => String(n).padStart(2, "0");

/**
 * strftime for the conversions flow layouts use: %Y %m %d %H %M %S %j %W %u %w %F %z %%.
 * %W = week of the year with Monday as first day (00–53, days before the first Monday are week 00);
 * %u = day of the week 1–7, Monday = 1 — exactly as C strftime.
 */
export function strftime(format: string, ms: number, zone: Zone = "local"): string {
  const t = partsOf(ms, zone);
  return format.replace(/%([YmdHMSjWuwFz%])/g, (_, c: string) => {
    switch (c) {
      case "Y":
        return String(t.year);
      case "m":
        return p2(t.month);
      case "d":
        return p2(t.day);
      case "H":
        return p2(t.hour);
      case "M":
        return p2(t.minute);
      case "S":
        return p2(t.second);
      case "j":
        return String(t.yday + 1).padStart(3, "0");
      case "W":
        return p2(Math.floor((t.yday + 7 - ((t.wday + 6) % 7)) / 7));
      case "u":
        return String(t.wday === 0 ? 7 : t.wday);
      case "w":
        return String(t.wday);
      case "F":
        return `${t.year}-${p2(t.month)}-${p2(t.day)}`;
      case "z": {
        const a = Math.abs(t.offset);
        return `${t.offset < 0 ? "-" : "+"}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
      }
      default:
        return "%";
    }
  });
}

/** Start of the slot holding `ms` (ms since the epoch), slots aligned to multiples of `intervalSec`. */
export function slotStart(ms: number, intervalSec: number): number {
  const t = Math.floor(ms / 1000);
  return (t - (t % intervalSec)) * 1000;
}

export interface NameOptions {
  /** rotation interval in seconds (nfcapd -t); < 60 switches names to seconds */
  interval: number;
  zone?: Zone;
  /** append the zone offset (%z) like nfcapd -Z */
  appendZone?: boolean;
  prefix?: string;
}

/** `tscapd.YYYYMMDDhhmm[ss][±zzzz]` for a slot start. */
export function flowFileName(slotMs: number, o: NameOptions): string {
  const zone = o.zone ?? "local";
  const fmt = o.interval < 60 ? "%Y%m%d%H%M%S" : "%Y%m%d%H%M";
  return `${o.prefix ?? FILE_PREFIX}.${strftime(fmt, slotMs, zone)}${o.appendZone ? strftime("%z", slotMs, zone) : ""}`;
}

/** The nfcapd -S sub-directory (relative, "" for level 0). @throws StoreError for a level outside 0..8. */
export function subDirectory(slotMs: number, level: number, zone: Zone = "local"): string {
  const fmt = SUBDIR_FORMATS[level];
  if (fmt === undefined || !Number.isInteger(level)) {
    throw new StoreError(STORE_ERROR.LIST, `store: no such sub-directory level ${level} (0..8)`, { file: "" });
  }
  return fmt === "" ? "" : strftime(fmt, slotMs, zone);
}

/** Full path of the final file of a slot: base/<subdir>/tscapd.<time>. */
export function flowFilePath(base: string, slotMs: number, o: NameOptions & { subdirLevel?: number }): string {
  return path.join(base, subDirectory(slotMs, o.subdirLevel ?? 0, o.zone ?? "local"), flowFileName(slotMs, o));
}

/** Name of the file being written: `tscapd.current.<pid>`. */
export function currentFileName(pid: number = process.pid, prefix = FILE_PREFIX): string {
  return `${prefix}.current.${pid}`;
}

const NAME_RE = /^(tscapd|nfcapd)\.(\d{12}|\d{14})([+-]\d{4})?(?:\.(\d{1,3}))?$/;

export interface ParsedName {
  prefix: string;
  /** slot start, ms since the epoch */
  time: number;
  /** 0, or n of a `.n` duplicate-slot suffix */
  seq: number;
  /** true when the name carries seconds */
  seconds: boolean;
}

/** Parses a flow file name; undefined for anything else (including `.current.*` and dot files). */
export function parseFlowFileName(name: string, zone: Zone = "local"): ParsedName | undefined {
  const m = NAME_RE.exec(name);
  if (m === null) return undefined;
  const s = m[2]!;
  const num = (a: number, b: number): number => Number(s.slice(a, b));
  const [Y, M, D, h, mi] = [num(0, 4), num(4, 6), num(6, 8), num(8, 10), num(10, 12)];
  const sec = s.length === 14 ? num(12, 14) : 0;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  let time: number;
  const z = m[3];
  if (z !== undefined) {
    const off = (z[0] === "-" ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
    time = Date.UTC(Y, M - 1, D, h, mi, sec) - off * 60_000;
  } else if (zone === "local") {
    time = new Date(Y, M - 1, D, h, mi, sec).getTime();
  } else {
    time = Date.UTC(Y, M - 1, D, h, mi, sec) - (zone === "utc" ? 0 : zone.offsetMinutes) * 60_000;
  }
  return { prefix: m[1]!, time, seq: m[4] === undefined ? 0 : Number(m[4]), seconds: s.length === 14 };
}

// ── listing ─────────────────────────────────────────────────────────────────────────────────────────────

export interface ListOptions {
  /** zone the names are in (default local, as written by default) */
  zone?: Zone;
  /**
   * Only files whose slot [t, t + interval) overlaps [start, end] (ms). The interval is taken from the gap to the
   * next file in the listing (the last file: `interval` seconds, default 300). Name-based and coarse: tsdump
   * then checks each file's statistics record and the block zone maps.
   */
  window?: { start: number; end: number };
  interval?: number;
}

interface Entry {
  file: string;
  time: number;
  seq: number;
  order: number;
  /** the whole name is a flow file name (not only its beginning: `nfcapd.202611240000 copy`) */
  strict: boolean;
}

/** A name beginning with a flow file name (a copy: `nfcapd.202611240000 (1)`): the time of that part. */
const LOOSE_RE = /^((?:tscapd|nfcapd)\.(?:\d{14}|\d{12}))(?=\D|$)/;

/** True for names a directory walk must skip: dot files, `*.current.*`, names containing "pcap" (as nfdump). */
export function isSkippedName(name: string): boolean {
  return name.startsWith(".") || name.includes(".current.") || name.includes("pcap");
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new StoreError(
      STORE_ERROR.LIST,
      `store: cannot list ${dir}: ${(err as Error).message}`,
      { file: dir },
      { cause: err },
    );
  }
  for (const e of entries) {
    if (isSkippedName(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

/**
 * `keepUnnamed`: keep the files whose names are not flow file names (-R, as nfdump: a copy named
 * `nfcapd.202611240000 copy` sorts at its time, other names first; the reader reports what is not a flow file).
 */
function toEntries(files: readonly string[], zone: Zone, keepUnnamed: boolean): Entry[] {
  const out: Entry[] = [];
  files.forEach((file, order) => {
    const name = path.basename(file);
    const parsed = parseFlowFileName(name, zone);
    if (parsed) out.push({ file, time: parsed.time, seq: parsed.seq, order, strict: true });
    else if (keepUnnamed) {
      const m = LOOSE_RE.exec(name);
      const loose = m ? parseFlowFileName(m[1]!, zone) : undefined;
      out.push({ file, time: loose?.time ?? Number.NEGATIVE_INFINITY, seq: 0, order, strict: false });
    }
  });
  return out;
}

function sortEntries(entries: Entry[]): Entry[] {
  return entries.sort(
    (a, b) => a.time - b.time || a.seq - b.seq || a.order - b.order || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0),
  );
}

function applyWindow(entries: Entry[], opts: ListOptions): string[] {
  const w = opts.window;
  if (w === undefined) return entries.map((e) => e.file);
  const fallback = (opts.interval ?? 300) * 1000;
  const out: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!Number.isFinite(e.time)) {
      out.push(e.file); // a file given by name without a time in it: the caller decides from its stats
      continue;
    }
    let next: number | undefined;
    for (let k = i + 1; k < entries.length; k++) {
      if (entries[k]!.time > e.time) {
        next = entries[k]!.time;
        break;
      }
    }
    const end = next === undefined ? e.time + fallback : Math.min(next, e.time + 86_400_000);
    if (e.time <= w.end && end > w.start) out.push(e.file);
  }
  return out;
}

/**
 * tsdump -r: one file (any name, taken as given) or a directory (recursive; only flow file names, skipping
 * dot files and `*.current.*`), in time order.
 * @throws StoreError ERR_STORE_LIST when the path does not exist.
 */
export function listFlowFiles(p: string, opts: ListOptions = {}, everyName = false): string[] {
  const zone = opts.zone ?? "local";
  const st = statOrThrow(p);
  if (!st.isDirectory()) return applyWindow(toEntries([p], zone, true), opts);
  const files: string[] = [];
  walk(p, files);
  return applyWindow(sortEntries(toEntries(files, zone, everyName)), opts);
}

/** @throws StoreError ERR_STORE_LIST "cannot open <path>: ENOENT: no such file or directory …" */
function statOrThrow(p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (err) {
    throw new StoreError(
      STORE_ERROR.LIST,
      `store: cannot open ${p}: ${(err as Error).message}`,
      { file: p },
      { cause: err },
    );
  }
}

/**
 * tsdump -R: `dir` (all files, recursive), `dir/file` (from that file to the last file of the tree under dir),
 * `dir/file1:file2` (inclusive, by the time in the names; file2 may carry sub-directories, e.g.
 * `/flows/2026/11/23/tscapd.202611232300:2026/11/24/tscapd.202611240100`, whose depth decides the tree walked).
 * As nfdump: file2 must be relative (never an absolute path, which would make the whole file system the tree),
 * a missing first path is named, and files whose names are not flow file names are kept (see toEntries).
 * @throws UsageError for an absolute file2 or one deeper than file1's path; StoreError ERR_STORE_LIST for a
 *   first path that does not exist.
 */
export function listRange(spec: string, opts: ListOptions = {}, mustExist = true): string[] {
  const zone = opts.zone ?? "local";
  const colon = spec.indexOf(":");
  const left = colon >= 0 ? spec.slice(0, colon) : spec;
  const right = colon >= 0 ? spec.slice(colon + 1) : undefined;
  if (right !== undefined && path.isAbsolute(right)) {
    throw new UsageError(`-R ${spec}: the last file name must not start with '/' (it is relative to the first's tree)`);
  }
  const st = statOrUndefined(left);
  if (right === undefined && st?.isDirectory() === true) return listFlowFiles(left, opts, true);
  const first = parseFlowFileName(path.basename(left), zone);
  // a first file that is not there is taken by the time in its name (tscapd.X finds nfcapd.X) when its directory
  // is; anything else missing is named (-M: a range relative to each directory, which need not all hold it)
  if (mustExist && st === undefined) statOrThrow(first === undefined ? left : path.dirname(left));
  if (first === undefined) {
    throw new StoreError(STORE_ERROR.LIST, `store: -R ${spec}: ${path.basename(left)} is not a flow file name`, {
      file: left,
    });
  }
  let root = path.dirname(left);
  let last: ParsedName | undefined;
  if (right !== undefined) {
    const depth = right.split("/").filter((x) => x !== "").length - 1;
    for (let k = 0; k < depth; k++) {
      const up = path.dirname(root);
      if (up === root) {
        throw new UsageError(`-R ${spec}: the last file name has more directories than the first's path`);
      }
      root = up;
    }
    last = parseFlowFileName(path.basename(right), zone);
    if (last === undefined) {
      throw new StoreError(STORE_ERROR.LIST, `store: -R ${spec}: ${path.basename(right)} is not a flow file name`, {
        file: right,
      });
    }
  }
  const files: string[] = [];
  walk(root, files);
  const lo = first.time;
  const hi = last?.time ?? Number.POSITIVE_INFINITY;
  // (a copy `tscapd.<hi> copy` sorts after tscapd.<hi> by name, as in nfdump: outside the range)
  const picked = sortEntries(toEntries(files, zone, true)).filter(
    (e) => e.time >= lo && (e.time < hi || (e.time === hi && e.strict)),
  );
  return applyWindow(picked, opts);
}

/**
 * tsdump -M /base/d1:d2[:d3…] together with -r or -R given relative to each directory (nfdump semantics);
 * without either, every file under each directory. The union is sorted by time (directory order on ties).
 */
export function listMulti(
  mspec: string,
  rel: { file?: string; range?: string } = {},
  opts: ListOptions = {},
): string[] {
  const zone = opts.zone ?? "local";
  const slash = mspec.lastIndexOf("/", mspec.indexOf(":") >= 0 ? mspec.indexOf(":") : mspec.length);
  const base = slash >= 0 ? mspec.slice(0, slash) || "/" : ".";
  const dirs = (slash >= 0 ? mspec.slice(slash + 1) : mspec).split(":").filter((d) => d !== "");
  const all: string[] = [];
  for (const d of dirs) {
    const dir = path.join(base, d);
    if (rel.file !== undefined) {
      const f = path.join(dir, rel.file);
      if (fs.existsSync(f)) all.push(...listFlowFiles(f, {}));
    } else if (rel.range !== undefined) {
      all.push(...listRange(path.join(dir, rel.range), { zone }, false));
    } else {
      all.push(...listFlowFiles(dir, { zone }));
    }
  }
  return applyWindow(sortEntries(toEntries(all, zone, true)), opts);
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}
