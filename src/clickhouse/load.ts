// SPDX-License-Identifier: BSD-3-Clause
// tsdump --clickhouse: loads the selected flows of an archive (tsflow and nfcapd files, any selection and
// filter tsdump takes) into ClickHouse through the library API (openFlows), file by file.
//
// Resumable: each file's passing rows are cut into chunks the same way on every run (consecutive blocks with
// the same inserted columns, up to CHUNK_ROWS rows), and a chunk's batch id is a hash of the file's name, the
// chunk's number and its rows. A rerun of the same command finds the chunks already loaded (Inserter) and
// sends only the rest; a run with another filter or window makes other chunks.
//
// Chunks go as Native blocks in the table's sort order (native.ts), two inserts in flight while the next chunk
// is gathered; with the consolidated tables, their three views run in parallel (parallel_view_processing).

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { openFlows, selectFiles, type FlowSelection } from "../api.js";
import type { ClickHouseTarget } from "./client.js";
import { idString, Inserter, type EncodedBatch } from "./inserter.js";
import { NativeChunk } from "./native.js";
import { usedColumns } from "./rowbinary.js";
import type { ChColumn } from "./schema.js";

/** Rows per insert (at most; a chunk also ends with its file or when the columns change). */
export const CHUNK_ROWS = 524_288;
/** Inserts in flight at once. */
const INFLIGHT = 2;

export interface LoadResult {
  files: number;
  /** flows read and passed (as tsdump's summary counts them) */
  flows: number;
  bytes: number;
  packets: number;
  /** min msecFirst and max msecLast of the flows read (0 without flows) */
  firstMs: number;
  lastMs: number;
  /** flows and batches inserted now, and found loaded by an earlier run */
  inserted: number;
  insertedBatches: number;
  skipped: number;
  skippedBatches: number;
  /** damaged files or blocks (reported through onError; the rest is loaded) */
  damaged: number;
}

export interface LoadOptions {
  readonly selection: FlowSelection;
  readonly target: ClickHouseTarget;
  /** progress line on stderr */
  readonly progress: boolean;
  readonly err: (text: string) => void;
}

/** Seals a chunk: its id from the file name, its number and its rows, written into every row's `batch`. */
function seal(chunk: NativeChunk, file: string, index: number, settings: Record<string, string>): EncodedBatch {
  const { pieces, setId } = chunk.seal();
  const h = createHash("sha256").update(`${basename(file)}\0${index}\0`);
  for (const p of pieces) h.update(p);
  const d = h.digest();
  const lo = d.readUInt32LE(0);
  const hi = d.readUInt32LE(4);
  setId(hi, lo);
  return {
    id: idString(hi, lo),
    columns: chunk.columns.map((c) => c.name),
    rows: chunk.rows,
    minMs: chunk.minMs,
    maxMs: chunk.maxMs,
    data: pieces,
    format: "Native",
    settings,
  };
}

function sameColumns(a: readonly ChColumn[], b: readonly ChColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Loads the selection; resolves with the counts. @throws when ClickHouse is away or refuses (resume by rerunning) */
export async function loadIntoClickHouse(o: LoadOptions): Promise<LoadResult> {
  const inserter = new Inserter(o.target, 120_000);
  await inserter.ensureSchema();
  // the three consolidated tables' views aggregate each insert on threads of their own
  const settings: Record<string, string> = o.target.rollups ? { parallel_view_processing: "1" } : {};
  const files = selectFiles(o.selection);
  const r: LoadResult = {
    files: files.length,
    flows: 0,
    bytes: 0,
    packets: 0,
    firstMs: 0,
    lastMs: 0,
    inserted: 0,
    insertedBatches: 0,
    skipped: 0,
    skippedBatches: 0,
    damaged: 0,
  };
  const started = Date.now();
  let shownAt = 0;
  let shown = false;
  const show = (done: number, force = false): void => {
    if (!o.progress) return;
    const now = Date.now();
    if (!force && now - shownAt < 250) return;
    shownAt = now;
    shown = true;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? Math.round(r.flows / secs) : 0;
    const eta = done > 0 ? Math.round((secs * (files.length - done)) / done) : 0;
    o.err(`\r${done}/${files.length} files, ${r.flows} flows, ${rate} flows/s, ETA ${eta} s   `);
  };

  // up to INFLIGHT inserts at once (the server parses each on its own thread) while the next chunk is encoded
  const inflight: Promise<void>[] = [];
  const send = async (b: EncodedBatch): Promise<void> => {
    while (inflight.length >= INFLIGHT) await inflight.shift();
    const p = inserter.insertOnce(b).then((res) => {
      if (res === "inserted") {
        r.inserted += b.rows;
        r.insertedBatches++;
      } else {
        r.skipped += b.rows;
        r.skippedBatches++;
      }
    });
    // a failure is reported when `p` is awaited; keep it from being unhandled meanwhile
    p.catch(() => undefined);
    inflight.push(p);
  };

  let limit = o.selection.limit;
  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    const flows = openFlows({
      file,
      ...(o.selection.window !== undefined ? { window: o.selection.window } : {}),
      ...(o.selection.filter !== undefined ? { filter: o.selection.filter } : {}),
      ...(limit !== undefined ? { limit } : {}),
      onError: (m) => {
        o.err(`${shown ? "\r\x1b[K" : ""}tsdump: ${m}\n`);
      },
    });
    let chunk: NativeChunk | null = null;
    let index = 0;
    for (const { batch, rows, count } of flows) {
      if (count === 0) continue;
      const cols = usedColumns([batch]);
      if (chunk !== null && !sameColumns(chunk.columns, cols)) {
        await send(seal(chunk, file, index++, settings));
        chunk = null;
      }
      for (let done = 0; done < count;) {
        chunk ??= new NativeChunk(cols, CHUNK_ROWS);
        const n = Math.min(chunk.free, count - done);
        chunk.add(batch, done === 0 && n === count ? rows : rows.subarray(done, done + n), n);
        done += n;
        if (chunk.free === 0) {
          await send(seal(chunk, file, index++, settings));
          chunk = null;
        }
      }
      if (inflight.length > 0) await new Promise(setImmediate); // let the inserts in flight progress
      show(fi);
    }
    if (chunk !== null) await send(seal(chunk, file, index, settings));
    const c = flows.counts;
    r.flows += c.passed;
    r.bytes += c.bytes;
    r.packets += c.packets;
    r.damaged += c.damaged;
    if (c.passed > 0) {
      r.firstMs = r.firstMs === 0 ? c.first : Math.min(r.firstMs, c.first);
      r.lastMs = Math.max(r.lastMs, c.last);
    }
    if (limit !== undefined) {
      limit -= c.passed;
      if (limit <= 0) break;
    }
    show(fi + 1);
  }
  while (inflight.length > 0) await inflight.shift();
  await inserter.expire(Date.now());
  inserter.client.close();
  show(files.length, true);
  if (shown) o.err("\r\x1b[K");
  return r;
}
