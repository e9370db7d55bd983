// SPDX-License-Identifier: BSD-3-Clause
// Synthetic flows encoded as export datagrams: the library behind `tsreplay --synthetic`, used by the tests and
// benchmarks to feed tscapd and nfcapd the same traffic.

import { FlowEncoder, type EncoderStats, type ExportProtocol } from "./encode.js";
import { syntheticRounds, type SyntheticOptions } from "./synthetic.js";

export interface SyntheticStreamOptions extends SyntheticOptions {
  readonly protocol?: ExportProtocol;
  readonly recordsPerPacket?: number;
  readonly templateEveryPackets?: number;
}

/**
 * Yields the datagrams of a synthetic stream: each export round of each exporter goes out as its own datagrams
 * (IPv4 records, then IPv6), templates first and again every `templateEveryPackets` datagrams of that exporter.
 * `stats` (optional) receives the encoder's counts as it goes.
 */
export function* syntheticDatagrams(options: SyntheticStreamOptions, stats?: EncoderStats): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  const enc = new FlowEncoder(
    {
      protocol: options.protocol ?? "v9",
      ...(options.recordsPerPacket !== undefined ? { recordsPerPacket: options.recordsPerPacket } : {}),
      ...(options.templateEveryPackets !== undefined ? { templateEveryPackets: options.templateEveryPackets } : {}),
    },
    (d) => out.push(d),
  );
  for (const round of syntheticRounds(options)) {
    enc.addRows(round.batch, undefined, round.batch.length, round.exporter);
    enc.flush(round.exporter);
    if (stats) Object.assign(stats, enc.stats);
    yield* out;
    out.length = 0;
  }
}

/** The datagrams as one length-prefixed stream (a 4-byte big-endian length before each datagram). */
export function lengthPrefixed(datagrams: Iterable<Uint8Array>): Buffer {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const d of datagrams) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, d.length);
    parts.push(len, d);
    total += 4 + d.length;
  }
  return Buffer.concat(parts, total);
}
