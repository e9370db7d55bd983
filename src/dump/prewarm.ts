// SPDX-License-Identifier: BSD-3-Clause
// Early worker start for scans of nfdump files. A scan worker needs ≈ 0.13 s CPU to load its module graph, and
// the main thread ≈ 0.15 s to load its own before runQuery can decide anything; main.ts therefore asks here,
// right after parsing the options, whether the query will scan nfdump files with workers, and if so starts them
// at once, so they load while the main thread does. runParallel takes them (takeWorkers); any left unused are
// terminated (releaseWorkers). This module stays light (no project imports besides the options' type): main.ts
// loads it before the rest.
//
// The guess mirrors runQuery's plan (parallel.ts callers in query.ts); a wrong "yes" costs the workers' start-up
// CPU, a wrong "no" only the early start. tsflow files are never guessed: their zone maps decide.

import * as fs from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { QueryOptions } from "./options.js";

const SCAN_WORKER = new URL("./scan-worker.js", import.meta.url);
/** nffile magic 0xA50C, little-endian */
const NFFILE_MAGIC = [0x0c, 0xa5] as const;

/** started workers nobody took yet; `failed`: it reported an error meanwhile (then a new one is handed out) */
let warm: { worker: Worker; failed: boolean }[] = [];

/** Whether the first input file (-r file or the first file of the -r / -R directory) is an nfdump file. */
function firstInputIsNffile(o: QueryOptions): boolean {
  if (o.multiDir !== undefined) return false;
  const input = o.readRange ?? o.readFile;
  if (input === undefined || input.includes(":")) return false;
  try {
    let file = input;
    if (fs.statSync(input).isDirectory()) {
      const names = fs
        .readdirSync(input)
        .filter((n) => !n.startsWith("."))
        .sort();
      const first = names.find((n) => fs.statSync(join(input, n)).isFile());
      if (first === undefined) return false;
      file = join(input, first);
    }
    const head = new Uint8Array(2);
    const fd = fs.openSync(file, "r");
    try {
      if (fs.readSync(fd, head, 0, 2, 0) < 2) return false;
    } finally {
      fs.closeSync(fd);
    }
    return head[0] === NFFILE_MAGIC[0] && head[1] === NFFILE_MAGIC[1];
  } catch {
    return false; // the query reports it
  }
}

/** Whether runQuery will scan these options' input with worker threads (as planned in query.ts), for nfdump input. */
export function plansNffileWorkers(o: QueryOptions): boolean {
  if (o.workers <= 1 || o.limit !== undefined || o.writeFile !== undefined) return false;
  if (o.verifyFile !== undefined || o.exportersFile !== undefined || o.info || o.recompress !== undefined) return false;
  if (o.checkOnly || o.explain) return false;
  if (o.stats.length > 0) {
    if (o.stats.some((s) => s.startsWith("record"))) return false;
  } else if (o.aggregate !== undefined) {
    if (o.bidirectional !== 0 || o.format === "null") return false;
  } else if (o.bidirectional !== 0 || o.aggregateFiveTuple || o.order !== undefined) return false;
  return firstInputIsNffile(o);
}

/** Starts `n` scan workers now (unreferenced: they keep the process alive only once taken). */
export function prewarmWorkers(n: number): void {
  for (let i = 0; i < n; i++) {
    const entry = { worker: new Worker(SCAN_WORKER), failed: false };
    // an error before anyone listens would be thrown: kept, and the worker replaced when taken (whose new
    // instance then reports to runParallel)
    entry.worker.once("error", () => {
      entry.failed = true;
    });
    entry.worker.unref();
    warm.push(entry);
  }
}

/** `n` scan workers: the prewarmed ones first, then new ones. */
export function takeWorkers(n: number): Worker[] {
  const out: Worker[] = [];
  for (const { worker, failed } of warm.splice(0, n)) {
    if (failed) {
      void worker.terminate();
      out.push(new Worker(SCAN_WORKER));
    } else {
      worker.ref();
      out.push(worker);
    }
  }
  while (out.length < n) out.push(new Worker(SCAN_WORKER));
  return out;
}

/** Terminates the prewarmed workers nobody took. */
export async function releaseWorkers(): Promise<void> {
  const left = warm;
  warm = [];
  await Promise.all(left.map((e) => e.worker.terminate()));
}
