// SPDX-License-Identifier: BSD-3-Clause
// The -t/-T time window, as nfdump 1.7.1 applies it: a flow is kept unless it started before the window or
// ended after it (`msecFirst < start || msecLast > end`), so both ends are inclusive. Files are skipped by
// their statistics record's [first, last] (nfdump's own file check); blocks by their zone maps, which hold the
// minimum and maximum of both columns: no row of a block can pass when its latest start is before the window
// or its earliest end after it (exact also for flows whose last seen precedes their first seen).

import type { RecordBatch } from "../record/batch.js";
import type { ZoneMap } from "../record/zone.js";

/** A time window in ms since the epoch, both ends inclusive. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** Whether a file whose statistics record spans [first, last] over `rows` rows may hold flows of the window. */
export function fileInWindow(s: { rows: number; msecFirst: number; msecLast: number }, w: TimeWindow): boolean {
  return !(s.rows > 0 && (s.msecLast < w.start || s.msecFirst > w.end));
}

/** Whether a block with zone map `z` may hold a row of the window (false: no row can pass). */
export function blockInWindow(z: ZoneMap, w: TimeWindow): boolean {
  const firstMax = z.max("msecFirst");
  const lastMin = z.min("msecLast");
  return !((firstMax !== undefined && firstMax < w.start) || (lastMin !== undefined && lastMin > w.end));
}

/** Keeps the selected rows `sel[0..k)` inside the window; returns how many are left (compacted in place). */
export function applyWindow(batch: RecordBatch, sel: Uint32Array, k: number, w: TimeWindow): number {
  const first = batch.cols.msecFirst;
  const last = batch.cols.msecLast;
  const start = w.start;
  const end = w.end;
  let m = 0;
  for (let j = 0; j < k; j++) {
    const i = sel[j]!;
    if (first[i]! >= start && last[i]! <= end) sel[m++] = i;
  }
  return m;
}
