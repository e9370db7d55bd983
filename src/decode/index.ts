// SPDX-License-Identifier: BSD-3-Clause
// The decoder entry point: one datagram → rows appended to the sink's RecordBatch.
//
// Dispatch is by the first bytes: a 16-bit version 1/5/7/9/10 (NetFlow/IPFIX) or a 32-bit version 5 (sFlow
// v5, whose first two bytes are 0). Nothing escapes as an exception for malformed input: the return value is
// a DecodeStatus, the exporter's counters are bumped and `state.diag` holds the details of the first problem.

import { DecodeStatus } from "./errors.js";
import { decodeIpfix, IPFIX_VERSION } from "./ipfix.js";
import { decodeNetflowV5 } from "./netflow-v5.js";
import { decodeNetflowV9, NETFLOW_V9_VERSION } from "./netflow-v9.js";
import { decodeSflow } from "./sflow.js";
import type { BatchSink, DatagramSource, DecoderState } from "./state.js";

export * from "./errors.js";
export * from "./state.js";
export {
  TemplateCache,
  DecodePlan,
  ExporterTemplates,
  DEFAULT_TEMPLATE_LIMITS,
  type TemplateLimits,
  type SerializedTemplates,
} from "./templates.js";
export { SFLOW_NF_VERSION } from "./sflow.js";

/**
 * Decodes one export datagram (NetFlow v1/v5/v7/v9, IPFIX or sFlow v5) and appends its flow records to
 * `sink.batch`, calling `sink.flush()` whenever the batch fills (decoding then continues into the new batch).
 *
 * @param buf        the UDP payload (may be a slice of a larger buffer)
 * @param source     sender address and port (the exporter's identity together with its source id / domain)
 * @param receivedMs receive time, ms since the epoch (msecReceived column; sFlow flow times)
 * @returns DecodeStatus.OK, or the first problem met; rows decoded before it are kept.
 */
export function decodeDatagram(
  buf: Uint8Array,
  source: DatagramSource,
  receivedMs: number,
  state: DecoderState,
  sink: BatchSink,
): DecodeStatus {
  const ctx = state.ctx;
  ctx.receivedMs = receivedMs;
  ctx.records = 0;
  state.current = null;
  state.diag.reset();
  state.diag.exporter = source.address;
  const n = buf.length;
  if (n < 4) {
    if (n === 0) return DecodeStatus.EMPTY;
    state.unknownVersion++;
    state.diag.status = DecodeStatus.TRUNCATED;
    state.diag.detail = "datagram shorter than a version field";
    return DecodeStatus.TRUNCATED;
  }
  const view = new DataView(buf.buffer, buf.byteOffset, n);
  const version = view.getUint16(0);
  let status: DecodeStatus;
  switch (version) {
    case NETFLOW_V9_VERSION:
      status = decodeNetflowV9(view, buf, source, state, sink);
      break;
    case IPFIX_VERSION:
      status = decodeIpfix(view, buf, source, state, sink);
      break;
    case 5:
    case 1:
    case 7:
      status = decodeNetflowV5(view, buf, version, source, state, sink);
      break;
    case 0:
      if (view.getUint16(2) === 5) {
        status = decodeSflow(view, buf, source, state, sink);
        break;
      }
      state.unknownVersion++;
      state.diag.status = DecodeStatus.BAD_VERSION;
      state.diag.detail = "unknown version";
      state.diag.a = view.getUint32(0);
      return DecodeStatus.BAD_VERSION;
    default:
      state.unknownVersion++;
      state.diag.status = DecodeStatus.BAD_VERSION;
      state.diag.detail = "unknown version";
      state.diag.a = version;
      return DecodeStatus.BAD_VERSION;
  }
  const e = state.currentExporter();
  if (e) e.records += ctx.records;
  return status;
}
