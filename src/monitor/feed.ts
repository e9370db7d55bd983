// SPDX-License-Identifier: BSD-3-Clause
// The decode thread's side of monitoring: rows of the collector's batches, only the columns the monitors
// read, copied and transferred to the monitor thread (a MessagePort straight to it). A batch is fed in
// pieces — the rows decoded so far at each flush tick, the rest when it goes to the writer — so a monitor
// sees a flow within a tick of its arrival, each row once. At most MAX_CHUNKS_IN_FLIGHT pieces wait at the
// monitor thread; beyond that rows are not fed (counted): decoding and storage never wait for monitoring.

import type { MessagePort } from "node:worker_threads";
import type { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS } from "../record/schema.js";

// Room for the monitor thread (nice +10) to fall behind for a moment while decode and writer take both cores
// (docs/benchmarks.md, live monitoring); what waits is bounded: this many pieces of the monitors' columns.
export const MAX_CHUNKS_IN_FLIGHT = 64;

export type FeedMessage =
  | {
      readonly op: "rows";
      readonly n: number;
      readonly ident: string;
      readonly cols: Readonly<Record<string, ArrayBufferView>>;
      /** rows not fed so far (monitor thread behind), cumulative */
      readonly dropped: number;
    }
  | { readonly op: "end" };

/** `done` hands a piece's column arrays back for reuse. */
export type FeedReply =
  | { readonly op: "done"; readonly cols: Readonly<Record<string, ArrayBufferView>> }
  | { readonly op: "columns"; readonly names: readonly string[] };

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;

const WIDTH = new Map(PHYSICAL_COLUMNS.map((pc) => [pc.name, pc.width]));

export class MonitorFeed {
  dropped = 0;
  private inFlight = 0;
  private names: readonly string[];
  private readonly port: MessagePort;
  /** per source: the batch being fed and the rows of it already sent */
  private readonly at = new WeakMap<object, { batch: RecordBatch; off: number }>();
  /** column arrays back from the monitor thread, by column: copies go into them (no allocation per piece) */
  private readonly pool = new Map<string, Column[]>();

  constructor(port: MessagePort, columns: readonly string[]) {
    this.port = port;
    this.names = columns.filter((c) => WIDTH.has(c));
    port.on("message", (m: FeedReply) => {
      if (m.op === "columns") {
        this.names = m.names.filter((c) => WIDTH.has(c));
        return;
      }
      this.inFlight--;
      for (const [name, a] of Object.entries(m.cols)) {
        let list = this.pool.get(name);
        if (list === undefined) this.pool.set(name, (list = []));
        if (list.length <= MAX_CHUNKS_IN_FLIGHT) list.push(a as Column);
      }
    });
    port.unref();
  }

  /** Sends the rows of `batch` not sent yet (`owner` is the source filling it). */
  feed(owner: object, batch: RecordBatch, ident: string): void {
    let st = this.at.get(owner);
    if (st === undefined || st.batch !== batch || batch.length < st.off) {
      st = { batch, off: 0 };
      this.at.set(owner, st);
    }
    const from = st.off;
    const to = batch.length;
    if (to <= from) return;
    st.off = to;
    if (this.inFlight >= MAX_CHUNKS_IN_FLIGHT) {
      this.dropped += to - from;
      return;
    }
    const cols: Record<string, ArrayBufferView> = {};
    const transfer: ArrayBuffer[] = [];
    const src = batch.cols as unknown as Record<string, Column>;
    // IPv6 address columns only when a row of the piece is IPv6 (the monitor thread reads them only then)
    const flags = (batch.cols as unknown as Record<string, Uint8Array>)["v6Flags"]!;
    let v6 = false;
    for (let i = from; i < to && !v6; i++) v6 = flags[i] !== 0;
    for (const name of this.names) {
      const w = WIDTH.get(name)!;
      if (w === 4 && !v6) continue;
      const s = src[name]!;
      const need = (to - from) * w;
      let a = this.pool.get(name)?.pop();
      if (a === undefined || a.length < need) {
        const Ctor = s.constructor as new (n: number) => Column;
        a = new Ctor(Math.max(need, batch.capacity * w));
      }
      a.set(s.subarray(from * w, to * w));
      cols[name] = a;
      transfer.push(a.buffer as ArrayBuffer);
    }
    this.inFlight++;
    this.port.postMessage(
      { op: "rows", n: to - from, ident, cols, dropped: this.dropped } satisfies FeedMessage,
      transfer,
    );
  }

  /** No more rows (the collector stopped). */
  end(): void {
    this.port.postMessage({ op: "end" } satisfies FeedMessage);
  }
}
