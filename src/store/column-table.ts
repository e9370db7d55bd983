// SPDX-License-Identifier: BSD-3-Clause
// The column table of a flow-file block: where each stored column's bytes are, checked against the file's column
// directory and the block's row count before anything is decompressed.

import { ARRAY_BYTES, PHYSICAL_COLUMNS } from "../record/schema.js";
import { MAX_DICT } from "./codec.js";
import {
  COLUMN_ENTRY_BYTES,
  EXTRA_COLUMN,
  EXTRA_END_COLUMN,
  TRANSFORM,
  pad8,
  type BlockHeader,
  type ColumnDirEntry,
} from "./format.js";

/** Where a file column goes in a RecordBatch when it is not a physical column (index in PHYSICAL_COLUMNS). */
export const COLUMN_TARGET = { skip: -1, extraEnd: -2, extra: -3 } as const;

/** One stored column of a block, located and checked (see columnTable). */
export interface ColumnEntry {
  id: number;
  /** index in PHYSICAL_COLUMNS, or a COLUMN_TARGET value */
  tgt: number;
  transform: number;
  width: number;
  flags: number;
  rawLength: number;
  storedLength: number;
  base: number;
  /** offset of the stored bytes in the block buffer */
  at: number;
  /** index of the entry in the block's column table */
  slot: number;
  name: string;
}

/** File column id → index in PHYSICAL_COLUMNS, or a COLUMN_TARGET value (columns of another schema: skip). */
export function columnTargets(columns: readonly ColumnDirEntry[]): Int32Array {
  const target = new Int32Array(columns.length);
  const physical = new Map(PHYSICAL_COLUMNS.map((pc, i) => [pc.name, i] as const));
  for (let id = 0; id < columns.length; id++) {
    const col = columns[id]!;
    const k = physical.get(col.name);
    if (col.name === EXTRA_END_COLUMN && col.width === 1) target[id] = COLUMN_TARGET.extraEnd;
    else if (col.name === EXTRA_COLUMN && col.width === 0) target[id] = COLUMN_TARGET.extra;
    else if (k !== undefined && PHYSICAL_COLUMNS[k]!.width === col.width) target[id] = k;
    else target[id] = COLUMN_TARGET.skip; // a column of a newer (or older) schema: skipped
  }
  return target;
}

/**
 * Parses and checks the column table of a block (no decompression). Returns the entries of the columns this
 * schema knows, or undefined after reporting a damaged table (BAD_LENGTH at its file offset through `bad`).
 * `d`: where the data part starts in `buf`; `target`: see columnTargets.
 */
export function columnTable(
  buf: Uint8Array,
  d: number,
  h: BlockHeader,
  columns: readonly ColumnDirEntry[],
  target: Int32Array,
  bad: (at: number, msg: string) => void,
): ColumnEntry[] | undefined {
  const n = h.rows;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = d + h.dataLength;
  if (h.dataLength < 8) {
    bad(d, `data part of ${h.dataLength} bytes is too short`);
    return;
  }
  const count = v.getUint32(d, true);
  const tableEnd = d + 8 + count * COLUMN_ENTRY_BYTES;
  if (count > columns.length || tableEnd > end) {
    bad(d, `impossible stored column count ${count}`);
    return;
  }
  const out: ColumnEntry[] = [];
  let pos = pad8(tableEnd);
  for (let k = 0; k < count; k++) {
    const e = d + 8 + k * COLUMN_ENTRY_BYTES;
    const id = v.getUint16(e, true);
    const transform = v.getUint8(e + 2);
    const width = v.getUint8(e + 3);
    const flags = v.getUint8(e + 4);
    const rawLength = v.getUint32(e + 8, true);
    const storedLength = v.getUint32(e + 12, true);
    const base = v.getFloat64(e + 16, true);
    const at = pos;
    pos += pad8(storedLength);
    if (pos > end) {
      bad(e, `column entry ${k}: ${storedLength} bytes at ${at} run past the block end`);
      return;
    }
    if (id >= columns.length) {
      bad(e, `column entry ${k}: unknown column id ${id}`);
      return;
    }
    const tgt = target[id]!;
    if (tgt === COLUMN_TARGET.skip) continue; // a column this schema does not know: never decompressed
    const dir = columns[id]!;
    const elem = ARRAY_BYTES[dir.array];
    // the raw length each transform implies
    let expect: number;
    if (transform === TRANSFORM.raw) expect = dir.width === 0 ? rawLength : n * dir.width * elem;
    else if (transform === TRANSFORM.for || transform === TRANSFORM.delta) {
      if (dir.width !== 1 || (width !== 1 && width !== 2 && width !== 4)) {
        bad(e, `column ${dir.name}: bad width ${width} for transform ${transform}`);
        return;
      }
      expect = n * width;
    } else if (transform === TRANSFORM.dict) {
      if (
        dir.width !== 1 ||
        (width !== 0 && width !== 1 && width !== 2 && width !== 4) ||
        !(base >= 1 && base <= MAX_DICT && Number.isInteger(base))
      ) {
        bad(e, `column ${dir.name}: bad dictionary of ${base} values, ${width}-bit indexes`);
        return;
      }
      expect = base * 8 + ((n * width + 7) >>> 3);
    } else if (transform === TRANSFORM.sparse6) {
      if (dir.width !== 4 || rawLength % 16 !== 0 || rawLength > n * 16) {
        bad(e, `column ${dir.name}: bad sparse length ${rawLength}`);
        return;
      }
      expect = rawLength;
    } else {
      bad(e, `column ${dir.name}: unknown transform ${transform}`);
      return;
    }
    if (rawLength !== expect) {
      bad(e, `column ${dir.name}: raw length ${rawLength}, expected ${expect} for ${n} rows`);
      return;
    }
    out.push({ id, tgt, transform, width, flags, rawLength, storedLength, base, at, slot: k, name: dir.name });
  }
  return out;
}
