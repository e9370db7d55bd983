// SPDX-License-Identifier: BSD-3-Clause
// sFlow v5 (sflow.org sflow_version_5.txt): flow samples → one row each; counter samples → the exporter's
// bounded counter store (latest per data source).
//
//   datagram   version=5 | agent address type (1 v4, 2 v6) | agent address | sub-agent id | sequence |
//              uptime ms | sample count | samples…
//   sample     tag (enterprise<<12 | format) | length | body
//     0:1 flow sample            seq | source id | rate | pool | drops | input | output | n | records
//     0:3 expanded flow sample   seq | src type | src index | rate | pool | drops | in fmt | in | out fmt | out | n | records
//     0:2 counter sample         seq | source id | n | records;   0:4 expanded: seq | src type | src index | n | records
//   flow record   tag | length | body: 0:1 raw header, 0:2 Ethernet, 0:3 IPv4, 0:4 IPv6, 0:1001 switch,
//                 0:1002 router, 0:1003 gateway
//
// As sfcapd: packets = sampling rate, bytes = rate × frame length, times = receive time. All XDR lengths are
// checked against the enclosing sample/record before reading.

import { formatIPv4, formatIPv6 } from "../record/ip.js";
import type { RecordBatch } from "../record/batch.js";
import { V6_BIT } from "../record/schema.js";
import { writeExporterColumns } from "./data-set.js";
import { DecodeStatus } from "./errors.js";
import { fail } from "./flowsets.js";
import {
  SamplingSource,
  saneRate,
  type BatchSink,
  type DatagramSource,
  type DecoderState,
  type ExporterState,
  type SflowCounterSample,
} from "./state.js";

export const SFLOW_VERSION = 5;
/** nfVersion column value of sFlow rows (nfdump's convention). */
export const SFLOW_NF_VERSION = 133;

/** The last agent address seen and its text (saves formatting it per datagram). */
const lastAgent = new Uint32Array(4);
let lastAgentV6 = false;
let lastAgentText = "";

/** Decodes one sFlow v5 datagram. See decodeDatagram. */
export function decodeSflow(
  view: DataView,
  buf: Uint8Array,
  _source: DatagramSource,
  state: DecoderState,
  sink: BatchSink,
): DecodeStatus {
  const ctx = state.ctx;
  const n = buf.length;
  state.diag.protocol = "sflow v5";
  if (n < 28) return fail(state, null, DecodeStatus.TRUNCATED, -1, 0, "datagram shorter than the header", 28, n);
  const addrType = view.getUint32(4);
  let o = 8;
  let agent: string;
  if (addrType === 1) {
    // Fast path: the same agent as the previous datagram keeps its formatted address.
    const a = view.getUint32(8);
    if (lastAgentV6 || a !== lastAgent[0] || lastAgentText === "") {
      lastAgent[0] = a;
      lastAgentV6 = false;
      lastAgentText = formatIPv4(a);
    }
    agent = lastAgentText;
    o = 12;
  } else if (addrType === 2) {
    if (n < 40) return fail(state, null, DecodeStatus.TRUNCATED, -1, 0, "datagram shorter than the header", 40, n);
    let same = lastAgentV6 && lastAgentText !== "";
    for (let k = 0; k < 4; k++) {
      const w = view.getUint32(8 + 4 * k);
      if (w !== lastAgent[k]) same = false;
      lastAgent[k] = w;
    }
    if (!same) {
      lastAgentV6 = true;
      lastAgentText = formatIPv6(lastAgent, 0);
    }
    agent = lastAgentText;
    o = 24;
  } else {
    return fail(state, null, DecodeStatus.BAD_SAMPLE, -1, 4, "unknown agent address type", addrType);
  }
  const subAgent = view.getUint32(o);
  const sequence = view.getUint32(o + 4);
  const samples = view.getUint32(o + 12);
  o += 16;
  const e = state.exporter(SFLOW_NF_VERSION, agent, subAgent, ctx.receivedMs);
  if (!e) return fail(state, null, DecodeStatus.EXPORTER_LIMIT, -1, 0, "exporter table full");
  e.packets++;
  if (e.nextSequence >= 0 && sequence !== e.nextSequence) e.sequenceErrors++;
  e.nextSequence = (sequence + 1) >>> 0;
  ctx.nfVersion = SFLOW_NF_VERSION;
  ctx.exportSecs = Math.floor(ctx.receivedMs / 1000);
  ctx.sysUptimeMs = -1;
  // Each sample takes at least 8 bytes: a count beyond that cannot be right.
  if (samples > (n - o) / 8)
    return fail(state, e, DecodeStatus.BAD_COUNT, -1, o - 4, "sample count does not fit the datagram", samples);
  let status: DecodeStatus = DecodeStatus.OK;
  for (let i = 0; i < samples; i++) {
    if (o + 8 > n) {
      status = fail(state, e, DecodeStatus.TRUNCATED, -1, o, "sample header runs past the datagram", o + 8, n);
      break;
    }
    const tag = view.getUint32(o);
    const len = view.getUint32(o + 4);
    const start = o + 8;
    const end = start + len;
    if (end > n || len % 4 !== 0) {
      status = fail(state, e, DecodeStatus.BAD_SAMPLE, -1, o, "sample length does not fit the datagram", end, n);
      break;
    }
    let s: DecodeStatus = DecodeStatus.OK;
    switch (tag) {
      case 1:
        s = flowSample(state, e, view, buf, start, end, false, sink);
        break;
      case 3:
        s = flowSample(state, e, view, buf, start, end, true, sink);
        break;
      case 2:
        s = counterSample(state, e, view, start, end, false);
        break;
      case 4:
        s = counterSample(state, e, view, start, end, true);
        break;
      default:
        break; // other enterprises / formats (e.g. 0:5 discarded packets): skipped
    }
    if (s !== DecodeStatus.OK && status === DecodeStatus.OK) status = s;
    o = end;
  }
  return status;
}

function flowSample(
  state: DecoderState,
  e: ExporterState,
  view: DataView,
  buf: Uint8Array,
  start: number,
  end: number,
  expanded: boolean,
  sink: BatchSink,
): DecodeStatus {
  const hdr = expanded ? 44 : 32;
  if (start + hdr > end)
    return fail(state, e, DecodeStatus.BAD_SAMPLE, -1, start, "flow sample shorter than its header", hdr, end - start);
  let o = start + 4;
  let sourceId: number;
  let rate: number;
  let input: number;
  let output: number;
  if (expanded) {
    sourceId = ((view.getUint32(o) << 24) | (view.getUint32(o + 4) & 0xffffff)) >>> 0;
    rate = view.getUint32(o + 8);
    input = view.getUint32(o + 20) === 0 ? view.getUint32(o + 24) : 0;
    output = view.getUint32(o + 28) === 0 ? view.getUint32(o + 32) : 0;
    o += 36;
  } else {
    sourceId = view.getUint32(o);
    rate = view.getUint32(o + 4);
    const inRaw = view.getUint32(o + 16);
    const outRaw = view.getUint32(o + 20);
    // Top two bits: 0 = ifIndex, 1 = packet discarded (reason below), 2 = multiple interfaces (count below).
    input = inRaw >>> 30 === 0 ? inRaw & 0x3fffffff : 0;
    output = outRaw >>> 30 === 0 ? outRaw & 0x3fffffff : 0;
    o += 24;
  }
  const nrec = view.getUint32(o);
  o += 4;
  let batch = sink.batch;
  let row = batch.addRow();
  if (row < 0) {
    sink.flush();
    batch = sink.batch;
    row = batch.addRow();
    if (row < 0) return DecodeStatus.OK;
  }
  const ctx = state.ctx;
  const c = state.columns.of(batch);
  writeExporterColumns(c, row, e, ctx);
  c.observationDomain[row] = sourceId;
  c.input[row] = input;
  c.output[row] = output;
  c.msecFirst[row] = ctx.receivedMs;
  c.msecLast[row] = ctx.receivedMs;
  let interval = rate;
  let source: number = SamplingSource.DATA;
  if (state.samplingRate < 0) {
    interval = -state.samplingRate;
    source = SamplingSource.OVERRIDE;
  } else if (interval === 0 || !saneRate(interval)) {
    // the same sanity rule as v9/IPFIX rates: outside 1..MAX_SAMPLING_RATE the value is not a rate
    if (interval !== 0) e.ratesRejected++;
    interval = state.samplingRate > 0 ? state.samplingRate : 1;
    source = state.samplingRate > 0 ? SamplingSource.DEFAULT : SamplingSource.NONE;
  }
  let frameLength = 0;
  let ipLength = 0;
  for (let r = 0; r < nrec; r++) {
    if (o + 8 > end) {
      batch.dropLastRow();
      return fail(state, e, DecodeStatus.BAD_SAMPLE, -1, o, "flow record header runs past the sample", o + 8, end);
    }
    const tag = view.getUint32(o);
    const len = view.getUint32(o + 4);
    const rs = o + 8;
    const re = rs + len;
    if (re > end) {
      batch.dropLastRow();
      return fail(state, e, DecodeStatus.BAD_SAMPLE, -1, o, "flow record runs past the sample", re, end);
    }
    switch (tag) {
      case 1: {
        // raw packet header: protocol | frame length | stripped | header length | header bytes
        if (len < 16) break;
        const proto = view.getUint32(rs);
        frameLength = view.getUint32(rs + 4);
        const hlen = view.getUint32(rs + 12);
        const hs = rs + 16;
        const he = Math.min(hs + hlen, re);
        if (proto === 1) parseEthernet(view, buf, hs, he, c, row);
        else if (proto === 11) parseIPv4(view, buf, hs, he, c, row);
        else if (proto === 12) parseIPv6(view, buf, hs, he, c, row);
        break;
      }
      case 2: {
        // Ethernet frame data: length | src mac (6 + 2 pad) | dst mac (6 + 2 pad) | type
        if (len < 24) break;
        if (frameLength === 0) frameLength = view.getUint32(rs);
        if (c.inSrcMac[row] === 0) c.inSrcMac[row] = view.getUint16(rs + 4) * 4294967296 + view.getUint32(rs + 6);
        if (c.outDstMac[row] === 0) c.outDstMac[row] = view.getUint16(rs + 12) * 4294967296 + view.getUint32(rs + 14);
        break;
      }
      case 3: {
        // IPv4 data: length | protocol | src | dst | src port | dst port | tcp flags | tos
        if (len < 32) break;
        ipLength = view.getUint32(rs);
        if (c.proto[row] === 0) {
          c.proto[row] = view.getUint32(rs + 4);
          c.srcAddr[row] = view.getUint32(rs + 8);
          c.dstAddr[row] = view.getUint32(rs + 12);
          c.srcPort[row] = view.getUint32(rs + 16);
          c.dstPort[row] = view.getUint32(rs + 20);
          c.tcpFlags[row] = view.getUint32(rs + 24);
          c.srcTos[row] = view.getUint32(rs + 28);
        }
        break;
      }
      case 4: {
        // IPv6 data: length | protocol | src (16) | dst (16) | src port | dst port | tcp flags | priority
        if (len < 56) break;
        ipLength = view.getUint32(rs);
        if (c.proto[row] === 0) {
          c.proto[row] = view.getUint32(rs + 4);
          putV6(c, c.srcAddr, c.srcAddr6, SRC_V6, row, view, rs + 8);
          putV6(c, c.dstAddr, c.dstAddr6, DST_V6, row, view, rs + 24);
          c.srcPort[row] = view.getUint32(rs + 40);
          c.dstPort[row] = view.getUint32(rs + 44);
          c.tcpFlags[row] = view.getUint32(rs + 48);
        }
        break;
      }
      case 1001: {
        // extended switch: src vlan | src priority | dst vlan | dst priority
        if (len < 16) break;
        // VLAN ids above 4095 (e.g. 0xffffffff for "unknown") are not VLANs.
        const vin = view.getUint32(rs);
        const vout = view.getUint32(rs + 8);
        c.srcVlan[row] = vin <= 4095 ? vin : 0;
        c.dstVlan[row] = vout <= 4095 ? vout : 0;
        break;
      }
      case 1002: {
        // extended router: next hop (type + address) | src mask | dst mask
        const a = readAddress(view, rs, re, c, row, "nextHop");
        if (a < 0 || a + 8 > re) break;
        c.srcMask[row] = view.getUint32(a);
        c.dstMask[row] = view.getUint32(a + 4);
        break;
      }
      case 1003: {
        // extended gateway: next hop | as | src as | src peer as | as path segments | communities | localpref
        const a = readAddress(view, rs, re, c, row, "bgpNextHop");
        if (a < 0 || a + 16 > re) break;
        c.srcAs[row] = view.getUint32(a + 4);
        c.prevAs[row] = view.getUint32(a + 8);
        const segs = view.getUint32(a + 12);
        let p = a + 16;
        let firstAs = -1;
        let lastAs = -1;
        for (let s = 0; s < segs && p + 8 <= re; s++) {
          const cnt = view.getUint32(p + 4);
          p += 8;
          if (cnt > (re - p) / 4) break;
          if (cnt > 0) {
            if (firstAs < 0) firstAs = view.getUint32(p);
            lastAs = view.getUint32(p + (cnt - 1) * 4);
          }
          p += cnt * 4;
        }
        if (firstAs >= 0) c.nextAs[row] = firstAs;
        if (lastAs >= 0) c.dstAs[row] = lastAs;
        break;
      }
      default:
        break;
    }
    o = re;
  }
  if (frameLength === 0) frameLength = ipLength;
  c.inPackets[row] = interval;
  c.inBytes[row] = interval * frameLength;
  c.samplingInterval[row] = interval;
  c.samplingSource[row] = source;
  e.flowsBySource[source] = e.flowsBySource[source]! + 1;
  const p = c.proto[row]!;
  if (p === 1 || p === 58) c.dstPort[row] = (c.icmpType[row]! << 8) | c.icmpCode[row]!;
  ctx.records++;
  return DecodeStatus.OK;
}

const SRC_V6 = V6_BIT.srcAddr;
const DST_V6 = V6_BIT.dstAddr;

/** Stores the IPv6 address at `o` into an addr column (v4 part zeroed, v6 flag set). */
function putV6(
  c: RecordBatch["cols"],
  v4: Uint32Array,
  v6: Uint32Array,
  bit: number,
  row: number,
  view: DataView,
  o: number,
): void {
  const r4 = row * 4;
  v6[r4] = view.getUint32(o);
  v6[r4 + 1] = view.getUint32(o + 4);
  v6[r4 + 2] = view.getUint32(o + 8);
  v6[r4 + 3] = view.getUint32(o + 12);
  v4[row] = 0;
  c.v6Flags[row] = c.v6Flags[row]! | bit;
}

/** Reads an sFlow address (type u32 + 4 or 16 bytes) into an addr column; returns the offset after it or -1. */
function readAddress(
  view: DataView,
  o: number,
  end: number,
  c: RecordBatch["cols"],
  row: number,
  column: "nextHop" | "bgpNextHop",
): number {
  if (o + 4 > end) return -1;
  const type = view.getUint32(o);
  if (type === 1) {
    if (o + 8 > end) return -1;
    const a = c[column];
    a[row] = view.getUint32(o + 4);
    c.v6Flags[row] = c.v6Flags[row]! & ~V6_BIT[column];
    return o + 8;
  }
  if (type === 2) {
    if (o + 20 > end) return -1;
    putV6(c, c[column], column === "nextHop" ? c.nextHop6 : c.bgpNextHop6, V6_BIT[column], row, view, o + 4);
    return o + 20;
  }
  return type === 0 ? o + 4 : -1;
}

function parseEthernet(
  view: DataView,
  buf: Uint8Array,
  o: number,
  end: number,
  c: RecordBatch["cols"],
  row: number,
): void {
  if (o + 14 > end) return;
  c.outDstMac[row] = view.getUint16(o) * 4294967296 + view.getUint32(o + 2);
  c.inSrcMac[row] = view.getUint16(o + 6) * 4294967296 + view.getUint32(o + 8);
  let type = view.getUint16(o + 12);
  let p = o + 14;
  // 802.1Q / 802.1ad tags (at most two)
  for (let k = 0; k < 2 && (type === 0x8100 || type === 0x88a8) && p + 4 <= end; k++) {
    if (k === 0) c.srcVlan[row] = view.getUint16(p) & 0x0fff;
    type = view.getUint16(p + 2);
    p += 4;
  }
  if (type === 0x8847 || type === 0x8848) {
    // MPLS label stack: keep up to 10 entries, then an IP packet by its version nibble.
    let k = 0;
    while (p + 4 <= end) {
      const lse = view.getUint32(p);
      p += 4;
      if (k < 10) mplsColumn(c, row, k, lse >>> 8);
      k++;
      if (lse & 0x100) break;
    }
    if (p >= end) return;
    const ver = buf[p]! >>> 4;
    if (ver === 4) parseIPv4(view, buf, p, end, c, row);
    else if (ver === 6) parseIPv6(view, buf, p, end, c, row);
    return;
  }
  if (type === 0x0800) parseIPv4(view, buf, p, end, c, row);
  else if (type === 0x86dd) parseIPv6(view, buf, p, end, c, row);
}

/** Stores MPLS stack entry `k` (0-based) as its 3 wire bytes (label<<4 | exp<<1 | bottom-of-stack). */
function mplsColumn(c: RecordBatch["cols"], row: number, k: number, v: number): void {
  switch (k) {
    case 0:
      c.mpls1[row] = v;
      break;
    case 1:
      c.mpls2[row] = v;
      break;
    case 2:
      c.mpls3[row] = v;
      break;
    case 3:
      c.mpls4[row] = v;
      break;
    case 4:
      c.mpls5[row] = v;
      break;
    case 5:
      c.mpls6[row] = v;
      break;
    case 6:
      c.mpls7[row] = v;
      break;
    case 7:
      c.mpls8[row] = v;
      break;
    case 8:
      c.mpls9[row] = v;
      break;
    default:
      c.mpls10[row] = v;
      break;
  }
}

function parseIPv4(view: DataView, buf: Uint8Array, o: number, end: number, c: RecordBatch["cols"], row: number): void {
  if (o + 20 > end) return;
  const ihl = (buf[o]! & 0x0f) * 4;
  c.srcTos[row] = buf[o + 1]!;
  const proto = buf[o + 9]!;
  c.proto[row] = proto;
  c.srcAddr[row] = view.getUint32(o + 12);
  c.dstAddr[row] = view.getUint32(o + 16);
  const frag = view.getUint16(o + 6) & 0x1fff;
  if (frag !== 0 || ihl < 20) return;
  transport(view, buf, o + ihl, end, proto, c, row);
}

function parseIPv6(view: DataView, buf: Uint8Array, o: number, end: number, c: RecordBatch["cols"], row: number): void {
  if (o + 40 > end) return;
  c.srcTos[row] = (view.getUint16(o) >>> 4) & 0xff;
  let next = buf[o + 6]!;
  putV6(c, c.srcAddr, c.srcAddr6, SRC_V6, row, view, o + 8);
  putV6(c, c.dstAddr, c.dstAddr6, DST_V6, row, view, o + 24);
  let p = o + 40;
  // Skip hop-by-hop, routing, destination options (8-octet units) and fragment headers.
  for (let k = 0; k < 4 && p + 8 <= end; k++) {
    if (next === 0 || next === 43 || next === 60) {
      const hl = (buf[p + 1]! + 1) * 8;
      next = buf[p]!;
      p += hl;
    } else if (next === 44) {
      const off = view.getUint16(p + 2) & 0xfff8;
      next = buf[p]!;
      p += 8;
      if (off !== 0) {
        c.proto[row] = next;
        return;
      }
    } else break;
  }
  c.proto[row] = next;
  transport(view, buf, p, end, next, c, row);
}

function transport(
  view: DataView,
  buf: Uint8Array,
  p: number,
  end: number,
  proto: number,
  c: RecordBatch["cols"],
  row: number,
): void {
  if (proto === 6 || proto === 17 || proto === 132) {
    if (p + 4 > end) return;
    c.srcPort[row] = view.getUint16(p);
    c.dstPort[row] = view.getUint16(p + 2);
    if (proto === 6 && p + 14 <= end) c.tcpFlags[row] = buf[p + 13]!;
  } else if (proto === 1 || proto === 58) {
    if (p + 2 > end) return;
    c.icmpType[row] = buf[p]!;
    c.icmpCode[row] = buf[p + 1]!;
  }
}

const GENERIC_LENGTH = 88;
const ETHERNET_LENGTH = 52;

function counterSample(
  state: DecoderState,
  e: ExporterState,
  view: DataView,
  start: number,
  end: number,
  expanded: boolean,
): DecodeStatus {
  const hdr = expanded ? 16 : 12;
  if (start + hdr > end)
    return fail(
      state,
      e,
      DecodeStatus.BAD_SAMPLE,
      -1,
      start,
      "counter sample shorter than its header",
      hdr,
      end - start,
    );
  const sequence = view.getUint32(start);
  const sourceId = expanded
    ? ((view.getUint32(start + 4) << 24) | (view.getUint32(start + 8) & 0xffffff)) >>> 0
    : view.getUint32(start + 4);
  const nrec = view.getUint32(start + hdr - 4);
  let o = start + hdr;
  let sample = e.counterSamples.get(sourceId);
  if (!sample) {
    if (e.counterSamples.size >= state.maxCounterSamples) {
      // Bounded: forget the oldest data source (Map keeps insertion order).
      const oldest = e.counterSamples.keys().next();
      if (!oldest.done) e.counterSamples.delete(oldest.value);
    }
    sample = { sourceId, sequence, receivedMs: state.ctx.receivedMs, generic: null, ethernet: null };
    e.counterSamples.set(sourceId, sample);
  }
  sample.sequence = sequence;
  sample.receivedMs = state.ctx.receivedMs;
  for (let r = 0; r < nrec; r++) {
    if (o + 8 > end)
      return fail(state, e, DecodeStatus.BAD_SAMPLE, -1, o, "counter record header runs past the sample", o + 8, end);
    const tag = view.getUint32(o);
    const len = view.getUint32(o + 4);
    const rs = o + 8;
    const re = rs + len;
    if (re > end) return fail(state, e, DecodeStatus.BAD_SAMPLE, -1, o, "counter record runs past the sample", re, end);
    if (tag === 1 && len >= GENERIC_LENGTH) sample.generic = readGeneric(view, rs);
    else if (tag === 2 && len >= ETHERNET_LENGTH) sample.ethernet = readEthernet(view, rs);
    o = re;
  }
  return DecodeStatus.OK;
}

function u64(view: DataView, o: number): number {
  return view.getUint32(o) * 4294967296 + view.getUint32(o + 4);
}

function readGeneric(view: DataView, o: number): NonNullable<SflowCounterSample["generic"]> {
  return {
    ifIndex: view.getUint32(o),
    ifType: view.getUint32(o + 4),
    ifSpeed: u64(view, o + 8),
    ifDirection: view.getUint32(o + 16),
    ifStatus: view.getUint32(o + 20),
    ifInOctets: u64(view, o + 24),
    ifInUcastPkts: view.getUint32(o + 32),
    ifInMulticastPkts: view.getUint32(o + 36),
    ifInBroadcastPkts: view.getUint32(o + 40),
    ifInDiscards: view.getUint32(o + 44),
    ifInErrors: view.getUint32(o + 48),
    ifInUnknownProtos: view.getUint32(o + 52),
    ifOutOctets: u64(view, o + 56),
    ifOutUcastPkts: view.getUint32(o + 64),
    ifOutMulticastPkts: view.getUint32(o + 68),
    ifOutBroadcastPkts: view.getUint32(o + 72),
    ifOutDiscards: view.getUint32(o + 76),
    ifOutErrors: view.getUint32(o + 80),
    ifPromiscuousMode: view.getUint32(o + 84),
  };
}

function readEthernet(view: DataView, o: number): NonNullable<SflowCounterSample["ethernet"]> {
  return {
    alignmentErrors: view.getUint32(o),
    fcsErrors: view.getUint32(o + 4),
    singleCollisionFrames: view.getUint32(o + 8),
    multipleCollisionFrames: view.getUint32(o + 12),
    sqeTestErrors: view.getUint32(o + 16),
    deferredTransmissions: view.getUint32(o + 20),
    lateCollisions: view.getUint32(o + 24),
    excessiveCollisions: view.getUint32(o + 28),
    internalMacTransmitErrors: view.getUint32(o + 32),
    carrierSenseErrors: view.getUint32(o + 36),
    frameTooLongs: view.getUint32(o + 40),
    internalMacReceiveErrors: view.getUint32(o + 44),
    symbolErrors: view.getUint32(o + 48),
  };
}
