// SPDX-License-Identifier: BSD-3-Clause
// The collector's writer thread: encodes, compresses and writes the blocks of every open flow file, so the
// receiving thread only decodes. Messages come from writer-thread.ts (WriterThread); replies carry the
// request id.

import { parentPort, workerData } from "node:worker_threads";
import { ClickHouseFeed } from "../clickhouse/stream.js";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, newArray, type ColumnArrays } from "../record/schema.js";
import { FlowFileWriter, type ExporterStats, type FileStats, type WriterOptions } from "../store/index.js";
import { lowerThreadPriority } from "./thread-priority.js";
import { warmWriter } from "./writer-warmup.js";

export type WriterRequest =
  | {
      readonly op: "open";
      readonly req: number;
      readonly file: number;
      readonly path: string;
      readonly options: WriterOptions;
    }
  | {
      readonly op: "append";
      readonly file: number;
      readonly rows: number;
      readonly cols: readonly ArrayBufferView[];
      readonly extraEnd: Uint32Array;
      readonly extra: Uint8Array;
      /** store the block without LZ4 and without address sets and Bloom filters (the writer is behind) */
      readonly fast: boolean;
    }
  | {
      readonly op: "close";
      readonly req: number;
      readonly file: number;
      readonly finalPath: string;
      readonly exporters: readonly (Partial<ExporterStats> & { address: string })[];
      readonly idleSlotMs: number;
    }
  | { readonly op: "abort"; readonly req: number; readonly file: number }
  /** allocate `count` empty column sets of `rows` rows here (zero pages touched off the receive thread) */
  | { readonly op: "spare"; readonly count: number; readonly rows: number };

export type WriterReply =
  | { readonly op: "ok"; readonly req: number; readonly path?: string; readonly stats?: FileStats }
  | { readonly op: "error"; readonly req: number; readonly file: number; readonly message: string }
  | {
      readonly op: "written";
      readonly file: number;
      readonly rows: number;
      readonly cols: readonly ArrayBufferView[];
      readonly extraEnd: Uint32Array;
    }
  | { readonly op: "spare"; readonly cols: readonly ArrayBufferView[]; readonly extraEnd: Uint32Array };

const writers = new Map<number, FlowFileWriter>();
/** --clickhouse: every stored block also goes to the ClickHouse sink's thread */
const spoolDir = (workerData as { clickhouse?: string } | null)?.clickhouse;
const clickhouse = spoolDir !== undefined ? new ClickHouseFeed(spoolDir) : null;
const NONE: ReadonlySet<string> = new Set();

function post(msg: WriterReply): void {
  parentPort!.postMessage(msg);
}

function handle(msg: WriterRequest): void {
  switch (msg.op) {
    case "open": {
      try {
        writers.set(msg.file, FlowFileWriter.open(msg.path, msg.options));
        post({ op: "ok", req: msg.req });
      } catch (err) {
        post({ op: "error", req: msg.req, file: msg.file, message: (err as Error).message });
      }
      return;
    }
    case "append": {
      const w = writers.get(msg.file);
      if (w === undefined) return;
      const cols: Record<string, ArrayBufferView> = {};
      PHYSICAL_COLUMNS.forEach((pc, i) => {
        cols[pc.name] = msg.cols[i]!;
      });
      const batch = RecordBatch.view(msg.rows, cols as unknown as ColumnArrays);
      batch.extraEnd = msg.extraEnd;
      batch.extra = msg.extra;
      batch.extraLength = msg.rows > 0 ? msg.extraEnd[msg.rows - 1]! : 0;
      let failure: string | null = null;
      let zero: ReadonlySet<string> = NONE;
      try {
        w.appendBatchSync(batch, { compress: !msg.fast, sets: !msg.fast });
        zero = w.lastZero;
      } catch (err) {
        failure = (err as Error).message;
      }
      if (failure === null) clickhouse?.post(batch, zero, w);
      // zero the used rows here, off the receive thread, and send the buffers back for reuse; columns the
      // encoder found all zero (most of the schema for a given template) need nothing
      PHYSICAL_COLUMNS.forEach((pc, i) => {
        if (!zero.has(pc.name)) (msg.cols[i] as Uint8Array).fill(0, 0, msg.rows * pc.width);
      });
      msg.extraEnd.fill(0, 0, msg.rows);
      const transfer = [...msg.cols.map((c) => c.buffer as ArrayBuffer), msg.extraEnd.buffer as ArrayBuffer];
      const reply: WriterReply = {
        op: "written",
        file: msg.file,
        rows: failure === null ? msg.rows : 0,
        cols: msg.cols,
        extraEnd: msg.extraEnd,
      };
      parentPort!.postMessage(reply, transfer);
      if (failure !== null) post({ op: "error", req: -1, file: msg.file, message: failure });
      return;
    }
    case "close": {
      const w = writers.get(msg.file);
      writers.delete(msg.file);
      if (w === undefined) {
        post({ op: "error", req: msg.req, file: msg.file, message: "no such file" });
        return;
      }
      try {
        for (const e of msg.exporters) w.addExporterStats(e);
        if (w.rows === 0) w.setStats({ msecFirst: msg.idleSlotMs, msecLast: msg.idleSlotMs });
        const stats = w.currentStats();
        const path = w.closeSync({ finalPath: msg.finalPath, ifExists: "suffix" });
        clickhouse?.renamed(w.path, path);
        post({ op: "ok", req: msg.req, path, stats });
      } catch (err) {
        post({ op: "error", req: msg.req, file: msg.file, message: (err as Error).message });
      }
      return;
    }
    case "abort": {
      writers.get(msg.file)?.abort();
      writers.delete(msg.file);
      post({ op: "ok", req: msg.req });
      return;
    }
    case "spare": {
      for (let k = 0; k < msg.count; k++) {
        const cols = PHYSICAL_COLUMNS.map((pc) => {
          const a = newArray(pc.array, msg.rows * pc.width);
          a.fill(0); // touch the pages here, not in the decoder
          return a;
        });
        const extraEnd = new Uint32Array(msg.rows).fill(0);
        const transfer = [...cols.map((c) => c.buffer as ArrayBuffer), extraEnd.buffer];
        parentPort!.postMessage({ op: "spare", cols, extraEnd } satisfies WriterReply, transfer);
      }
      return;
    }
  }
}

lowerThreadPriority();
warmWriter();
parentPort?.on("message", handle);
