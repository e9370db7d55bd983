// SPDX-License-Identifier: BSD-3-Clause
// JSON output: nfdump 1.7.1 `-o json` (tab-indented objects in an array, keys only for the extensions a
// record carries) and `ndjson` (one compact object per line, master-style keys, no array).
//
// Built by string concatenation against fixed key prefixes, never JSON.stringify per record.
// Extension presence: our columns are always there (absent fields are zero), so a group of keys is printed
// when nfdump would have carried its extension for such a record — always for the generic flow, the
// addresses, the misc block (interfaces, masks, direction), AS routing and the exporter address; otherwise
// when one of the group's values is non-zero (out counters, VLAN, next hops, MPLS, MAC, adjacent AS, NAT).

import { rawElementOf, type RecordBatch } from "../record/batch.js";
import { V6_BIT } from "../record/schema.js";
import { EXACT_COUNTERS } from "../record/u64.js";
import { addrColumns, counterColumns, type FormatColumn, ICMP_COLUMNS, RAW_ELEMENTS } from "./columns.js";
import { BufferedOutput, type Output } from "./out.js";
import { ViewCache, type BatchView } from "./view.js";
import {
  counterText,
  flagsString,
  formatIPv4,
  formatIPv6,
  intString,
  localDateTimeT,
  macString,
  maskV4Net,
  msPart,
  secOf,
} from "./text.js";

const SRC6 = V6_BIT.srcAddr;
const NH6 = V6_BIT.nextHop;
const BGP6 = V6_BIT.bgpNextHop;
const RA6 = V6_BIT.exporterAddr;
const XS6 = V6_BIT.xlateSrcAddr;

/** The bit of nfdump V3 element id k in the `elements` column. */
const EL = (k: number): number => (1 << k) >>> 0;

function timeT(msec: number): string {
  return `${localDateTimeT(secOf(msec))}.${msPart(msec)}`;
}

/**
 * src_net/dst_net of an IPv6 flow as nfdump 1.7.1's JSON prints it. Its masking works on the two 64-bit
 * halves and clears the low bits rather than keeping the top ones: a mask m below 64 keeps the upper half and
 * clears the low m bits of the lower half (2a00:14::5 with mask 16 prints 2a00:14::); m of 64 and more clears
 * the low m - 64 bits of the upper half and all of the lower half, the shift count taken modulo 64 as x86 does
 * (mask 128 keeps the whole upper half). The text formats' %sn/%dn mask differently (maskV6Net).
 */
function v6net(words: Uint32Array, off: number, mask: number, tmp: Uint32Array): string {
  let w0 = words[off]!;
  let w1 = words[off + 1]!;
  let w2 = words[off + 2]!;
  let w3 = words[off + 3]!;
  if (mask >= 64) {
    [w0, w1] = clearLow(w0, w1, (mask - 64) & 63);
    w2 = 0;
    w3 = 0;
  } else [w2, w3] = clearLow(w2, w3, mask);
  tmp[0] = w0;
  tmp[1] = w1;
  tmp[2] = w2;
  tmp[3] = w3;
  return formatIPv6(tmp, 0);
}

/** The 64-bit value hi:lo with its low `bits` (0..63) cleared. */
function clearLow(hi: number, lo: number, bits: number): [number, number] {
  if (bits < 32) return [hi, (lo & (0xffffffff << bits)) >>> 0];
  return [(hi & (0xffffffff << (bits - 32))) >>> 0, 0];
}

const NET_TMP = new Uint32Array(4);

/** The key/value pairs of one record, in nfdump 1.7.1 order; `kv(key, rawValue, quoted)` renders each pair. */
/** nfdump's firewall event names (fwEventList) by NSEL event id. */
const FW_EVENTS: readonly string[] = ["IGNORE", "CREATE", "DELETE", "DENIED", "ALERT", "UPDATE"];

/** nfdump 1.7.1's NAT event names (IPFIX natEvent 230) in JSON; other values print empty. */
const NAT_EVENTS: readonly string[] = [
  "Reserved",
  "NAT translation create",
  "NAT translation delete",
  "NAT Addresses exhausted",
  "NAT44 session create",
  "NAT44 session delete",
  "NAT64 session create",
  "NAT64 session delete",
  "NAT44 BIB create",
  "NAT44 BIB delete",
  "NAT64 BIB create",
  "NAT64 BIB delete",
  "NAT ports exhausted",
  "Quota Exceeded",
  "Address binding create",
  "Address binding delete",
  "Port block allocation",
  "Port block de-allocation",
  "Threshold Reached",
];

/** An NSEL/NAT event time as nfdump 1.7.1's JSON prints it: milliseconds unpadded, `<unknown>` for second 0. */
function eventTimeT(msec: number): string {
  const sec = secOf(msec);
  return `${sec === 0 ? "<unknown>" : localDateTimeT(sec)}.${intString(msec - sec * 1000)}`;
}

/** A big-endian unsigned integer of up to 4 bytes. */
export function beUint(b: Uint8Array): number {
  let v = 0;
  for (let k = 0; k < b.length && k < 4; k++) v = ((v << 8) | b[k]!) >>> 0;
  return v;
}

/** An ACL id as nfdump prints it: three u32 words in hex, `0x%x/0x%x/0x%x` (missing words 0). */
export function aclText(b: Uint8Array | undefined): string {
  const word = (k: number): number => (b && b.length >= 4 * k + 4 ? beUint(b.subarray(4 * k, 4 * k + 4)) : 0);
  return `0x${word(0).toString(16)}/0x${word(1).toString(16)}/0x${word(2).toString(16)}`;
}

/** A user name up to its first NUL, printable ASCII only (JSON values here are never escaped). */
export function userText(b: Uint8Array): string {
  let s = "";
  for (let k = 0; k < b.length && b[k] !== 0; k++) {
    const ch = b[k]!;
    s += ch >= 0x20 && ch < 0x7f && ch !== 0x22 && ch !== 0x5c ? String.fromCharCode(ch) : "?";
  }
  return s;
}

function emitRecord(
  b: BatchView,
  i: number,
  kv: (key: string, value: string, quoted: boolean) => void,
  legacy: boolean,
  raw?: RecordBatch,
): void {
  const c = b.cols;
  const f6 = c.v6Flags[i]!;
  const proto = c.proto[i]!;
  // the record's nfdump elements decide which groups print, as in nfdump; 0 (files and records that do not
  // know them) falls back to printing a group when it holds a value
  const el = c.elements[i]!;
  const known = el !== 0;
  const misc = known ? (el & EL(4)) !== 0 : true;
  // nfcapd 1.7.1 flags a record with NSEL event data (nselCommon) as an event; NAT event records stay flows
  kv("type", known && (el & EL(19)) !== 0 ? "EVENT" : "FLOW", true);
  if (legacy) kv("sampled", c.samplingInterval[i]! > 1 ? "1" : "0", false);
  kv("export_sysid", intString(c.exporterId[i]!), false);
  kv("first", timeT(c.msecFirst[i]!), true);
  kv("last", timeT(c.msecLast[i]!), true);
  kv("received", timeT(c.msecReceived[i]!), true);
  kv("in_packets", counterText(c.inPackets, c.inPacketsFix, i), false);
  kv("in_bytes", counterText(c.inBytes, c.inBytesFix, i), false);
  kv("proto", intString(proto), false);
  if (proto === 1 || proto === 58) {
    const dp = c.dstPort[i]!;
    const t = c.icmpType[i]! || dp >>> 8;
    const code = c.icmpType[i]! ? c.icmpCode[i]! : dp & 0xff;
    kv("icmp_type", intString(t), false);
    kv("icmp_code", intString(code), false);
  } else {
    kv("tcp_flags", flagsString(c.tcpFlags[i]!), true);
    kv("src_port", intString(c.srcPort[i]!), false);
    kv("dst_port", intString(c.dstPort[i]!), false);
  }
  if (!legacy && misc) kv("fwd_status", intString(c.fwdStatus[i]!), false);
  kv("src_tos", intString(c.srcTos[i]!), false);
  const v6 = (f6 & SRC6) !== 0;
  const sm = c.srcMask[i]!;
  const dm = c.dstMask[i]!;
  let snet = "";
  let dnet = "";
  // a record with both address elements (a template with IPv4 and IPv6 fields): nfdump prints both, 4 first
  const print4 = !v6 || (known && (el & EL(2)) !== 0);
  const print6 = v6 || (known && (el & EL(3)) !== 0);
  if (print4) {
    kv("src4_addr", formatIPv4(c.srcAddr[i]!), true);
    kv("dst4_addr", formatIPv4(c.dstAddr[i]!), true);
  }
  if (print6) {
    kv("src6_addr", formatIPv6(c.srcAddr6, i * 4), true);
    kv("dst6_addr", formatIPv6(c.dstAddr6, i * 4), true);
  }
  if (sm || dm) {
    if (v6) {
      snet = v6net(c.srcAddr6, i * 4, sm, NET_TMP);
      dnet = v6net(c.dstAddr6, i * 4, dm, NET_TMP);
    } else {
      snet = formatIPv4(maskV4Net(c.srcAddr[i]!, sm));
      dnet = formatIPv4(maskV4Net(c.dstAddr[i]!, dm));
    }
  }
  if (misc) {
    kv("input_snmp", intString(c.input[i]!), false);
    kv("output_snmp", intString(c.output[i]!), false);
    kv("src_mask", intString(sm), false);
    kv("dst_mask", intString(dm), false);
    kv("src_net", snet, true);
    kv("dst_net", dnet, true);
    if (legacy) kv("fwd_status", intString(c.fwdStatus[i]!), false);
    kv("direction", intString(c.direction[i]!), false);
    kv("dst_tos", intString(c.dstTos[i]!), false);
  }
  if (known ? (el & EL(5)) !== 0 : c.outPackets[i]! || c.outBytes[i]! || c.flows[i]! > 1) {
    kv("out_packets", counterText(c.outPackets, c.outPacketsFix, i), false);
    kv("out_bytes", counterText(c.outBytes, c.outBytesFix, i), false);
    kv("aggr_flows", intString(c.flows[i]! || 1), false);
  }
  if (known ? (el & EL(6)) !== 0 : c.srcVlan[i]! || c.dstVlan[i]!) {
    kv("src_vlan", intString(c.srcVlan[i]!), false);
    kv("dst_vlan", intString(c.dstVlan[i]!), false);
  }
  // nfcapd stores AS routing for v1/v5/v7 records only when an AS is set; v9/IPFIX templates always carry it
  const nfv = c.nfVersion[i]!;
  if (known ? (el & EL(7)) !== 0 : nfv >= 9 || nfv === 0 || c.srcAs[i]! !== 0 || c.dstAs[i]! !== 0) {
    kv("src_as", intString(c.srcAs[i]!), false);
    kv("dst_as", intString(c.dstAs[i]!), false);
  }
  if (known) {
    // a template may carry both families: nfdump prints each element it has
    if ((el & EL(8)) !== 0) kv("bgp4_next_hop", formatIPv4(c.bgpNextHop[i]!), true);
    if ((el & EL(9)) !== 0) kv("bgp6_next_hop", formatIPv6(c.bgpNextHop6, i * 4), true);
    if ((el & EL(10)) !== 0) kv("ip4_next_hop", formatIPv4(c.nextHop[i]!), true);
    if ((el & EL(11)) !== 0) kv("ip6_next_hop", formatIPv6(c.nextHop6, i * 4), true);
  } else {
    if (f6 & BGP6) kv("bgp6_next_hop", formatIPv6(c.bgpNextHop6, i * 4), true);
    else if (c.bgpNextHop[i]!) kv("bgp4_next_hop", formatIPv4(c.bgpNextHop[i]), true);
    if (f6 & NH6) kv("ip6_next_hop", formatIPv6(c.nextHop6, i * 4), true);
    else if (c.nextHop[i]!) kv("ip4_next_hop", formatIPv4(c.nextHop[i]), true);
  }
  if (f6 & RA6) kv("ip6_router", formatIPv6(c.exporterAddr6, i * 4), true);
  else kv("ip4_router", formatIPv4(c.exporterAddr[i]!), true);
  const mpls = [c.mpls1, c.mpls2, c.mpls3, c.mpls4, c.mpls5, c.mpls6, c.mpls7, c.mpls8, c.mpls9, c.mpls10];
  let anyMpls = false;
  for (let k = 0; k < 10; k++) if (mpls[k]![i]! !== 0) anyMpls = true;
  if (known ? (el & EL(14)) !== 0 : anyMpls) {
    for (let k = 0; k < 10; k++) {
      const v = mpls[k]![i]!;
      kv(`mpls_${k + 1}`, `${v >>> 4}-${(v & 0xf) >>> 1}-${v & 1}`, true);
    }
  }
  if (known ? (el & EL(15)) !== 0 : c.inSrcMac[i]! || c.outDstMac[i]! || c.inDstMac[i]! || c.outSrcMac[i]!) {
    kv("in_src_mac", macString(c.inSrcMac[i]!), true);
    kv("out_dst_mac", macString(c.outDstMac[i]!), true);
    kv("in_dst_mac", macString(c.inDstMac[i]!), true);
    kv("out_src_mac", macString(c.outSrcMac[i]!), true);
  }
  if (known ? (el & EL(16)) !== 0 : c.nextAs[i]! || c.prevAs[i]!) {
    kv("next_as", intString(c.nextAs[i]!), false);
    kv("prev_as", intString(c.prevAs[i]!), false);
  }
  if (known && (el & EL(19)) !== 0) {
    // NSEL common (nfdump's EXnselCommon): the connection id is kept raw (element 148) by the decoder; records
    // read from nfcapd files have no raw elements, so no connect_id (never a made-up 0)
    const id = raw ? rawElementOf(raw, i, 0, 148) : undefined;
    if (id) kv("connect_id", intString(beUint(id)), true);
    const ev = c.fwEvent[i]!;
    kv("event_id", intString(ev), true);
    kv("event", FW_EVENTS[ev] ?? "UNKNOWN", true);
    kv("xevent_id", intString(c.fwXEvent[i]!), true);
    kv("t_event", eventTimeT(c.msecEvent[i]!), true);
  }
  if (c.xlateSrcAddr[i]! || c.xlateDstAddr[i]! || (f6 & XS6) !== 0) {
    if (f6 & XS6) {
      kv("src6_xlt_ip", formatIPv6(c.xlateSrcAddr6, i * 4), true);
      kv("dst6_xlt_ip", formatIPv6(c.xlateDstAddr6, i * 4), true);
    } else {
      kv("src4_xlt_ip", formatIPv4(c.xlateSrcAddr[i]!), true);
      kv("dst4_xlt_ip", formatIPv4(c.xlateDstAddr[i]!), true);
    }
  }
  // the NAT ports (element 22) print when the record has them, as nfdump, even 0 (an ASA ICMP teardown)
  if (known ? (el & EL(22)) !== 0 : c.xlateSrcPort[i]! || c.xlateDstPort[i]!) {
    kv("src_xlt_port", intString(c.xlateSrcPort[i]!), true);
    kv("dst_xlt_port", intString(c.xlateDstPort[i]!), true);
  }
  // NSEL ACLs (EXnselAcl) and user (EXnselUser): Cisco's 12-byte ingress/egress ACL ids (33000/33001) and user
  // name (40000), kept raw by the decoder (printed only from those bytes); nfdump prints <empty> for no name
  const inAcl = known && (el & EL(23)) !== 0 && raw ? rawElementOf(raw, i, 0, 33000) : undefined;
  const outAcl = known && (el & EL(23)) !== 0 && raw ? rawElementOf(raw, i, 0, 33001) : undefined;
  if (inAcl || outAcl) {
    kv("ingress_acl", aclText(inAcl), true);
    kv("egress_acl", aclText(outAcl), true);
  }
  const user = known && (el & EL(24)) !== 0 && raw ? rawElementOf(raw, i, 0, 40000) : undefined;
  if (user) {
    const name = userText(user);
    kv("user_name", name === "" ? "<empty>" : name, true);
  }
  // NAT event logging (EXnelCommon, EXnelXlatePort), when the record has the elements
  const nel = known && (el & EL(25)) !== 0;
  if (nel) {
    const ev = c.natEvent[i]!;
    kv("nat_event_id", intString(ev), true);
    kv("nat_event", NAT_EVENTS[ev] ?? "", true);
    kv("ingress_vrf", intString(c.ingressVrf[i]!), true);
    kv("egress_vrf", intString(c.egressVrf[i]!), true);
    kv("t_event", eventTimeT(c.msecEvent[i]!), true);
  }
  if (known && (el & EL(26)) !== 0) {
    kv("pblock_start", intString(c.pbStart[i]!), true);
    kv("pblock_end", intString(c.pbEnd[i]!), true);
    kv("pblock_step", intString(c.pbStep[i]!), true);
    kv("pblock_size", intString(c.pbSize[i]!), true);
  }
  if (!nel && (c.ingressVrf[i]! || c.egressVrf[i]!)) {
    kv("ingress_vrf", intString(c.ingressVrf[i]!), true);
    kv("egress_vrf", intString(c.egressVrf[i]!), true);
  }
  if (!legacy) kv("sampled", c.samplingInterval[i]! > 1 ? "1" : "0", false);
}

/** The physical columns emitRecord reads, and the raw elements (NSEL connection id, ACL ids, user name). */
export const JSON_COLUMNS: ReadonlySet<FormatColumn> = new Set<FormatColumn>([
  RAW_ELEMENTS,
  ...addrColumns("srcAddr"),
  ...addrColumns("dstAddr"),
  ...addrColumns("nextHop"),
  ...addrColumns("bgpNextHop"),
  ...addrColumns("exporterAddr"),
  ...addrColumns("xlateSrcAddr"),
  ...addrColumns("xlateDstAddr"),
  ...EXACT_COUNTERS.flatMap((c) => counterColumns(c)),
  ...ICMP_COLUMNS,
  ...(["msecFirst", "msecLast", "msecReceived", "msecEvent", "srcPort", "tcpFlags", "srcTos", "dstTos"] as const),
  ...(["fwdStatus", "direction", "srcMask", "dstMask", "srcAs", "dstAs", "nextAs", "prevAs", "input"] as const),
  ...(["output", "srcVlan", "dstVlan", "inSrcMac", "outDstMac", "inDstMac", "outSrcMac", "elements"] as const),
  ...(["mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9", "mpls10"] as const),
  ...(["exporterId", "nfVersion", "samplingInterval", "ingressVrf", "egressVrf", "natEvent", "fwEvent"] as const),
  ...(["fwXEvent", "xlateSrcPort", "xlateDstPort", "pbStart", "pbEnd", "pbStep", "pbSize"] as const),
]);

function jsonString(s: string): string {
  // every quoted value is produced here from numbers (addresses, dates, flags, MACs, labels): never a quote,
  // backslash or control character, so no escaping pass per value
  return `"${s}"`;
}

/** Between two objects of `-o json`. */
export const JSON_RUN_SEPARATOR = ",\n";

/** nfdump 1.7.1 `-o json`: `[`, tab-indented objects separated by `,\n`, `]`. */
export class JsonFormatter {
  readonly runSeparator = JSON_RUN_SEPARATOR;
  readonly columns = JSON_COLUMNS;
  /** records formatted since newRun (the first of a run gets no separator) */
  private inRun = 0;
  private acc = "";
  private readonly views = new ViewCache();
  private readonly quiet: boolean;
  private readonly kv: (key: string, value: string, quoted: boolean) => void;

  constructor(quiet = false) {
    this.quiet = quiet;
    this.kv = (key, value, quoted) => {
      this.acc += `\t"${key}" : ${quoted ? jsonString(value) : value},\n`;
    };
  }

  prolog(out: Output): void {
    if (!this.quiet) out.write("[\n");
  }

  record(batch: RecordBatch, i: number, out: Output): void {
    this.acc = this.inRun++ === 0 ? "{\n" : `${JSON_RUN_SEPARATOR}{\n`;
    emitRecord(this.views.of(batch), i, this.kv, true, batch);
    const text = `${this.acc}\t"label" : "<none>"\n}`;
    if (out instanceof BufferedOutput) out.writeAscii(text);
    else out.write(text);
  }

  newRun(): void {
    this.inRun = 0;
  }

  epilog(out: Output): void {
    if (!this.quiet) out.write("]\n");
  }
}

/** `-o ndjson`: one compact object per line. */
export class NdjsonFormatter {
  readonly columns = JSON_COLUMNS;
  private acc = "";
  private readonly views = new ViewCache();
  private readonly kv: (key: string, value: string, quoted: boolean) => void;

  constructor() {
    this.kv = (key, value, quoted) => {
      this.acc += `${this.acc.length > 1 ? "," : ""}"${key}":${quoted ? jsonString(value) : value}`;
    };
  }

  prolog(): void {
    // no header: every line is a complete document
  }

  record(batch: RecordBatch, i: number, out: Output): void {
    this.acc = "{";
    emitRecord(this.views.of(batch), i, this.kv, false, batch);
    const text = `${this.acc}}\n`;
    if (out instanceof BufferedOutput) out.writeAscii(text);
    else out.write(text);
  }

  epilog(): void {
    // nothing to close
  }
}
