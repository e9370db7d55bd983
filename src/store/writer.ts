// SPDX-License-Identifier: BSD-3-Clause
// FlowFileWriter: RecordBatch → compressed, self-describing blocks appended to a flow file; on close the footer
// (statistics record, exporters, block index) and trailer, fsync, and an atomic rename to the final name.
//
// appendBatchSync(batch) encodes, compresses and writes one block on the calling thread (tscapd's writer thread,
// tsdump -w, tests).
// Writes go to the path given to open() (the collector passes `.../tscapd.current.<pid>`).
// The synchronous path encodes with native/encode.c when it is built (block.ts) and compresses with the system's
// liblz4 into memory reused from block to block (same stored format: u32 LE size + LZ4 block); TSFLOW_WRITER=js,
// or a missing addon or liblz4.so.1, keeps codec.ts and lz4-napi.

import * as fs from "node:fs";
import * as path from "node:path";
import type { RecordBatch } from "../record/batch.js";
import { COLUMN_FLAG_UNCOMPRESSED, accumulateStats, assembleBlock, encodeColumns, type EncodedBlock } from "./block.js";
import { PlanScratch } from "./codec.js";
import { ColumnArena } from "./native-encode.js";
import { compressLiblz4, compressPrefixedLz4, keepBelow, liblz4Compressor } from "./lz4/index.js";
import { STORE_ERROR, StoreError, storeWhere } from "./errors.js";
import { ioError, writeAllSync } from "./io.js";
import {
  type BlockInfo,
  type CodecName,
  type ExporterStats,
  type FileStats,
  WRITE_DIRECTORY,
  emptyStats,
  encodeFooter,
  encodeHeader,
  encodeTrailer,
  finishTotals,
} from "./format.js";
import { DEFAULT_V4_SET_LIMIT, DEFAULT_V6_SET_LIMIT, ZoneBuilder } from "./zone-map.js";

export interface WriterOptions {
  /** free text naming the source (nfcapd -I ident) */
  ident?: string;
  /** block codec; default lz4 */
  codec?: CodecName;
  /** program and version that wrote the file, e.g. "tscapd 0.1.0" */
  creator?: string;
  /** creation time in ms (default Date.now()) */
  created?: number;
  /** distinct /24 (IPv4) and /64 (IPv6) prefixes kept per address column and block (default 512 / 256) */
  v4SetLimit?: number;
  v6SetLimit?: number;
  /** fsync on close (default true) */
  fsync?: boolean;
}

export interface CloseOptions {
  /** final name; the file is renamed there atomically after the footer is on disk */
  finalPath?: string;
  /**
   * When the final name exists already (restart inside a slot): "suffix" (default) picks `<name>.1`, `.2`, … so
   * the earlier file is never destroyed; "replace" overwrites it; "fail" throws ERR_STORE_IO.
   */
  ifExists?: "suffix" | "replace" | "fail";
}

/** Blocks a column is stored without trying LZ4 after LZ4 did not pay for it. */
const LZ4_RETRY_BLOCKS = 7;
/** Smaller columns are always tried (cheap, and small dictionaries often compress). */
const LZ4_SKIP_MIN_BYTES = 1024;

export class FlowFileWriter {
  readonly path: string;
  readonly codec: CodecName;
  private fd: number;
  private offset: number;
  private readonly blocks: BlockInfo[];
  private readonly stats: FileStats;
  private readonly zones: ZoneBuilder;
  private readonly scratch: PlanScratch;
  private readonly doFsync: boolean;
  private closed: boolean;
  private statsOverride: Partial<Pick<FileStats, "msecFirst" | "msecLast">>;
  /** Physical columns the last appendBatchSync found all zero (the collector's writer skips zeroing them). */
  lastZero: ReadonlySet<string> = new Set();
  /** per column id: blocks to store it without trying LZ4 (it did not pay in a recent block) */
  private readonly lz4Skip: Uint8Array;
  /** liblz4's output for the block being written (appendBatchSync; reused) */
  private readonly lz4Out: ColumnArena;
  /** per column id: blocks to compress it with lz4-napi (liblz4 just missed saving 1/4 in a recent block) */
  private readonly lz4Napi: Uint8Array;
  private ident: { dev: number; ino: number } | undefined;

  private constructor(file: string, fd: number, codec: CodecName, opts: WriterOptions, headerLength: number) {
    this.path = file;
    this.fd = fd;
    this.codec = codec;
    this.offset = headerLength;
    this.blocks = [];
    this.stats = emptyStats();
    this.zones = new ZoneBuilder(opts.v4SetLimit ?? DEFAULT_V4_SET_LIMIT, opts.v6SetLimit ?? DEFAULT_V6_SET_LIMIT);
    this.scratch = new PlanScratch();
    this.doFsync = opts.fsync ?? true;
    this.closed = false;
    this.statsOverride = {};
    this.lz4Skip = new Uint8Array(WRITE_DIRECTORY.length);
    this.lz4Out = new ColumnArena(0);
    this.lz4Napi = new Uint8Array(WRITE_DIRECTORY.length);
  }

  /**
   * Creates (truncates) `file` and writes the header.
   * @throws StoreError ERR_STORE_IO when the file cannot be created or written.
   */
  static open(file: string, opts: WriterOptions = {}): FlowFileWriter {
    const codec = opts.codec ?? "lz4";
    const header = encodeHeader({
      codec,
      creator: opts.creator ?? "tsflow",
      created: opts.created ?? Date.now(),
      ident: opts.ident ?? "",
    });
    let fd = -1;
    try {
      fd = fs.openSync(file, "w", 0o644);
      writeAllSync(fd, header, 0);
    } catch (err) {
      if (fd >= 0) fs.closeSync(fd);
      throw ioError(file, 0, "cannot create flow file", err);
    }
    return new FlowFileWriter(file, fd, codec, opts, header.length);
  }

  /** Rows written so far. */
  get rows(): number {
    return this.stats.rows;
  }

  /** Blocks written so far. */
  get blockCount(): number {
    return this.blocks.length;
  }

  /** Where the last block went (offset, length, rows, time range); undefined before the first. */
  get lastBlock(): BlockInfo | undefined {
    return this.blocks.at(-1);
  }

  /** Device and inode of the file (kept by the rename at close): finds it under another name. */
  identity(): { dev: number; ino: number } {
    this.checkOpen();
    this.ident ??= fs.fstatSync(this.fd);
    return { dev: this.ident.dev, ino: this.ident.ino };
  }

  /**
   * Encodes, compresses and writes one block on the calling thread. `compress: false` stores every column
   * without LZ4, `sets: false` leaves the address sets and host Bloom filters out of the zone map (the collector's
   * writer under back-pressure: together about a third of its work); such blocks read like any other, they are
   * only larger and pruned by their ranges alone.
   */
  appendBatchSync(batch: RecordBatch, options: { compress?: boolean; sets?: boolean } = {}): void {
    this.checkOpen();
    const enc = encodeColumns(batch, this.zones, this.scratch, options.sets !== false, true);
    this.lastZero = enc.zero;
    accumulateStats(this.stats, batch);
    if (options.compress === false) {
      // every column stored as transformed (flag bit 0): readable as any block, just larger
      for (const c of enc.columns) {
        c.stored = c.raw;
        c.flags = COLUMN_FLAG_UNCOMPRESSED;
      }
    } else this.compressSync(enc);
    const bytes = assembleBlock(enc, this.blocks.length);
    const at = this.offset;
    try {
      writeAllSync(this.fd, bytes, at);
    } catch (err) {
      throw ioError(this.path, at, `cannot write block ${this.blocks.length}`, err);
    }
    this.blocks.push({
      offset: at,
      length: bytes.length,
      rows: enc.rows,
      msecFirst: enc.msecFirst,
      msecLast: enc.msecLast,
    });
    this.offset += bytes.length;
  }

  /**
   * LZ4 per column (kept when it saves 1/4), but a column whose LZ4 output did not save 1/4 is not tried
   * again for the next LZ4_RETRY_BLOCKS blocks of this file (ports, 4-bit dictionaries, masks: about a third of
   * the LZ4 time of a synthetic block went into output that was thrown away).
   */
  private compressSync(enc: EncodedBlock): void {
    if (this.codec === "none") return;
    const skip = this.lz4Skip;
    const lz4 = liblz4Compressor();
    const out = this.lz4Out;
    const napi = this.lz4Napi;
    out.at = 0;
    for (const c of enc.columns) {
      const len = c.raw.length;
      if (skip[c.id]! > 0) {
        skip[c.id] = skip[c.id]! - 1;
        c.stored = c.raw;
        c.flags = COLUMN_FLAG_UNCOMPRESSED;
        continue;
      }
      // the rule of block.ts setCompressed: keep LZ4 only when it saves at least 1/4
      const max = keepBelow(len);
      let lz: Uint8Array | undefined;
      if (lz4 !== null && napi[c.id] === 0) {
        // liblz4 into the writer's reused memory (it stops as soon as the output would not save 1/5)
        const got = compressLiblz4(lz4, c.raw, out);
        if (got === null) {
          // a near miss: lz4-napi, for this block and the next LZ4_RETRY_BLOCKS (addresses: every block)
          napi[c.id] = LZ4_RETRY_BLOCKS;
          lz = compressPrefixedLz4(c.raw);
        } else lz = got;
      } else if (len > 0) {
        if (lz4 !== null) napi[c.id] = napi[c.id]! - 1;
        lz = compressPrefixedLz4(c.raw);
      }
      if (lz !== undefined && lz.length < max) {
        c.stored = lz;
        c.flags = 0;
      } else {
        c.stored = c.raw;
        c.flags = COLUMN_FLAG_UNCOMPRESSED;
        if (len >= LZ4_SKIP_MIN_BYTES) skip[c.id] = LZ4_RETRY_BLOCKS;
      }
    }
  }

  /** Adds one exporter's counters to the footer (the collector's per-exporter table, plain data). */
  addExporterStats(e: Partial<ExporterStats> & { address: string }): void {
    this.stats.exporters.push({
      id: 0,
      domain: 0,
      version: 0,
      packets: 0,
      flows: 0,
      sequenceErrors: 0,
      badPackets: 0,
      templateMisses: 0,
      samplingInterval: 0,
      ...e,
      extra: { ...(e.extra ?? {}) },
    });
  }

  /**
   * Overrides the computed time window of the statistics record (e.g. an idle slot: first = last = slot start,
   * as nfcapd does for empty intervals).
   */
  setStats(s: Partial<Pick<FileStats, "msecFirst" | "msecLast">>): void {
    this.statsOverride = { ...this.statsOverride, ...s };
  }

  /** The statistics record as it would be written now. */
  currentStats(): FileStats {
    const s = structuredClone(this.stats);
    if (this.statsOverride.msecFirst !== undefined) s.msecFirst = this.statsOverride.msecFirst;
    if (this.statsOverride.msecLast !== undefined) s.msecLast = this.statsOverride.msecLast;
    finishTotals(s);
    return s;
  }

  /**
   * Writes footer and trailer, fsyncs, closes, and renames to `finalPath` when given. Returns the final path.
   * @throws StoreError ERR_STORE_IO / ERR_STORE_STATE.
   */
  closeSync(opts: CloseOptions = {}): string {
    this.checkOpen();
    this.finishFile();
    return this.finishRename(opts);
  }

  /** Closes the descriptor without footer or rename (the file stays recoverable). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed or never valid; nothing else to release
    }
    this.fd = -1;
  }

  private finishFile(): void {
    const footer = encodeFooter(this.currentStats(), this.blocks);
    const trailer = encodeTrailer(this.offset, footer.length);
    const tail = new Uint8Array(footer.length + trailer.length);
    tail.set(footer, 0);
    tail.set(trailer, footer.length);
    try {
      writeAllSync(this.fd, tail, this.offset);
      fs.ftruncateSync(this.fd, this.offset + tail.length);
      if (this.doFsync) fs.fsyncSync(this.fd);
    } catch (err) {
      this.abort();
      throw ioError(this.path, this.offset, "cannot write footer", err);
    }
    this.abort();
  }

  private finishRename(opts: CloseOptions): string {
    if (opts.finalPath === undefined || path.resolve(opts.finalPath) === path.resolve(this.path)) return this.path;
    const final = renameNoClobber(this.path, opts.finalPath, opts.ifExists ?? "suffix");
    if (this.doFsync) fsyncDir(path.dirname(final));
    return final;
  }

  private checkOpen(): void {
    if (this.closed) throw this.stateError("writer is closed");
  }

  private stateError(msg: string): StoreError {
    return new StoreError(STORE_ERROR.STATE, `${storeWhere(this.path, -1, -1)}${msg}`, { file: this.path });
  }
}

/**
 * Atomically moves `from` to `to`. With "suffix" an existing `to` is kept and `to.1`, `to.2`, … is used instead;
 * link(2) fails atomically when the target exists, so two writers never clobber each other.
 */
export function renameNoClobber(from: string, to: string, ifExists: "suffix" | "replace" | "fail"): string {
  if (ifExists === "replace") {
    try {
      fs.renameSync(from, to);
      return to;
    } catch (err) {
      throw ioError(from, -1, `cannot rename to ${to}`, err);
    }
  }
  for (let n = 0; n < 1000; n++) {
    const target = n === 0 ? to : `${to}.${n}`;
    try {
      fs.linkSync(from, target);
      fs.unlinkSync(from);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        if (ifExists === "fail") throw ioError(from, -1, `cannot rename: ${to} exists`, err);
        continue;
      }
      if (code === "EPERM" || code === "ENOTSUP" || code === "EXDEV" || code === "ENOSYS") {
        // file systems without hard links: check-then-rename (not atomic against a concurrent writer)
        if (fs.existsSync(target)) {
          if (ifExists === "fail") throw ioError(from, -1, `cannot rename: ${to} exists`, err);
          continue;
        }
        try {
          fs.renameSync(from, target);
          return target;
        } catch (err2) {
          throw ioError(from, -1, `cannot rename to ${target}`, err2);
        }
      }
      throw ioError(from, -1, `cannot rename to ${target}`, err);
    }
  }
  throw ioError(from, -1, `cannot rename: ${to}.1 … ${to}.999 all exist`, undefined);
}

function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; the rename itself is already durable enough there
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
