// SPDX-License-Identifier: BSD-3-Clause
// RowBinary encoding of a RecordBatch for `INSERT INTO flows (cols…) FORMAT RowBinary`: row after row, each
// value little-endian at its fixed width (UInt64 as two u32 halves, FixedString(16) addresses as 16 bytes,
// IPv4 mapped to ::ffff:a.b.c.d). Only the columns that hold a value in the batch are inserted (the others
// take their default, 0), so a v5 batch carries a dozen columns, not seventy.
//
// One encoder function is generated per column set (cached): a flat loop over the rows with one statement per
// column; only schema column names and numeric literals are spliced into its source.

import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, type PhysicalName } from "../record/schema.js";
import { EXACT_COUNTERS } from "../record/u64.js";
import { BATCH_COLUMN, CH_COLUMNS, type ChColumn } from "./schema.js";

type EncodeFn = (
  c: unknown,
  rows: Uint32Array | null,
  n: number,
  dv: DataView,
  u8: Uint8Array,
  off: number,
  idHi: number,
  idLo: number,
) => number;

const cache = new Map<string, EncodeFn>();

function compile(columns: readonly ChColumn[]): EncodeFn {
  const pre: string[] = [];
  const body: string[] = [];
  for (const col of columns) {
    const n = col.name;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(n)) throw new Error(`rowbinary: bad column name ${n}`);
    // column arrays are read once into locals (lazily decoded batches have getters)
    if (col.type !== "batch") pre.push(`const c_${n} = c.${n};`);
    switch (col.type) {
      case "u8":
        body.push(`u8[off] = c_${n}[i]; off += 1;`);
        break;
      case "u16":
        body.push(`dv.setUint16(off, c_${n}[i], true); off += 2;`);
        break;
      case "u32":
        body.push(`dv.setUint32(off, c_${n}[i], true); off += 4;`);
        break;
      case "f64":
      case "mac":
        // ms times, MACs and counters are non-negative integers: split into two u32 halves; a counter from 2^53
        // up is its double plus the signed fix of its companion column (record/u64.ts), carried into `hi`
        if ((EXACT_COUNTERS as readonly string[]).includes(n)) {
          pre.push(`const c_${n}Fix = c.${n}Fix ?? null;`);
          body.push(
            `v = c_${n}[i]; if (!(v > 0)) v = 0; hi = Math.floor(v / 4294967296); lo = v - hi * 4294967296;` +
              ` if (c_${n}Fix !== null) { lo += c_${n}Fix[i] | 0;` +
              ` if (lo < 0) { lo += 4294967296; hi -= 1; } else if (lo >= 4294967296) { lo -= 4294967296; hi += 1; } }` +
              ` dv.setUint32(off, lo, true); dv.setUint32(off + 4, hi >>> 0, true); off += 8;`,
          );
        } else {
          body.push(
            `v = c_${n}[i]; if (!(v > 0)) v = 0; hi = Math.floor(v / 4294967296);` +
              ` dv.setUint32(off, v - hi * 4294967296, true); dv.setUint32(off + 4, hi >>> 0, true); off += 8;`,
          );
        }
        break;
      case "addr":
        pre.push(`const c_${n}6 = c.${n}6;`);
        // IPv4 as ::ffff:a.b.c.d; an absent address (IPv4 0) as 16 zero bytes, like a column not inserted
        body.push(
          `if ((f6[i] & ${1 << col.v6bit}) !== 0) { j = i * 4;` +
            ` dv.setUint32(off, c_${n}6[j], false); dv.setUint32(off + 4, c_${n}6[j + 1], false);` +
            ` dv.setUint32(off + 8, c_${n}6[j + 2], false); dv.setUint32(off + 12, c_${n}6[j + 3], false); }` +
            ` else { v = c_${n}[i]; dv.setUint32(off, 0); dv.setUint32(off + 4, 0);` +
            ` dv.setUint32(off + 8, v === 0 ? 0 : 0xffff, false); dv.setUint32(off + 12, v, false); } off += 16;`,
        );
        break;
      case "batch":
        body.push(`dv.setUint32(off, idLo, true); dv.setUint32(off + 4, idHi, true); off += 8;`);
        break;
    }
  }
  if (columns.some((c) => c.type === "addr")) pre.push(`const f6 = c.v6Flags;`);
  const src =
    `${pre.join("\n")}\nlet v = 0, hi = 0, lo = 0, j = 0;\n` +
    `for (let k = 0; k < n; k++) {\n  const i = rows === null ? k : rows[k];\n  ${body.join("\n  ")}\n}\nreturn off;`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from schema names only
  return new Function("c", "rows", "n", "dv", "u8", "off", "idHi", "idLo", src) as EncodeFn;
}

/** Bytes of one row of these columns. */
export function rowWidth(columns: readonly ChColumn[]): number {
  let w = 0;
  for (const c of columns) w += c.width;
  return w;
}

/**
 * The columns worth inserting for these batches: those with a non-zero value in some row (v6 halves
 * included), plus `batch`. msecFirst is always kept (the partition and order key derive from it).
 */
export function usedColumns(batches: readonly RecordBatch[]): ChColumn[] {
  const used = new Set<string>(["msecFirst"]);
  for (const b of batches) {
    for (const pc of PHYSICAL_COLUMNS) {
      const owner = pc.column;
      if (used.has(owner) || b.absent.has(pc.name as PhysicalName)) continue;
      const a = b.cols[pc.name as PhysicalName] as ArrayLike<number>;
      const end = b.length * pc.width;
      for (let i = 0; i < end; i++) {
        if (a[i] !== 0) {
          used.add(owner);
          break;
        }
      }
    }
  }
  return [...CH_COLUMNS.filter((c) => used.has(c.name)), BATCH_COLUMN];
}

/** A RowBinary writer into a growing buffer. */
export class RowBinaryBuffer {
  buf: Uint8Array;
  private dv: DataView;
  length = 0;
  rows = 0;
  readonly columns: readonly ChColumn[];
  private readonly width: number;
  private readonly fn: EncodeFn;

  constructor(columns: readonly ChColumn[], initialRows = 1024) {
    this.columns = columns;
    this.width = rowWidth(columns);
    const key = columns.map((c) => c.name).join(",");
    let fn = cache.get(key);
    if (fn === undefined) {
      fn = compile(columns);
      cache.set(key, fn);
    }
    this.fn = fn;
    this.buf = new Uint8Array(this.width * initialRows);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Appends rows `rows[0..n)` of the batch (every row `0..n)` when rows is null), with this batch id. */
  append(batch: RecordBatch, rows: Uint32Array | null, n: number, idHi: number, idLo: number): void {
    const need = this.length + n * this.width;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
    }
    this.length = this.fn(batch.cols, rows, n, this.dv, this.buf, this.length, idHi, idLo);
    this.rows += n;
  }

  /** The encoded bytes so far (a view). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
