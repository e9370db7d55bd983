// SPDX-License-Identifier: BSD-3-Clause
// Test helpers for the decoders: sinks, row snapshots, capture decoding.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeDatagram, DecoderState, type BatchSink, type DecoderOptions } from "../../../src/decode/index.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { formatIPv4, formatIPv6, formatMac } from "../../../src/record/ip.js";
import { SCHEMA } from "../../../src/record/schema.js";
import { readPcapFile, type UdpDatagram } from "../../helpers/pcap.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export type Row = Record<string, number | string>;

/** One row as plain values: addresses and MACs as text, extras as "pen/id=hex" strings. */
export function snapshotRow(batch: RecordBatch, row: number): Row {
  const out: Row = {};
  const cols = batch.cols as unknown as Record<string, ArrayLike<number>>;
  for (const col of SCHEMA) {
    if (col.type === "addr") {
      out[col.name] = batch.isV6(col.name, row)
        ? formatIPv6(cols[`${col.name}6`]!, row * 4)
        : formatIPv4(cols[col.name]![row]!);
    } else if (col.type === "mac") {
      out[col.name] = formatMac(cols[col.name]![row]!);
    } else {
      out[col.name] = cols[col.name]![row]!;
    }
  }
  const parts: string[] = [];
  let o = batch.extraStart(row);
  const end = batch.extraEnd[row]!;
  const h = batch.extra;
  while (o + 8 <= end) {
    const pen = ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;
    const id = (h[o + 4]! << 8) | h[o + 5]!;
    const len = (h[o + 6]! << 8) | h[o + 7]!;
    parts.push(`${pen}/${id}=${Buffer.from(h.subarray(o + 8, o + 8 + len)).toString("hex")}`);
    o += 8 + len;
  }
  out["extra"] = parts.join(" ");
  return out;
}

/** A sink that snapshots every row into `rows` when the (deliberately small) batch fills, and on `drain()`. */
export class CollectSink implements BatchSink {
  batch: RecordBatch;
  readonly rows: Row[] = [];
  flushes = 0;

  constructor(capacity = 64) {
    this.batch = new RecordBatch(capacity);
  }

  flush(): void {
    this.flushes++;
    this.drain();
  }

  drain(): Row[] {
    for (let i = 0; i < this.batch.length; i++) this.rows.push(snapshotRow(this.batch, i));
    this.batch.reset();
    return this.rows;
  }
}

/** A sink that only counts rows (for fuzzing and benchmarks). */
export class CountSink implements BatchSink {
  batch: RecordBatch;
  rows = 0;
  constructor(capacity = 4096) {
    this.batch = new RecordBatch(capacity);
  }
  flush(): void {
    this.rows += this.batch.length;
    this.batch.reset();
  }
  total(): number {
    return this.rows + this.batch.length;
  }
}

export interface DecodedCapture {
  readonly datagrams: UdpDatagram[];
  readonly rows: Row[];
  readonly statuses: number[];
  readonly state: DecoderState;
}

/** Decodes every UDP datagram of a pcap in order with one DecoderState. */
export function decodeCapture(path: string, options: DecoderOptions = {}, capacity = 64): DecodedCapture {
  const datagrams = readPcapFile(path);
  const state = new DecoderState(options);
  const sink = new CollectSink(capacity);
  const statuses = datagrams.map((d) =>
    decodeDatagram(d.payload, { address: d.srcAddress, port: d.srcPort }, d.timeMs, state, sink),
  );
  return { datagrams, rows: sink.drain(), statuses, state };
}

/** Decodes hand-built datagrams in order from one source with one state. */
export function decodePackets(
  packets: readonly Uint8Array[],
  opts: {
    options?: DecoderOptions;
    state?: DecoderState;
    address?: string;
    capacity?: number;
    receivedMs?: number;
  } = {},
): { rows: Row[]; statuses: number[]; state: DecoderState; sink: CollectSink } {
  const state = opts.state ?? new DecoderState(opts.options ?? {});
  const sink = new CollectSink(opts.capacity ?? 64);
  const statuses = packets.map((p, i) =>
    decodeDatagram(
      p,
      { address: opts.address ?? "192.0.2.1", port: 2055 },
      (opts.receivedMs ?? 1_700_000_000_000) + i,
      state,
      sink,
    ),
  );
  return { rows: sink.drain(), statuses, state, sink };
}
