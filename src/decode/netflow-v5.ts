// SPDX-License-Identifier: BSD-3-Clause
// NetFlow v1, v5 and v7: fixed header, fixed 48/48/52-byte records.
//
//   v1 header (16)  version | count | sysUptime | unix_secs | unix_nsecs
//   v5 header (24)  … | flow_sequence | engine_type u8 | engine_id u8 | sampling_interval u16 (mode:2, interval:14)
//   v7 header (24)  … | flow_sequence | reserved u32
//
//   record    0 srcaddr | 4 dstaddr | 8 nexthop | 12 input u16 | 14 output u16 | 16 dPkts | 20 dOctets
//             24 First | 28 Last | 32 srcport | 34 dstport | v1: 38 prot, 39 tos, 40 tcp_flags
//             v5/v7: 37 tcp_flags, 38 prot, 39 tos, 40 src_as u16, 42 dst_as u16, 44 src_mask, 45 dst_mask
//
// First/Last are sysUptime ms; absolute = unix_secs*1000 + nsecs/1e6 - sysUptime + First. flow_sequence
// counts flows (next = sequence + count). The v5 header interval scales packets and bytes at ingest.

import { DecodeStatus } from "./errors.js";
import { EL_AS, EL_GENERIC, EL_IPV4, EL_MISC, EL_NEXTHOP4, EL_RECV4, EL_RECV6, fixIcmp } from "./data-set.js";
import { fail } from "./flowsets.js";
import { SamplingSource, type BatchSink, type DatagramSource, type DecoderState } from "./state.js";
import { writeExporterColumns } from "./data-set.js";

const TWO32 = 4294967296;

/** Decodes one NetFlow v1, v5 or v7 datagram (`version` already read). See decodeDatagram. */
export function decodeNetflowV5(
  view: DataView,
  buf: Uint8Array,
  version: 1 | 5 | 7,
  source: DatagramSource,
  state: DecoderState,
  sink: BatchSink,
): DecodeStatus {
  const ctx = state.ctx;
  const n = buf.length;
  state.diag.protocol = version === 1 ? "netflow v1" : version === 5 ? "netflow v5" : "netflow v7";
  const hdr = version === 1 ? 16 : 24;
  const recLen = version === 7 ? 52 : 48;
  const maxCount = version === 1 ? 24 : version === 5 ? 30 : 28;
  if (n < hdr) return fail(state, null, DecodeStatus.TRUNCATED, -1, 0, "datagram shorter than the header", hdr, n);
  const count = view.getUint16(2);
  const sysUptime = view.getUint32(4);
  const unixSecs = view.getUint32(8);
  const nsecs = view.getUint32(12);
  const sequence = version === 1 ? 0 : view.getUint32(16);
  const engineType = version === 5 ? buf[20]! : 0;
  const engineId = version === 5 ? buf[21]! : 0;
  const sampling = version === 5 ? view.getUint16(22) : 0;
  const e = state.exporter(version, source.address, (engineType << 8) | engineId, ctx.receivedMs);
  if (!e) return fail(state, null, DecodeStatus.EXPORTER_LIMIT, -1, 0, "exporter table full");
  e.packets++;
  if (count > maxCount || hdr + count * recLen > n) {
    return fail(
      state,
      e,
      DecodeStatus.BAD_COUNT,
      -1,
      2,
      "record count does not fit the datagram",
      hdr + count * recLen,
      n,
    );
  }
  e.engineType = engineType;
  e.engineId = engineId;
  if (version !== 1) {
    if (e.nextSequence >= 0 && sequence !== e.nextSequence) e.sequenceErrors++;
    e.nextSequence = (sequence + count) >>> 0;
  }
  ctx.nfVersion = version;
  ctx.exportSecs = unixSecs;
  ctx.exportMsPart = Math.floor(nsecs / 1e6);
  ctx.sysUptimeMs = sysUptime;

  // Sampling: -s override, then the header interval, then the -s default.
  let interval = 1;
  let samplingSource: number = SamplingSource.NONE;
  const headerInterval = sampling & 0x3fff;
  if (state.samplingRate < 0) {
    interval = -state.samplingRate;
    samplingSource = SamplingSource.OVERRIDE;
  } else if (headerInterval > 0) {
    interval = headerInterval;
    samplingSource = SamplingSource.HEADER;
  } else if (state.samplingRate > 0) {
    interval = state.samplingRate;
    samplingSource = SamplingSource.DEFAULT;
  }

  const boot = unixSecs * 1000 + ctx.exportMsPart - sysUptime;
  const recordsBefore = ctx.records;
  let batch = sink.batch;
  let c = state.columns.of(batch);
  for (let i = 0; i < count; i++) {
    const o = hdr + i * recLen;
    let row = batch.addRow();
    if (row < 0) {
      sink.flush();
      batch = sink.batch;
      c = state.columns.of(batch);
      row = batch.addRow();
      if (row < 0) break;
    }
    writeExporterColumns(c, row, e, ctx);
    c.srcAddr[row] = view.getUint32(o);
    c.dstAddr[row] = view.getUint32(o + 4);
    c.nextHop[row] = view.getUint32(o + 8);
    c.input[row] = view.getUint16(o + 12);
    c.output[row] = view.getUint16(o + 14);
    c.inPackets[row] = view.getUint32(o + 16) * interval;
    c.inBytes[row] = view.getUint32(o + 20) * interval;
    let first = view.getUint32(o + 24);
    let last = view.getUint32(o + 28);
    // nfdump's rules: Last well past sysUptime (more than 100 s, Cisco IOS bug CSCei12353 makes small
    // overshoots normal) means the uptime wrapped after the flow ended; First > Last that it wrapped inside it.
    if (last > sysUptime && last - sysUptime > 100000) {
      first -= TWO32;
      last -= TWO32;
    } else if (first > last) first -= TWO32;
    c.msecFirst[row] = boot + first;
    c.msecLast[row] = boot + last;
    c.srcPort[row] = view.getUint16(o + 32);
    c.dstPort[row] = view.getUint16(o + 34);
    if (version === 1) {
      c.proto[row] = buf[o + 38]!;
      c.srcTos[row] = buf[o + 39]!;
      c.tcpFlags[row] = buf[o + 40]!;
    } else {
      c.tcpFlags[row] = buf[o + 37]!;
      c.proto[row] = buf[o + 38]!;
      c.srcTos[row] = buf[o + 39]!;
      c.srcAs[row] = view.getUint16(o + 40);
      c.dstAs[row] = view.getUint16(o + 42);
      c.srcMask[row] = buf[o + 44]!;
      c.dstMask[row] = buf[o + 45]!;
    }
    c.samplingInterval[row] = interval;
    c.samplingSource[row] = samplingSource;
    fixIcmp(c, row, false);
    // nfcapd adds flowMisc, asRouting and ipNextHop to a v1/v5/v7 record only when they hold a value
    let el = EL_GENERIC | EL_IPV4 | (e.addrIsV6 ? EL_RECV6 : EL_RECV4);
    if (c.input[row]! || c.output[row]! || c.srcMask[row]! || c.dstMask[row]!) el |= EL_MISC;
    if (c.srcAs[row]! || c.dstAs[row]!) el |= EL_AS;
    if (c.nextHop[row]!) el |= EL_NEXTHOP4;
    c.elements[row] = el;
    ctx.records++;
  }
  // flows by where their rate came from (tsdump -E, metrics), as for v9/IPFIX
  e.flowsBySource[samplingSource] = e.flowsBySource[samplingSource]! + (ctx.records - recordsBefore);
  return DecodeStatus.OK;
}
