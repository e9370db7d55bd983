// SPDX-License-Identifier: BSD-3-Clause
// The flow-file reader's read-ahead: while JS decodes block i, the next blocks the scan will read (a queue of up
// to `depth`) are read, their two CRCs computed and their wanted LZ4 columns inflated by native/encode.c, on its
// thread or on the caller's: the jobs are claimed in order by whoever is free, and the reader, when it needs a
// block the thread is still working on, runs the next queued job itself instead of sleeping. Nothing is judged
// there: FlowFileReader checks every field and reports every damage as for a block it reads itself, taking only
// the CRC values and the inflated bytes from the job.
//
// Why: a scan of one file on one thread spends much of its time reading, checking and inflating blocks; on a
// second core that overlaps with the decoding (figures: docs/benchmarks.md, issue 16).
//
// Off without the addon (or liblz4), with TSFLOW_WRITER=js (the reader's JS twins), TSFLOW_LZ4=wasm (the
// WebAssembly decoder), or TSFLOW_READAHEAD=0; TSFLOW_READAHEAD=n (1–6) sets the queue's depth (benchmarks).

import { nativeDecoder, type NativeEncoder } from "./native-encode.js";

/** Slots of a job's result array (native/encode.c). */
export const RA = {
  /** bytes read: the block's length when complete */
  read: 0,
  hdrCrc: 1,
  /** -1: the data part runs past the block */
  dataCrc: 2,
  /** arena bytes the masked columns need */
  need: 3,
  /** column-table entries looked at */
  entries: 4,
  /** 1: the reader's thread ran the job (the read-ahead thread had not started it) */
  byCaller: 5,
  /** entry k: arena offset at first + 2k, bytes decoded (-1: does not decode, -2: not inflated) at first + 2k + 1 */
  first: 6,
} as const;

/** The native side's job slots (native/encode.c RA_SLOTS). */
const SLOTS = 8;
/** Jobs queued at most: the other slots for a job left running (one thread: one at a time, see `late`). */
const MAX_DEPTH = 6;
const DEFAULT_DEPTH = 3;
/**
 * How long the reader waits for a job the thread is running (µs, beyond the jobs it runs itself meanwhile): a
 * job takes a fraction of that, so a job still running then is one whose thread was switched out (a busy
 * machine), and the reader reads the block itself rather than wait for a CPU to come back to the thread.
 */
const WAIT_US = 400;

/** The bytes of one block and what the read-ahead did with them. */
export interface AheadSlot {
  buf: Uint8Array<ArrayBuffer>;
  arena: Uint8Array<ArrayBuffer>;
  res: Float64Array;
}

/** The reader's wait for the thread, and the jobs each ran (ms: wall time). */
export interface AheadStats {
  waitMs: number;
  callerJobs: number;
  callerMs: number;
  threadJobs: number;
  threadMs: number;
}

/** The blocks a scan reads, in order: `next(b)` is the one read after block b (undefined: none, or not known). */
export interface ReadOrder {
  next(b: number): number | undefined;
}

type Addon = Required<Pick<NativeEncoder, "readahead" | "readaheadStart" | "readaheadWait" | "readaheadClose">>;

function addon(): Addon | null {
  if (process.env["TSFLOW_LZ4"] === "wasm") return null;
  const a = nativeDecoder();
  return a?.readahead !== undefined && a.readaheadStart && a.readaheadWait && a.readaheadClose ? (a as Addon) : null;
}

/** The queue's depth from TSFLOW_READAHEAD (0: off). */
function depthOf(v: string | undefined): number {
  if (v === undefined || v === "") return DEFAULT_DEPTH;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, MAX_DEPTH) : DEFAULT_DEPTH;
}

interface Job {
  block: number;
  mask: Uint8Array;
  /** the native slot */
  k: number;
  slot: AheadSlot;
}

export class ReadAhead {
  private readonly native: Addon;
  private readonly h: object;
  readonly depth: number;
  private readonly columns: number;
  /** the jobs posted, oldest first */
  private readonly queue: Job[] = [];
  /** slots not in the queue nor the reader's */
  private readonly free: AheadSlot[] = [];
  /** native slots not in use */
  private readonly ks: number[] = [];
  /** jobs given up while the thread ran them: their slots come back when they end */
  private readonly late: Job[] = [];
  /** the most arena bytes a block's masked columns took */
  private need = 0;
  /** blocks the reader took from here (tests, benchmarks) */
  hits = 0;
  /** of those, the blocks the reader's own thread ran (the read-ahead thread had not started them, or was busy) */
  byCaller = 0;
  /** blocks the reader read itself after waiting WAIT_US for the thread (tests, benchmarks) */
  gaveUp = 0;

  private constructor(native: Addon, columns: number, depth: number) {
    this.native = native;
    this.h = native.readahead();
    this.columns = columns;
    this.depth = depth;
    for (let k = SLOTS - 1; k >= 0; k--) this.ks.push(k);
  }

  /** A read-ahead for a file of `columns` columns, or undefined when it is off (see the head of the file). */
  static create(columns: number): ReadAhead | undefined {
    const depth = depthOf(process.env["TSFLOW_READAHEAD"]);
    if (depth === 0) return undefined;
    const a = addon();
    return a === null ? undefined : new ReadAhead(a, columns, depth);
  }

  /** An empty slot (the reader's first). */
  static slot(columns: number): AheadSlot {
    return { buf: new Uint8Array(0), arena: new Uint8Array(0), res: new Float64Array(RA.first + 2 * columns) };
  }

  /** Jobs posted and not yet taken or dropped. */
  get queued(): number {
    return this.queue.length;
  }

  /** The block of the i-th job in the queue (oldest first), and the mask it was posted with. */
  blockAt(i: number): number {
    return this.queue[i]!.block;
  }

  maskAt(i: number): Uint8Array {
    return this.queue[i]!.mask;
  }

  /**
   * Posts block `block` (`length` bytes at `offset` of `fd`) to be read into a slot of its own, the columns whose
   * file id has a non-zero `mask` entry inflated; false (nothing posted) when the queue is full.
   */
  post(fd: number, block: number, offset: number, length: number, mask: Uint8Array): boolean {
    if (this.late.length > 0) this.reap();
    if (this.queue.length >= this.depth || this.ks.length === 0) return false;
    const s = this.free.pop() ?? ReadAhead.slot(this.columns);
    if (s.buf.length < length) s.buf = new Uint8Array(Math.max(length, 2 * s.buf.length));
    // room for the most a block took so far (before the first, four times its stored bytes): the columns that
    // do not fit are left to the reader; grown rarely (a large array allocated per block costs page faults and GC)
    const room = this.need > 0 ? this.need : 4 * length;
    if (s.arena.length < room) s.arena = new Uint8Array(room + (room >>> 2));
    const k = this.ks.pop()!;
    this.native.readaheadStart(this.h, k, fd, offset, length, s.buf, s.arena, mask, s.res);
    this.queue.push({ block, mask, k, slot: s });
    return true;
  }

  /**
   * The slot of block `block` when it is the next queued and was posted with `mask` (waited for); `mine`, the
   * caller's current slot, goes back to the free ones. Jobs of earlier blocks are dropped; jobs posted with
   * another mask too (all of them). Undefined when the next queued job is of a later block (or none is), or when
   * the thread is still running it after WAIT_US: the caller reads the block itself.
   */
  take(block: number, mask: Uint8Array, mine: AheadSlot): AheadSlot | undefined {
    while (this.queue.length > 0 && this.queue[0]!.block < block) this.dropFrom(0, 1);
    const q = this.queue[0];
    if (q === undefined) return undefined;
    if (q.mask !== mask) {
      this.dropFrom(0);
      return undefined;
    }
    if (q.block !== block) return undefined;
    this.queue.shift();
    if (!this.native.readaheadWait(this.h, q.k, true, WAIT_US)) {
      this.late.push(q);
      this.gaveUp++;
      return undefined;
    }
    this.ks.push(q.k);
    const got = q.slot;
    this.free.push(mine);
    this.need = Math.max(this.need, got.res[RA.need]!);
    this.hits++;
    this.byCaller += got.res[RA.byCaller]!;
    return got;
  }

  /** Drops the queued jobs from the i-th on (`count` of them; all by default): not started ones unrun. */
  dropFrom(i: number, count = this.queue.length - i): void {
    for (const q of this.queue.splice(i, count)) this.release(q);
  }

  /** Frees a job's slots, or keeps it in `late` while the thread still runs it (never waited for). */
  private release(q: Job): void {
    if (this.native.readaheadWait(this.h, q.k, false, 0)) {
      this.ks.push(q.k);
      this.free.push(q.slot);
    } else this.late.push(q);
  }

  /** The late jobs that have ended since, freed. */
  private reap(): void {
    for (const q of this.late.splice(0)) this.release(q);
  }

  /** What each thread did so far (benchmarks); undefined with an addon that does not count. */
  stats(): AheadStats | undefined {
    const f = (nativeDecoder() as NativeEncoder).readaheadStats;
    if (f === undefined) return undefined;
    const v = new Float64Array(5);
    f(this.h, v);
    return { waitMs: v[0]! / 1e6, callerJobs: v[1]!, callerMs: v[2]! / 1e6, threadJobs: v[3]!, threadMs: v[4]! / 1e6 };
  }

  close(): void {
    this.native.readaheadClose(this.h);
    for (const q of this.queue) this.ks.push(q.k);
    for (const q of this.late) this.ks.push(q.k);
    this.queue.length = 0;
    this.late.length = 0;
  }
}
