// SPDX-License-Identifier: BSD-3-Clause
// WriterThread: the receiving thread's handle on the writer worker (writer-worker.ts). `append` transfers a
// batch's column buffers to the writer thread (no copy), which encodes, compresses and writes the block, zeroes
// the used rows and sends the buffers back for reuse. The receiving thread takes its next batch from that pool;
// when the pool runs low the writer thread allocates spare column sets, so the receive thread never spends
// milliseconds on 6 MB of fresh pages in a burst. Blocks in flight per file are counted so the collector can
// bound them.

import { Worker } from "node:worker_threads";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type ColumnArrays, type PhysicalName } from "../record/schema.js";
import type { ExporterStats, FileStats, WriterOptions } from "../store/index.js";
import type { WriterReply, WriterRequest } from "./writer-worker.js";

interface Pending {
  resolve(value: { path?: string; stats?: FileStats }): void;
  reject(err: Error): void;
}

/**
 * Column sets (each ~6 MB for 16 K rows) alive at once, pooled or in flight: the collector's 8 blocks of backlog (24 at most per source)
 * plus a few. A returned set goes back to the pool while the two together stay below this, so a burst that queued
 * blocks at the writer is followed by reuse, not by allocation on the receive thread, and memory stays bounded.
 */
const MAX_SETS = 16;
/**
 * Blocks in flight (all files) from which new blocks are stored without LZ4 and without address sets and host
 * Bloom filters: the writer is behind, and these are the parts of its work a reader does not need (a third of the
 * writer's time; files grow meanwhile and such blocks are pruned by their ranges only).
 */
const FAST_AT = 4;
/** When the pool runs below this, the writer thread allocates SPARE_BATCH more (off the receive thread). */
const POOL_LOW = 4;
const SPARE_BATCH = 4;

export class WriterThread {
  private readonly worker: Worker;
  private readonly pool: { cols: readonly ArrayBufferView[]; extraEnd: Uint32Array }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Map<number, number>();
  private nextReq = 1;
  private nextFile = 1;
  /** column sets asked from the writer thread and not yet arrived */
  private spareDue = 0;
  /** blocks handed to the writer thread and not yet written, all files */
  private totalInFlight = 0;

  /** Blocks handed to the writer thread and not yet written, all files. */
  get queued(): number {
    return this.totalInFlight;
  }
  /** blocks sent to be stored without LZ4 */
  fastBlocks = 0;
  /** Called when a block of a file is on disk (rows), and when a write fails asynchronously. */
  onWritten: (file: number, rows: number) => void = () => undefined;
  onError: (file: number, message: string) => void = () => undefined;

  /**
   * `clickhouse` (the spool directory of --clickhouse): the writer thread also posts every stored block to the
   * ClickHouse sink, or references it for back-fill there
   */
  constructor(clickhouse?: string) {
    this.worker = new Worker(new URL("./writer-worker.js", import.meta.url), { workerData: { clickhouse } });
    this.worker.on("message", (msg: WriterReply) => {
      this.receive(msg);
    });
    this.worker.on("error", (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.onError(0, `writer thread failed: ${err.message}`);
    });
    this.worker.unref();
  }

  private receive(msg: WriterReply): void {
    if (msg.op === "spare") {
      this.spareDue--;
      if (this.pool.length + this.totalInFlight < MAX_SETS) this.pool.push({ cols: msg.cols, extraEnd: msg.extraEnd });
      return;
    }
    if (msg.op === "written") {
      this.inFlight.set(msg.file, (this.inFlight.get(msg.file) ?? 1) - 1);
      this.totalInFlight--;
      if (this.pool.length + this.totalInFlight < MAX_SETS) this.pool.push({ cols: msg.cols, extraEnd: msg.extraEnd });
      this.onWritten(msg.file, msg.rows);
      return;
    }
    if (msg.op === "error" && msg.req < 0) {
      this.onError(msg.file, msg.message);
      return;
    }
    const p = this.pending.get(msg.req);
    if (!p) return;
    this.pending.delete(msg.req);
    if (msg.op === "error") p.reject(new Error(msg.message));
    else
      p.resolve({ ...(msg.path !== undefined ? { path: msg.path } : {}), ...(msg.stats ? { stats: msg.stats } : {}) });
  }

  private request(make: (req: number) => WriterRequest): Promise<{ path?: string; stats?: FileStats }> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.worker.ref(); // keep the process alive while a reply is due
      this.worker.postMessage(make(req));
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    }) as Promise<{ path?: string; stats?: FileStats }>;
  }

  /**
   * Opens a file on the writer thread and returns its handle at once: messages are handled in order, so
   * appends may follow immediately. A failure to create the file arrives through `onError`.
   */
  open(path: string, options: WriterOptions): number {
    const file = this.nextFile++;
    this.inFlight.set(file, 0);
    this.request((req) => ({ op: "open", req, file, path, options })).catch((err: unknown) => {
      this.onError(file, (err as Error).message);
    });
    return file;
  }

  /** Blocks of `file` handed over and not yet written. */
  blocksInFlight(file: number): number {
    return this.inFlight.get(file) ?? 0;
  }

  /** An empty batch of `rows` capacity: zeroed buffers back from the writer thread when there are some. */
  takeBatch(rows: number): RecordBatch {
    if (this.pool.length + this.spareDue < POOL_LOW) {
      this.spareDue += SPARE_BATCH;
      this.worker.postMessage({ op: "spare", count: SPARE_BATCH, rows } satisfies WriterRequest);
    }
    const reuse = this.pool.pop();
    if (reuse === undefined || reuse.extraEnd.length !== rows) return new RecordBatch(rows);
    const cols: Record<string, unknown> = {};
    PHYSICAL_COLUMNS.forEach((pc, i) => {
      cols[pc.name] = reuse.cols[i];
    });
    const batch = new RecordBatch(rows, cols as unknown as ColumnArrays);
    batch.extraEnd = reuse.extraEnd;
    return batch;
  }

  /**
   * Hands the batch's column buffers to the writer thread (transferred, not copied). The batch is unusable
   * afterwards: the caller continues with a fresh one (a new batch costs a few zero-page allocations, less
   * than copying or zeroing 6 MB on the receive thread).
   */
  append(file: number, batch: RecordBatch): void {
    const n = batch.length;
    const cols: ArrayBufferView[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const pc of PHYSICAL_COLUMNS) {
      const a = batch.cols[pc.name as PhysicalName];
      cols.push(a);
      transfer.push(a.buffer as ArrayBuffer);
    }
    const extraEnd = batch.extraEnd;
    const extra = batch.extra.slice(0, batch.extraLength);
    transfer.push(extraEnd.buffer as ArrayBuffer, extra.buffer);
    this.inFlight.set(file, (this.inFlight.get(file) ?? 0) + 1);
    this.totalInFlight++;
    const fast = this.totalInFlight > FAST_AT;
    if (fast) this.fastBlocks++;
    const msg: WriterRequest = { op: "append", file, rows: n, cols, extraEnd, extra, fast };
    this.worker.postMessage(msg, transfer);
  }

  /** Writes the footer (with the exporters' counters), fsyncs and renames; resolves with path and stats. */
  async close(
    file: number,
    finalPath: string,
    exporters: readonly (Partial<ExporterStats> & { address: string })[],
    idleSlotMs: number,
  ): Promise<{ path: string; stats: FileStats }> {
    const r = await this.request((req) => ({ op: "close", req, file, finalPath, exporters, idleSlotMs }));
    this.inFlight.delete(file);
    return { path: r.path ?? finalPath, stats: r.stats! };
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}
