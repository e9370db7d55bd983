// SPDX-License-Identifier: BSD-3-Clause
// recover(): makes a flow file without a footer (a killed collector's `.current` file) whole again by writing the
// footer and trailer a writer would have written on close.

import * as fs from "node:fs";
import { accumulateStats } from "./block.js";
import type { StoreError } from "./errors.js";
import { emptyStats, encodeFooter, encodeTrailer, finishTotals, type BlockInfo } from "./format.js";
import { writeAllSync } from "./io.js";
import { FlowFileReader, type ReaderOptions } from "./reader.js";

/** Outcome of recover(). */
export interface RecoverResult {
  path: string;
  /** false when the file already had a valid footer (nothing was changed) */
  repaired: boolean;
  blocks: number;
  rows: number;
  /** bytes cut from the end (a partial block) */
  truncatedBytes: number;
  errors: StoreError[];
}

/**
 * Rebuilds footer + trailer of a file without one (a `.current` file of a killed collector): keeps every block
 * whose CRCs hold, cuts a partial block off the end, recomputes the statistics record (exporter counters are
 * lost with the process) and fsyncs. Damaged blocks in the middle stay in the file but leave the index.
 * @throws StoreError when the header itself is unreadable.
 */
export function recover(file: string, opts: ReaderOptions = {}): RecoverResult {
  const reader = FlowFileReader.open(file, opts);
  try {
    if (reader.hasFooter && reader.errors.length === 0) {
      return {
        path: file,
        repaired: false,
        blocks: reader.blockCount,
        rows: reader.stats().rows,
        truncatedBytes: 0,
        errors: [],
      };
    }
    const stats = emptyStats();
    const good: BlockInfo[] = [];
    for (let i = 0; i < reader.blockCount; i++) {
      const b = reader.readBlock(i);
      if (b === undefined) continue;
      accumulateStats(stats, b);
      good.push(reader.blockInfo(i));
    }
    finishTotals(stats);
    const end = reader.dataEnd;
    const size = fs.statSync(file).size;
    const footer = encodeFooter(stats, good);
    const trailer = encodeTrailer(end, footer.length);
    const fd = fs.openSync(file, "r+");
    try {
      fs.ftruncateSync(fd, end);
      const tail = new Uint8Array(footer.length + trailer.length);
      tail.set(footer);
      tail.set(trailer, footer.length);
      writeAllSync(fd, tail, end);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return {
      path: file,
      repaired: true,
      blocks: good.length,
      rows: stats.rows,
      truncatedBytes: Math.max(0, size - end),
      errors: reader.errors,
    };
  } finally {
    reader.close();
  }
}
