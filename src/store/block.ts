// SPDX-License-Identifier: BSD-3-Clause
// Block encoding: RecordBatch → transformed columns + zone section → (compressed) → one self-describing block.
// Used by FlowFileWriter; the layout is documented in format.ts and docs/file-format.md §3–§5.
// With the native encoder (native/encode.c; not with TSFLOW_WRITER=js or without the addon) the all-zero scan, the
// width-1 column transforms of codec.ts and sparse6 run in C, writing every column of a block into one arena
// (native-encode.ts ColumnArena) instead of an array per column; the writer then compresses them with liblz4.
//
// Data part of a block (dataLength bytes, covered by dataCrc):
//   0 u32 stored column count C   4 u32 reserved
//   8 C × column entry (24 B): u16 column id, u8 transform, u8 width, u8 flags (bit 0: stored uncompressed),
//                              u8 0, u16 0, u32 raw length, u32 stored length, f64 base
//     then the C columns' stored bytes in the same order, each starting on an 8-byte boundary (zero padding):
//     either the transformed bytes as they are (flag bit 0 or codec none) or u32 LE raw length + LZ4 block.

import type { RecordBatch } from "../record/batch.js";
import { ARRAY_BYTES, COLUMN } from "../record/schema.js";
import { HalfSums, TWO53 } from "../record/u64.js";
import type { PlanScratch } from "./codec.js";
import { encodeColumn, encodeSparse6 } from "./codec.js";
import { ColumnArena, ENCODE_SLACK, PLAN, nativeEncoder } from "./native-encode.js";
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  COLUMN_ENTRY_BYTES,
  EXTRA_COLUMN,
  EXTRA_END_COLUMN,
  TRANSFORM,
  WRITE_DIRECTORY,
  crcOf,
  pad8,
  type FileStats,
} from "./format.js";
import type { ZoneBuilder } from "./zone-map.js";
import { type RangeEntry } from "./zone-map.js";

export const COLUMN_FLAG_UNCOMPRESSED = 1;

export interface EncodedColumn {
  id: number;
  transform: number;
  width: number;
  base: number;
  /** transformed bytes (before compression) */
  raw: Uint8Array;
  /** stored bytes: LZ4 block, or `raw` itself when uncompressed */
  stored: Uint8Array;
  flags: number;
}

export interface EncodedBlock {
  rows: number;
  zone: Uint8Array;
  columns: EncodedColumn[];
  msecFirst: number;
  msecLast: number;
  /** physical columns found all zero over the block's rows (left out of the block) */
  zero: ReadonlySet<string>;
}

/** name → id in WRITE_DIRECTORY, for the addr `<name>` u32 columns. */
const ADDR_IDS: ReadonlyMap<string, number> = new Map(
  WRITE_DIRECTORY.map((c, i) => [c.name, i] as const).filter(
    ([name]) => (COLUMN as Record<string, { type: string } | undefined>)[name]?.type === "addr",
  ),
);

const V6_BITS: ReadonlyMap<string, number> = new Map(
  WRITE_DIRECTORY.filter((c) => c.width === 4).map((c) => {
    const def = (COLUMN as Record<string, { v6bit?: number } | undefined>)[c.name.slice(0, -1)];
    return [c.name, 1 << (def?.v6bit ?? 0)] as const;
  }),
);

/**
 * Transforms the batch's columns (copying: the caller may reset the batch as soon as this returns) and builds the
 * zone section. Columns that are all zero or listed in `batch.absent` are left out. `sets: false` leaves the
 * address sets and Bloom filters out of the zone section (ZoneBuilder.encode). With the native encoders the
 * columns' bytes are views of an arena in `scratch`; `reuse` lets this block overwrite the previous block's arena
 * (the synchronous writer: that block is assembled already), else the block gets its own.
 */
export function encodeColumns(
  batch: RecordBatch,
  zones: ZoneBuilder,
  scratch: PlanScratch,
  sets = true,
  reuse = false,
): EncodedBlock {
  const n = batch.length;
  const cols = batch.cols as unknown as Record<string, Uint8Array | Uint16Array | Uint32Array | Float64Array>;
  const absent = batch.absent as ReadonlySet<string>;
  const zero8 = new Uint8Array(n);
  const v6Flags = absent.has("v6Flags") ? zero8 : batch.cols.v6Flags;
  const columns: EncodedColumn[] = [];
  const ranges: RangeEntry[] = [];
  const zero = new Set<string>();
  let msecFirst = 0;
  let msecLast = 0;
  /** OR of every row's v6Flags (computed at the first addr column) */
  let v6Any = -1;
  const native = nativeEncoder();
  let arena: ColumnArena | undefined;
  if (native !== null) {
    // a block in flight (async path) keeps its arena: a fresh one of the size the last block needed
    arena = scratch.arena;
    if (arena === undefined || !reuse) arena = scratch.arena = new ColumnArena(arena?.bytes.length ?? n * 64 + 4096);
    arena.at = 0;
  }
  const plan64 = scratch.nativePlan;
  for (let id = 0; id < WRITE_DIRECTORY.length; id++) {
    const dir = WRITE_DIRECTORY[id]!;
    if (dir.name === EXTRA_COLUMN) {
      if (batch.extraLength > 0) {
        const raw = batch.extra.slice(0, batch.extraLength);
        columns.push({ id, transform: TRANSFORM.raw, width: 1, base: 0, raw, stored: raw, flags: 0 });
        ranges.push({ id, noRange: true, min: 0, max: 0 });
      }
      continue;
    }
    const arr = dir.name === EXTRA_END_COLUMN ? (batch.extraLength > 0 ? batch.extraEnd : undefined) : cols[dir.name];
    if (arr === undefined || absent.has(dir.name)) continue;
    if (native !== null && arena !== undefined) {
      if (dir.width === 4) {
        arena.reserve(n * 16);
        const len = native.sparse6(arr as Uint32Array, v6Flags, n, V6_BITS.get(dir.name) ?? 0, arena.bytes, arena.at);
        if (len === -2) zero.add(dir.name);
        if (len <= 0) continue; // all zero, or no IPv6 row (then not listed as zero, as below)
        const raw = arena.take(len);
        columns.push({ id, transform: TRANSFORM.sparse6, width: 16, base: 0, raw, stored: raw, flags: 0 });
        ranges.push({ id, noRange: true, min: 0, max: 0 });
        continue;
      }
      arena.reserve(n * ARRAY_BYTES[dir.array] + ENCODE_SLACK);
      const len = native.encode(arr, n, arena.bytes, arena.at, plan64);
      if (plan64[PLAN.zeroBytes] !== 0) {
        zero.add(dir.name);
        continue;
      }
      if (plan64[PLAN.allZero] !== 0) continue;
      const raw = arena.take(len);
      const ranged = plan64[PLAN.ranged] !== 0;
      const min = plan64[PLAN.min]!;
      const max = plan64[PLAN.max]!;
      columns.push({
        id,
        transform: plan64[PLAN.transform]!,
        width: plan64[PLAN.width]!,
        base: plan64[PLAN.base]!,
        raw,
        stored: raw,
        flags: 0,
      });
      if (dir.name === "msecFirst") msecFirst = ranged ? min : 0;
      if (dir.name === "msecLast") msecLast = ranged ? max : 0;
      if (v6Any === -1 && ADDR_IDS.has(dir.name)) v6Any = orOf(v6Flags, n);
      ranges.push(rangeOf(id, dir.name, v6Any, ranged, min, max));
      continue;
    }
    // fast path: most schema columns are all zero in a block; a word scan skips them without any analysis
    if (isAllZero(arr, n * (dir.width === 4 ? 4 : 1))) {
      zero.add(dir.name);
      continue;
    }
    if (dir.width === 4) {
      const bit = V6_BITS.get(dir.name) ?? 0;
      const raw = encodeSparse6(arr as Uint32Array, v6Flags, n, bit);
      if (raw.length === 0) continue; // no IPv6 row: the column is all zero
      columns.push({ id, transform: TRANSFORM.sparse6, width: 16, base: 0, raw, stored: raw, flags: 0 });
      ranges.push({ id, noRange: true, min: 0, max: 0 });
      continue;
    }
    const bytes = ARRAY_BYTES[dir.array];
    const coded = encodeColumn(arr, n, scratch);
    const plan = scratch.plan;
    if (plan.allZero) continue;
    if (dir.name === "msecFirst") msecFirst = plan.ranged ? plan.min : 0;
    if (dir.name === "msecLast") msecLast = plan.ranged ? plan.max : 0;
    const raw = coded ?? new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + n * bytes));
    columns.push({ id, transform: plan.transform, width: plan.width, base: plan.base, raw, stored: raw, flags: 0 });
    if (v6Any === -1 && ADDR_IDS.has(dir.name)) v6Any = orOf(v6Flags, n);
    ranges.push(rangeOf(id, dir.name, v6Any, plan.ranged, plan.min, plan.max));
  }
  const zone = zones.encode(n, cols, v6Flags, ranges, ADDR_IDS, zero, sets);
  return { rows: n, zone, columns, msecFirst, msecLast, zero };
}

/** The zone map's range entry of a width-1 column from its encoder's plan. */
function rangeOf(id: number, name: string, v6Any: number, ranged: boolean, min: number, max: number): RangeEntry {
  if (!ADDR_IDS.has(name)) return { id, noRange: !ranged, min, max };
  // addr u32 columns: the range is over the IPv4 rows only
  const bit = 1 << ((COLUMN as Record<string, { v6bit?: number } | undefined>)[name]?.v6bit ?? 0);
  // no IPv6 row for this column: its range is the encoder's (n > 0 rows, all IPv4; u32 values always ranged)
  if ((v6Any & bit) === 0) return { id, noRange: !ranged, min, max };
  // the range over the IPv4 rows comes from the zone builder's pass over the column (it has IPv6 rows)
  return { id, noRange: true, min: 0, max: 0, v4Scan: true };
}

/** OR of the first n flag bytes. */
function orOf(flags: Uint8Array, n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x |= flags[i]!;
  return x;
}

let zeros = Buffer.alloc(0);

/**
 * True when the first `len` elements of a column are all zero: memcmp against a zero buffer (native, faster than a
 * JS word loop over the megabytes of all-zero columns a typical block has).
 */
function isAllZero(a: Uint8Array | Uint16Array | Uint32Array | Float64Array, len: number): boolean {
  const bytes = len * a.BYTES_PER_ELEMENT;
  if (bytes === 0) return true;
  if (zeros.length < bytes) zeros = Buffer.alloc(Math.max(bytes, 2 * zeros.length));
  return Buffer.from(a.buffer, a.byteOffset, bytes).equals(zeros.subarray(0, bytes));
}

/** Lays out header + zone + column table + column data and fills in both CRCs. */
export function assembleBlock(block: EncodedBlock, number: number): Uint8Array {
  const zoneLength = pad8(block.zone.length);
  const tableLength = 8 + block.columns.length * COLUMN_ENTRY_BYTES;
  let dataLength = pad8(tableLength);
  for (const c of block.columns) dataLength += pad8(c.stored.length);
  const total = BLOCK_HEADER_BYTES + zoneLength + dataLength;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, BLOCK_MAGIC, true);
  v.setUint32(12, block.rows, true);
  v.setUint32(16, 0, true);
  v.setUint32(20, zoneLength, true);
  v.setUint32(24, dataLength, true);
  v.setUint32(28, number, true);
  out.set(block.zone, BLOCK_HEADER_BYTES);
  const d = BLOCK_HEADER_BYTES + zoneLength;
  v.setUint32(d, block.columns.length, true);
  let e = d + 8;
  let p = d + pad8(tableLength);
  for (const c of block.columns) {
    v.setUint16(e, c.id, true);
    v.setUint8(e + 2, c.transform);
    v.setUint8(e + 3, c.width);
    v.setUint8(e + 4, c.flags);
    v.setUint32(e + 8, c.raw.length, true);
    v.setUint32(e + 12, c.stored.length, true);
    v.setFloat64(e + 16, c.base, true);
    e += COLUMN_ENTRY_BYTES;
    out.set(c.stored, p);
    p += pad8(c.stored.length);
  }
  // dataCrc first: the header CRC covers it (bytes 8..11)
  v.setUint32(8, crcOf(out, d, total), true);
  v.setUint32(4, crcOf(out, 8, BLOCK_HEADER_BYTES + zoneLength), true);
  return out;
}

/**
 * Adds the batch's rows to the statistics record (flows, packets, bytes per protocol class; first/last). The sums
 * run in locals, one per class, added row by row in row order as before (so even fractional counters sum to the
 * same bits); the record's arrays are read once and written once per block. While the record's sums stay below
 * 2^53 they are exact (no value then has a fix); otherwise the block is added again exactly, from the values and
 * their fix columns, to the record's sums and fix terms (exactBlockStats, record/u64.ts).
 */
export function accumulateStats(stats: FileStats, batch: RecordBatch): void {
  const n = batch.length;
  const c = batch.cols;
  // absent columns are all-zero arrays by contract, so no special case is needed
  const proto = c.proto;
  const flows = c.flows;
  const pk = c.inPackets;
  const by = c.inBytes;
  const first = c.msecFirst;
  const last = c.msecLast;
  const op = c.outPackets;
  const ob = c.outBytes;
  let fFirst = stats.msecFirst;
  let fLast = stats.msecLast;
  let outP = 0;
  let outB = 0;
  let f0 = stats.flows[0];
  let f1 = stats.flows[1];
  let f2 = stats.flows[2];
  let f3 = stats.flows[3];
  let p0 = stats.packets[0];
  let p1 = stats.packets[1];
  let p2 = stats.packets[2];
  let p3 = stats.packets[3];
  let b0 = stats.bytes[0];
  let b1 = stats.bytes[1];
  let b2 = stats.bytes[2];
  let b3 = stats.bytes[3];
  for (let i = 0; i < n; i++) {
    const p = proto[i]!;
    const f = flows[i]! > 0 ? flows[i]! : 1;
    // protoClass(): 6 tcp, 17 udp, 1 and 58 icmp, the rest other
    if (p === 6) {
      f0 += f;
      p0 += pk[i]!;
      b0 += by[i]!;
    } else if (p === 17) {
      f1 += f;
      p1 += pk[i]!;
      b1 += by[i]!;
    } else if (p === 1 || p === 58) {
      f2 += f;
      p2 += pk[i]!;
      b2 += by[i]!;
    } else {
      f3 += f;
      p3 += pk[i]!;
      b3 += by[i]!;
    }
    outP += op[i]!;
    outB += ob[i]!;
    const t0 = first[i]!;
    const t1 = last[i]!;
    if (t0 > 0 && (fFirst === 0 || t0 < fFirst)) fFirst = t0;
    if (t1 > fLast) fLast = t1;
  }
  stats.rows += n;
  stats.msecFirst = fFirst;
  stats.msecLast = fLast;
  const outP1 = stats.outPackets + outP;
  const outB1 = stats.outBytes + outB;
  // one comparison for all: counters are never negative, and NaN fails it too
  if (f0 + f1 + f2 + f3 + p0 + p1 + p2 + p3 + b0 + b1 + b2 + b3 + outP1 + outB1 < TWO53) {
    stats.flows[0] = f0;
    stats.flows[1] = f1;
    stats.flows[2] = f2;
    stats.flows[3] = f3;
    stats.packets[0] = p0;
    stats.packets[1] = p1;
    stats.packets[2] = p2;
    stats.packets[3] = p3;
    stats.bytes[0] = b0;
    stats.bytes[1] = b1;
    stats.bytes[2] = b2;
    stats.bytes[3] = b3;
    stats.outPackets = outP1;
    stats.outBytes = outB1;
  } else exactBlockStats(stats, batch); // rare: a value or a sum reached 2^53
}

/** The block's counter sums, exactly (values ≥ 2^53 with their fix columns; sums up to and past 2^64). */
function exactBlockStats(stats: FileStats, batch: RecordBatch): void {
  const c = batch.cols;
  const half = (): HalfSums[] => [new HalfSums(), new HalfSums(), new HalfSums(), new HalfSums()];
  const fl = half();
  const pk = half();
  const by = half();
  const op = new HalfSums();
  const ob = new HalfSums();
  for (let i = 0; i < batch.length; i++) {
    const p = c.proto[i]!;
    const k = p === 6 ? 0 : p === 17 ? 1 : p === 1 || p === 58 ? 2 : 3;
    if (c.flows[i]! > 0) fl[k]!.add(c.flows[i]!, c.flowsFix[i]! | 0);
    else fl[k]!.add(1, 0);
    pk[k]!.add(c.inPackets[i]!, c.inPacketsFix[i]! | 0);
    by[k]!.add(c.inBytes[i]!, c.inBytesFix[i]! | 0);
    op.add(c.outPackets[i]!, c.outPacketsFix[i]! | 0);
    ob.add(c.outBytes[i]!, c.outBytesFix[i]! | 0);
  }
  const x = stats.fix;
  for (let k = 0; k < 4; k++) {
    fl[k]!.into(stats.flows, x.flows, k);
    pk[k]!.into(stats.packets, x.packets, k);
    by[k]!.into(stats.bytes, x.bytes, k);
  }
  op.into(stats, x, "outPackets");
  ob.into(stats, x, "outBytes");
}
