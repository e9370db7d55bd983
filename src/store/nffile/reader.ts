// SPDX-License-Identifier: BSD-3-Clause
// NfdumpFileReader: reads nfdump 1.7.x "layout 2" files (nffile V2) into RecordBatches, with the method surface
// of FlowFileReader (FlowFileSource), so tsdump queries nfcapd archives directly.
//
// Layout (host byte order = little-endian; reference/nfdump.md §5.1, nfdump src/lib/nffileV2.h, nfxV3.h):
//
//   0  file header (40 B)  u16 magic 0xA50C | u16 layout 2 | u32 nfdversion | u64 created (time_t)
//                          u8 compression (0 none 1 LZO 2 BZ2 3 LZ4 4 ZSTD) | u8 encryption | u16 appendixBlocks
//                          u32 creator | u64 offAppendix | u32 BlockSize | u32 NumBlocks (written on close)
//   40 data blocks         block header (12 B): u32 NumRecords | u32 size (payload, compressed) | u16 type
//                          (3 records, 4 array, 2 = 1.6) | u16 flags (bit0 payload stored uncompressed)
//                          payload: records, each u16 type | u16 size (incl. header) | …
//      appendix block(s)   at offAppendix: record 0x8001 ident (NUL-terminated), 0x8002 stat record
//
// Record 11 (V3 flow): u16 type | u16 size | u16 numElements | u8 engineType | u8 engineID | u16 exporterID
// (SysID) | u8 flags | u8 nfversion, then numElements × (u16 element id | u16 length incl. 4-B header | payload),
// mapped onto record/schema columns by decodeV3() below. IPv6 addresses are two host-order u64 (high half
// first). Record 7 = exporter info, 8 = exporter stats (→ stats().exporters); other records are skipped.
//
// nfdump files carry no checksums and no block index: blocks are found by walking the block headers from
// byte 40. A killed nfcapd leaves NumBlocks 0 and no appendix; such a file is read up to its last complete block
// (nfdump 1.7 reads nothing). Damage is reported as StoreError (file, block, byte offset) through onError and the
// walk resynchronises on the next plausible block header, so the rest of the file is still read.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import { RecordBatch } from "../../record/batch.js";
import { formatIPv4, formatIPv6 } from "../../record/ip.js";
import { u64Fix } from "../../record/u64.js";
import { UNKNOWN_ZONE, type ZoneMap } from "../../record/zone.js";
import { accumulateStats } from "../block.js";
import { STORE_ERROR, StoreError, storeWhere, type StoreErrorCode } from "../errors.js";
import { ioError, readAt } from "../io.js";
import { emptyStats, finishTotals, type BlockInfo, type ExporterStats, type FileStats } from "../format.js";
import { decodeLzo1x } from "./lzo.js";
import {
  LZ4_WASM_CAPACITY,
  LZ4_WASM_DST,
  LZ4_WASM_SRC,
  decodeRawLz4,
  lz4Wasm,
  nativeRawLz4,
  type Lz4Wasm,
} from "../lz4/index.js";
import { NSEL_EXTRA, V3LayoutCache, type V3Layout } from "./v3-layout.js";
import { PHYSICAL_COLUMNS, V6_BIT, type PhysicalName } from "../../record/schema.js";
import type { ExporterListing, FlowFileSource, FlowSourceHeader, FlowSourceOptions, SamplerInfo } from "./source.js";

/** The nffile magic, read as a little-endian u16. */
// BZ2 and ZSTD decoders are loaded when the first such block is met (most archives are LZ4 or LZO).
const requireCjs = createRequire(import.meta.url);
let bzip2Mod: { decode(input: Buffer): Buffer } | undefined;
let zstdFn: ((input: Uint8Array) => Uint8Array) | undefined;
function bzip2(): { decode(input: Buffer): Buffer } {
  bzip2Mod ??= requireCjs("seek-bzip") as { decode(input: Buffer): Buffer };
  return bzip2Mod;
}
function zstd(): (input: Uint8Array) => Uint8Array {
  zstdFn ??= (requireCjs("fzstd") as { decompress: (input: Uint8Array) => Uint8Array }).decompress;
  return zstdFn;
}

export const NFFILE_MAGIC = 0xa50c;
export const NFFILE_HEADER_BYTES = 40;
export const NFFILE_BLOCK_HEADER_BYTES = 12;
/** nfdump's BUFFSIZE: no block payload (compressed or not) is larger. */
export const NFFILE_MAX_BLOCK = 5 * 1024 * 1024;

/** Error codes of the nffile reader (to be added to STORE_ERROR in src/store/errors.ts). */
export const NFFILE_ERROR = {
  /** nfdump 1.6 layout 1 file. */
  V1: "ERR_STORE_NFFILE_V1",
  /** nfdump 1.8 nffile V3 (layout 3). */
  V3: "ERR_STORE_NFFILE_V3",
  /** Encrypted nffile. */
  ENCRYPTED: "ERR_STORE_NFFILE_ENCRYPTED",
} as const;
export type NffileErrorCode = (typeof NFFILE_ERROR)[keyof typeof NFFILE_ERROR];

export const NFFILE_CODEC = ["none", "lzo", "bz2", "lz4", "zstd"] as const;
export type NffileCodec = (typeof NFFILE_CODEC)[number];

const CREATOR = [
  "unknown",
  "nfcapd",
  "nfpcapd",
  "sfcapd",
  "nfdump",
  "nfanon",
  "nfprofile",
  "geolookup",
  "ft2nfdump",
  "torlookup",
];

const RECORD_V3 = 11;
const RECORD_EXPORTER_INFO = 7;
const RECORD_EXPORTER_STATS = 8;
const RECORD_SAMPLER_LEGACY = 9;
const RECORD_SAMPLER = 15;
const RECORD_IDENT = 0x8001;
const RECORD_STAT = 0x8002;
const BLOCK_TYPE_2 = 2;
const BLOCK_TYPE_3 = 3;
const BLOCK_TYPE_4 = 4;
const FLAG_BLOCK_UNCOMPRESSED = 1;
const V3_HEADER_BYTES = 12;
const TWO32 = 4294967296;
/** How many blocks stats() scans at most for exporter info records not in the first block. */
const EXPORTER_SCAN_BLOCKS = 64;

export interface NffileHeader extends FlowSourceHeader {
  readonly codec: NffileCodec;
  /** nfdump version that wrote the file, e.g. 0x01070100 for 1.7.1 */
  readonly nfdVersion: number;
  /** header fields as written (NumBlocks is 0 in a killed collector's file) */
  readonly numBlocks: number;
  readonly offAppendix: number;
  readonly appendixBlocks: number;
}

/** Makes a StoreError with an nffile code (StoreErrorCode does not list them yet). */
function nffileError(code: NffileErrorCode | StoreErrorCode, file: string, offset: number, msg: string): StoreError {
  return new StoreError(code, `${storeWhere(file, -1, offset)}${msg}`, { file, offset });
}

interface NffileBlock extends BlockInfo {
  /** block type (3 records, 4 array, 2 legacy) */
  type: number;
  flags: number;
}

/**
 * Checks the 40-byte header; throws a StoreError for anything this reader does not read (layout 1, layout 3,
 * encryption, unknown codec). `size` is the file size.
 */
export function parseNffileHeader(b: Uint8Array, file: string, size: number): NffileHeader {
  if (b.length < 4)
    throw nffileError(STORE_ERROR.TRUNCATED, file, b.length, `file of ${b.length} bytes has no nffile header`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint16(0, true);
  if (magic === 0x0ca5)
    throw nffileError(STORE_ERROR.BAD_MAGIC, file, 0, "big-endian nfdump file: not supported on this host");
  if (magic !== NFFILE_MAGIC)
    throw nffileError(STORE_ERROR.BAD_MAGIC, file, 0, `bad magic 0x${magic.toString(16)}: not an nfdump file`);
  const layout = v.getUint16(2, true);
  if (layout === 1) {
    throw nffileError(
      NFFILE_ERROR.V1,
      file,
      2,
      "nfdump 1.6 layout 1 file: convert it with nfdump 1.7 -r in -w out first",
    );
  }
  if (layout === 3) {
    throw nffileError(
      NFFILE_ERROR.V3,
      file,
      2,
      "nfdump 1.8 nffile V3 (layout 3) file: not supported yet; convert it with nfdump 1.7 or read it with nfdump 1.8",
    );
  }
  if (layout !== 2) throw nffileError(STORE_ERROR.VERSION, file, 2, `unknown nfdump file layout ${layout}`);
  if (b.length < NFFILE_HEADER_BYTES || size < NFFILE_HEADER_BYTES) {
    throw nffileError(
      STORE_ERROR.TRUNCATED,
      file,
      Math.min(b.length, size),
      `nffile header cut at ${Math.min(b.length, size)} bytes`,
    );
  }
  const compression = v.getUint8(16);
  const encryption = v.getUint8(17);
  if (encryption !== 0)
    throw nffileError(
      NFFILE_ERROR.ENCRYPTED,
      file,
      17,
      `encrypted nfdump file (encryption ${encryption}) not supported`,
    );
  const codec = NFFILE_CODEC[compression];
  if (codec === undefined) throw nffileError(STORE_ERROR.CODEC, file, 16, `unknown nfdump compression ${compression}`);
  const creator = v.getUint32(20, true);
  return {
    version: layout,
    codec,
    creator: CREATOR[creator] ?? `creator ${creator}`,
    created: (v.getUint32(8, true) + v.getUint32(12, true) * TWO32) * 1000,
    ident: "",
    nfdVersion: v.getUint32(4, true),
    appendixBlocks: v.getUint16(18, true),
    offAppendix: v.getUint32(24, true) + v.getUint32(28, true) * TWO32,
    numBlocks: v.getUint32(36, true),
  };
}

const PHYSICAL_NAMES: ReadonlySet<string> = new Set(PHYSICAL_COLUMNS.map((pc) => pc.name));
const V6_BIT_NAMES: ReadonlySet<string> = new Set(Object.keys(V6_BIT));

/** True when a read of `have` (undefined = every column) holds every column of `want`. */
function covers(have: ReadonlySet<string> | undefined, want: ReadonlySet<string> | undefined): boolean {
  if (have === undefined) return true;
  if (want === undefined) return false;
  if (have === want) return true;
  for (const name of want) if (!have.has(name)) return false;
  return true;
}

/** True when `b[o..o+12)` looks like a block header nfdump could have written. */
function plausibleBlockHeader(v: DataView, o: number): boolean {
  const nrec = v.getUint32(o, true);
  const size = v.getUint32(o + 4, true);
  const type = v.getUint16(o + 8, true);
  const flags = v.getUint16(o + 10, true);
  return (
    nrec > 0 &&
    size > 0 &&
    size <= NFFILE_MAX_BLOCK &&
    (type === BLOCK_TYPE_3 || type === BLOCK_TYPE_4) &&
    flags <= 7 &&
    nrec <= size * 64
  );
}

export class NfdumpFileReader implements FlowFileSource {
  readonly path: string;
  readonly hasFooter: boolean;
  readonly errors: StoreError[];
  /** blocks read and decoded */
  readBlocks: number;
  /** blocks skipped by a predicate (nffile has no zone maps: only a predicate that rejects UNKNOWN_ZONE skips) */
  skippedBlocks: number;

  private fd: number;
  private readonly size: number;
  private hdr: NffileHeader;
  private readonly index: NffileBlock[];
  private readonly damaged: Set<number>;
  private readonly onError: ((err: StoreError) => void) | undefined;
  private appendixStats: FileStats | undefined;
  private computedStats: FileStats | undefined;
  private readonly exporters: Map<number, ExporterStats>;
  private exportersScanned: boolean;
  private countingStats: boolean;
  private raw: Uint8Array;
  /** the current uncompressed payload (a view of raw, own, or the WebAssembly decoder's memory) */
  private out: Uint8Array;
  private own: Uint8Array;
  private batch: RecordBatch | undefined;
  /** the block the batch holds, -1 when none, and the physical columns decoded (undefined = all) */
  private batchBlock: number;
  private batchSel: ReadonlySet<string> | undefined;
  /** the block whose uncompressed payload is in this.out (-1 none), and its length */
  private outBlock: number;
  private outLength: number;
  /** column selections seen: logical set → physical set and the physical columns left out */
  private readonly selections = new WeakMap<
    ReadonlySet<string>,
    { physical: ReadonlySet<string>; absent: readonly PhysicalName[] }
  >();
  private readonly absents = new WeakMap<ReadonlySet<string>, readonly PhysicalName[]>();
  private layouts: V3LayoutCache | undefined;
  /** payload offset and layout of each decoded row (for readRows) */
  private rowOff = new Uint32Array(0);
  /** [record, payload offset, row] where a generated block decoder stopped */
  private readonly walkState = new Int32Array(3);
  /** one NSEL value in raw-heap byte order (attachExtras) */
  private readonly extraTmp = new Uint8Array(66);
  /** layout id of each decoded row (V3Layout.id) */
  private rowLayout = new Int32Array(0);
  /** most records any block of the index declares (sizes the batch once) */
  private readonly maxRows: number;
  /** the WebAssembly LZ4 decoder (made on the first LZ4 block; null when WebAssembly is missing) */
  private lz4w: Lz4Wasm | null | undefined;
  private readonly words: Uint32Array;

  private constructor(file: string, fd: number, size: number, hdr: NffileHeader, opts: FlowSourceOptions) {
    this.path = file;
    this.fd = fd;
    this.size = size;
    this.hdr = hdr;
    this.onError = opts.onError;
    this.errors = [];
    this.readBlocks = 0;
    this.skippedBlocks = 0;
    this.damaged = new Set();
    this.exporters = new Map();
    this.exportersScanned = false;
    this.countingStats = false;
    this.raw = new Uint8Array(64 * 1024);
    this.out = new Uint8Array(0);
    this.own = new Uint8Array(0);
    this.batch = undefined;
    this.batchBlock = -1;
    this.batchSel = undefined;
    this.outBlock = -1;
    this.outLength = 0;
    this.layouts = undefined;
    this.lz4w = undefined;
    this.words = new Uint32Array(4);
    const hasAppendix = hdr.offAppendix >= NFFILE_HEADER_BYTES && hdr.offAppendix < size && hdr.appendixBlocks > 0;
    this.index = this.walkBlocks(hasAppendix ? hdr.offAppendix : size, !hasAppendix);
    let maxRows = 0;
    for (const b of this.index) if (b.rows > maxRows) maxRows = b.rows;
    this.maxRows = maxRows;
    this.hasFooter = hasAppendix;
    if (hasAppendix) this.readAppendix();
  }

  /**
   * Opens an nfdump file and finds its blocks.
   * @throws StoreError ERR_STORE_IO, ERR_STORE_BAD_MAGIC, ERR_STORE_NFFILE_V1, ERR_STORE_NFFILE_V3,
   *         ERR_STORE_NFFILE_ENCRYPTED, ERR_STORE_CODEC, ERR_STORE_TRUNCATED (header only; block damage is reported)
   */
  static open(file: string, opts: FlowSourceOptions = {}): NfdumpFileReader {
    let fd = -1;
    try {
      fd = fs.openSync(file, "r");
      const size = fs.fstatSync(fd).size;
      const hb = new Uint8Array(Math.min(size, NFFILE_HEADER_BYTES));
      readAt(fd, hb, 0);
      const hdr = parseNffileHeader(hb, file, size);
      return new NfdumpFileReader(file, fd, size, hdr, opts);
    } catch (err) {
      if (fd >= 0) fs.closeSync(fd);
      if (err instanceof StoreError) throw err;
      throw ioError(file, -1, "cannot read", err);
    }
  }

  header(): NffileHeader {
    return this.hdr;
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
   * nfdump counts a block's payload in "Bytes read" as it is after decompression, without the 12-byte header:
   * the length of the payload kept from the last read of block i, else the stored payload size.
   */
  bytesRead(i: number): number {
    return i === this.outBlock ? this.outLength : this.blockInfo(i).length - NFFILE_BLOCK_HEADER_BYTES;
  }

  /** nffile blocks have no zone maps: UNKNOWN_ZONE (may match anything), undefined for a block found damaged. */
  zoneMap(i: number): ZoneMap | undefined {
    this.blockInfo(i);
    return this.damaged.has(i) ? undefined : UNKNOWN_ZONE;
  }

  /**
   * The statistics: class counters and time window from the appendix stat record (what `nfdump -I` prints), or
   * (no appendix) computed from the rows; exporters from the exporter records (types 7/8) of the first and last
   * blocks and of every block read so far.
   */
  stats(): FileStats {
    if (this.appendixStats !== undefined) {
      this.scanExporters();
      this.appendixStats.exporters = [...this.exporters.values()];
      return this.appendixStats;
    }
    if (this.computedStats === undefined) {
      const s = emptyStats();
      this.countingStats = true;
      this.batchBlock = -1; // every block decoded again, its exporter records counted
      for (let i = 0; i < this.index.length; i++) {
        const b = this.readBlock(i);
        if (b) accumulateStats(s, b);
      }
      this.countingStats = false;
      finishTotals(s);
      this.computedStats = s;
      this.exportersScanned = true;
    }
    this.computedStats.exporters = [...this.exporters.values()];
    return this.computedStats;
  }

  /**
   * Reads and decodes block i into a reused batch (valid until the next call). Returns undefined after
   * reporting a StoreError when the block cannot be read; a block damaged part way returns the rows before
   * the damage (and reports it).
   *
   * `columns` (optional, as FlowFileReader.readBlock): decode only these logical columns (an address column
   * brings its IPv6 words and v6Flags). The other physical columns are listed in `batch.absent` and hold
   * whatever an earlier read left there: pass every column the query touches. Reading the same block again
   * with more columns decodes the kept payload again (no second read or decompression); with the same or
   * fewer columns it returns the batch as it is.
   */
  readBlock(i: number, columns?: ReadonlySet<string>): RecordBatch | undefined {
    const info = this.index[i];
    if (info === undefined) throw new RangeError(`store: block ${i} out of range 0..${this.index.length - 1}`);
    const physical = columns === undefined ? undefined : this.physicalOf(columns);
    if (i === this.batchBlock && this.batch !== undefined && covers(this.batchSel, physical)) return this.batch;
    this.batchBlock = -1;
    let len: number;
    if (i === this.outBlock && this.ownsOut()) len = this.outLength;
    else {
      len = this.loadPayload(i, info);
      if (len < 0) return undefined;
    }
    const nrec = info.rows;
    const need = Math.min(nrec, Math.ceil(len / V3_HEADER_BYTES)) + 1;
    let batch = this.batch;
    if (batch === undefined || batch.capacity < need) {
      // room for the largest block the index lists, so the batch is made once per file: a new batch means new
      // generated decoders, compiled and warmed up again. The index's counts are
      // untrusted: beyond 64 k rows (25 MB of columns) the room is at most twice this block's need.
      const cap = Math.max(need, 4096, Math.min(this.maxRows + 1, Math.max(2 * need, 65536)));
      batch = new RecordBatch(cap);
      this.batch = batch;
      this.layouts = new V3LayoutCache(batch.cols);
    }
    // no zeroing: every decoded row has all its selected columns written (v3-layout.ts)
    batch.length = 0;
    batch.extraLength = 0;
    batch.absent.clear();
    if (physical !== undefined) for (const name of this.absentOf(physical)) batch.absent.add(name);
    this.layouts!.select(physical);
    if (info.type === BLOCK_TYPE_3) {
      this.decodeRecords(this.out, len, nrec, i, batch);
      if (this.layouts!.hasExtras) this.attachExtras(this.out, len, batch);
    }
    this.readBlocks++;
    this.batchBlock = i;
    this.batchSel = physical;
    return batch;
  }

  /**
   * Copies the NSEL values that have no column (connection id, ACL ids, user name: nselExtrasOf) of every row of
   * the block just decoded into the batch's raw heap as the IPFIX/v9 decoder keeps them (wire order), so the
   * formatters print them from nfcapd files too. Runs only for files where some layout has them; writes every
   * row's extraEnd (rows without such values get an empty range).
   */
  private attachExtras(d: Uint8Array, len: number, batch: RecordBatch): void {
    const v = new DataView(d.buffer, d.byteOffset, len);
    const cache = this.layouts!;
    const rowOff = this.rowOff;
    const rowLayout = this.rowLayout;
    const tmp = this.extraTmp;
    const extraEnd = batch.extraEnd;
    for (let r = 0; r < batch.length; r++) {
      const p = rowOff[r]!;
      const layout =
        cache.layoutById(rowLayout[r]!) ?? cache.layoutOf(v, p, v.getUint16(p + 2, true), v.getUint16(p + 4, true));
      const ex = layout?.extras;
      if (ex) {
        for (let k = 0; k + 2 < ex.length; k += 3) {
          const id = ex[k]!;
          const at = p + ex[k + 1]!;
          const kind = ex[k + 2]! & 0xff;
          let n: number;
          if (kind === NSEL_EXTRA.text) {
            const max = ex[k + 2]! >>> 8;
            for (n = 0; n < max && d[at + n] !== 0; n++) tmp[n] = d[at + n]!;
          } else if (kind === NSEL_EXTRA.acl) {
            // nfcapd stores the 12 bytes as received (nfdump prints the words in network order): copied as they are
            n = 12;
            for (let j = 0; j < n; j++) tmp[j] = d[at + j]!;
          } else {
            // the connection id, stored little-endian, kept in wire (big-endian) order
            n = 4;
            const x = v.getUint32(at, true);
            tmp[0] = x >>> 24;
            tmp[1] = (x >>> 16) & 0xff;
            tmp[2] = (x >>> 8) & 0xff;
            tmp[3] = x & 0xff;
          }
          batch.addExtraTo(r, 0, id, tmp, 0, n);
        }
      }
      extraEnd[r] = batch.extraLength;
    }
  }

  /**
   * Completes rows of block i after a readBlock with a column selection (late materialisation): every column
   * of the `n` rows listed in `rows` is decoded into the same batch, the other rows keep only the selected
   * columns. Cheaper than readBlock(i) when a filter passed few rows. Falls back to readBlock(i) when block i
   * is not the one in the batch.
   */
  readRows(i: number, rows: Uint32Array, n: number): RecordBatch | undefined {
    const batch = this.batch;
    if (i !== this.batchBlock || batch === undefined) return this.readBlock(i);
    if (this.batchSel === undefined) return batch;
    let len = this.outLength;
    if (this.outBlock !== i || !this.ownsOut()) {
      len = this.loadPayload(i, this.index[i]!);
      if (len < 0) return undefined;
    }
    const d = this.out;
    const v = new DataView(d.buffer, d.byteOffset, len);
    const cache = this.layouts!;
    cache.select(undefined);
    const rowOff = this.rowOff;
    const rowLayout = this.rowLayout;
    for (let j = 0; j < n; j++) {
      const r = rows[j]!;
      const p = rowOff[r]!;
      // (a layout evicted since, with thousands of layouts in one block, is found again from the record itself)
      const layout =
        cache.layoutById(rowLayout[r]!) ?? cache.layoutOf(v, p, v.getUint16(p + 2, true), v.getUint16(p + 4, true))!;
      if (layout.gen !== cache.generation) cache.refresh(layout);
      layout.fn(v, d, p, r);
    }
    batch.absent.clear();
    this.batchBlock = -1; // only some rows are whole: the next read decodes again
    return batch;
  }

  /** Iterates the readable blocks in file order (a predicate over UNKNOWN_ZONE skips nothing but is honoured). */
  *batches(pred?: (z: ZoneMap) => boolean): Generator<RecordBatch, void, undefined> {
    for (let i = 0; i < this.index.length; i++) {
      if (pred && !pred(UNKNOWN_ZONE)) {
        this.skippedBlocks++;
        continue;
      }
      const b = this.readBlock(i);
      if (b) yield b;
    }
  }

  /**
   * Every exporter of the file as `nfdump -E` lists it: the whole file is walked (flow records skipped, nothing
   * decoded) for exporter info (7), exporter statistics (8, added up) and sampler records (15, and the legacy
   * 9 converted as nfdump does: packet interval 1, space interval - 1). Like nfdump, statistics and samplers
   * count only for an exporter whose info record came first; identical samplers are listed once. Sorted by SysID.
   */
  listExporters(): ExporterListing[] {
    const found = new Map<number, { exporter: ExporterStats; samplers: SamplerInfo[] }>();
    const of = (sysid: number): ExporterStats | undefined => found.get(sysid)?.exporter;
    for (let i = 0; i < this.index.length; i++) {
      const info = this.index[i]!;
      if (info.type !== BLOCK_TYPE_3) continue;
      this.batchBlock = -1;
      const len = this.loadPayload(i, info);
      if (len < 0) continue;
      const v = new DataView(this.out.buffer, this.out.byteOffset, len);
      let p = 0;
      for (let r = 0; r < info.rows && p + 4 <= len; r++) {
        const type = v.getUint16(p, true);
        const size = v.getUint16(p + 2, true);
        if (size < 4 || p + size > len) break; // the flow reader reports damage; -E lists what it can
        if (type === RECORD_EXPORTER_INFO && size >= 32) {
          const sysid = v.getUint16(p + 26, true);
          let x = found.get(sysid);
          if (x === undefined) {
            x = { exporter: newExporter(sysid), samplers: [] };
            found.set(sysid, x);
          }
          setExporterInfo(x.exporter, v, p, this.words);
        } else if (type === RECORD_EXPORTER_STATS && size >= 8) {
          const count = v.getUint32(p + 4, true);
          for (let k = 0; k < count && 8 + (k + 1) * 24 <= size; k++) {
            const o = p + 8 + k * 24;
            const e = of(v.getUint32(o, true));
            if (e === undefined) continue; // nfdump: "Exporter SysID: n not found! - Skip stat record"
            e.sequenceErrors += v.getUint32(o + 4, true);
            e.packets += v.getUint32(o + 8, true) + v.getUint32(o + 12, true) * TWO32;
            e.flows += v.getUint32(o + 16, true) + v.getUint32(o + 20, true) * TWO32;
          }
        } else if (type === RECORD_SAMPLER || type === RECORD_SAMPLER_LEGACY) {
          const smp = readSampler(v, p, size, type);
          const x = smp === undefined ? undefined : found.get(smp.sysid);
          if (smp !== undefined && x !== undefined) {
            const s0 = smp.sampler;
            const same = x.samplers.some(
              (s1) =>
                s1.id === s0.id &&
                s1.algorithm === s0.algorithm &&
                s1.packetInterval === s0.packetInterval &&
                s1.spaceInterval === s0.spaceInterval,
            );
            if (!same) x.samplers.push(s0);
            if (x.exporter.samplingInterval === 0) x.exporter.samplingInterval = s0.packetInterval + s0.spaceInterval;
          }
        }
        p += size;
      }
    }
    return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────────────

  /** False when this.out lies in the thread's shared LZ4 memory and another reader decompressed since. */
  private ownsOut(): boolean {
    return this.lz4w === undefined || this.lz4w === null || this.out.buffer !== this.lz4w.bytes.buffer
      ? true
      : this.lz4w.owner === this;
  }

  /** Logical column names → physical ones (addr columns bring `<name>6` and v6Flags); cached per set. */
  private physicalOf(columns: ReadonlySet<string>): ReadonlySet<string> {
    let x = this.selections.get(columns);
    if (x === undefined) {
      const set = new Set<string>();
      for (const name of columns) {
        if (PHYSICAL_NAMES.has(name)) set.add(name);
        if (V6_BIT_NAMES.has(name)) {
          set.add(`${name}6`);
          set.add("v6Flags");
        }
      }
      const absent = PHYSICAL_COLUMNS.filter((pc) => !set.has(pc.name)).map((pc) => pc.name as PhysicalName);
      x = { physical: set, absent };
      this.selections.set(columns, x);
      this.absents.set(set, absent);
    }
    return x.physical;
  }

  private absentOf(physical: ReadonlySet<string>): readonly PhysicalName[] {
    return this.absents.get(physical) ?? [];
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

  /** Walks the block headers from byte 40 to `end`; resynchronises after damage. */
  private walkBlocks(end: number, scanning: boolean): NffileBlock[] {
    const out: NffileBlock[] = [];
    const hb = new Uint8Array(NFFILE_BLOCK_HEADER_BYTES);
    const hv = new DataView(hb.buffer);
    let pos = NFFILE_HEADER_BYTES;
    while (pos < end) {
      if (pos + NFFILE_BLOCK_HEADER_BYTES > end) {
        if (!scanning || !this.allZero(pos, end)) {
          this.report(
            STORE_ERROR.TRUNCATED,
            out.length,
            pos,
            `${end - pos} bytes after the last block are not a block header`,
          );
        }
        break;
      }
      readAt(this.fd, hb, pos);
      const nrec = hv.getUint32(0, true);
      const size = hv.getUint32(4, true);
      const type = hv.getUint16(8, true);
      const flags = hv.getUint16(10, true);
      const okType = type === BLOCK_TYPE_3 || type === BLOCK_TYPE_4 || type === BLOCK_TYPE_2;
      if (!okType || size === 0 || size > NFFILE_MAX_BLOCK || flags > 7) {
        // a killed collector's file may end in zeros (never written); anything else is damage
        if (scanning && nrec === 0 && size === 0 && this.allZero(pos, Math.min(end, pos + 4096))) break;
        this.report(
          STORE_ERROR.BAD_LENGTH,
          out.length,
          pos,
          `implausible block header (records ${nrec}, size ${size}, type ${type}, flags ${flags})`,
        );
        const next = this.resync(pos + 1, end);
        if (next < 0) break;
        pos = next;
        continue;
      }
      if (pos + NFFILE_BLOCK_HEADER_BYTES + size > end) {
        this.report(
          STORE_ERROR.TRUNCATED,
          out.length,
          pos,
          `block of ${size} bytes runs past the ${scanning ? "end of the file" : "appendix"} at ${end}`,
        );
        break;
      }
      out.push({
        offset: pos,
        length: NFFILE_BLOCK_HEADER_BYTES + size,
        rows: nrec,
        msecFirst: 0,
        msecLast: 0,
        type,
        flags,
      });
      pos += NFFILE_BLOCK_HEADER_BYTES + size;
    }
    if (!scanning && this.hdr.numBlocks !== out.length && this.errors.length === 0) {
      this.report(STORE_ERROR.BAD_LENGTH, -1, 36, `header says ${this.hdr.numBlocks} blocks, found ${out.length}`);
    }
    return out;
  }

  private allZero(from: number, to: number): boolean {
    if (to <= from) return true;
    const b = new Uint8Array(Math.min(to - from, 4096));
    const n = readAt(this.fd, b, from);
    for (let k = 0; k < n; k++) if (b[k] !== 0) return false;
    return true;
  }

  /** Finds the next offset ≥ from whose block header chain (up to 3 blocks, or to `end`) is plausible; -1 if none. */
  private resync(from: number, end: number): number {
    const WINDOW = 1 << 20;
    const win = new Uint8Array(WINDOW + NFFILE_BLOCK_HEADER_BYTES);
    const hb = new Uint8Array(NFFILE_BLOCK_HEADER_BYTES);
    const hv = new DataView(hb.buffer);
    for (let base = from; base + NFFILE_BLOCK_HEADER_BYTES <= end; base += WINDOW) {
      const n = readAt(this.fd, win.subarray(0, Math.min(win.length, end - base)), base);
      const wv = new DataView(win.buffer, 0, n);
      for (let k = 0; k + NFFILE_BLOCK_HEADER_BYTES <= n && k < WINDOW; k++) {
        if (!plausibleBlockHeader(wv, k)) continue;
        let at = base + k;
        let ok = true;
        for (let hop = 0; hop < 3 && ok; hop++) {
          readAt(this.fd, hb, at);
          if (!plausibleBlockHeader(hv, 0)) {
            ok = false;
            break;
          }
          at += NFFILE_BLOCK_HEADER_BYTES + hv.getUint32(4, true);
          if (at === end) break;
          if (at + NFFILE_BLOCK_HEADER_BYTES > end) ok = false;
        }
        if (ok) return base + k;
      }
    }
    return -1;
  }

  /** Reads block i's payload and leaves it uncompressed in this.out; returns its length or -1 (reported). */
  private loadPayload(i: number, info: NffileBlock): number {
    if (info.type === BLOCK_TYPE_2) {
      this.damaged.add(i);
      this.report(
        STORE_ERROR.CODEC,
        i,
        info.offset + 8,
        "nfdump 1.6 block (type 2) inside a layout 2 file: not supported",
      );
      return -1;
    }
    const size = info.length - NFFILE_BLOCK_HEADER_BYTES;
    const codec = (info.flags & FLAG_BLOCK_UNCOMPRESSED) !== 0 ? "none" : this.hdr.codec;
    // LZ4: liblz4 from this.raw when it is there, else read straight into the WebAssembly decoder's memory;
    // the other codecs from this.raw
    const wasm = codec === "lz4" && nativeRawLz4() === null;
    if (wasm && this.lz4w === undefined) this.lz4w = lz4Wasm();
    const w = wasm && size <= LZ4_WASM_CAPACITY ? (this.lz4w ?? null) : null;
    if (w === null && this.raw.length < size) this.raw = new Uint8Array(Math.max(size, this.raw.length * 2));
    const at = info.offset + NFFILE_BLOCK_HEADER_BYTES;
    let got: number;
    try {
      const into = w !== null ? w.bytes.subarray(LZ4_WASM_SRC, LZ4_WASM_SRC + size) : this.raw.subarray(0, size);
      got = readAt(this.fd, into, at);
    } catch (err) {
      this.damaged.add(i);
      this.report(STORE_ERROR.IO, i, at, `read failed: ${(err as Error).message}`);
      return -1;
    }
    if (got < size) {
      this.damaged.add(i);
      this.report(STORE_ERROR.TRUNCATED, i, at + got, `block payload of ${size} bytes cut at ${got}`);
      return -1;
    }
    this.outBlock = -1;
    let n: number;
    if (w !== null) {
      w.owner = this;
      n = w.decode(size);
      this.out = w.bytes.subarray(LZ4_WASM_DST);
    } else n = this.decompress(codec, this.raw, size);
    if (n >= 0 && i >= 0) {
      this.outBlock = i;
      this.outLength = n;
    }
    if (n < 0) {
      this.damaged.add(i);
      this.report(STORE_ERROR.CORRUPT, i, at, `${codec} payload of ${size} bytes does not decompress`);
      return -1;
    }
    return n;
  }

  /** Decompresses the payload raw[0, size) and points this.out at the result; returns its length or -1. */
  private decompress(codec: NffileCodec, raw: Uint8Array, size: number): number {
    if (codec === "none") {
      this.out = raw.subarray(0, size);
      return size;
    }
    if (this.own.length < NFFILE_MAX_BLOCK) this.own = new Uint8Array(NFFILE_MAX_BLOCK);
    this.out = this.own;
    switch (codec) {
      case "lz4":
        return decodeRawLz4(raw, 0, size, this.own);
      case "lzo":
        return decodeLzo1x(raw, 0, size, this.own);
      case "bz2":
      case "zstd": {
        try {
          const input = raw.subarray(0, size);
          const res =
            codec === "bz2"
              ? bzip2().decode(Buffer.from(input.buffer, input.byteOffset, input.byteLength))
              : zstd()(input);
          if (res.length > this.out.length) return -1;
          this.out.set(res);
          return res.length;
        } catch {
          return -1;
        }
      }
    }
  }

  /** Reads the appendix blocks: ident and stat record. */
  private readAppendix(): void {
    let pos = this.hdr.offAppendix;
    const hb = new Uint8Array(NFFILE_BLOCK_HEADER_BYTES);
    const hv = new DataView(hb.buffer);
    for (let k = 0; k < this.hdr.appendixBlocks; k++) {
      if (pos + NFFILE_BLOCK_HEADER_BYTES > this.size) {
        this.report(STORE_ERROR.TRUNCATED, -1, pos, "appendix block header cut short");
        return;
      }
      readAt(this.fd, hb, pos);
      const nrec = hv.getUint32(0, true);
      const size = hv.getUint32(4, true);
      const flags = hv.getUint16(10, true);
      if (size === 0 || size > NFFILE_MAX_BLOCK || pos + NFFILE_BLOCK_HEADER_BYTES + size > this.size) {
        this.report(STORE_ERROR.BAD_LENGTH, -1, pos, `appendix block of ${size} bytes does not fit the file`);
        return;
      }
      const info: NffileBlock = {
        offset: pos,
        length: NFFILE_BLOCK_HEADER_BYTES + size,
        rows: nrec,
        msecFirst: 0,
        msecLast: 0,
        type: BLOCK_TYPE_3,
        flags,
      };
      const n = this.loadPayload(-1, info);
      if (n < 0) return;
      this.parseAppendix(this.out, n, nrec, pos);
      pos += NFFILE_BLOCK_HEADER_BYTES + size;
    }
  }

  private parseAppendix(d: Uint8Array, len: number, nrec: number, blockOff: number): void {
    const v = new DataView(d.buffer, d.byteOffset, len);
    let p = 0;
    for (let r = 0; r < nrec && p + 4 <= len; r++) {
      const type = v.getUint16(p, true);
      const size = v.getUint16(p + 2, true);
      if (size < 4 || p + size > len) {
        this.report(STORE_ERROR.CORRUPT, -1, blockOff, `appendix record ${r} at payload offset ${p}: bad size ${size}`);
        return;
      }
      if (type === RECORD_IDENT) {
        let e = p + 4;
        while (e < p + size && d[e] !== 0) e++;
        this.hdr = { ...this.hdr, ident: Buffer.from(d.buffer, d.byteOffset + p + 4, e - p - 4).toString("utf8") };
      } else if (type === RECORD_STAT && size >= 4 + 18 * 8) {
        const u = (k: number): number => v.getUint32(p + 4 + k * 8, true) + v.getUint32(p + 8 + k * 8, true) * TWO32;
        // exact − double of the u64 at k (record/u64.ts): nfcapd's counters are exact to 2^64 − 1
        const fix = (k: number): number =>
          u64Fix(v.getUint32(p + 8 + k * 8, true), v.getUint32(p + 4 + k * 8, true), u(k));
        const s = emptyStats();
        for (let c = 0; c < 4; c++) {
          s.flows[c] = u(3 + c);
          s.bytes[c] = u(7 + c);
          s.packets[c] = u(11 + c);
          s.fix.flows[c] = fix(3 + c);
          s.fix.bytes[c] = fix(7 + c);
          s.fix.packets[c] = fix(11 + c);
        }
        s.rows = u(0);
        s.msecFirst = u(15);
        s.msecLast = u(16);
        finishTotals(s);
        this.appendixStats = s;
      }
      p += size;
    }
  }

  /**
   * Collects exporter records (7/8) without touching the batch: nfcapd writes exporter info (7) when an exporter
   * is first seen and exporter stats (8) at close, so the first and last blocks hold them, except for exporters
   * that appeared later: for those the following blocks are scanned until every exporter has its address
   * (at most EXPORTER_SCAN_BLOCKS blocks; TODO: remember them in a side file instead of scanning).
   */
  private scanExporters(): void {
    if (this.exportersScanned) return;
    this.exportersScanned = true;
    const last = this.index.length - 1;
    this.scanBlockForExporters(0);
    if (last > 0) this.scanBlockForExporters(last);
    const missing = (): boolean => [...this.exporters.values()].some((e) => e.address === "");
    for (let i = 1; i < last && i <= EXPORTER_SCAN_BLOCKS && missing(); i++) this.scanBlockForExporters(i);
  }

  private scanBlockForExporters(i: number): void {
    const info = this.index[i];
    if (info === undefined || info.type !== BLOCK_TYPE_3) return;
    const len = this.loadPayload(i, info);
    if (len < 0) return;
    const v = new DataView(this.out.buffer, this.out.byteOffset, len);
    let p = 0;
    for (let r = 0; r < info.rows && p + 4 <= len; r++) {
      const type = v.getUint16(p, true);
      const size = v.getUint16(p + 2, true);
      if (size < 4 || p + size > len) break;
      // info records are idempotent; stats records add up, so only the last block's are taken
      if (type === RECORD_EXPORTER_INFO || (type === RECORD_EXPORTER_STATS && i === this.index.length - 1))
        this.exporterRecord(v, p, size, type);
      p += size;
    }
  }

  private exporterOf(sysid: number): ExporterStats {
    let e = this.exporters.get(sysid);
    if (e === undefined) {
      e = newExporter(sysid);
      this.exporters.set(sysid, e);
    }
    return e;
  }

  private exporterRecord(v: DataView, p: number, size: number, type: number): void {
    if (type === RECORD_EXPORTER_INFO) {
      if (size < 32) return;
      setExporterInfo(this.exporterOf(v.getUint16(p + 26, true)), v, p, this.words);
      return;
    }
    const count = v.getUint32(p + 4, true);
    for (let k = 0; k < count && p + 8 + (k + 1) * 24 <= p + size; k++) {
      const o = p + 8 + k * 24;
      const e = this.exporterOf(v.getUint32(o, true));
      e.sequenceErrors += v.getUint32(o + 4, true);
      e.packets += v.getUint32(o + 8, true) + v.getUint32(o + 12, true) * TWO32;
      e.flows += v.getUint32(o + 16, true) + v.getUint32(o + 20, true) * TWO32;
    }
  }

  /** Decodes the records of an uncompressed type-3 payload into `batch` (hot loop; see v3-layout.ts). */
  private decodeRecords(d: Uint8Array, len: number, nrec: number, block: number, batch: RecordBatch): void {
    const v = new DataView(d.buffer, d.byteOffset, len);
    const cache = this.layouts!;
    const recent = cache.recent;
    if (this.rowOff.length < batch.capacity) this.rowOff = new Uint32Array(batch.capacity);
    if (this.rowLayout.length < batch.capacity) this.rowLayout = new Int32Array(batch.capacity);
    const rowOff = this.rowOff;
    const rowLayout = this.rowLayout;
    const blockOff = this.index[block]!.offset;
    const state = this.walkState;
    let row = batch.length;
    let p = 0;
    for (let r = 0; r < nrec; r++) {
      // the records of the recent layouts, in one generated loop; the general path below takes the first record
      // it stops at (another type, a new layout, damage) and then hands back to it
      cache.blockDecoder()(v, d, p, len, r, nrec, row, rowOff, rowLayout, state);
      r = state[0]!;
      p = state[1]!;
      row = state[2]!;
      if (r >= nrec) break;
      if (p + 4 > len) {
        this.report(
          STORE_ERROR.CORRUPT,
          block,
          blockOff,
          `record ${r} of ${nrec} starts past the payload end (${len} bytes)`,
        );
        this.damaged.add(block);
        break;
      }
      const type = v.getUint16(p, true);
      const size = v.getUint16(p + 2, true);
      if (size < 4 || p + size > len) {
        this.report(STORE_ERROR.CORRUPT, block, blockOff, `record ${r} at payload offset ${p}: bad size ${size}`);
        this.damaged.add(block);
        break;
      }
      if (type !== RECORD_V3) {
        // exporter stats (8) add up: taken only in the one pass that computes stats() from the rows
        if (type === RECORD_EXPORTER_INFO || (type === RECORD_EXPORTER_STATS && this.countingStats))
          this.exporterRecord(v, p, size, type);
        p += size;
        continue;
      }
      if (size < V3_HEADER_BYTES) {
        this.report(STORE_ERROR.CORRUPT, block, blockOff, `V3 record ${r} at payload offset ${p}: size ${size} < 12`);
        this.damaged.add(block);
        break;
      }
      const numEl = v.getUint16(p + 4, true);
      // the layout: one of the recently used ones (element headers compared in place), else looked up/compiled
      let layout: V3Layout | null = null;
      for (let j = 0; j < recent.length && layout === null; j++) {
        const l = recent[j]!;
        if (l.numEl === numEl && V3_HEADER_BYTES + l.total <= size && l.match(v, p)) layout = l;
      }
      if (layout === null) layout = cache.layoutOf(v, p, size, numEl);
      else if (layout.gen !== cache.generation) cache.refresh(layout);
      if (layout === null) {
        this.report(
          STORE_ERROR.CORRUPT,
          block,
          blockOff,
          `V3 record ${r} at payload offset ${p}: element runs past the record`,
        );
        this.damaged.add(block);
        break;
      }
      layout.fn(v, d, p, row);
      rowOff[row] = p;
      rowLayout[row] = layout.id;
      row++;
      p += size;
    }
    batch.length = row;
  }
}

function newExporter(sysid: number): ExporterStats {
  return {
    address: "",
    id: sysid,
    domain: 0,
    version: 0,
    packets: 0,
    flows: 0,
    sequenceErrors: 0,
    badPackets: 0,
    templateMisses: 0,
    samplingInterval: 0,
    extra: {},
  };
}

/** Exporter info record (7): u32 version | 16 B address (v4 in the last word) | u16 family | u16 sysid | u32 id. */
function setExporterInfo(e: ExporterStats, v: DataView, p: number, w: Uint32Array): void {
  e.version = v.getUint32(p + 4, true);
  e.domain = v.getUint32(p + 28, true);
  const family = v.getUint16(p + 24, true);
  if (family === 10) {
    w[0] = v.getUint32(p + 12, true);
    w[1] = v.getUint32(p + 8, true);
    w[2] = v.getUint32(p + 20, true);
    w[3] = v.getUint32(p + 16, true);
    e.address = formatIPv6(w);
  } else e.address = formatIPv4(v.getUint32(p + 16, true));
}

/**
 * Sampler record, current (15, 24 B): u16 sysid | u16 algorithm | i64 selector id | u32 packet interval |
 * u32 packet space; legacy (9, 16 B): i32 id | u32 interval | u16 algorithm | u16 sysid, read as packet
 * interval 1 and space interval - 1 (nfdump's conversion). Undefined when the size is wrong.
 */
function readSampler(
  v: DataView,
  p: number,
  size: number,
  type: number,
): { sysid: number; sampler: SamplerInfo } | undefined {
  if (type === RECORD_SAMPLER) {
    if (size < 24) return undefined;
    return {
      sysid: v.getUint16(p + 4, true),
      sampler: {
        id: v.getUint32(p + 8, true) + v.getInt32(p + 12, true) * TWO32,
        algorithm: v.getUint16(p + 6, true),
        packetInterval: v.getUint32(p + 16, true),
        spaceInterval: v.getUint32(p + 20, true),
      },
    };
  }
  if (size !== 16) return undefined;
  return {
    sysid: v.getUint16(p + 14, true),
    sampler: {
      id: v.getInt32(p + 4, true),
      algorithm: v.getUint16(p + 12, true),
      packetInterval: 1,
      spaceInterval: (v.getUint32(p + 8, true) - 1) >>> 0,
    },
  };
}
