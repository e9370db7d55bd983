// SPDX-License-Identifier: BSD-3-Clause
// The record model: schema table, columnar RecordBatch, address helpers.
export * from "./schema.js";
export * from "./batch.js";
export * from "./ip.js";
export * from "./zone.js";
