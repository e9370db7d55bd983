// SPDX-License-Identifier: BSD-3-Clause
// IPFIX (RFC 7011): message header, then Sets (2 templates, 3 options templates, >= 256 data).
//
//   0        2        4              8              12             16
//   +--------+--------+--------------+--------------+--------------+
//   | ver=10 | length | export time  | sequence     | obs. domain  |  Sets…
//   +--------+--------+--------------+--------------+--------------+
//   Set: id u16 | length u16 (including this header and padding) | records
//
// The sequence number counts data records sent before this message in the observation domain; a message
// that carried held (not yet decodable) data sets skips the check for the next message.

import { DecodeStatus } from "./errors.js";
import { expireHeld, fail, passOne, passTwo } from "./flowsets.js";
import type { BatchSink, DatagramSource, DecoderState } from "./state.js";

export const IPFIX_VERSION = 10;
export const IPFIX_HEADER_LENGTH = 16;
export const SET_ID_TEMPLATE = 2;
export const SET_ID_OPTIONS_TEMPLATE = 3;

/** Decodes one IPFIX message. See decodeDatagram. */
export function decodeIpfix(
  view: DataView,
  buf: Uint8Array,
  source: DatagramSource,
  state: DecoderState,
  sink: BatchSink,
): DecodeStatus {
  const ctx = state.ctx;
  const n = buf.length;
  state.diag.protocol = "ipfix";
  if (n < IPFIX_HEADER_LENGTH)
    return fail(state, null, DecodeStatus.TRUNCATED, -1, 0, "datagram shorter than the header", IPFIX_HEADER_LENGTH, n);
  const length = view.getUint16(2);
  const exportTime = view.getUint32(4);
  const sequence = view.getUint32(8);
  const domain = view.getUint32(12);
  const e = state.exporter(IPFIX_VERSION, source.address, domain, ctx.receivedMs);
  if (!e) return fail(state, null, DecodeStatus.EXPORTER_LIMIT, -1, 0, "exporter table full");
  e.packets++;
  let status: DecodeStatus = DecodeStatus.OK;
  let end = n;
  if (length < IPFIX_HEADER_LENGTH)
    return fail(
      state,
      e,
      DecodeStatus.BAD_SET_LENGTH,
      -1,
      2,
      "message length below the header length",
      IPFIX_HEADER_LENGTH,
      length,
    );
  if (length > n)
    status = fail(state, e, DecodeStatus.TRUNCATED, -1, 2, "message length exceeds the datagram", length, n);
  else end = length;
  ctx.nfVersion = IPFIX_VERSION;
  ctx.exportSecs = exportTime;
  ctx.exportMsPart = 0;
  ctx.sysUptimeMs = -1;
  if (e.held.length > 0) expireHeld(state, e);
  const recordsBefore = ctx.records;
  const optionsBefore = e.optionRecords;
  const missesBefore = e.templateMisses;
  const heldBefore = e.heldDecoded;

  // Pass 1: everything but the data sets of known data templates, so that a sampler or systemInitTime announced
  // anywhere in the message applies to all of its flows. Pass 2: the flow data sets.
  let o = IPFIX_HEADER_LENGTH;
  let i = 0;
  while (o + 4 <= end) {
    const id = view.getUint16(o);
    const len = view.getUint16(o + 2);
    if (len < 4) {
      status = fail(state, e, DecodeStatus.BAD_SET_LENGTH, -1, o, "set length below 4", 4, len);
      break;
    }
    const setEnd = o + len;
    if (setEnd > end && setEnd <= n) {
      // The last set runs past the message length into trailing bytes of the datagram (an exporter bug seen in
      // the field): decode it from the datagram, as nfdump, tshark and telegraf do, and count it.
      e.lengthOverruns++;
      end = setEnd;
    }
    if (setEnd > end) {
      const s = fail(
        state,
        e,
        DecodeStatus.TRUNCATED,
        id >= 256 ? id : -1,
        o,
        "set runs past the message",
        setEnd,
        end,
      );
      if (status === DecodeStatus.OK) status = s;
      break;
    }
    const s = passOne(state, e, true, view, buf, o, setEnd, i, sink);
    if (s !== DecodeStatus.OK && status === DecodeStatus.OK) status = s;
    o = setEnd;
    i++;
  }
  const s2 = passTwo(state, e, view, buf, IPFIX_HEADER_LENGTH, o, sink);
  if (s2 !== DecodeStatus.OK && status === DecodeStatus.OK) status = s2;
  // Sequence: data records (flow and options) counted per observation domain (RFC 7011 §3.1).
  const sent = ctx.records - recordsBefore - (e.heldDecoded - heldBefore) + (e.optionRecords - optionsBefore);
  if (e.nextSequence >= 0 && sequence !== e.nextSequence) e.sequenceErrors++;
  e.nextSequence = e.templateMisses !== missesBefore ? -1 : (sequence + sent) >>> 0;
  return status;
}
