// SPDX-License-Identifier: BSD-3-Clause
// The tsflow flow-file format, version 1: constants, layout and (de)serialisation of the header, block header,
// footer and trailer. All integers little-endian; every section starts on an 8-byte boundary. The full byte-by-
// byte specification is docs/file-format.md (and man tsflow(5)); keep the three in step.
//
//   offset 0
//   ┌──────────────────────────────────────────────┐
//   │ file header   "TSFL" version codec …           │  creator, created ms, ident, column directory, CRC32
//   ├──────────────────────────────────────────────┤  (8-aligned)
//   │ block 0                                        │
//   │  ┌ block header (32 B) "TSBK" hdrCrc dataCrc  │  rows, flags, zoneLength, dataLength, block number
//   │  ├ zone section (zoneLength B)                │  min/max per stored width-1 column, v4/v6 masks,
//   │  │                                            │  address sets (/24, /64) per addr column
//   │  ├ column table (8 + 24 B × stored columns)   │  column id, transform, width, base, raw/stored length
//   │  └ column data, each 8-aligned                │  u32 size + LZ4 block (or raw) of the transformed bytes
//   ├──────────────────────────────────────────────┤
//   │ block 1 …                                      │
//   ├──────────────────────────────────────────────┤
//   │ footer "TSFT" crc length                       │  statistics record, exporters, block index
//   ├──────────────────────────────────────────────┤
//   │ trailer (16 B): footer offset, length, "TSND"  │  read first: readers seek from the end
//   └──────────────────────────────────────────────┘
//
// A file cut short (collector killed) has no footer/trailer; blocks are self-describing (magic + two CRCs),
// so readers scan them from the header on, and recover() appends a rebuilt footer.

import { nativeCrc32 } from "./native-encode.js";
import { PHYSICAL_COLUMNS, type ArrayType } from "../record/schema.js";
import { addExactTo, exactOf, u64Text } from "../record/u64.js";
import { STORE_ERROR, StoreError, storeWhere, type StoreErrorCode } from "./errors.js";

// Fail at load on a big-endian host: column views are little-endian typed arrays over file bytes.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("store: tsflow flow files need a little-endian host");
}

/** "TSFL", "TSBK", "TSFT", "TSND" read as little-endian u32. */
export const FILE_MAGIC = 0x4c465354;
export const BLOCK_MAGIC = 0x4b425354;
export const FOOTER_MAGIC = 0x54465354;
export const TRAILER_MAGIC = 0x444e5354;
/** "TSXS": the footer's exact sums section; FOOTER_EXACT_SUMS: the footer flag announcing it. */
export const EXACT_SUMS_MAGIC = 0x53585354;
export const FOOTER_EXACT_SUMS = 1;
const U128_MASK = (1n << 128n) - 1n;

/** The format version this code writes and the newest it reads. */
export const FORMAT_VERSION = 1;

export const CODEC = { none: 0, lz4: 1 } as const;
export type CodecName = keyof typeof CODEC;
export const CODEC_NAME: readonly CodecName[] = ["none", "lz4"];

/** Array type codes of the column directory. */
export const ARRAY_CODE: { readonly [T in ArrayType]: number } = { u8: 1, u16: 2, u32: 3, f64: 4 };
export const ARRAY_OF_CODE: readonly (ArrayType | undefined)[] = [undefined, "u8", "u16", "u32", "f64"];

/** Names of the two raw-element pseudo-columns (RecordBatch.extraEnd and RecordBatch.extra). */
export const EXTRA_END_COLUMN = "extraEnd";
export const EXTRA_COLUMN = "extra";

export const BLOCK_HEADER_BYTES = 32;
export const COLUMN_ENTRY_BYTES = 24;
export const TRAILER_BYTES = 16;
/** Largest block payload a reader accepts (guards against absurd lengths in damaged headers). */
export const MAX_BLOCK_BYTES = 1 << 30;
export const MAX_BLOCK_ROWS = 1 << 22;

/** Column transforms (see docs/file-format.md §4). */
export const TRANSFORM = {
  /** the typed array's bytes as they are */
  raw: 0,
  /** frame of reference: value − base stored in `width` bytes (1, 2, 4), byte-shuffled when width > 1 */
  for: 1,
  /** zig-zag delta from the previous row (first row from base), stored in `width` bytes, byte-shuffled */
  delta: 2,
  /** `<addr>6` words of the IPv6 rows only, in row order (4 u32 each) */
  sparse6: 3,
  /** ≤ 16 distinct values: `base` = count k, k × f64 values, then `width`-bit indexes (0, 1, 2, 4), LSB first */
  dict: 4,
} as const;

export interface ColumnDirEntry {
  readonly name: string;
  readonly array: ArrayType;
  /** Elements per row; 0 for the `extra` byte heap. */
  readonly width: number;
}

/** The column directory this version writes: schema physical columns, then the raw-element heap. */
export const WRITE_DIRECTORY: readonly ColumnDirEntry[] = [
  ...PHYSICAL_COLUMNS.map((pc) => ({ name: pc.name, array: pc.array, width: pc.width })),
  { name: EXTRA_END_COLUMN, array: "u32", width: 1 },
  { name: EXTRA_COLUMN, array: "u8", width: 0 },
];

export interface FileHeader {
  readonly version: number;
  readonly codec: CodecName;
  readonly creator: string;
  /** ms since the epoch when the file was opened for writing */
  readonly created: number;
  readonly ident: string;
  readonly columns: readonly ColumnDirEntry[];
  /** Header size in bytes = offset of the first block. */
  readonly length: number;
}

export const pad8 = (n: number): number => (n + 7) & ~7;

// ── small serialisation helpers (not hot) ──────────────────────────────────────────────────────────────

export class ByteSink {
  buf: Uint8Array;
  view: DataView;
  pos: number;
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
  }
  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf);
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(v: number): void {
    this.need(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u16(v: number): void {
    this.need(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.need(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.need(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  /** u64 offset as two u32 halves (exact for any file size below 2^53). */
  u64(v: number): void {
    this.u32(v % 0x100000000);
    this.u32(Math.floor(v / 0x100000000));
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    if (b.length > 0xffff) throw new RangeError(`store: string of ${b.length} bytes too long`);
    this.u16(b.length);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    this.need(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  align8(): void {
    const n = pad8(this.pos) - this.pos;
    this.need(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Bounds-checked cursor over a section; any overrun throws a StoreError naming the place. */
export class ByteSource {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  readonly file: string;
  readonly block: number;
  readonly base: number;
  readonly what: string;
  pos: number;
  constructor(bytes: Uint8Array, file: string, block: number, base: number, what: string) {
    this.bytes = bytes;
    this.file = file;
    this.block = block;
    this.base = base;
    this.what = what;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new StoreError(
        STORE_ERROR.BAD_LENGTH,
        `${storeWhere(this.file, this.block, this.base + this.pos)}${this.what} needs ${n} more bytes, ${this.bytes.length - this.pos} left`,
        { file: this.file, block: this.block, offset: this.base + this.pos },
      );
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  u64(): number {
    const lo = this.u32();
    return this.u32() * 0x100000000 + lo;
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    const b = this.bytes;
    const at = this.pos;
    this.pos += n;
    // a short ASCII string (the header's column names) without a Buffer made for it; UTF-8 otherwise
    if (n <= 64) {
      let ascii = true;
      for (let i = at; i < at + n; i++) if (b[i]! > 0x7f) ascii = false;
      if (ascii) return String.fromCharCode.apply(null, b.subarray(at, at + n) as unknown as number[]);
    }
    return Buffer.from(b.buffer, b.byteOffset + at, n).toString("utf8");
  }
  align8(): void {
    this.pos = pad8(this.pos);
  }
}

/** The CRC32 behind crcOf: the native addon's (PCLMULQDQ) or node:zlib's, chosen on first use. */
let crcImpl: ((bytes: Uint8Array, start: number, end: number, seed: number) => number) | undefined;

function chooseCrc(): (bytes: Uint8Array, start: number, end: number, seed: number) => number {
  const native = nativeCrc32();
  if (native) {
    // the range clamped as subarray clamps it
    return (bytes, start, end, seed) => {
      const s = Math.min(Math.max(start, 0), bytes.length);
      return native(bytes, s, Math.max(Math.min(end, bytes.length) - s, 0), seed >>> 0);
    };
  }
  // loaded only here: most runs have the native CRC and never need zlib
  const { crc32 } = process.getBuiltinModule("node:zlib");
  return (bytes, start, end, seed) => crc32(bytes.subarray(start, end), seed) >>> 0;
}

/** CRC32 (zlib polynomial) of a byte range. */
export function crcOf(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  return (crcImpl ??= chooseCrc())(bytes, start, end, seed);
}

// ── file header ──────────────────────────────────────────────────────────────────────────────────────────
//   0  u32 magic "TSFL"      4 u16 version   6 u8 codec   7 u8 reserved (0)
//   8  u32 header length (multiple of 8, = offset of block 0)     12 u32 column count
//  16  f64 created ms
//  24  str creator, str ident (u16 length + UTF-8)
//      column directory: per column u8 array code, u8 width, str name
//      zero padding to (length − 8), u32 reserved 0, u32 CRC32 of bytes [0, length − 4)

export function encodeHeader(h: { codec: CodecName; creator: string; created: number; ident: string }): Uint8Array {
  const s = new ByteSink(2048);
  s.u32(FILE_MAGIC);
  s.u16(FORMAT_VERSION);
  s.u8(CODEC[h.codec]);
  s.u8(0);
  s.u32(0); // length, patched below
  s.u32(WRITE_DIRECTORY.length);
  s.f64(h.created);
  s.str(h.creator);
  s.str(h.ident);
  for (const col of WRITE_DIRECTORY) {
    s.u8(ARRAY_CODE[col.array]);
    s.u8(col.width);
    s.str(col.name);
  }
  s.align8();
  s.u32(0);
  s.u32(0); // crc, patched below
  const out = s.result();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(8, out.length, true);
  view.setUint32(out.length - 4, crcOf(out, 0, out.length - 4), true);
  return out;
}

/** Minimum bytes to read to learn the header length. */
export const HEADER_PREFIX_BYTES = 16;

/** Checks the fixed start of a header; returns the header length. */
export function checkHeaderPrefix(prefix: Uint8Array, file: string): number {
  if (prefix.length < HEADER_PREFIX_BYTES) {
    throw new StoreError(
      STORE_ERROR.TRUNCATED,
      `${storeWhere(file, -1, 0)}file of ${prefix.length} bytes is too short for a tsflow header`,
      { file, offset: 0 },
    );
  }
  const v = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== FILE_MAGIC) {
    throw new StoreError(
      STORE_ERROR.BAD_MAGIC,
      `${storeWhere(file, -1, 0)}not a tsflow file (magic 0x${magic.toString(16).padStart(8, "0")})`,
      { file, offset: 0 },
    );
  }
  const version = v.getUint16(4, true);
  if (version > FORMAT_VERSION || version === 0) {
    throw new StoreError(
      STORE_ERROR.VERSION,
      `${storeWhere(file, -1, 4)}format version ${version} is not supported (this reader knows 1..${FORMAT_VERSION})`,
      { file, offset: 4 },
    );
  }
  const length = v.getUint32(8, true);
  if (length < 40 || length % 8 !== 0 || length > 1 << 20) {
    throw new StoreError(STORE_ERROR.BAD_LENGTH, `${storeWhere(file, -1, 8)}impossible header length ${length}`, {
      file,
      offset: 8,
    });
  }
  return length;
}

export function decodeHeader(bytes: Uint8Array, file: string): FileHeader {
  const length = checkHeaderPrefix(bytes, file);
  if (bytes.length < length) {
    throw new StoreError(
      STORE_ERROR.TRUNCATED,
      `${storeWhere(file, -1, bytes.length)}header of ${length} bytes cut at ${bytes.length}`,
      { file, offset: bytes.length },
    );
  }
  const stored = new DataView(bytes.buffer, bytes.byteOffset, length).getUint32(length - 4, true);
  const actual = crcOf(bytes, 0, length - 4);
  if (stored !== actual) {
    throw new StoreError(
      STORE_ERROR.CHECKSUM,
      `${storeWhere(file, -1, 0)}header checksum 0x${actual.toString(16)} does not match stored 0x${stored.toString(16)}`,
      { file, offset: 0 },
    );
  }
  const src = new ByteSource(bytes.subarray(0, length - 8), file, -1, 0, "header");
  src.pos = 4;
  const version = src.u16();
  const codecId = src.u8();
  src.u8();
  src.u32();
  const count = src.u32();
  const created = src.f64();
  const creator = src.str();
  const ident = src.str();
  const codec = CODEC_NAME[codecId];
  if (codec === undefined) {
    throw new StoreError(STORE_ERROR.CODEC, `${storeWhere(file, -1, 6)}unknown codec id ${codecId}`, {
      file,
      offset: 6,
    });
  }
  const columns: ColumnDirEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = src.pos;
    const code = src.u8();
    const width = src.u8();
    const name = src.str();
    const array = ARRAY_OF_CODE[code];
    if (array === undefined || width > 4) {
      throw new StoreError(
        STORE_ERROR.BAD_LENGTH,
        `${storeWhere(file, -1, at)}column ${name}: unknown array type ${code} or width ${width}`,
        { file, offset: at },
      );
    }
    columns.push({ name, array, width });
  }
  return { version, codec, creator, created, ident, columns, length };
}

// ── block header ─────────────────────────────────────────────────────────────────────────────────────────
//   0 u32 magic "TSBK"   4 u32 hdrCrc = CRC32 of bytes [8, 32 + zoneLength)   8 u32 dataCrc = CRC32 of the data part
//  12 u32 rows          16 u32 flags (0)    20 u32 zoneLength    24 u32 dataLength    28 u32 block number
//  then zone section (zoneLength bytes), then the data part (dataLength bytes: column table + column data)

export interface BlockHeader {
  readonly rows: number;
  readonly flags: number;
  readonly zoneLength: number;
  readonly dataLength: number;
  readonly number: number;
  readonly hdrCrc: number;
  readonly dataCrc: number;
}

export function blockLength(h: BlockHeader): number {
  return BLOCK_HEADER_BYTES + h.zoneLength + h.dataLength;
}

/** Why a block header cannot be used: the StoreError code to report and what was wrong. */
export class BlockHeaderFault {
  readonly code: StoreErrorCode;
  readonly message: string;
  constructor(code: StoreErrorCode, message: string) {
    this.code = code;
    this.message = message;
  }
}

/**
 * Parses a block header at `buf[off]` without checking CRCs; returns what is wrong (a BlockHeaderFault) instead of
 * the header when the fixed fields are impossible.
 */
export function parseBlockHeader(buf: Uint8Array, off: number): BlockHeader | BlockHeaderFault {
  if (off + BLOCK_HEADER_BYTES > buf.length)
    return new BlockHeaderFault(STORE_ERROR.BAD_LENGTH, "block header cut short");
  const v = new DataView(buf.buffer, buf.byteOffset + off, BLOCK_HEADER_BYTES);
  const magic = v.getUint32(0, true);
  if (magic !== BLOCK_MAGIC)
    return new BlockHeaderFault(STORE_ERROR.BAD_MAGIC, `bad block magic 0x${magic.toString(16).padStart(8, "0")}`);
  const rows = v.getUint32(12, true);
  const zoneLength = v.getUint32(20, true);
  const dataLength = v.getUint32(24, true);
  if (rows > MAX_BLOCK_ROWS) return new BlockHeaderFault(STORE_ERROR.BAD_LENGTH, `impossible row count ${rows}`);
  if (zoneLength % 8 !== 0 || dataLength % 8 !== 0 || zoneLength + dataLength > MAX_BLOCK_BYTES) {
    return new BlockHeaderFault(
      STORE_ERROR.BAD_LENGTH,
      `impossible section lengths zone ${zoneLength} data ${dataLength}`,
    );
  }
  return {
    hdrCrc: v.getUint32(4, true),
    dataCrc: v.getUint32(8, true),
    rows,
    flags: v.getUint32(16, true),
    zoneLength,
    dataLength,
    number: v.getUint32(28, true),
  };
}

// ── statistics record, exporters, block index (footer) ───────────────────────────────────────────────────

/** Per-exporter counters, supplied by the writer's caller as plain data (the collector's exporter table). */
export interface ExporterStats {
  /** exporter address as text (IPv4 or IPv6) */
  address: string;
  /** collector-assigned exporter id (nfdump SysID, the `exporterId` column) */
  id: number;
  /** observation domain / source id (0 when not applicable) */
  domain: number;
  /** export protocol version (5, 9, 10, 133 …; 0 when unknown) */
  version: number;
  packets: number;
  flows: number;
  sequenceErrors: number;
  badPackets: number;
  templateMisses: number;
  /** sampling interval in force (0 unknown) */
  samplingInterval: number;
  /** any further named counters (kept and read back verbatim) */
  extra: Record<string, number>;
}

/** Per protocol class (index = record/schema PROTO_CLASS: tcp 0, udp 1, icmp 2, other 3). */
export interface ClassCounters {
  flows: [number, number, number, number];
  packets: [number, number, number, number];
  bytes: [number, number, number, number];
}

export interface FileStats extends ClassCounters {
  /** rows stored */
  rows: number;
  /** totals over all classes (the sums of the per-class arrays) */
  totalFlows: number;
  totalPackets: number;
  totalBytes: number;
  /** sums of outPackets / outBytes (bidirectional and NSEL records) */
  outPackets: number;
  outBytes: number;
  /** smallest msecFirst and largest msecLast over rows with a time (0 when the file has none) */
  msecFirst: number;
  msecLast: number;
  exporters: ExporterStats[];
  /**
   * `exact − double` of each sum above (record/u64.ts: exact = value + fix): 0 while a sum is below 2^53, so the
   * doubles alone are exact for every ordinary file. Files without exact sums in their footer read as 0.
   */
  fix: SumFixes;
}

/** The fix terms of a FileStats' sums (same shapes and names). */
export interface SumFixes extends ClassCounters {
  totalFlows: number;
  totalPackets: number;
  totalBytes: number;
  outPackets: number;
  outBytes: number;
}

export interface BlockInfo {
  /** file offset of the block header */
  offset: number;
  /** bytes of the whole block (header + zone + data) */
  length: number;
  rows: number;
  /** zone-map summary: min msecFirst and max msecLast of the block (0 when unknown) */
  msecFirst: number;
  msecLast: number;
}

export function emptyStats(): FileStats {
  return {
    flows: [0, 0, 0, 0],
    packets: [0, 0, 0, 0],
    bytes: [0, 0, 0, 0],
    rows: 0,
    totalFlows: 0,
    totalPackets: 0,
    totalBytes: 0,
    outPackets: 0,
    outBytes: 0,
    msecFirst: 0,
    msecLast: 0,
    exporters: [],
    fix: {
      flows: [0, 0, 0, 0],
      packets: [0, 0, 0, 0],
      bytes: [0, 0, 0, 0],
      totalFlows: 0,
      totalPackets: 0,
      totalBytes: 0,
      outPackets: 0,
      outBytes: 0,
    },
  };
}

/** A FileStats' totals as decimal text, exact and wrapped to 64 bits as nfcapd's uint64 counters (its log line). */
export function totalsText(s: FileStats): { flows: string; packets: string; bytes: string } {
  const f = s.fix;
  return {
    flows: u64Text(exactOf(s.totalFlows, f.totalFlows)),
    packets: u64Text(exactOf(s.totalPackets, f.totalPackets)),
    bytes: u64Text(exactOf(s.totalBytes, f.totalBytes)),
  };
}

/** The exact sums of a FileStats (fractions truncated), as BigInt: for printing and the footer, never per row. */
export function exactSums(s: FileStats): {
  flows: bigint[];
  packets: bigint[];
  bytes: bigint[];
  totalFlows: bigint;
  totalPackets: bigint;
  totalBytes: bigint;
  outPackets: bigint;
  outBytes: bigint;
} {
  const f = s.fix;
  const of = (v: readonly number[], x: readonly number[]): bigint[] => v.map((d, k) => exactOf(d, x[k]!));
  return {
    flows: of(s.flows, f.flows),
    packets: of(s.packets, f.packets),
    bytes: of(s.bytes, f.bytes),
    totalFlows: exactOf(s.totalFlows, f.totalFlows),
    totalPackets: exactOf(s.totalPackets, f.totalPackets),
    totalBytes: exactOf(s.totalBytes, f.totalBytes),
    outPackets: exactOf(s.outPackets, f.outPackets),
    outBytes: exactOf(s.outBytes, f.outBytes),
  };
}

// Footer:
//   0 u32 magic "TSFT"   4 u32 CRC32 of bytes [8, length)   8 u32 length (multiple of 8)   12 u32 block count
//  16 stats: f64 rows, f64 × 4 flows, f64 × 4 packets, f64 × 4 bytes, f64 outPackets, f64 outBytes,
//            f64 msecFirst, f64 msecLast                                                (17 × 8 = 136 bytes)
// 152 u32 exporter count, u32 flags (bit 0: exact sums section); per exporter (8-aligned): str address, u32 id, u32 domain, u32 version, u32 0 then
//            f64 packets flows sequenceErrors badPackets templateMisses samplingInterval,
//            u16 extra count, per extra: str name, f64 value; each exporter entry padded to 8
//     block index (8-aligned): per block u64 offset, u32 length, u32 rows, f64 msecFirst, f64 msecLast (32 B)
//     exact sums (flag bit 0): u32 magic "TSXS", u32 count N (14), N × u128 (four u32, low word first) in the
//            order flows × 4, packets × 4, bytes × 4, outPackets, outBytes. Older readers stop at the block
//            index and keep the f64 sums (exact below 2^53).
// Trailer (last 16 bytes of the file): u64 footer offset, u32 footer length, u32 magic "TSND"

export function encodeFooter(stats: FileStats, blocks: readonly BlockInfo[]): Uint8Array {
  const s = new ByteSink(1024 + blocks.length * 32);
  s.u32(FOOTER_MAGIC);
  s.u32(0);
  s.u32(0);
  s.u32(blocks.length);
  s.f64(stats.rows);
  for (const a of [stats.flows, stats.packets, stats.bytes]) for (let k = 0; k < 4; k++) s.f64(a[k]!);
  s.f64(stats.outPackets);
  s.f64(stats.outBytes);
  s.f64(stats.msecFirst);
  s.f64(stats.msecLast);
  s.u32(stats.exporters.length);
  s.u32(FOOTER_EXACT_SUMS);
  for (const e of stats.exporters) {
    s.str(e.address);
    s.align8();
    s.u32(e.id >>> 0);
    s.u32(e.domain >>> 0);
    s.u32(e.version >>> 0);
    s.u32(0);
    s.f64(e.packets);
    s.f64(e.flows);
    s.f64(e.sequenceErrors);
    s.f64(e.badPackets);
    s.f64(e.templateMisses);
    s.f64(e.samplingInterval);
    const extra = Object.entries(e.extra);
    s.u16(extra.length);
    for (const [name, value] of extra) {
      s.str(name);
      s.f64(value);
    }
    s.align8();
  }
  for (const b of blocks) {
    s.u64(b.offset);
    s.u32(b.length);
    s.u32(b.rows);
    s.f64(b.msecFirst);
    s.f64(b.msecLast);
  }
  const exact = exactSums(stats);
  const sums = [...exact.flows, ...exact.packets, ...exact.bytes, exact.outPackets, exact.outBytes];
  s.u32(EXACT_SUMS_MAGIC);
  s.u32(sums.length);
  for (const x of sums) {
    const y = x < 0n ? 0n : x & U128_MASK;
    for (let w = 0; w < 4; w++) s.u32(Number((y >> BigInt(32 * w)) & 0xffffffffn));
  }
  s.align8();
  const out = s.result();
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(8, out.length, true);
  v.setUint32(4, crcOf(out, 8), true);
  return out;
}

export function decodeFooter(
  bytes: Uint8Array,
  file: string,
  offset: number,
): { stats: FileStats; blocks: BlockInfo[] } {
  const fail = (code: (typeof STORE_ERROR)[keyof typeof STORE_ERROR], at: number, msg: string): StoreError =>
    new StoreError(code, `${storeWhere(file, -1, offset + at)}footer: ${msg}`, { file, offset: offset + at });
  if (bytes.length < 16) throw fail(STORE_ERROR.TRUNCATED, 0, `${bytes.length} bytes is too short`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== FOOTER_MAGIC)
    throw fail(STORE_ERROR.BAD_MAGIC, 0, `bad magic 0x${magic.toString(16).padStart(8, "0")}`);
  const length = v.getUint32(8, true);
  if (length !== bytes.length) throw fail(STORE_ERROR.BAD_LENGTH, 8, `length ${length} does not match ${bytes.length}`);
  const stored = v.getUint32(4, true);
  const actual = crcOf(bytes, 8);
  if (stored !== actual)
    throw fail(
      STORE_ERROR.CHECKSUM,
      4,
      `checksum 0x${actual.toString(16)} does not match stored 0x${stored.toString(16)}`,
    );
  const src = new ByteSource(bytes, file, -1, offset, "footer");
  src.pos = 12;
  const nBlocks = src.u32();
  const stats = emptyStats();
  stats.rows = src.f64();
  for (const a of [stats.flows, stats.packets, stats.bytes]) for (let k = 0; k < 4; k++) a[k] = src.f64();
  stats.outPackets = src.f64();
  stats.outBytes = src.f64();
  stats.msecFirst = src.f64();
  stats.msecLast = src.f64();
  const nExp = src.u32();
  const flags = src.u32();
  if (nExp > bytes.length / 64) throw fail(STORE_ERROR.BAD_LENGTH, src.pos - 8, `impossible exporter count ${nExp}`);
  for (let i = 0; i < nExp; i++) {
    const address = src.str();
    src.align8();
    const id = src.u32();
    const domain = src.u32();
    const version = src.u32();
    src.u32();
    const e: ExporterStats = {
      address,
      id,
      domain,
      version,
      packets: src.f64(),
      flows: src.f64(),
      sequenceErrors: src.f64(),
      badPackets: src.f64(),
      templateMisses: src.f64(),
      samplingInterval: src.f64(),
      extra: {},
    };
    const nx = src.u16();
    for (let k = 0; k < nx; k++) {
      const name = src.str();
      e.extra[name] = src.f64();
    }
    src.align8();
    stats.exporters.push(e);
  }
  if (nBlocks > (bytes.length - src.pos) / 32)
    throw fail(STORE_ERROR.BAD_LENGTH, 12, `impossible block count ${nBlocks}`);
  const blocks: BlockInfo[] = [];
  for (let i = 0; i < nBlocks; i++) {
    const b: BlockInfo = {
      offset: src.u64(),
      length: src.u32(),
      rows: src.u32(),
      msecFirst: src.f64(),
      msecLast: src.f64(),
    };
    blocks.push(b);
  }
  if ((flags & FOOTER_EXACT_SUMS) !== 0) readExactSums(src, stats, fail);
  finishTotals(stats);
  return { stats, blocks };
}

/** The footer's exact sums section (after the block index): the sums and their fix terms from u128 values. */
function readExactSums(
  src: ByteSource,
  stats: FileStats,
  fail: (code: StoreErrorCode, at: number, msg: string) => StoreError,
): void {
  const at = src.pos;
  if (src.bytes.length - at < 8) throw fail(STORE_ERROR.TRUNCATED, at, "exact sums section cut short");
  const magic = src.u32();
  if (magic !== EXACT_SUMS_MAGIC)
    throw fail(STORE_ERROR.BAD_MAGIC, at, `bad exact sums magic 0x${magic.toString(16).padStart(8, "0")}`);
  const n = src.u32();
  if (n < 14 || n > (src.bytes.length - src.pos) / 16)
    throw fail(STORE_ERROR.BAD_LENGTH, at + 4, `impossible exact sum count ${n}`);
  const f = stats.fix;
  const targets: [Record<number, number>, Record<number, number>, number][] = [];
  for (const [v, x] of [
    [stats.flows, f.flows],
    [stats.packets, f.packets],
    [stats.bytes, f.bytes],
  ] as const)
    for (let k = 0; k < 4; k++) targets.push([v, x, k]);
  for (let i = 0; i < n; i++) {
    let y = 0n;
    for (let w = 0; w < 4; w++) y |= BigInt(src.u32()) << BigInt(32 * w);
    // the f64 sums stay as stored (fractional sums of sampled counters too); the fix is exact − trunc(f64).
    // Sections from newer writers may carry more sums: the first 14 are these
    const fixOf = (d: number): number => Number(y - exactOf(d, 0));
    if (i < 12) {
      const [v, x, k] = targets[i]!;
      x[k] = fixOf(v[k]!);
    } else if (i === 12) f.outPackets = fixOf(stats.outPackets);
    else if (i === 13) f.outBytes = fixOf(stats.outBytes);
  }
}

/** Recomputes the totals (and their fix terms) from the per-class arrays, exactly. */
export function finishTotals(stats: FileStats): void {
  const f = stats.fix;
  for (const [total, v, x] of [
    ["totalFlows", stats.flows, f.flows],
    ["totalPackets", stats.packets, f.packets],
    ["totalBytes", stats.bytes, f.bytes],
  ] as const) {
    stats[total] = 0;
    f[total] = 0;
    for (let k = 0; k < 4; k++) addExactTo(stats, f, total, v[k]!, x[k]!);
  }
}

export function encodeTrailer(footerOffset: number, footerLength: number): Uint8Array {
  const s = new ByteSink(TRAILER_BYTES);
  s.u64(footerOffset);
  s.u32(footerLength);
  s.u32(TRAILER_MAGIC);
  return s.result();
}

/** Parses the last 16 bytes of a file; undefined when they are not a trailer. */
export function parseTrailer(bytes: Uint8Array): { footerOffset: number; footerLength: number } | undefined {
  if (bytes.length !== TRAILER_BYTES) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(12, true) !== TRAILER_MAGIC) return undefined;
  return {
    footerOffset: v.getUint32(4, true) * 0x100000000 + v.getUint32(0, true),
    footerLength: v.getUint32(8, true),
  };
}
