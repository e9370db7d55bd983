// SPDX-License-Identifier: BSD-3-Clause
// ClickHouseSink: tscapd's stream of stored blocks into ClickHouse. Blocks are gathered into batches (by rows
// and by age), encoded to RowBinary with a random 64-bit batch id, and sent one at a time, in order, by a
// single sender (Inserter: each batch goes in once).
//
// When the server is away, or the sender is behind, batches are written to the spool directory, one file per
// batch named by its sequence number, and sent from there in order when the server answers again; the spool
// survives a restart. Spool file:
//   "TSCH" | u32 LE header length | header JSON {id, columns, rows, minMs, maxMs} | RowBinary rows
// A batch the server refuses MAX_REFUSALS times (while answering) is moved to spool/failed/ and counted as
// failed; so are batches beyond the spool's size limit. Nothing here ever waits on the caller: `push` returns
// at once.

import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordBatch } from "../record/batch.js";
import { BackfillReader } from "./backfill.js";
import { ClickHouseError, type ClickHouseTarget } from "./client.js";
import { idString, Inserter, type EncodedBatch } from "./inserter.js";
import { RowBinaryBuffer, usedColumns } from "./rowbinary.js";

export interface SinkCounters {
  /** rows inserted */
  sent: number;
  /** rows written to the spool */
  spooled: number;
  /** rows given up: refused by the server, or beyond the spool limit */
  failed: number;
  /** rows of batches found stored already (sent again after a lost answer or a restart) */
  duplicates: number;
  /** batches and bytes in the spool now */
  spoolBatches: number;
  spoolBytes: number;
  /** rows the feed could not take, referenced for back-fill from the flow files */
  referenced: number;
  /** rows back-filled from the flow files (inserted) */
  backfilled: number;
  /** block references waiting to be back-filled */
  backfillPending: number;
}

export function emptyCounters(): SinkCounters {
  return {
    sent: 0,
    spooled: 0,
    failed: 0,
    duplicates: 0,
    spoolBatches: 0,
    spoolBytes: 0,
    referenced: 0,
    backfilled: 0,
    backfillPending: 0,
  };
}

export type SinkLog = (level: "info" | "warn" | "error", message: string) => void;

const MAGIC = 0x48435354; // "TSCH" little-endian
/** Batches kept in memory waiting for the sender; more go to the spool. */
const MEMORY_BATCHES = 4;
/** Refusals (the server answered with an error) before a batch is set aside. */
const MAX_REFUSALS = 3;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How often retention is applied on servers without TTL. */
const EXPIRE_EVERY_MS = 3_600_000;

interface Queued {
  readonly seq: number;
  batch: EncodedBatch | null; // null: in the spool file
  refusals: number;
}

export function encodeSpoolFile(b: EncodedBatch): Uint8Array {
  if (!(b.data instanceof Uint8Array)) throw new TypeError("clickhouse spool: RowBinary batches only");
  const header = Buffer.from(
    JSON.stringify({ id: b.id, columns: b.columns, rows: b.rows, minMs: b.minMs, maxMs: b.maxMs }),
  );
  const out = Buffer.allocUnsafe(8 + header.length + b.data.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  out.set(b.data, 8 + header.length);
  return out;
}

export function decodeSpoolFile(buf: Buffer, path: string): EncodedBatch {
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC) throw new Error(`clickhouse spool: ${path}: bad magic`);
  const len = buf.readUInt32LE(4);
  if (8 + len > buf.length) throw new Error(`clickhouse spool: ${path}: header length ${len} beyond the file`);
  const h = JSON.parse(buf.subarray(8, 8 + len).toString()) as Omit<EncodedBatch, "data">;
  return { ...h, data: buf.subarray(8 + len) };
}

/** The blocks as one RowBinary batch with this id (written into every row's `batch`). */
function encodeBatch(blocks: readonly RecordBatch[], hi: number, lo: number): EncodedBatch {
  const columns = usedColumns(blocks);
  const buf = new RowBinaryBuffer(
    columns,
    blocks.reduce((a, b) => a + b.length, 0),
  );
  let minMs = Number.MAX_SAFE_INTEGER;
  let maxMs = 0;
  for (const b of blocks) {
    buf.append(b, null, b.length, hi, lo);
    const first = b.cols.msecFirst;
    for (let i = 0; i < b.length; i++) {
      const t = first[i]!;
      if (t < minMs) minMs = t;
      if (t > maxMs) maxMs = t;
    }
  }
  return {
    id: idString(hi, lo),
    columns: columns.map((c) => c.name),
    rows: buf.rows,
    minMs,
    maxMs,
    data: buf.bytes(),
  };
}

export class ClickHouseSink {
  readonly counters: SinkCounters = emptyCounters();
  /** blocks posted by the feed and not yet taken (set by the sink's thread): back-fill waits while it is behind */
  behind: () => number = () => 0;
  private readonly backfill: BackfillReader;
  private readonly inserter: Inserter;
  private readonly spoolDir: string;
  private readonly log: SinkLog;
  private readonly target: ClickHouseTarget;
  private pending: RecordBatch[] = [];
  private pendingRows = 0;
  private pendingSince = 0;
  private readonly queue: Queued[] = [];
  private nextSeq = 1;
  private sending: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private readonly ageTimer: NodeJS.Timeout;
  private expiredAt = 0;
  private down = false;
  private stopping = false;
  /** stop() was called: no new back-fill batch (the references wait for the next start) */
  private closing = false;

  constructor(target: ClickHouseTarget, spoolDir: string, log: SinkLog) {
    this.target = target;
    this.inserter = new Inserter(target);
    this.spoolDir = spoolDir;
    this.log = log;
    mkdirSync(spoolDir, { recursive: true });
    // batches left by an earlier run go first, in their order
    const old = readdirSync(spoolDir)
      .filter((n) => /^\d{16}\.rowbinary$/.test(n))
      .sort();
    for (const name of old) {
      const seq = Number(name.slice(0, 16));
      this.queue.push({ seq, batch: null, refusals: 0 });
      this.counters.spoolBatches++;
      this.counters.spoolBytes += statSync(join(spoolDir, name)).size;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
    if (old.length > 0) log("info", `clickhouse: ${old.length} spooled batches to send first`);
    this.backfill = new BackfillReader(spoolDir, log);
    this.counters.backfillPending = this.backfill.pending();
    this.ageTimer = setInterval(
      () => {
        if (this.pendingRows > 0 && Date.now() - this.pendingSince >= target.batchMs) this.cut();
        // references the writer logged meanwhile
        this.backfill.scan();
        this.counters.backfillPending = this.backfill.pending();
        this.kick();
      },
      Math.min(1000, Math.max(10, target.batchMs / 4)),
    );
    this.ageTimer.unref();
    this.kick();
  }

  /** Takes a block of stored flows (the sink keeps the batch: the caller hands over its arrays). */
  push(batch: RecordBatch): void {
    if (batch.length === 0) return;
    if (this.pendingRows === 0) this.pendingSince = Date.now();
    this.pending.push(batch);
    this.pendingRows += batch.length;
    if (this.pendingRows >= this.target.batchRows) this.cut();
  }

  /** Encodes the gathered blocks into one batch and queues it. */
  private cut(): void {
    const blocks = this.pending;
    if (blocks.length === 0) return;
    this.pending = [];
    this.pendingRows = 0;
    const r = randomBytes(8);
    const batch = encodeBatch(blocks, r.readUInt32LE(4), r.readUInt32LE(0));
    const q: Queued = { seq: this.nextSeq++, batch, refusals: 0 };
    // in memory only while nothing waits in the spool (order) and the sender keeps up
    const inMemory = this.queue.filter((x) => x.batch !== null).length;
    const spoolWaiting = this.queue.some((x) => x.batch === null);
    this.queue.push(q);
    if (this.down || spoolWaiting || inMemory >= MEMORY_BATCHES) this.spool(q);
    this.kick();
  }

  private spoolPath(seq: number): string {
    return join(this.spoolDir, `${String(seq).padStart(16, "0")}.rowbinary`);
  }

  /** Writes a queued batch to the spool (drops it, counted as failed, beyond the spool limit). */
  private spool(q: Queued): void {
    const b = q.batch;
    if (b === null) return;
    const bytes = encodeSpoolFile(b);
    if (this.counters.spoolBytes + bytes.length > this.target.spoolBytes) {
      this.counters.failed += b.rows;
      this.queue.splice(this.queue.indexOf(q), 1);
      this.log("error", `clickhouse: spool full (${this.counters.spoolBytes} bytes): ${b.rows} rows dropped`);
      return;
    }
    const path = this.spoolPath(q.seq);
    try {
      writeFileSync(`${path}.tmp`, bytes);
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      this.counters.failed += b.rows;
      this.queue.splice(this.queue.indexOf(q), 1);
      this.log("error", `clickhouse: cannot spool ${b.rows} rows: ${(err as Error).message}`);
      return;
    }
    q.batch = null;
    this.counters.spooled += b.rows;
    this.counters.spoolBatches++;
    this.counters.spoolBytes += bytes.length;
  }

  private unspool(q: Queued): void {
    const path = this.spoolPath(q.seq);
    let size = 0;
    try {
      size = statSync(path).size;
      unlinkSync(path);
    } catch {
      // gone already
    }
    this.counters.spoolBatches--;
    this.counters.spoolBytes -= size;
  }

  private kick(): void {
    if (this.sending !== null || this.retryTimer !== null) return;
    if (this.queue.length === 0 && (this.counters.backfillPending === 0 || !this.caughtUp())) return;
    this.sending = this.drain().finally(() => {
      this.sending = null;
    });
  }

  /** Back-fill runs when the queue (and so the spool) is empty and the feed is not behind: live rows first. */
  private caughtUp(): boolean {
    return !this.closing && this.queue.length === 0 && this.pendingRows < this.target.batchRows && this.behind() <= 1;
  }

  /**
   * Sends the queue head first until the queue is empty or the server fails; then back-fills referenced blocks
   * while the sink keeps up.
   */
  private async drain(): Promise<void> {
    for (;;) {
      const q = this.queue[0];
      if (q === undefined) {
        if (this.stopping || !this.caughtUp()) return;
        if (!(await this.backfillStep())) return;
        continue;
      }
      let b: EncodedBatch;
      const fromSpool = q.batch === null;
      try {
        b = q.batch ?? decodeSpoolFile(readFileSync(this.spoolPath(q.seq)), this.spoolPath(q.seq));
      } catch (err) {
        this.log("error", (err as Error).message);
        this.setAside(q, 0);
        continue;
      }
      try {
        const r = await this.inserter.insertOnce(b);
        if (r === "inserted") this.counters.sent += b.rows;
        else this.counters.duplicates += b.rows;
        if (this.down) this.log("info", `clickhouse: ${this.target.display} answers again`);
        if (Date.now() - this.expiredAt >= EXPIRE_EVERY_MS) await this.expire();
        this.down = false;
        this.retryMs = RETRY_MIN_MS;
        this.queue.shift();
        if (fromSpool) this.unspool(q);
      } catch (err) {
        const refused = err instanceof ClickHouseError;
        if (refused && ++q.refusals >= MAX_REFUSALS) {
          this.log(
            "error",
            `clickhouse: batch ${b.id} (${b.rows} rows) refused ${q.refusals} times, set aside: ${(err as Error).message}`,
          );
          this.setAside(q, b.rows);
          continue;
        }
        if (!this.down) this.log("warn", `clickhouse: ${(err as Error).message}; spooling`);
        this.down = true;
        // a later insert re-creates what may have been dropped meanwhile
        this.inserter.features = null;
        for (const x of [...this.queue]) this.spool(x);
        if (this.stopping) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        return;
      }
    }
  }

  /**
   * One batch of referenced blocks read from the flow files and inserted (its id from the references, so a
   * repeat after a crash is found stored). False when there is nothing to do or the server failed (retry set).
   */
  private async backfillStep(): Promise<boolean> {
    const job = this.backfill.next(this.target.batchRows);
    this.counters.backfillPending = this.backfill.pending();
    if (job === null) return false;
    const rows = job.blocks.reduce((a, b) => a + b.length, 0);
    if (rows === 0) {
      this.counters.failed += job.failedRows;
      this.backfill.commit(job);
      this.counters.backfillPending = this.backfill.pending();
      return true;
    }
    const b = encodeBatch(job.blocks, job.hi, job.lo);
    for (let refusals = 0; ;) {
      try {
        const r = await this.inserter.insertOnce(b);
        if (r === "inserted") this.counters.backfilled += b.rows;
        else this.counters.duplicates += b.rows;
        if (this.down) this.log("info", `clickhouse: ${this.target.display} answers again`);
        this.down = false;
        this.retryMs = RETRY_MIN_MS;
        this.counters.failed += job.failedRows;
        this.backfill.commit(job);
        this.counters.backfillPending = this.backfill.pending();
        return true;
      } catch (err) {
        if (err instanceof ClickHouseError && ++refusals < MAX_REFUSALS) continue;
        if (err instanceof ClickHouseError) {
          this.log(
            "error",
            `clickhouse: back-fill batch ${b.id} (${b.rows} rows) refused ${refusals} times, given up: ${err.message}`,
          );
          this.counters.failed += b.rows + job.failedRows;
          this.backfill.commit(job);
          return true;
        }
        // the same job (references, id, blocks read) is taken again when the server answers
        if (!this.down) this.log("warn", `clickhouse: ${(err as Error).message}; back-fill waits`);
        this.down = true;
        this.inserter.features = null;
        if (this.stopping) return false;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        return false;
      }
    }
  }

  /** Retention by dropping old day partitions (servers without TTL); a failure is logged and retried later. */
  private async expire(): Promise<void> {
    this.expiredAt = Date.now();
    const r = this.target.retention;
    if (r.flows + r.m1 + r.m5 + r.h1 === 0) return;
    try {
      const dropped = await this.inserter.expire(Date.now());
      if (dropped.length > 0) this.log("info", `clickhouse: retention dropped ${dropped.join(", ")}`);
    } catch (err) {
      this.log("warn", `clickhouse: retention: ${(err as Error).message}`);
    }
  }

  /** Takes a batch out of the queue into spool/failed/ (for the operator) and counts its rows as failed. */
  private setAside(q: Queued, rows: number): void {
    const at = this.queue.indexOf(q);
    if (at >= 0) this.queue.splice(at, 1);
    this.counters.failed += rows;
    const dir = join(this.spoolDir, "failed");
    const target = join(dir, `${String(q.seq).padStart(16, "0")}.rowbinary`);
    try {
      mkdirSync(dir, { recursive: true });
      if (q.batch !== null) {
        writeFileSync(target, encodeSpoolFile(q.batch));
        return;
      }
      const path = this.spoolPath(q.seq);
      const size = statSync(path).size;
      renameSync(path, target);
      this.counters.spoolBatches--;
      this.counters.spoolBytes -= size;
    } catch (err) {
      this.log("error", `clickhouse: cannot set batch ${q.seq} aside: ${(err as Error).message}`);
    }
  }

  /**
   * Stop: the gathered blocks become a last batch; the sender gets until `deadlineMs` to empty the queue, and
   * what is left is spooled for the next start. References not back-filled yet wait for the next start too.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.closing = true;
    clearInterval(this.ageTimer);
    this.cut();
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (!this.down) this.kick();
    }
    this.kick();
    const until = Date.now() + deadlineMs;
    while (this.sending !== null && Date.now() < until) {
      await Promise.race([this.sending, new Promise((r) => setTimeout(r, until - Date.now()))]);
      this.kick();
    }
    this.stopping = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const q of [...this.queue]) this.spool(q);
  }
}
