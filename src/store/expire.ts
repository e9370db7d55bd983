// SPDX-License-Identifier: BSD-3-Clause
// Retention (nfexpire's mechanics): a flow directory keeps its limits in `.tsstat` (key=value lines, like
// nfdump's .nfstat); expiry walks the files in time order and deletes the oldest until the directory is below
// `watermark` % of each limit, then removes emptied sub-directories whose names start with a digit.
// Sizes are allocated bytes (512 × st_blocks), ages come from the slot time in the file names.

import * as fs from "node:fs";
import * as path from "node:path";
import { StoreError, STORE_ERROR } from "./errors.js";
import { parseFlowFileName } from "./layout.js";

export interface ExpireLimits {
  /** bytes; 0 = no size limit */
  maxSize: number;
  /** ms; 0 = no lifetime limit */
  maxLife: number;
  /** percent of the limits expiry goes down to (default 95) */
  watermark: number;
}

export interface DirectoryStats {
  files: number;
  size: number;
  /** slot time of the oldest / newest file (ms), 0 when empty */
  first: number;
  last: number;
}

export interface ExpireResult extends DirectoryStats {
  deleted: number;
  freed: number;
}

export const STAT_FILE = ".tsstat";
export const DEFAULT_WATERMARK = 95;

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const LIFE_UNITS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000 };

/** `-s` size: a number with an optional binary unit b k m g t (nfexpire: 1G = 1073741824); 0 disables. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new RangeError(`bad size ${text} (e.g. 500M, 2G, 1T)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] || "b").toLowerCase()]!);
}

/** `-t` lifetime: a number with unit w d H M (hours when none); 0 disables. Several parts add: `1w2d`. */
export function parseLifetime(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * LIFE_UNITS["h"]!;
  let ms = 0;
  let rest = t;
  const part = /^(\d+)([wdhmWDHM])/;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) throw new RangeError(`bad lifetime ${text} (e.g. 30d, 1w, 12H, 90M)`);
    ms += Number(m[1]) * LIFE_UNITS[m[2]!.toLowerCase()]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

interface FileEntry {
  file: string;
  time: number;
  seq: number;
  size: number;
}

function listFiles(dir: string): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (err) {
      throw new StoreError(
        STORE_ERROR.LIST,
        `expire: cannot list ${d}: ${(err as Error).message}`,
        { file: d },
        { cause: err },
      );
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith(".")) walk(p);
        continue;
      }
      const parsed = parseFlowFileName(e.name);
      if (!parsed) continue;
      try {
        const st = fs.statSync(p);
        out.push({ file: p, time: parsed.time, seq: parsed.seq, size: st.blocks * 512 });
      } catch {
        // vanished meanwhile
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.time - b.time || a.seq - b.seq || (a.file < b.file ? -1 : 1));
}

function statsOf(files: readonly FileEntry[]): DirectoryStats {
  let size = 0;
  for (const f of files) size += f.size;
  return { files: files.length, size, first: files[0]?.time ?? 0, last: files[files.length - 1]?.time ?? 0 };
}

/** Scans a flow directory (recursively): file count, allocated size, oldest and newest slot. */
export function scanDirectory(dir: string): DirectoryStats {
  return statsOf(listFiles(dir));
}

/** Reads the limits stored in `dir/.tsstat` (no file: no limits). */
export function readLimits(dir: string): ExpireLimits {
  const limits: ExpireLimits = { maxSize: 0, maxLife: 0, watermark: DEFAULT_WATERMARK };
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, STAT_FILE), "utf8");
  } catch {
    return limits;
  }
  for (const line of text.split("\n")) {
    const [k, v] = line.split("=").map((s) => s.trim());
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) continue;
    if (k === "maxsize") limits.maxSize = n;
    else if (k === "lifetime") limits.maxLife = n;
    else if (k === "watermark" && n > 0 && n <= 100) limits.watermark = n;
  }
  return limits;
}

/** Stores limits (and the current statistics) in `dir/.tsstat`, atomically. */
export function writeLimits(dir: string, limits: ExpireLimits): void {
  const s = scanDirectory(dir);
  const text =
    `first=${s.first}\nlast=${s.last}\nsize=${s.size}\nnumfiles=${s.files}\n` +
    `maxsize=${limits.maxSize}\nlifetime=${limits.maxLife}\nwatermark=${limits.watermark}\n`;
  const tmp = path.join(dir, `${STAT_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(dir, STAT_FILE));
}

/**
 * Deletes the oldest flow files of `dir` while a limit is exceeded, down to `watermark` % of it.
 * @param now ms since the epoch (lifetime is measured from the file's slot time)
 */
export function expireDirectory(dir: string, limits: ExpireLimits, now: number = Date.now()): ExpireResult {
  const files = listFiles(dir);
  let { size } = statsOf(files);
  const wm = limits.watermark / 100;
  const overSize = limits.maxSize > 0 && size > limits.maxSize;
  const overLife = limits.maxLife > 0 && files.length > 0 && now - files[0]!.time > limits.maxLife;
  let deleted = 0;
  let freed = 0;
  let i = 0;
  if (overSize || overLife) {
    while (i < files.length - 1) {
      const f = files[i]!;
      const sizeHigh = limits.maxSize > 0 && size > limits.maxSize * wm;
      const lifeHigh = limits.maxLife > 0 && now - f.time > limits.maxLife * wm;
      if (!sizeHigh && !lifeHigh) break;
      try {
        fs.rmSync(f.file);
        deleted++;
        freed += f.size;
        size -= f.size;
      } catch {
        // already gone, or not ours to delete: skip it
      }
      i++;
    }
    removeEmptyDirs(dir, dir);
  }
  return { ...statsOf(files.slice(i)), deleted, freed };
}

/** Removes empty sub-directories whose names start with a digit (the -S layouts), deepest first. */
function removeEmptyDirs(dir: string, top: string): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  let empty = true;
  for (const e of entries) {
    if (e.isDirectory() && /^\d/.test(e.name)) {
      if (!removeEmptyDirs(path.join(dir, e.name), top)) empty = false;
    } else {
      empty = false;
    }
  }
  if (empty && dir !== top) {
    try {
      fs.rmdirSync(dir);
      return true;
    } catch {
      return false;
    }
  }
  return false;
}
