// SPDX-License-Identifier: BSD-3-Clause
// ClickHouse's Native format for tsdump --clickhouse: a chunk of rows gathered column by column into typed
// arrays, sent as one block
//
//   VarUInt columns, VarUInt rows, then per column: String name, String type, rows × width bytes (little-endian;
//   FixedString(16) addresses as their 16 network-order bytes, IPv4 as ::ffff:a.b.c.d)
//
// Column-major data is what the server keeps in memory, so it reads a Native block with one copy per column
// where RowBinary costs it a call per value; here each column is a tight typed-array loop, and the block goes
// out as one piece per column (no concatenation). Before it is sent the chunk is put in the table's sort order,
// (timeFirst, exporterAddr), so the server's sort of the part finds it in order.

import type { RecordBatch } from "../record/batch.js";
import { EXACT_COUNTERS } from "../record/u64.js";
import { CH_COLUMNS, type ChColumn } from "./schema.js";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("clickhouse Native: big-endian host");

const EXACT = new Set<string>(EXACT_COUNTERS);
const EXPORTER_BIT = 1 << CH_COLUMNS.find((c) => c.name === "exporterAddr")!.v6bit;

type Arr = Uint8Array | Uint16Array | Uint32Array;

/** VarUInt (LEB128) followed by nothing: the bytes of `n`. */
function varUInt(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** The column header: name and type as Native Strings (VarUInt length + bytes). */
function columnHeader(name: string, type: string): Uint8Array {
  const out: number[] = [];
  for (const s of [name, type]) {
    const b = Buffer.from(s);
    varUInt(b.length, out);
    for (const x of b) out.push(x);
  }
  return Uint8Array.from(out);
}

const bswap = (x: number): number =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

// one loop per element type, so each stays monomorphic
function gather8(src: Uint8Array, rows: Uint32Array, n: number, dst: Uint8Array, at: number): void {
  for (let k = 0; k < n; k++) dst[at + k] = src[rows[k]!]!;
}
function gather16(src: Uint16Array, rows: Uint32Array, n: number, dst: Uint16Array, at: number): void {
  for (let k = 0; k < n; k++) dst[at + k] = src[rows[k]!]!;
}
function gather32(src: Uint32Array, rows: Uint32Array, n: number, dst: Uint32Array, at: number): void {
  for (let k = 0; k < n; k++) dst[at + k] = src[rows[k]!]!;
}
/** Non-negative integers held in doubles (times, MACs, counters) as UInt64: two u32 halves per row. */
function gather64(src: Float64Array, rows: Uint32Array, n: number, dst: Uint32Array, at: number): void {
  for (let k = 0, o = at * 2; k < n; k++, o += 2) {
    let v = src[rows[k]!]!;
    if (!(v > 0)) v = 0;
    const hi = Math.floor(v / 4294967296);
    dst[o] = v - hi * 4294967296;
    dst[o + 1] = hi;
  }
}
/** A counter from 2^53 up: its double plus the signed fix of its companion column (record/u64.ts). */
function gather64Fix(
  src: Float64Array,
  fix: Uint32Array,
  rows: Uint32Array,
  n: number,
  dst: Uint32Array,
  at: number,
): void {
  for (let k = 0, o = at * 2; k < n; k++, o += 2) {
    const i = rows[k]!;
    let v = src[i]!;
    if (!(v > 0)) v = 0;
    let hi = Math.floor(v / 4294967296);
    let lo = v - hi * 4294967296 + (fix[i]! | 0);
    if (lo < 0) {
      lo += 4294967296;
      hi -= 1;
    } else if (lo >= 4294967296) {
      lo -= 4294967296;
      hi += 1;
    }
    dst[o] = lo;
    dst[o + 1] = hi >>> 0;
  }
}
/** An address column as FixedString(16): IPv6 words as they are, IPv4 mapped, an absent address (0) all zero. */
function gatherAddr(
  v4: Uint32Array,
  v6: Uint32Array,
  flags: Uint8Array,
  bit: number,
  rows: Uint32Array,
  n: number,
  dst: Uint32Array,
  at: number,
): void {
  const ffff = bswap(0xffff);
  for (let k = 0, o = at * 4; k < n; k++, o += 4) {
    const i = rows[k]!;
    if ((flags[i]! & bit) !== 0) {
      const j = i * 4;
      dst[o] = bswap(v6[j]!);
      dst[o + 1] = bswap(v6[j + 1]!);
      dst[o + 2] = bswap(v6[j + 2]!);
      dst[o + 3] = bswap(v6[j + 3]!);
    } else {
      const v = v4[i]!;
      dst[o] = 0;
      dst[o + 1] = 0;
      dst[o + 2] = v === 0 ? 0 : ffff;
      dst[o + 3] = bswap(v);
    }
  }
}

// a column's rows in the order `perm`: one loop per row width, so each stays monomorphic
function permute8(src: Uint8Array, perm: Uint32Array): Uint8Array {
  const d = new Uint8Array(src.length);
  for (let k = 0; k < perm.length; k++) d[k] = src[perm[k]!]!;
  return d;
}
function permute16(src: Uint16Array, perm: Uint32Array): Uint16Array {
  const d = new Uint16Array(src.length);
  for (let k = 0; k < perm.length; k++) d[k] = src[perm[k]!]!;
  return d;
}
function permute32(src: Uint32Array, perm: Uint32Array): Uint32Array {
  const d = new Uint32Array(src.length);
  for (let k = 0; k < perm.length; k++) d[k] = src[perm[k]!]!;
  return d;
}
function permute64(src: Uint32Array, perm: Uint32Array): Uint32Array {
  const d = new Uint32Array(src.length);
  for (let k = 0, o = 0; k < perm.length; k++, o += 2) {
    const s = perm[k]! * 2;
    d[o] = src[s]!;
    d[o + 1] = src[s + 1]!;
  }
  return d;
}
function permute128(src: Uint32Array, perm: Uint32Array): Uint32Array {
  const d = new Uint32Array(src.length);
  for (let k = 0, o = 0; k < perm.length; k++, o += 4) {
    const s = perm[k]! * 4;
    d[o] = src[s]!;
    d[o + 1] = src[s + 1]!;
    d[o + 2] = src[s + 2]!;
    d[o + 3] = src[s + 3]!;
  }
  return d;
}
function permute(src: Arr, perm: Uint32Array, width: number): Arr {
  switch (width) {
    case 1:
      return permute8(src as Uint8Array, perm);
    case 2:
      return permute16(src as Uint16Array, perm);
    case 4:
      return permute32(src as Uint32Array, perm);
    case 8:
      return permute64(src as Uint32Array, perm);
    default:
      return permute128(src as Uint32Array, perm);
  }
}

/**
 * The order of rows by (second of msecFirst, exporter rank): a counting sort when the key range is small (a
 * chunk spans minutes to hours of a few exporters), a comparison sort otherwise; null when already in order.
 */
export function sortOrder(msec: Float64Array, rank: Uint32Array, ranks: number, n: number): Uint32Array | null {
  if (n < 2) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    const s = Math.floor(msec[k]! / 1000);
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const key = new Float64Array(n);
  let sorted = true;
  for (let k = 0; k < n; k++) {
    key[k] = (Math.floor(msec[k]! / 1000) - lo) * ranks + rank[k]!;
    if (k > 0 && key[k]! < key[k - 1]!) sorted = false;
  }
  if (sorted) return null;
  const range = (hi - lo + 1) * ranks;
  const perm = new Uint32Array(n);
  if (range <= 1 << 22) {
    const count = new Uint32Array(range + 1);
    for (let k = 0; k < n; k++) count[key[k]! + 1]!++;
    for (let x = 1; x <= range; x++) count[x]! += count[x - 1]!;
    for (let k = 0; k < n; k++) perm[count[key[k]!]!++] = k;
  } else {
    for (let k = 0; k < n; k++) perm[k] = k;
    perm.sort((a, b) => key[a]! - key[b]! || a - b);
  }
  return perm;
}

/** The 16 bytes of an address as FixedString(16) holds it (IPv4 mapped), for ordering exporters. */
function addrBytes(v4: number, v6: readonly number[] | null): number[] {
  const words = v6 ?? [0, 0, v4 === 0 ? 0 : 0xffff, v4];
  const out: number[] = [];
  for (const w of words) out.push(w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
  return out;
}

/** One insert of tsdump --clickhouse: up to `capacity` rows of `columns` (the last one `batch`), column-major. */
export class NativeChunk {
  readonly columns: readonly ChColumn[];
  rows = 0;
  minMs = Number.MAX_SAFE_INTEGER;
  maxMs = 0;
  private readonly capacity: number;
  /** per column but `batch`: the gathered values (u64 and addresses as u32 words) */
  private readonly data: Arr[];
  private readonly msec: Float64Array;
  /** exporter of each row, as an id in order of first appearance */
  private readonly exporter: Uint32Array;
  private readonly exporterIds = new Map<number | string, number>();
  private readonly exporterBytes: number[][] = [];

  constructor(columns: readonly ChColumn[], capacity: number) {
    this.columns = columns;
    this.capacity = capacity;
    this.data = columns
      .filter((c) => c.type !== "batch")
      .map((c) => {
        switch (c.type) {
          case "u8":
            return new Uint8Array(capacity);
          case "u16":
            return new Uint16Array(capacity);
          case "u32":
            return new Uint32Array(capacity);
          case "addr":
            return new Uint32Array(capacity * 4);
          case "f64":
          case "mac":
          case "batch":
            return new Uint32Array(capacity * 2);
        }
      });
    this.msec = new Float64Array(capacity);
    this.exporter = new Uint32Array(capacity);
  }

  /** Room left. */
  get free(): number {
    return this.capacity - this.rows;
  }

  /** Appends rows `rows[0..n)` of the batch (n ≤ free). */
  add(b: RecordBatch, rows: Uint32Array, n: number): void {
    if (n > this.free) throw new RangeError("clickhouse Native: chunk full");
    const c = b.cols as unknown as Record<string, Arr | Float64Array>;
    const at = this.rows;
    let d = 0;
    for (const col of this.columns) {
      if (col.type === "batch") continue;
      const dst = this.data[d++]!;
      const src = c[col.name]!;
      switch (col.type) {
        case "u8":
          gather8(src as Uint8Array, rows, n, dst as Uint8Array, at);
          break;
        case "u16":
          gather16(src as Uint16Array, rows, n, dst as Uint16Array, at);
          break;
        case "u32":
          gather32(src as Uint32Array, rows, n, dst as Uint32Array, at);
          break;
        case "addr":
          gatherAddr(
            src as Uint32Array,
            c[`${col.name}6`] as Uint32Array,
            c["v6Flags"] as Uint8Array,
            1 << col.v6bit,
            rows,
            n,
            dst as Uint32Array,
            at,
          );
          break;
        case "f64":
        case "mac": {
          const fix = EXACT.has(col.name) ? (c[`${col.name}Fix`] as Uint32Array | undefined) : undefined;
          if (fix !== undefined) gather64Fix(src as Float64Array, fix, rows, n, dst as Uint32Array, at);
          else gather64(src as Float64Array, rows, n, dst as Uint32Array, at);
        }
      }
    }
    const first = b.cols.msecFirst;
    const ex4 = b.cols.exporterAddr;
    const ex6 = b.cols.exporterAddr6;
    const flags = b.cols.v6Flags;
    const bit = EXPORTER_BIT;
    const ids = this.exporterIds;
    let lastKey: number | string = -1;
    let lastId = 0;
    for (let k = 0; k < n; k++) {
      const i = rows[k]!;
      const t = first[i]!;
      this.msec[at + k] = t;
      if (t < this.minMs) this.minMs = t;
      if (t > this.maxMs) this.maxMs = t;
      const v6 = (flags[i]! & bit) !== 0;
      const key: number | string = v6 ? `${ex6[i * 4]}:${ex6[i * 4 + 1]}:${ex6[i * 4 + 2]}:${ex6[i * 4 + 3]}` : ex4[i]!;
      if (key !== lastKey) {
        let id = ids.get(key);
        if (id === undefined) {
          id = ids.size;
          ids.set(key, id);
          this.exporterBytes.push(
            addrBytes(ex4[i]!, v6 ? [ex6[i * 4]!, ex6[i * 4 + 1]!, ex6[i * 4 + 2]!, ex6[i * 4 + 3]!] : null),
          );
        }
        lastKey = key;
        lastId = id;
      }
      this.exporter[at + k] = lastId;
    }
    this.rows += n;
  }

  /**
   * The block's pieces in the table's order, the `batch` column left for `setId` (the id is a hash of the
   * other pieces). Call once.
   */
  seal(): { pieces: Uint8Array[]; setId: (hi: number, lo: number) => void } {
    const n = this.rows;
    // exporters ranked by their 16 bytes, as ClickHouse compares FixedString(16)
    const byBytes = this.exporterBytes.map((b, id) => ({ b, id }));
    byBytes.sort((x, y) => {
      for (let i = 0; i < 16; i++) if (x.b[i] !== y.b[i]) return x.b[i]! - y.b[i]!;
      return 0;
    });
    const rankOf = new Uint32Array(byBytes.length);
    byBytes.forEach((e, r) => (rankOf[e.id] = r));
    const rank = this.exporter.subarray(0, n);
    for (let k = 0; k < n; k++) rank[k] = rankOf[rank[k]!]!;
    const perm = sortOrder(this.msec, rank, Math.max(1, byBytes.length), n);

    const head: number[] = [];
    varUInt(this.columns.length, head);
    varUInt(n, head);
    const pieces: Uint8Array[] = [Uint8Array.from(head)];
    let d = 0;
    let batchAt = -1;
    for (const col of this.columns) {
      pieces.push(columnHeader(col.name, col.chType));
      if (col.type === "batch") {
        batchAt = pieces.length;
        pieces.push(new Uint8Array(0));
        continue;
      }
      let a = this.data[d++]!;
      if (perm !== null) a = permute(a, perm, col.width);
      pieces.push(new Uint8Array(a.buffer, a.byteOffset, n * col.width));
    }
    const setId = (hi: number, lo: number): void => {
      const ids = new Uint32Array(n * 2);
      for (let k = 0; k < n * 2; k += 2) {
        ids[k] = lo;
        ids[k + 1] = hi;
      }
      pieces[batchAt] = new Uint8Array(ids.buffer);
    };
    return { pieces, setId };
  }
}
