// SPDX-License-Identifier: BSD-3-Clause
// FlowFileSource: what tsdump needs from a flow file, whatever wrote it. FlowFileReader (tsflow files) and
// NfdumpFileReader (nfdump nffile V2) both satisfy it structurally; openAnyFlowFile() returns one of them.

import type { RecordBatch } from "../../record/batch.js";
import type { ZoneMap } from "../../record/zone.js";
import type { StoreError } from "../errors.js";
import type { BlockInfo, ExporterStats, FileStats } from "../format.js";

export interface FlowSourceHeader {
  /** format (tsflow) or layout (nffile: 2) version */
  readonly version: number;
  /** block codec name: none, lz4 (both); lzo, bz2, zstd (nffile) */
  readonly codec: string;
  /** program that wrote the file */
  readonly creator: string;
  /** ms since the epoch when the file was created */
  readonly created: number;
  readonly ident: string;
}

/** A sampler an exporter announced (nfdump sampler record; id < 0: -1 generic, -2 static default, -3 overwrite). */
export interface SamplerInfo {
  readonly id: number;
  readonly algorithm: number;
  readonly packetInterval: number;
  readonly spaceInterval: number;
}

/** One exporter as `-E` lists it: its info and counters, and its samplers. */
export interface ExporterListing {
  readonly exporter: ExporterStats;
  readonly samplers: readonly SamplerInfo[];
}

export interface FlowSourceOptions {
  /** called for every damaged header, block or appendix (the error is also kept in `errors`) */
  onError?: (err: StoreError) => void;
}

export interface FlowFileSource {
  readonly path: string;
  /** false when the file's index/statistics were missing (a killed collector's file): blocks found by scanning */
  readonly hasFooter: boolean;
  /** every damage found so far */
  readonly errors: readonly StoreError[];
  readonly blockCount: number;
  header(): FlowSourceHeader;
  stats(): FileStats;
  blockInfo(i: number): BlockInfo;
  /**
   * zone map of block i; undefined when the block is damaged. `transient`: it may be a view of the reader's
   * buffer, valid until the next read of this reader (a verdict taken at once: no copy of the zone section)
   */
  zoneMap(i: number, transient?: boolean): ZoneMap | undefined;
  /** block i as a batch valid until the next call; undefined (after reporting) when damaged */
  readBlock(i: number, columns?: ReadonlySet<string>): RecordBatch | undefined;
  /** readable blocks in file order; with a zone-map predicate, blocks that cannot match are skipped */
  batches(pred?: (z: ZoneMap) => boolean): Generator<RecordBatch, void, undefined>;
  /**
   * after readBlock(i, columns): decode every column of the listed rows only (late materialisation when a
   * filter passed few rows; nfdump files, whose rows are decoded one by one)
   */
  readRows?(i: number, rows: Uint32Array, n: number): RecordBatch | undefined;
  /** the bytes block i adds to the summary's "Bytes read" (default: blockInfo(i).length) */
  bytesRead?(i: number): number;
  /** every exporter record of the file, walked like `nfdump -E` (nfdump files; tsflow files: stats().exporters) */
  listExporters?(): ExporterListing[];
  close(): void;
}
