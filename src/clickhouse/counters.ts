// SPDX-License-Identifier: BSD-3-Clause
// The ClickHouse sink's counters: kept by the sink's thread (sink.ts) and mirrored by the main thread's handle
// (stream.ts), which must not load the sink's code.

/** What the sink has done with the rows it was given. */
export interface SinkCounters {
  /** rows inserted */
  sent: number;
  /** rows written to the spool */
  spooled: number;
  /**
   * rows given up: refused by the server, beyond the spool or back-fill log's bound without a reference, or in a
   * block gone from the flow files
   */
  failed: number;
  /** rows of batches found stored already (sent again after a lost answer or a restart) */
  duplicates: number;
  /** batches and bytes in the spool now */
  spoolBatches: number;
  spoolBytes: number;
  /** rows the feed could not take, referenced for back-fill from the flow files */
  referenced: number;
  /** rows back-filled from the flow files (inserted) */
  backfilled: number;
  /** block references waiting to be back-filled */
  backfillPending: number;
}

export function emptyCounters(): SinkCounters {
  return {
    sent: 0,
    spooled: 0,
    failed: 0,
    duplicates: 0,
    spoolBatches: 0,
    spoolBytes: 0,
    referenced: 0,
    backfilled: 0,
    backfillPending: 0,
  };
}
