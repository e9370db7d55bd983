// SPDX-License-Identifier: BSD-3-Clause
// tsdump --clickhouse: loads the selected flows of an archive (tsflow and nfcapd files, any selection and
// filter tsdump takes) into ClickHouse through the library API (openFlows), file by file.
//
// Resumable: each file's passing rows are cut into chunks the same way on every run (consecutive blocks with
// the same inserted columns, up to CHUNK_ROWS rows), and a chunk's batch id is a hash of the file's name, the
// chunk's number and its rows. A rerun of the same command finds the chunks already loaded (Inserter) and
// sends only the rest; a run with another filter or window makes other chunks.

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { openFlows, selectFiles, type FlowSelection } from "../api.js";
import type { RecordBatch } from "../record/batch.js";
import type { ClickHouseTarget } from "./client.js";
import { Inserter, type EncodedBatch } from "./inserter.js";
import { RowBinaryBuffer, rowWidth, usedColumns } from "./rowbinary.js";
import type { ChColumn } from "./schema.js";

/** Rows per insert (at most; a chunk also ends with its file or when the columns change). */
export const CHUNK_ROWS = 262_144;
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

class Chunk {
  readonly buf: RowBinaryBuffer;
  minMs = Number.MAX_SAFE_INTEGER;
  maxMs = 0;
  readonly columns: readonly ChColumn[];
  constructor(columns: readonly ChColumn[]) {
    this.columns = columns;
    this.buf = new RowBinaryBuffer(columns, 16384);
  }
  add(b: RecordBatch, rows: Uint32Array, n: number): void {
    this.buf.append(b, rows, n, 0, 0);
    const first = b.cols.msecFirst;
    for (let k = 0; k < n; k++) {
      const t = first[rows[k]!]!;
      if (t < this.minMs) this.minMs = t;
      if (t > this.maxMs) this.maxMs = t;
    }
  }
  /** Seals the chunk: its id from the file name, number and rows, written into every row's `batch`. */
  seal(file: string, index: number): EncodedBatch {
    const data = this.buf.bytes();
    const h = createHash("sha256")
      .update(`${basename(file)}\0${index}\0`)
      .update(data)
      .digest();
    const lo = h.readUInt32LE(0);
    const hi = h.readUInt32LE(4);
    // `batch` is the last column of every row
    const w = rowWidth(this.columns);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let off = w - 8; off < data.length; off += w) {
      dv.setUint32(off, lo, true);
      dv.setUint32(off + 4, hi, true);
    }
    return {
      id: ((BigInt(hi) << 32n) | BigInt(lo)).toString(),
      columns: this.columns.map((c) => c.name),
      rows: this.buf.rows,
      minMs: this.minMs,
      maxMs: this.maxMs,
      data,
    };
  }
}

function sameColumns(a: readonly ChColumn[], b: readonly ChColumn[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Loads the selection; resolves with the counts. @throws when ClickHouse is away or refuses (resume by rerunning) */
export async function loadIntoClickHouse(o: LoadOptions): Promise<LoadResult> {
  const inserter = new Inserter(o.target, 120_000);
  await inserter.ensureSchema();
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
    let chunk: Chunk | null = null;
    let index = 0;
    for (const { batch, rows, count } of flows) {
      if (count === 0) continue;
      const cols = usedColumns([batch]);
      if (chunk !== null && (!sameColumns(chunk.columns, cols) || chunk.buf.rows + count > CHUNK_ROWS)) {
        await send(chunk.seal(file, index++));
        chunk = null;
      }
      chunk ??= new Chunk(cols);
      chunk.add(batch, rows, count);
      if (inflight.length > 0) await new Promise(setImmediate); // let the inserts in flight progress
      show(fi);
    }
    if (chunk !== null) await send(chunk.seal(file, index));
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
  show(files.length, true);
  if (shown) o.err("\r\x1b[K");
  return r;
}
