// SPDX-License-Identifier: BSD-3-Clause
// The flow-file reader's read-ahead: while JS decodes block i, the next block the scan will read is read, its two
// CRCs computed and its wanted LZ4 columns inflated on a thread of native/encode.c (one block ahead, one job at a
// time). Nothing is judged there: FlowFileReader checks every field and reports every damage as for a block it
// reads itself, taking only the CRC values and the inflated bytes from the job.
//
// Why: a scan of one file on one thread spends much of its time reading, checking and inflating blocks; on a
// second core that overlaps with the decoding (figures: docs/benchmarks.md, issue 16).
//
// Off without the addon (or liblz4), with TSFLOW_WRITER=js (the reader's JS twins), TSFLOW_LZ4=wasm (the
// WebAssembly decoder), or TSFLOW_READAHEAD=0.

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
  /** 1: the reader ran the job itself (the thread had not started it) */
  byCaller: 5,
  /** entry k: arena offset at first + 2k, bytes decoded (-1: does not decode, -2: not inflated) at first + 2k + 1 */
  first: 6,
} as const;

/** The bytes of one block and what the read-ahead thread did with them. */
export interface AheadSlot {
  buf: Uint8Array<ArrayBuffer>;
  arena: Uint8Array<ArrayBuffer>;
  res: Float64Array;
}

type Addon = Required<Pick<NativeEncoder, "readahead" | "readaheadStart" | "readaheadWait" | "readaheadClose">>;

function addon(): Addon | null {
  if (process.env["TSFLOW_READAHEAD"] === "0" || process.env["TSFLOW_LZ4"] === "wasm") return null;
  const a = nativeDecoder();
  return a?.readahead !== undefined && a.readaheadStart && a.readaheadWait && a.readaheadClose ? (a as Addon) : null;
}

export class ReadAhead {
  private readonly native: Addon;
  private readonly h: object;
  /** where the next block goes; owned by the thread while a job is posted */
  private spare: AheadSlot;
  /** the block posted (-1: none) and the column mask it was posted with */
  private block = -1;
  private mask: Uint8Array | undefined;
  /** the most arena bytes a block's masked columns took */
  private need = 0;
  /** blocks the reader took from here (tests, benchmarks) */
  hits = 0;
  /** of those, the blocks the thread had not started when the reader needed them: read by the reader itself */
  byCaller = 0;

  private constructor(native: Addon, columns: number) {
    this.native = native;
    this.h = native.readahead();
    this.spare = ReadAhead.slot(columns);
  }

  /** A read-ahead for a file of `columns` columns, or undefined when it is off (see the head of the file). */
  static create(columns: number): ReadAhead | undefined {
    const a = addon();
    return a === null ? undefined : new ReadAhead(a, columns);
  }

  /** An empty slot (the reader's first). */
  static slot(columns: number): AheadSlot {
    return { buf: new Uint8Array(0), arena: new Uint8Array(0), res: new Float64Array(RA.first + 2 * columns) };
  }

  /**
   * Posts block `block` (`length` bytes at `offset` of `fd`) to be read into the spare slot, the columns whose
   * file id has a non-zero `mask` entry inflated. A job still posted is waited for and dropped first.
   */
  post(fd: number, block: number, offset: number, length: number, mask: Uint8Array): void {
    this.drop();
    const s = this.spare;
    if (s.buf.length < length) s.buf = new Uint8Array(Math.max(length, 2 * s.buf.length));
    // room for the most a block took so far (before the first, four times its stored bytes): the columns that
    // do not fit are left to the reader; grown rarely (a large array allocated per block costs page faults and GC)
    const room = this.need > 0 ? this.need : 4 * length;
    if (s.arena.length < room) s.arena = new Uint8Array(room + (room >>> 2));
    this.native.readaheadStart(this.h, fd, offset, length, s.buf, s.arena, mask, s.res);
    this.block = block;
    this.mask = mask;
  }

  /**
   * The slot of block `block` when it was posted with `mask` (waited for); `mine`, the caller's current slot,
   * becomes the spare. Undefined when another block (or none) was posted: the caller reads it itself.
   */
  take(block: number, mask: Uint8Array, mine: AheadSlot): AheadSlot | undefined {
    if (this.block < 0) return undefined;
    const hit = this.block === block && this.mask === mask;
    this.drop();
    if (!hit) return undefined;
    const got = this.spare;
    this.spare = mine;
    this.need = Math.max(this.need, got.res[RA.need]!);
    this.hits++;
    this.byCaller += got.res[RA.byCaller]!;
    return got;
  }

  /** Waits for a posted job and forgets it. */
  drop(): void {
    if (this.block < 0) return;
    this.native.readaheadWait(this.h);
    this.block = -1;
    this.mask = undefined;
  }

  close(): void {
    this.native.readaheadClose(this.h);
    this.block = -1;
  }
}
