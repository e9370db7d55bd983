// SPDX-License-Identifier: BSD-3-Clause
// FlowFileReader: the synchronous read path of flow files (tsdump calls it from worker threads, one file each).
//
// open() reads the header and the block index (block-index.ts: the footer found through the trailer, or a scan
// block by block when there is no valid footer). The column table of a block is checked in column-table.ts,
// LZ4 is decoded through lz4/index.ts, readBlockLazy's columns live in lazy-block.ts; recover() (recover.ts)
// writes the missing footer.
//
// readBlock(i) reads one block with readSync into a reusable buffer, checks both CRCs, decompresses every known
// column into a reusable 8-byte aligned arena and returns a RecordBatch whose columns are zero-copy views of the
// arena (raw columns) or of reusable scratch arrays (narrowed / delta / sparse columns, decoded in one pass).
// The batch is valid until the next readBlock()/iteration step on the same reader: copy rows you keep.
// Given the block the caller reads next (`ahead`), or the order of the blocks it reads (a ReadOrder), the reader
// posts the next ones to its read-ahead (read-ahead.ts), which reads them, computes their CRCs and inflates their
// wanted columns while JS decodes this one.
// Columns a block does not store (all zero) are shared zero arrays listed in `batch.absent`: never write to them.
//
// Errors inside a block never throw out of iteration: they become StoreErrors {file, block, offset} passed to the
// onError callback and collected in `errors`, and the reader goes on with the next block.

import * as fs from "node:fs";
import { RecordBatch } from "../record/batch.js";
import {
  PHYSICAL_COLUMNS,
  type ArrayType,
  type ColumnArrays,
  type PhysicalName,
  newArray,
  ARRAY_BYTES,
  V6_BIT,
} from "../record/schema.js";
import type { ZoneMap } from "../record/zone.js";
import { accumulateStats, COLUMN_FLAG_UNCOMPRESSED } from "./block.js";
import {
  MAX_DICT,
  copyToU16,
  copyToU8,
  dictToF64,
  dictToU16,
  dictToU32,
  dictToU8,
  forToF64,
  forToU16,
  forToU32,
  decodeSparse6,
  dictRows,
  forRows,
  finishDeltaF64,
  finishDeltaU32,
  finishForU32,
  unshuffle,
} from "./codec.js";
import { STORE_ERROR, StoreError, storeWhere, type StoreErrorCode } from "./errors.js";
import {
  BLOCK_HEADER_BYTES,
  BlockHeaderFault,
  EXTRA_COLUMN,
  EXTRA_END_COLUMN,
  HEADER_PREFIX_BYTES,
  TRAILER_BYTES,
  TRANSFORM,
  blockLength,
  checkHeaderPrefix,
  crcOf,
  decodeFooter,
  decodeHeader,
  emptyStats,
  finishTotals,
  parseBlockHeader,
  parseTrailer,
  type BlockHeader,
  type BlockInfo,
  type FileHeader,
  type FileStats,
} from "./format.js";
import { ioError, readFully } from "./io.js";
import { loadBlockIndex } from "./block-index.js";
import { COLUMN_TARGET, columnTable, columnTargets, type ColumnEntry } from "./column-table.js";
import { LazyBlock, V6FLAGS_INDEX } from "./lazy-block.js";
import { nativeDecoder, type NativeEncoder } from "./native-encode.js";
import { RA, ReadAhead, type AheadSlot, type AheadStats, type ReadOrder } from "./read-ahead.js";
import { BlockZoneMap } from "./zone-map.js";
import {
  LZ4_WASM_CAPACITY,
  LZ4_WASM_DST,
  LZ4_WASM_SRC,
  decodePrefixedLz4,
  lz4Wasm,
  nativeRawLz4,
  type NativeLz4Decompress,
  type Lz4Wasm,
} from "./lz4/index.js";

export interface ReaderOptions {
  /** called for every damaged header, block or footer (the error is also kept in `reader.errors`) */
  onError?: (err: StoreError) => void;
}

/** Physical column names to decode (plus `extra` for the raw-element heap). */
export type ColumnSelection = Iterable<string> & { has(name: string): boolean };

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

const FIRST_READ = 64 * 1024;
/** The least readBlockHead reads at once (header + zone section; typically 10–20 KiB). */
const HEAD_GUESS_MIN = 4096;
/** Bytes of n dictionary codes of `bits` bits as codec.ts dictTo* read them (0, 1, 2, else 4 bits). */
function packedCodeBytes(n: number, bits: number): number {
  return bits === 0 ? 0 : bits === 1 ? (n + 7) >>> 3 : bits === 2 ? (n + 3) >>> 2 : (n + 1) >>> 1;
}

/** A batch's extraEnd until attachExtra sets the real one (no array allocated per block for it). */
const NO_EXTRA_END = new Uint32Array(0);

export class FlowFileReader {
  readonly path: string;
  /** true when the file was opened through a valid trailer + footer (false: blocks found by scanning) */
  readonly hasFooter: boolean;
  /** every damage found so far */
  readonly errors: StoreError[];
  /** blocks skipped by a zone-map predicate (never decompressed) */
  skippedBlocks: number;
  /** blocks read and decoded */
  readBlocks: number;
  /** columns decoded row by row after lazyRows (only the passing rows) */
  rowDecodedColumns = 0;
  /** byte offset just after the last complete block (where recover() puts the footer) */
  readonly dataEnd: number;

  private fd: number;
  private readonly size: number;
  private readonly hdr: FileHeader;
  private readonly index: BlockInfo[];
  private footerStats: FileStats | undefined;
  private readonly onError: ((err: StoreError) => void) | undefined;
  /** file column id → index in PHYSICAL_COLUMNS, or a COLUMN_TARGET value */
  private readonly target: Int32Array;
  private readonly ids: Map<string, number>;
  private buf: Uint8Array<ArrayBuffer>;
  private tmp: Uint32Array;
  private readonly dict: Float64Array;
  private readonly dictInt: Uint32Array;
  private readonly scratch: Map<string, Column>;
  private readonly zeros: Map<ArrayType, Column>;
  private extraEnd: Uint32Array;
  private lastSelection: ColumnSelection | undefined;
  private readonly lazy = new LazyBlock();
  /** the thread's WebAssembly LZ4 decoder (null: not available here) */
  private lz4w: Lz4Wasm | null | undefined;
  /** liblz4's decoder, which works in the caller's memory (null: not available, the WebAssembly one then) */
  private rawLz4: NativeLz4Decompress | null | undefined;
  /** where liblz4 decodes a column: like the WebAssembly memory, valid until the next inflate */
  private inflated = new Uint8Array(0);
  private lastExpanded: ReadonlySet<string> | undefined;
  /** native/encode.c's decoders of `for` columns into f64 and u32 (null: not built, codec.ts instead) */
  private nativeDec: NativeEncoder | null | undefined;
  /** bytes readBlockHead reads at once: the last block's header and zone section, and an eighth */
  private headGuess = FIRST_READ;
  /** the read-ahead thread (undefined: not asked for yet; null: off) */
  private ahead: ReadAhead | null | undefined;
  /** the current block's inflated columns and the read-ahead's results, when it came from there */
  private arena = new Uint8Array(0);
  private res: Float64Array | undefined;
  /** whether the current block in `buf` came from the read-ahead (its CRCs and inflated columns in `res`) */
  private pre = false;
  /** the read-ahead's column mask and the selection it was made for */
  private mask: Uint8Array | undefined;
  private maskFor: ReadonlySet<string> | undefined;
  private maskLazy = false;

  private constructor(file: string, fd: number, size: number, hdr: FileHeader, opts: ReaderOptions) {
    this.path = file;
    this.fd = fd;
    this.size = size;
    this.hdr = hdr;
    this.onError = opts.onError;
    this.errors = [];
    this.skippedBlocks = 0;
    this.readBlocks = 0;
    this.buf = new Uint8Array(FIRST_READ);
    this.tmp = new Uint32Array(0);
    this.dict = new Float64Array(MAX_DICT);
    this.dictInt = new Uint32Array(MAX_DICT);
    this.scratch = new Map();
    this.zeros = new Map();
    this.extraEnd = new Uint32Array(0);
    this.lastSelection = undefined;
    this.lastExpanded = undefined;
    this.ids = new Map();
    for (let id = 0; id < hdr.columns.length; id++) this.ids.set(hdr.columns[id]!.name, id);
    this.target = columnTargets(hdr.columns);
    const found = loadBlockIndex({
      fd,
      size,
      path: file,
      headerLength: hdr.length,
      columnCount: hdr.columns.length,
      ids: this.ids,
      report: (code, block, offset, msg) => {
        this.report(code, block, offset, msg);
      },
      reportError: (err) => {
        this.errors.push(err);
        this.onError?.(err);
      },
    });
    this.footerStats = found.stats;
    this.index = found.index;
    this.hasFooter = found.footer;
    this.dataEnd = found.dataEnd;
  }

  /**
   * Opens a flow file and loads its block index (footer, or a scan when there is none).
   * @throws StoreError ERR_STORE_IO, ERR_STORE_BAD_MAGIC, ERR_STORE_VERSION, ERR_STORE_CHECKSUM (header),
   *         ERR_STORE_TRUNCATED — for damage to the header only; block damage is reported, not thrown.
   */
  static open(file: string, opts: ReaderOptions = {}): FlowFileReader {
    let fd = -1;
    try {
      fd = fs.openSync(file, "r");
      const size = fs.fstatSync(fd).size;
      const prefix = new Uint8Array(Math.min(size, HEADER_PREFIX_BYTES));
      readFully(fd, prefix, 0);
      const length = checkHeaderPrefix(prefix, file);
      if (size < length) {
        throw new StoreError(
          STORE_ERROR.TRUNCATED,
          `${storeWhere(file, -1, size)}header of ${length} bytes cut at ${size}`,
          { file, offset: size },
        );
      }
      const hb = new Uint8Array(length);
      readFully(fd, hb, 0);
      const hdr = decodeHeader(hb, file);
      return new FlowFileReader(file, fd, size, hdr, opts);
    } catch (err) {
      if (fd >= 0) fs.closeSync(fd);
      if (err instanceof StoreError) throw err;
      throw ioError(file, -1, "cannot read", err);
    }
  }

  header(): FileHeader {
    return this.hdr;
  }

  /** The statistics record: from the footer, or (no footer) computed once by reading every block. */
  stats(): FileStats {
    if (this.footerStats === undefined) {
      const s = emptyStats();
      for (let i = 0; i < this.index.length; i++) {
        const b = this.readBlock(i);
        if (b) accumulateStats(s, b);
      }
      finishTotals(s);
      this.footerStats = s;
    }
    return this.footerStats;
  }

  get blockCount(): number {
    return this.index.length;
  }

  blockInfo(i: number): BlockInfo {
    const b = this.index[i];
    if (b === undefined) throw new RangeError(`store: block ${i} out of range 0..${this.index.length - 1}`);
    return b;
  }

  /**
   * The zone map of block i (reads only its header and zone section); undefined when the block is damaged.
   * `transient`: a view of this reader's buffer, valid until its next read (see FlowFileSource.zoneMap).
   */
  zoneMap(i: number, transient = false): ZoneMap | undefined {
    const info = this.blockInfo(i);
    const h = this.readBlockHead(i, info);
    if (h === undefined) return undefined;
    return new BlockZoneMap(
      h.rows,
      this.hdr.columns.length,
      this.ids,
      this.buf.subarray(BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + h.zoneLength),
      !transient,
    );
  }

  /** Indexes of the blocks whose zone map may match (damaged blocks are reported and left out). */
  blocksThatMayMatch(pred: (z: ZoneMap) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.index.length; i++) {
      const z = this.zoneMap(i, true);
      if (z === undefined) continue;
      if (pred(z)) out.push(i);
      else this.skippedBlocks++;
    }
    return out;
  }

  /**
   * Iterates the readable blocks in file order. With a predicate, blocks whose zone map cannot match are skipped
   * without reading their column data (counted in `skippedBlocks`). Each batch is valid until the next step.
   * `columns`: see readBlock.
   */
  *batches(pred?: (z: ZoneMap) => boolean, columns?: ColumnSelection): Generator<RecordBatch, void, undefined> {
    for (let i = 0; i < this.index.length; i++) {
      if (pred) {
        const z = this.zoneMap(i);
        if (z === undefined) continue;
        if (!pred(z)) {
          this.skippedBlocks++;
          continue;
        }
      }
      const b = this.readBlock(i, columns);
      if (b) yield b;
    }
  }

  /**
   * Reads and decodes block i. Returns undefined (after reporting a StoreError) when the block is damaged.
   * The batch is valid until the next call on this reader.
   *
   * `columns` (optional, fast path for queries): decode only these physical columns (`v6Flags` is added when an
   * address column is asked for; `extra` brings `extraEnd`). The others are NOT decoded: they read as zero and
   * are listed in `batch.absent` like stored-as-zero columns, so pass every column the query touches (filter,
   * statistics and output). CRCs are still checked over the whole block.
   *
   * `ahead`: the block read next (posted to the read-ahead), or the order of the blocks read (the next few
   * posted; read-ahead.ts).
   */
  readBlock(i: number, columns?: ColumnSelection, ahead?: number | ReadOrder): RecordBatch | undefined {
    return this.read(i, columns, false, ahead);
  }

  /**
   * Like readBlock, but only the `eager` columns are decoded now; every other stored column is decoded when the
   * batch's `cols.<name>` is first read. For blocks where only a few rows pass a filter: the output touches a
   * dozen columns of a few rows, so the block's other columns are never decompressed. Access is through getters
   * (slower per row than readBlock's arrays): use it when few rows are printed. Valid until the next call.
   */
  readBlockLazy(i: number, eager: ColumnSelection, ahead?: number | ReadOrder): RecordBatch | undefined {
    return this.read(i, eager, true, ahead);
  }

  private read(
    i: number,
    columns: ColumnSelection | undefined,
    lazy: boolean,
    ahead: number | ReadOrder | undefined,
  ): RecordBatch | undefined {
    const info = this.blockInfo(i);
    if (info.offset + info.length > this.size || info.length < BLOCK_HEADER_BYTES) {
      this.report(
        STORE_ERROR.TRUNCATED,
        i,
        info.offset,
        `block of ${info.length} bytes runs past the end of the file (${this.size} bytes)`,
      );
      return undefined;
    }
    const wanted = columns === undefined ? undefined : this.selection(columns);
    // the block from the read-ahead when it was posted for this block and these columns, else read here
    this.pre = false;
    if (this.ahead) {
      const mine: AheadSlot = {
        buf: this.buf,
        arena: this.arena,
        res: this.res ?? ReadAhead.slot(this.target.length).res,
      };
      const got = this.ahead.take(i, this.maskOf(wanted, lazy), mine);
      if (got !== undefined) {
        this.buf = got.buf;
        this.arena = got.arena;
        this.res = got.res;
        this.pre = got.res[RA.read] === info.length; // else (a read error, a short read) read again here to report it
      }
    }
    // the next blocks posted before this one is read or decoded: the read-ahead works on them meanwhile
    if (ahead !== undefined) this.postAhead(i, ahead, wanted, lazy);
    if (this.buf.length < info.length) this.buf = new Uint8Array(Math.max(info.length, this.buf.length * 2));
    const buf = this.buf;
    if (!this.pre) {
      try {
        readFully(this.fd, buf.subarray(0, info.length), info.offset);
      } catch (err) {
        this.report(STORE_ERROR.IO, i, info.offset, `read failed: ${(err as Error).message}`);
        return undefined;
      }
    }
    const res = this.pre ? this.res : undefined;
    const h = this.checkHead(buf, i, info.offset, info.length, res?.[RA.hdrCrc]);
    if (h === undefined) return undefined;
    const d = BLOCK_HEADER_BYTES + h.zoneLength;
    const dataCrc = res !== undefined && res[RA.dataCrc]! >= 0 ? res[RA.dataCrc]! : crcOf(buf, d, d + h.dataLength);
    if (dataCrc !== h.dataCrc) {
      this.report(
        STORE_ERROR.CHECKSUM,
        i,
        info.offset + d,
        `data checksum 0x${hex(dataCrc)} does not match stored 0x${hex(h.dataCrc)}`,
      );
      return undefined;
    }
    const batch = this.decodeData(
      buf,
      d,
      h,
      i,
      info.offset,
      columns === undefined ? undefined : this.selection(columns),
      lazy,
    );
    if (batch) this.readBlocks++;
    return batch;
  }

  close(): void {
    // the read-ahead's job ends before its file descriptor is closed
    if (this.ahead) this.ahead.close();
    this.ahead = null;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Blocks taken from the read-ahead so far (tests, benchmarks). */
  get aheadHits(): number {
    return this.ahead ? this.ahead.hits : 0;
  }

  /** Of those, the blocks whose job ran on the reader's thread (not started by the read-ahead thread in time). */
  get aheadByCaller(): number {
    return this.ahead ? this.ahead.byCaller : 0;
  }

  /** Blocks read here after the read-ahead thread, switched out, kept them too long (benchmarks). */
  get aheadGaveUp(): number {
    return this.ahead ? this.ahead.gaveUp : 0;
  }

  /** What the read-ahead's threads did so far (benchmarks). */
  get aheadStats(): AheadStats | undefined {
    return this.ahead ? this.ahead.stats() : undefined;
  }

  /** Jobs queued in the read-ahead now (tests). */
  get aheadQueued(): number {
    return this.ahead ? this.ahead.queued : 0;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Brings the read-ahead's queue in step with the blocks read after block `i` (`ahead`: the next one only, or
   * their order): queued jobs that are not the next blocks are dropped, and the next blocks (within the file)
   * posted until the queue is full. The read-ahead is started on first use.
   */
  private postAhead(
    i: number,
    ahead: number | ReadOrder,
    wanted: ReadonlySet<string> | undefined,
    lazy: boolean,
  ): void {
    if (this.ahead === undefined) this.ahead = ReadAhead.create(this.target.length) ?? null;
    const a = this.ahead;
    if (!a) return;
    const order = typeof ahead === "number" ? undefined : ahead;
    let next = typeof ahead === "number" ? ahead : ahead.next(i);
    const mask = this.maskOf(wanted, lazy);
    let q = 0;
    for (; q < a.queued && next !== undefined; q++) {
      if (a.blockAt(q) !== next || a.maskAt(q) !== mask) break;
      next = order?.next(next);
    }
    if (q < a.queued) a.dropFrom(q);
    while (next !== undefined && a.queued < a.depth) {
      const info = this.index[next];
      if (info === undefined || info.offset + info.length > this.size || info.length < BLOCK_HEADER_BYTES) return;
      a.post(this.fd, next, info.offset, info.length, mask);
      next = order?.next(next);
    }
  }

  /** The file column ids read() decodes now for this selection (as decodeData's `eager`), for the read-ahead. */
  private maskOf(wanted: ReadonlySet<string> | undefined, lazy: boolean): Uint8Array {
    if (this.mask !== undefined && this.maskFor === wanted && this.maskLazy === lazy) return this.mask;
    const cols = this.hdr.columns;
    const m = new Uint8Array(cols.length);
    if (this.hdr.codec !== "none") {
      for (let id = 0; id < cols.length; id++) {
        const t = this.target[id]!;
        if (t !== COLUMN_TARGET.skip && (wanted === undefined || wanted.has(cols[id]!.name) || (lazy && t < 0)))
          m[id] = 1;
      }
    }
    this.mask = m;
    this.maskFor = wanted;
    this.maskLazy = lazy;
    return m;
  }

  private report(code: StoreErrorCode, block: number, offset: number, msg: string): void {
    const err = new StoreError(code, `${storeWhere(this.path, block, offset)}${msg}`, {
      file: this.path,
      block,
      offset,
    });
    this.errors.push(err);
    this.onError?.(err);
  }

  /**
   * Reads header + zone section of block i into this.buf and checks the header CRC: one read of what the last
   * block's took (a little more), a second one when this block's is longer.
   */
  private readBlockHead(i: number, info: BlockInfo): BlockHeader | undefined {
    const first = Math.min(info.length, this.headGuess, this.size - info.offset);
    if (first < BLOCK_HEADER_BYTES) {
      this.report(STORE_ERROR.TRUNCATED, i, info.offset, "block header runs past the end of the file");
      return undefined;
    }
    if (this.buf.length < first) this.buf = new Uint8Array(FIRST_READ);
    this.pre = false;
    readFully(this.fd, this.buf.subarray(0, first), info.offset);
    const p = parseBlockHeader(this.buf, 0);
    if (p instanceof BlockHeaderFault) {
      this.report(p.code, i, info.offset, p.message);
      return undefined;
    }
    const headLen = BLOCK_HEADER_BYTES + p.zoneLength;
    this.headGuess = Math.min(FIRST_READ, Math.max(HEAD_GUESS_MIN, headLen + (headLen >>> 3)));
    if (blockLength(p) !== info.length) {
      this.report(
        STORE_ERROR.BAD_LENGTH,
        i,
        info.offset,
        `block length ${blockLength(p)} does not match the index (${info.length})`,
      );
      return undefined;
    }
    if (headLen > first) {
      if (this.buf.length < headLen) {
        const grown = new Uint8Array(headLen);
        grown.set(this.buf.subarray(0, first));
        this.buf = grown;
      }
      readFully(this.fd, this.buf.subarray(first, headLen), info.offset + first);
    }
    return this.checkHead(this.buf, i, info.offset, info.length);
  }

  /** `crcDone`: the header CRC when the read-ahead computed it (-1: it did not). */
  private checkHead(
    buf: Uint8Array,
    i: number,
    offset: number,
    length: number,
    crcDone?: number,
  ): BlockHeader | undefined {
    const p = parseBlockHeader(buf, 0);
    if (p instanceof BlockHeaderFault) {
      this.report(p.code, i, offset, p.message);
      return undefined;
    }
    if (blockLength(p) !== length) {
      this.report(
        STORE_ERROR.BAD_LENGTH,
        i,
        offset,
        `block length ${blockLength(p)} does not match the index (${length})`,
      );
      return undefined;
    }
    const crc = crcDone !== undefined && crcDone >= 0 ? crcDone : crcOf(buf, 8, BLOCK_HEADER_BYTES + p.zoneLength);
    if (crc !== p.hdrCrc) {
      this.report(
        STORE_ERROR.CHECKSUM,
        i,
        offset,
        `header checksum 0x${hex(crc)} does not match stored 0x${hex(p.hdrCrc)}`,
      );
      return undefined;
    }
    return p;
  }

  /** Expands a column selection: address columns bring their IPv6 words and v6Flags; extra brings extraEnd. */
  private selection(columns: ColumnSelection): ReadonlySet<string> {
    if (this.lastSelection === columns && this.lastExpanded !== undefined) return this.lastExpanded;
    const set = new Set<string>(columns);
    for (const name of columns) {
      if (V6_BIT_BY_NAME.has(name)) {
        set.add(`${name}6`);
        set.add("v6Flags");
      } else if (name.endsWith("6") && V6_BIT_BY_NAME.has(name.slice(0, -1))) set.add("v6Flags");
      else if (name === EXTRA_COLUMN) set.add(EXTRA_END_COLUMN);
    }
    this.lastSelection = columns;
    this.lastExpanded = set;
    return set;
  }

  /** Decompresses one column entry: its transformed bytes (src at srcOff), or undefined after a report. */
  private inflate(
    buf: Uint8Array,
    e: ColumnEntry,
    i: number,
    fileOff: number,
  ): { src: Uint8Array; off: number } | undefined {
    if ((e.flags & COLUMN_FLAG_UNCOMPRESSED) !== 0 || this.hdr.codec === "none") {
      if (e.storedLength !== e.rawLength) {
        this.report(
          STORE_ERROR.BAD_LENGTH,
          i,
          fileOff + e.at,
          `column ${e.name}: stored ${e.storedLength} bytes uncompressed, expected ${e.rawLength}`,
        );
        return undefined;
      }
      return { src: buf, off: e.at };
    }
    // u32 LE uncompressed size + LZ4 block; the size is checked before anything is allocated
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (e.storedLength < 4 || v.getUint32(e.at, true) !== e.rawLength) {
      this.report(
        STORE_ERROR.CORRUPT,
        i,
        fileOff + e.at,
        `column ${e.name}: lz4 size prefix does not match raw length ${e.rawLength}`,
      );
      return undefined;
    }
    // inflated by the read-ahead: its result judged as the decoders' below
    if (this.pre && buf === this.buf && e.slot < this.res![RA.entries]!) {
      const got = this.res![RA.first + 2 * e.slot + 1]!;
      if (got !== -2) {
        if (got !== e.rawLength) {
          this.badLz4(i, fileOff + e.at, e, got);
          return undefined;
        }
        return { src: this.arena, off: this.res![RA.first + 2 * e.slot]! };
      }
    }
    // liblz4 (when it loads) decodes straight from the block's buffer into the reader's own scratch; else the
    // WebAssembly decoder (the thread's shared instance): compressed bytes copied into its memory, decoded there.
    // Neither allocates per column (lz4-napi allocates a Buffer: page faults and GC of external memory). The
    // output is valid until the next inflate: decodeEntry copies raw columns out of it (isScratch).
    const payload = e.storedLength - 4;
    const nat = this.rawLz4 === undefined ? (this.rawLz4 = nativeRawLz4()) : this.rawLz4;
    if (nat !== null) {
      if (this.inflated.length < e.rawLength) this.inflated = new Uint8Array(Math.max(e.rawLength, 256 * 1024));
      // the scratch may be longer than the column: data that decodes to more bytes is caught by the length check
      const got = nat(buf, e.at + 4, payload, this.inflated);
      if (got !== e.rawLength) {
        this.badLz4(i, fileOff + e.at, e, got);
        return undefined;
      }
      return { src: this.inflated, off: 0 };
    }
    const w = this.lz4w === undefined ? (this.lz4w = lz4Wasm()) : this.lz4w;
    if (w !== null && payload <= LZ4_WASM_CAPACITY && e.rawLength <= LZ4_WASM_CAPACITY) {
      w.bytes.set(buf.subarray(e.at + 4, e.at + e.storedLength), LZ4_WASM_SRC);
      w.owner = this;
      const got = w.decode(payload);
      if (got !== e.rawLength) {
        this.badLz4(i, fileOff + e.at, e, got);
        return undefined;
      }
      return { src: w.bytes, off: LZ4_WASM_DST };
    }
    let out: Uint8Array;
    try {
      out = decodePrefixedLz4(buf.subarray(e.at, e.at + e.storedLength));
    } catch (err) {
      this.badLz4(i, fileOff + e.at, e, -1, `: ${(err as Error).message}`);
      return undefined;
    }
    if (out.length !== e.rawLength) {
      this.badLz4(i, fileOff + e.at, e, out.length);
      return undefined;
    }
    return { src: out, off: 0 };
  }

  /** Reports a column whose LZ4 data did not decode (`got` < 0) or decoded to the wrong length. */
  private badLz4(block: number, at: number, e: { name: string; rawLength: number }, got: number, why = ""): void {
    this.report(
      STORE_ERROR.CORRUPT,
      block,
      at,
      got < 0
        ? `column ${e.name}: lz4 data does not decode${why}`
        : `column ${e.name}: lz4 data decodes to ${got} bytes, expected ${e.rawLength}`,
    );
  }

  /** Whether `src` is an LZ4 decoder's memory (the next inflate overwrites it), not the block's own bytes. */
  private isScratch(src: Uint8Array): boolean {
    return src === this.inflated || src === this.lz4w?.bytes;
  }

  /** Decodes a width-1 or raw column entry (not sparse6, not the heap) of an n-row block into its batch column. */
  private decodeEntry(src: Uint8Array, srcOff: number, e: ColumnEntry, n: number): Column {
    const tgt = e.tgt;
    const dir = this.hdr.columns[e.id]!;
    const name = tgt === COLUMN_TARGET.extraEnd ? EXTRA_END_COLUMN : PHYSICAL_COLUMNS[tgt]!.name;
    const arrType: ArrayType = tgt === COLUMN_TARGET.extraEnd ? "u32" : PHYSICAL_COLUMNS[tgt]!.array;
    const { transform, width, base } = e;
    let col: Column | undefined;
    if (transform === TRANSFORM.raw) {
      // fast path: zero-copy view of the (decompressed) column when the types agree and it is aligned — but not
      // of the LZ4 decoder's memory, which the next column overwrites
      col = viewOf(dir.array, src, srcOff, n * dir.width);
      if (arrType !== dir.array || this.isScratch(src)) {
        const conv = this.scratchOf(name, arrType, n * dir.width);
        conv.set(col);
        col = conv;
      }
      return col;
    }
    const dict = this.dict;
    if (transform === TRANSFORM.dict) {
      const dv = new DataView(src.buffer, src.byteOffset + srcOff, base * 8);
      for (let j = 0; j < base; j++) dict[j] = dv.getFloat64(j * 8, true);
    }
    // fast paths: fused one-pass decoders for what the writer produces
    if (transform === TRANSFORM.dict) {
      const nat = this.nativeDec === undefined ? (this.nativeDec = nativeDecoder()) : this.nativeDec;
      // the native loop when the packed codes lie within the column (else codec.ts)
      const native = nat?.dict !== undefined && width <= 4 && base * 8 + packedCodeBytes(n, width) <= e.rawLength;
      if (arrType !== "f64") {
        col = this.scratchOf(name, arrType, n);
        const dictInt = this.dictInt; // integer copy: no float-to-int conversion per row
        for (let j = 0; j < base; j++) dictInt[j] = dict[j]!;
        if (native) nat.dict!(src, srcOff + base * 8, n, width, dictInt, col);
        else if (arrType === "u8") dictToU8(src, srcOff + base * 8, n, width, dictInt, col as Uint8Array);
        else if (arrType === "u16") dictToU16(src, srcOff + base * 8, n, width, dictInt, col as Uint16Array);
        else dictToU32(src, srcOff + base * 8, n, width, dictInt, col as Uint32Array);
      } else {
        col = this.scratchOf(name, "f64", n);
        if (native) nat.dict!(src, srcOff + base * 8, n, width, dict, col);
        else dictToF64(src, srcOff + base * 8, n, width, dict, col as Float64Array);
      }
    } else if (transform === TRANSFORM.for && arrType === "f64") {
      col = this.scratchOf(name, "f64", n);
      const nat = this.nativeDec === undefined ? (this.nativeDec = nativeDecoder()) : this.nativeDec;
      if (nat !== null) nat.forF64!(src, srcOff, n, width, base, col as Float64Array);
      else forToF64(src, srcOff, n, width, base, col as Float64Array);
    } else if (transform === TRANSFORM.for && arrType === "u32") {
      col = this.scratchOf(name, "u32", n);
      const nat = this.nativeDec === undefined ? (this.nativeDec = nativeDecoder()) : this.nativeDec;
      if (nat !== null && base >= 0 && base < 4294967296 && Number.isInteger(base))
        nat.forU32!(src, srcOff, n, width, base, col as Uint32Array);
      else forToU32(src, srcOff, n, width, base, col as Uint32Array);
    } else if (transform === TRANSFORM.for && arrType === "u16" && width <= 2) {
      col = this.scratchOf(name, "u16", n);
      const nat = this.nativeDec === undefined ? (this.nativeDec = nativeDecoder()) : this.nativeDec;
      if (nat?.forU16 !== undefined && base >= 0 && base < 4294967296 && Number.isInteger(base))
        nat.forU16(src, srcOff, n, width, base, col as Uint16Array);
      else forToU16(src, srcOff, n, width, base, col as Uint16Array);
    } else if (
      transform === TRANSFORM.delta &&
      arrType === "f64" &&
      (width === 1 || width === 2 || width === 4) &&
      (this.nativeDec === undefined ? (this.nativeDec = nativeDecoder()) : this.nativeDec)?.deltaF64 !== undefined
    ) {
      col = this.scratchOf(name, "f64", n);
      this.nativeDec!.deltaF64!(src, srcOff, n, width, base, col as Float64Array);
    } else {
      // delta, and `for` into a column type the fused decoders do not cover: unshuffle, then finish
      const tmp = this.tmpOf(n);
      unshuffle(src, srcOff, n, width, tmp);
      if (transform === TRANSFORM.for) finishForU32(tmp, n, base);
      else if (arrType === "f64") finishDeltaF64(tmp, n, base, (col = this.scratchOf(name, "f64", n)) as Float64Array);
      else finishDeltaU32(tmp, n, base);
      if (arrType !== "f64") {
        col = this.scratchOf(name, arrType, n);
        if (arrType === "u8") copyToU8(tmp, n, col as Uint8Array);
        else if (arrType === "u16") copyToU16(tmp, n, col as Uint16Array);
        else col.set(tmp.subarray(0, n)); // same element type: a memcpy
      }
    }
    return col ?? this.scratchOf(name, arrType, n);
  }

  /** Scatters a sparse6 entry's words into its `<addr>6` column by v6Flags; undefined after a report. */
  private decodeSparseEntry(
    src: Uint8Array,
    srcOff: number,
    e: ColumnEntry,
    n: number,
    v6Flags: Uint8Array,
    i: number,
    fileOff: number,
  ): Column | undefined {
    const words =
      (src.byteOffset + srcOff) % 4 === 0
        ? new Uint32Array(src.buffer, src.byteOffset + srcOff, e.rawLength / 4)
        : new Uint32Array(src.slice(srcOff, srcOff + e.rawLength).buffer);
    const bit = bitOfAddr(e.name.slice(0, -1));
    const out = this.scratchOf(e.name, "u32", n * 4) as Uint32Array;
    if (!decodeSparse6(words, words.length / 4, v6Flags, n, bit, out)) {
      this.report(
        STORE_ERROR.CORRUPT,
        i,
        fileOff + e.at,
        `column ${e.name}: ${words.length / 4} IPv6 rows stored, v6Flags marks a different number`,
      );
      return undefined;
    }
    return out;
  }

  private decodeData(
    buf: Uint8Array,
    d: number,
    h: BlockHeader,
    i: number,
    fileOff: number,
    wanted: ReadonlySet<string> | undefined,
    lazy = false,
  ): RecordBatch | undefined {
    const n = h.rows;
    const entries = columnTable(buf, d, h, this.hdr.columns, this.target, (at, msg) => {
      this.report(STORE_ERROR.BAD_LENGTH, i, fileOff + at, msg);
    });
    if (entries === undefined) return undefined;
    // pass 1: decompress and decode the wanted columns (all, without a selection); the IPv6 words wait for v6Flags
    const cols: Record<string, Column> = {};
    const present = new Set<string>();
    let extra: Uint8Array | undefined;
    let extraEnd: Uint32Array | undefined;
    const sparse: { e: ColumnEntry; src: Uint8Array; off: number }[] = [];
    const stored: ColumnEntry[] = [];
    for (const e of entries) {
      if (e.tgt >= 0) stored.push(e);
      const eager = wanted === undefined || wanted.has(e.name) || (lazy && e.tgt < 0);
      if (!eager) continue; // not asked for, or (lazy) decoded on first access
      const got = this.inflate(buf, e, i, fileOff);
      if (got === undefined) return undefined;
      if (e.tgt === COLUMN_TARGET.extra) {
        extra = got.src.slice(got.off, got.off + e.rawLength); // kept beyond the next block: the heap is small
        continue;
      }
      if (e.transform === TRANSFORM.sparse6) {
        // kept until v6Flags is decoded: out of the LZ4 decoder's memory, which the next column overwrites
        if (this.isScratch(got.src)) sparse.push({ e, src: got.src.slice(got.off, got.off + e.rawLength), off: 0 });
        else sparse.push({ e, src: got.src, off: got.off });
        continue;
      }
      const col = this.decodeEntry(got.src, got.off, e, n);
      if (e.tgt === COLUMN_TARGET.extraEnd) extraEnd = col as Uint32Array;
      else {
        cols[e.name] = col;
        present.add(e.name);
      }
    }
    if (lazy) {
      // v6Flags first: the IPv6 words of any address column need it
      const lz = this.lazy;
      lz.begin(this, buf, stored, n, i, fileOff, cols);
      const absent: PhysicalName[] = [];
      for (const pc of PHYSICAL_COLUMNS) if (!lz.isStored(pc.name)) absent.push(pc.name as PhysicalName);
      const batch = RecordBatch.lazyView(n, lz.columns as unknown as ColumnArrays, absent, NO_EXTRA_END);
      return this.attachExtra(batch, extra, extraEnd, n, d, i, fileOff);
    }
    // pass 2: sparse IPv6 words need v6Flags
    const v6Flags = (cols["v6Flags"] as Uint8Array | undefined) ?? (this.zeroOf("u8", n) as Uint8Array);
    for (const s of sparse) {
      const out = this.decodeSparseEntry(s.src, s.off, s.e, n, v6Flags, i, fileOff);
      if (out === undefined) return undefined;
      cols[s.e.name] = out;
      present.add(s.e.name);
    }
    const absent: PhysicalName[] = [];
    for (const pc of PHYSICAL_COLUMNS) {
      if (!present.has(pc.name)) {
        cols[pc.name] = this.zeroOf(pc.array, n * pc.width);
        absent.push(pc.name as PhysicalName);
      }
    }
    const batch = RecordBatch.view(n, cols as unknown as ColumnArrays, absent, NO_EXTRA_END);
    return this.attachExtra(batch, extra, extraEnd, n, d, i, fileOff);
  }

  private attachExtra(
    batch: RecordBatch,
    extra: Uint8Array | undefined,
    extraEnd: Uint32Array | undefined,
    n: number,
    d: number,
    i: number,
    fileOff: number,
  ): RecordBatch | undefined {
    if (extra !== undefined && extraEnd !== undefined) {
      // extraEnd must be non-decreasing and end within the heap, else raw elements would be misattributed
      let prev = 0;
      for (let r = 0; r < n; r++) {
        const x = extraEnd[r]!;
        if (x < prev || x > extra.length) {
          this.report(STORE_ERROR.CORRUPT, i, fileOff + d, `raw element offsets are not monotonic at row ${r}`);
          return undefined;
        }
        prev = x;
      }
      batch.extra = extra;
      batch.extraLength = extra.length;
      batch.extraEnd = extraEnd.length === n ? extraEnd : extraEnd.subarray(0, n);
    } else {
      if (this.extraEnd.length < n) this.extraEnd = new Uint32Array(n);
      batch.extraEnd = this.extraEnd.subarray(0, Math.max(n, 1));
    }
    return batch;
  }

  /**
   * After readBlockLazy: the consumer will read only rows `rows[0, count)` (ascending) of the block's columns
   * not decoded yet — a filter's passing rows. When they are few (≤ 1/8 of the block), `for` and `dict`
   * columns then decode just those rows (the other rows of the returned arrays hold stale values). A needle
   * search prints a dozen columns of one or two rows per block: this skips decoding 16 K values per column.
   */
  lazyRows(rows: Uint32Array, count: number): void {
    this.lazy.restrict(rows, count);
  }

  /** Row-sparse lazy decoding (see lazyRows); undefined when the column is decoded whole instead. */
  lazyDecodeRows(
    e: ColumnEntry,
    buf: Uint8Array,
    n: number,
    i: number,
    fileOff: number,
    rows: Uint32Array,
    count: number,
  ): Column | undefined {
    // v6Flags stays whole: the sparse IPv6 words are scattered by it over every row of the block
    if (count * 8 > n || e.tgt < 0 || e.tgt === V6FLAGS_INDEX) return undefined;
    const { transform, width, base } = e;
    if (transform !== TRANSFORM.for && transform !== TRANSFORM.dict) return undefined;
    const pc = PHYSICAL_COLUMNS[e.tgt]!;
    if (pc.width !== 1) return undefined;
    const got = this.inflate(buf, e, i, fileOff);
    if (got === undefined) return this.zeroOf(pc.array, n); // reported with its place, reads as zero
    const col = this.scratchOf(pc.name, pc.array, n);
    if (transform === TRANSFORM.for) forRows(got.src, got.off, n, width, base, rows, count, col);
    else {
      const dict = this.dict;
      const dv = new DataView(got.src.buffer, got.src.byteOffset + got.off, base * 8);
      for (let j = 0; j < base; j++) dict[j] = dv.getFloat64(j * 8, true);
      dictRows(got.src, got.off + base * 8, width, dict, rows, count, col);
    }
    this.rowDecodedColumns++;
    return col;
  }

  /** Lazy decoding of one column of the current lazy block (called by LazyColumns' getters). */
  lazyDecode(
    e: ColumnEntry,
    buf: Uint8Array,
    n: number,
    i: number,
    fileOff: number,
    v6Flags: () => Uint8Array,
  ): Column {
    const pc = PHYSICAL_COLUMNS[e.tgt]!;
    // v6Flags before this column's inflate: decoding it may inflate too, into the LZ4 decoder's memory
    const flags = e.transform === TRANSFORM.sparse6 ? v6Flags() : undefined;
    const got = this.inflate(buf, e, i, fileOff);
    let col: Column | undefined;
    if (got !== undefined) {
      col =
        flags !== undefined
          ? this.decodeSparseEntry(got.src, got.off, e, n, flags, i, fileOff)
          : this.decodeEntry(got.src, got.off, e, n);
    }
    // damage found this late (after both CRCs held) reads as zero; it was reported with its place
    return col ?? this.zeroOf(pc.array, n * pc.width);
  }

  zeroColumn(type: ArrayType, len: number): Column {
    return this.zeroOf(type, len);
  }

  private scratchOf(name: string, type: ArrayType, len: number): Column {
    let a = this.scratch.get(name);
    if (a === undefined || a.length < len || arrayTypeOf(a) !== type) {
      a = newArray(type, Math.max(len, 1024));
      this.scratch.set(name, a);
    }
    return a.length === len ? a : a.subarray(0, len);
  }

  private tmpOf(n: number): Uint32Array {
    if (this.tmp.length < n) this.tmp = new Uint32Array(Math.max(n, 1024));
    return this.tmp;
  }

  private zeroOf(type: ArrayType, len: number): Column {
    let a = this.zeros.get(type);
    if (a === undefined || a.length < len) {
      a = newArray(type, Math.max(len, 1024));
      this.zeros.set(type, a);
    }
    return a.length === len ? a : a.subarray(0, len);
  }
}

function viewOf(type: ArrayType, src: Uint8Array, off: number, len: number): Column {
  const byteOff = src.byteOffset + off;
  const bytes = ARRAY_BYTES[type];
  if (byteOff % 8 === 0) {
    // fast path: zero-copy view of the decompressed bytes
    switch (type) {
      case "u8":
        return new Uint8Array(src.buffer, byteOff, len);
      case "u16":
        return new Uint16Array(src.buffer, byteOff, len);
      case "u32":
        return new Uint32Array(src.buffer, byteOff, len);
      case "f64":
        return new Float64Array(src.buffer, byteOff, len);
    }
  }
  // unaligned (cannot happen with 8-aligned sections, kept for safety): one copy
  const copy = newArray(type, len);
  new Uint8Array(copy.buffer).set(src.subarray(off, off + len * bytes));
  return copy;
}

function arrayTypeOf(a: Column): ArrayType {
  return a instanceof Float64Array ? "f64" : a instanceof Uint32Array ? "u32" : a instanceof Uint16Array ? "u16" : "u8";
}

function bitOfAddr(name: string): number {
  return V6_BIT_BY_NAME.get(name) ?? 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

const V6_BIT_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(V6_BIT));

/**
 * The statistics record of a closed tsflow file from its trailer and footer alone: a few small reads, no block
 * index checks, no reader state (overview graphs over thousands of files). Undefined when the file has no
 * valid trailer and footer (an open or damaged file: FlowFileReader.stats() walks its blocks instead).
 * @throws StoreError for an unreadable file or a bad header magic
 */
export function readFooterStats(file: string): FileStats | undefined {
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = new Uint8Array(Math.min(size, HEADER_PREFIX_BYTES));
    readFully(fd, prefix, 0);
    const start = checkHeaderPrefix(prefix, file);
    if (size < start + TRAILER_BYTES) return undefined;
    const t = new Uint8Array(TRAILER_BYTES);
    readFully(fd, t, size - TRAILER_BYTES);
    const trailer = parseTrailer(t);
    if (trailer === undefined) return undefined;
    const fo = trailer.footerOffset;
    if (fo < start || fo + trailer.footerLength + TRAILER_BYTES !== size || trailer.footerLength < 16) return undefined;
    const fb = new Uint8Array(trailer.footerLength);
    readFully(fd, fb, fo);
    try {
      return decodeFooter(fb, file, fo).stats;
    } catch (err) {
      if (err instanceof StoreError) return undefined;
      throw err;
    }
  } finally {
    fs.closeSync(fd);
  }
}
