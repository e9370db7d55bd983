// SPDX-License-Identifier: BSD-3-Clause
// Statistics and aggregation engine: -s (StatAccumulator), -A/-a (Aggregator), -O (RecordSorter).
export * from "./errors.js";
export * from "./orders.js";
export * from "./elements.js";
export * from "./key-table.js";
export * from "./heap.js";
export * from "./topn.js";
export * from "./aggregate.js";
export * from "./sort.js";
export * from "./row-store.js";
export * from "./query.js";
