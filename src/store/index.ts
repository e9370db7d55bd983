// SPDX-License-Identifier: BSD-3-Clause
// The flow-file store: format, writer, reader, layout and errors (docs/file-format.md).
export * from "./errors.js";
export {
  CODEC,
  FORMAT_VERSION,
  type BlockInfo,
  type ClassCounters,
  type CodecName,
  type ColumnDirEntry,
  type ExporterStats,
  type FileHeader,
  type FileStats,
  type SumFixes,
  exactSums,
  totalsText,
} from "./format.js";
export { FlowFileWriter, renameNoClobber, type CloseOptions, type WriterOptions } from "./writer.js";
export { FlowFileReader, type ColumnSelection, type ReaderOptions } from "./reader.js";
export { recover, type RecoverResult } from "./recover.js";
export * from "./layout.js";
export { BlockZoneMap, DEFAULT_V4_SET_LIMIT, DEFAULT_V6_SET_LIMIT } from "./zone-map.js";
