// SPDX-License-Identifier: BSD-3-Clause
// NetFlow v9 (RFC 3954): header, then FlowSets (0 templates, 1 options templates, >= 256 data).
//
//   0        2        4              8              12             16             20
//   +--------+--------+--------------+--------------+--------------+--------------+
//   | ver=9  | count  | sysUptime ms | unix_secs    | sequence     | source id    |  FlowSets…
//   +--------+--------+--------------+--------------+--------------+--------------+
//   FlowSet: id u16 | length u16 (including this header and padding) | body
//
// `count` is ignored (exporters disagree whether it counts records or flowsets; nfdump ignores it too).
// The sequence number counts export packets per source id.

import { DecodeStatus } from "./errors.js";
import { expireHeld, fail, passOne, passTwo } from "./flowsets.js";
import type { BatchSink, DatagramSource, DecoderState } from "./state.js";

export const NETFLOW_V9_VERSION = 9;
export const V9_HEADER_LENGTH = 20;
export const V9_FLOWSET_TEMPLATE = 0;
export const V9_FLOWSET_OPTIONS = 1;

/** Decodes one NetFlow v9 datagram. See decodeDatagram. */
export function decodeNetflowV9(
  view: DataView,
  buf: Uint8Array,
  source: DatagramSource,
  state: DecoderState,
  sink: BatchSink,
): DecodeStatus {
  const ctx = state.ctx;
  const n = buf.length;
  state.diag.protocol = "netflow v9";
  if (n < V9_HEADER_LENGTH)
    return fail(state, null, DecodeStatus.TRUNCATED, -1, 0, "datagram shorter than the header", V9_HEADER_LENGTH, n);
  const sysUptime = view.getUint32(4);
  const unixSecs = view.getUint32(8);
  const sequence = view.getUint32(12);
  const sourceId = view.getUint32(16);
  const e = state.exporter(NETFLOW_V9_VERSION, source.address, sourceId, ctx.receivedMs);
  if (!e) return fail(state, null, DecodeStatus.EXPORTER_LIMIT, -1, 0, "exporter table full");
  e.packets++;
  if (e.nextSequence >= 0 && sequence !== e.nextSequence) e.sequenceErrors++;
  e.nextSequence = (sequence + 1) >>> 0;
  ctx.nfVersion = NETFLOW_V9_VERSION;
  ctx.exportSecs = unixSecs;
  ctx.exportMsPart = 0;
  ctx.sysUptimeMs = sysUptime;
  if (e.held.length > 0) expireHeld(state, e);

  let status: DecodeStatus = DecodeStatus.OK;
  // Pass 1: everything but the data sets of known data templates, so that a sampler or systemInitTime announced
  // anywhere in the datagram applies to all of its flows. Pass 2: the flow data sets.
  let o = V9_HEADER_LENGTH;
  let i = 0;
  while (o + 4 <= n) {
    const id = view.getUint16(o);
    const len = view.getUint16(o + 2);
    if (len < 4) {
      if (id === 0 && len === 0 && isZero(buf, o, n)) break; // zero padding after the last flowset
      status = fail(state, e, DecodeStatus.BAD_SET_LENGTH, -1, o, "flowset length below 4", 4, len);
      break;
    }
    const end = o + len;
    if (end > n) {
      status = fail(state, e, DecodeStatus.TRUNCATED, id >= 256 ? id : -1, o, "flowset runs past the datagram", end, n);
      break;
    }
    const s = passOne(state, e, false, view, buf, o, end, i, sink);
    if (s !== DecodeStatus.OK && status === DecodeStatus.OK) status = s;
    o = end;
    i++;
  }
  const s2 = passTwo(state, e, view, buf, V9_HEADER_LENGTH, o, sink);
  if (s2 !== DecodeStatus.OK && status === DecodeStatus.OK) status = s2;
  return status;
}

function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
