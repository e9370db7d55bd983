// SPDX-License-Identifier: BSD-3-Clause
// ClickHouseSink: tscapd's stream of stored blocks into ClickHouse. Blocks are gathered into batches (by rows
// and by age, and one segment of the back-fill log each), encoded to RowBinary with a 64-bit batch id (a hash
// of the blocks' references in the back-fill log; random for a block without one), and sent one at a time, in
// order, by a single sender (Inserter: each batch goes in once). Before a batch is inserted or spooled its
// references are recorded in flight with its id, after it they are marked done (backfill.ts): references a
// killed process left not done are back-filled by the next start, a batch in flight again with its id.
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
import { BackfillReader, batchId, type RefPos } from "./backfill.js";
import { ClickHouseError, type ClickHouseTarget } from "./client.js";
import { idString, Inserter, type EncodedBatch } from "./inserter.js";
import { emptyCounters, type SinkCounters } from "./counters.js";
import { RowBinaryBuffer, usedColumns } from "./rowbinary.js";

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

/** A batch's blocks in the back-fill log: their segment and lines. */
interface Refs {
  readonly seq: number;
  readonly lines: number[];
  readonly texts: string[];
}

interface Queued {
  readonly seq: number;
  batch: EncodedBatch | null; // null: in the spool file
  refusals: number;
  /** its references while it is in memory (none once spooled: the spool holds it) */
  refs: Refs | null;
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
  /** the pending blocks' references (all in one segment), or null for blocks without one */
  private pendingRefs: Refs | null = null;
  private pendingSince = 0;
  private readonly queue: Queued[] = [];
  private nextSeq = 1;
  private sending: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  /** refusals of the back-fill job now waiting (given up at MAX_REFUSALS, as a streamed batch is set aside) */
  private backfillRefusals = 0;
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
      this.queue.push({ seq, batch: null, refusals: 0, refs: null });
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

  /** The writer's run: the references of its posted blocks are the stream's, not the back-fill's. */
  streamRun(run: string): void {
    this.backfill.streamRun = run;
    this.counters.backfillPending = this.backfill.pending();
    this.kick();
  }

  /**
   * Takes a block of stored flows (the sink keeps the batch: the caller hands over its arrays), with its reference
   * in the back-fill log (null: none, the log was at its bound).
   */
  push(batch: RecordBatch, ref: RefPos | null = null): void {
    if (batch.length === 0) return;
    // a batch's references lie in one segment (its progress is written there), and have all a reference or none
    if (this.pendingRows > 0 && (ref?.seq ?? 0) !== (this.pendingRefs?.seq ?? 0)) this.cut();
    if (this.pendingRows === 0) {
      this.pendingSince = Date.now();
      this.pendingRefs = ref === null ? null : { seq: ref.seq, lines: [], texts: [] };
    }
    if (ref !== null) {
      this.pendingRefs!.lines.push(ref.line);
      this.pendingRefs!.texts.push(ref.text);
    }
    this.pending.push(batch);
    this.pendingRows += batch.length;
    if (this.pendingRows >= this.target.batchRows) this.cut();
  }

  /** Encodes the gathered blocks into one batch and queues it. */
  private cut(): void {
    const blocks = this.pending;
    if (blocks.length === 0) return;
    const refs = this.pendingRefs;
    this.pending = [];
    this.pendingRows = 0;
    this.pendingRefs = null;
    let hi: number;
    let lo: number;
    if (refs !== null) ({ hi, lo } = batchId(refs.texts));
    else {
      const r = randomBytes(8);
      hi = r.readUInt32LE(4);
      lo = r.readUInt32LE(0);
    }
    const batch = encodeBatch(blocks, hi, lo);
    const q: Queued = { seq: this.nextSeq++, batch, refusals: 0, refs };
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

  /**
   * Writes a queued batch to the spool. Beyond the spool limit (or when it cannot be written) the batch is
   * dropped: its blocks are left to the back-fill from the flow files, or counted failed without references.
   */
  private spool(q: Queued): void {
    const b = q.batch;
    if (b === null) return;
    const bytes = encodeSpoolFile(b);
    const drop = (why: string): void => {
      this.queue.splice(this.queue.indexOf(q), 1);
      if (q.refs !== null) {
        this.backfill.streamRelease(q.refs.seq, q.refs.lines);
        this.counters.backfillPending = this.backfill.pending();
        this.log("error", `clickhouse: ${why}: ${b.rows} rows left to the back-fill from the flow files`);
        return;
      }
      this.counters.failed += b.rows;
      this.log("error", `clickhouse: ${why}: ${b.rows} rows dropped`);
    };
    if (this.counters.spoolBytes + bytes.length > this.target.spoolBytes) {
      drop(`spool full (${this.counters.spoolBytes} bytes)`);
      return;
    }
    const path = this.spoolPath(q.seq);
    // in flight first: a crash after the spool write and before the references are done redoes the batch with
    // its id (found stored when the spool is sent, or the spool's copy found stored after it)
    if (q.refs !== null) this.backfill.streamBegin(q.refs.seq, q.refs.lines, b.id);
    try {
      writeFileSync(`${path}.tmp`, bytes);
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      drop(`cannot spool: ${(err as Error).message}`);
      return;
    }
    if (q.refs !== null) this.backfill.streamDone(q.refs.seq, q.refs.lines);
    q.refs = null;
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
        const refs = q.refs;
        if (refs !== null) this.backfill.streamBegin(refs.seq, refs.lines, b.id);
        const r = await this.inserter.insertOnce(b);
        if (r === "inserted") this.counters.sent += b.rows;
        else this.counters.duplicates += b.rows;
        if (refs !== null) {
          this.backfill.streamDone(refs.seq, refs.lines);
          q.refs = null;
        }
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
    try {
      const r = await this.inserter.insertOnce(b);
      if (r === "inserted") this.counters.backfilled += b.rows;
      else this.counters.duplicates += b.rows;
      if (this.down) this.log("info", `clickhouse: ${this.target.display} answers again`);
      this.down = false;
      this.retryMs = RETRY_MIN_MS;
      this.backfillRefusals = 0;
      this.counters.failed += job.failedRows;
      this.backfill.commit(job);
      this.counters.backfillPending = this.backfill.pending();
      return true;
    } catch (err) {
      const refused = err instanceof ClickHouseError;
      if (refused && ++this.backfillRefusals >= MAX_REFUSALS) {
        this.log(
          "error",
          `clickhouse: back-fill batch ${b.id} (${b.rows} rows) refused ${this.backfillRefusals} times, given up: ${err.message}`,
        );
        this.backfillRefusals = 0;
        this.counters.failed += b.rows + job.failedRows;
        this.backfill.commit(job);
        this.counters.backfillPending = this.backfill.pending();
        return true;
      }
      // the same job (references, id, blocks read) is taken again after the pause, as a streamed batch is: a
      // refusal (e.g. too many parts) often passes, and the server away is waited for
      if (refused) this.log("warn", `clickhouse: back-fill batch ${b.id} refused: ${err.message}; retried`);
      else {
        if (!this.down) this.log("warn", `clickhouse: ${(err as Error).message}; back-fill waits`);
        this.down = true;
        this.inserter.features = null;
      }
      if (this.stopping) return false;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kick();
      }, this.retryMs);
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      return false;
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
    // given up: its references are done
    if (q.refs !== null) this.backfill.streamDone(q.refs.seq, q.refs.lines);
    q.refs = null;
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
