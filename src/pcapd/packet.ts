// SPDX-License-Identifier: BSD-3-Clause
// One captured frame → the fields a flow needs, written into a reused PacketInfo (no object per packet).
//
//   link layer: Ethernet (802.1Q / 802.1ad / QinQ tags, MPLS label stacks, PPPoE session), Linux cooked v1 and
//               v2, raw IP (DLT_RAW 12/14, LINKTYPE_RAW 101, IPv4 228, IPv6 229), BSD null and loopback
//   network:    IPv4 (options skipped), IPv6 (hop-by-hop, routing, destination options, fragment and
//               authentication headers walked to the transport)
//   transport:  TCP/UDP/SCTP/UDP-lite ports, TCP flags, ICMP/ICMPv6 type·256+code in the destination port;
//               GRE, IPIP and every other protocol are accounted as the outer protocol without ports
// Bytes are the IP total length (IPv6: 40 + payload length) as nfpcapd counts them, also when the capture cut
// the packet short (snaplen): only the headers read must lie inside the captured bytes.
//
// Fragments: the first fragment carries the ports; it is remembered (bounded table keyed by addresses, protocol
// and identification) so that later fragments, which have no transport header, join the same flow.

export const PKT = {
  OK: 0,
  /** not IP (ARP, LLDP, …): skipped, as nfpcapd */
  NOT_IP: 1,
  /** the captured bytes end inside a header that is needed */
  SHORT: 2,
  /** a header that contradicts itself (version, header length, total length) */
  MALFORMED: 3,
  /** a link type this program does not decode */
  UNKNOWN_LINK: 4,
} as const;
export type PacketStatus = (typeof PKT)[keyof typeof PKT];

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_12: 12,
  RAW_14: 14,
  RAW: 101,
  LOOP: 108,
  SLL: 113,
  IPV4: 228,
  IPV6: 229,
  SLL2: 276,
} as const;

export function linkTypeKnown(link: number): boolean {
  return (
    link === 0 ||
    link === 1 ||
    link === 12 ||
    link === 14 ||
    link === 101 ||
    link === 108 ||
    link === 113 ||
    link === 228 ||
    link === 229 ||
    link === 276
  );
}

/** What one packet contributes to its flow. Addresses are big-endian u32 words (IPv4: word 0 only). */
export class PacketInfo {
  v6 = false;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tos = 0;
  /** IP total length */
  bytes = 0;
  /** outer 802.1Q VLAN id, 0 = untagged */
  vlan = 0;
  srcMac = 0;
  dstMac = 0;
  /** MPLS label stack entries (label<<4 | exp<<1 | S), outermost first; `mplsCount` used */
  readonly mpls = new Uint32Array(10);
  mplsCount = 0;
  /** a fragment after the first (no transport header) */
  laterFragment = false;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MC = 0x8848;
const ETH_PPPOE = 0x8864;

/** Bounded memory of first fragments: (addresses, proto, id) → ports. Oldest entries are overwritten. */
export class FragmentTable {
  private readonly size: number;
  private readonly keys: Uint32Array;
  private readonly ports: Uint32Array;
  private readonly used: Uint8Array;

  constructor(size = 4096) {
    this.size = size;
    this.keys = new Uint32Array(size * 10);
    this.ports = new Uint32Array(size);
    this.used = new Uint8Array(size);
  }

  private slot(p: PacketInfo, id: number): number {
    let h = Math.imul(id ^ p.proto, 0x9e3779b1);
    for (let k = 0; k < 4; k++) {
      h = Math.imul(h ^ p.src[k]!, 0x85ebca6b);
      h = Math.imul(h ^ p.dst[k]!, 0xc2b2ae35);
    }
    return ((h ^ (h >>> 15)) >>> 0) % this.size;
  }

  remember(p: PacketInfo, id: number): void {
    const s = this.slot(p, id);
    const o = s * 10;
    const k = this.keys;
    for (let i = 0; i < 4; i++) {
      k[o + i] = p.src[i]!;
      k[o + 4 + i] = p.dst[i]!;
    }
    k[o + 8] = id;
    k[o + 9] = p.proto | (p.v6 ? 0x100 : 0);
    this.ports[s] = ((p.srcPort << 16) | p.dstPort) >>> 0;
    this.used[s] = 1;
  }

  /** Sets the ports of a later fragment from its first fragment; false when the first was not seen. */
  recall(p: PacketInfo, id: number): boolean {
    const s = this.slot(p, id);
    if (this.used[s] === 0) return false;
    const o = s * 10;
    const k = this.keys;
    if (k[o + 8] !== id || k[o + 9] !== (p.proto | (p.v6 ? 0x100 : 0))) return false;
    for (let i = 0; i < 4; i++) if (k[o + i] !== p.src[i] || k[o + 4 + i] !== p.dst[i]) return false;
    const ports = this.ports[s]!;
    p.srcPort = ports >>> 16;
    p.dstPort = ports & 0xffff;
    return true;
  }
}

/**
 * Decodes one frame of `caplen` bytes at `off` in `b` (`v` views the same buffer).
 * @returns a PKT status; on OK `info` holds the packet's flow fields.
 */
export function decodePacket(
  b: Uint8Array,
  v: DataView,
  off: number,
  caplen: number,
  link: number,
  info: PacketInfo,
  frags: FragmentTable,
): PacketStatus {
  const end = off + caplen;
  let p = off;
  let type = 0;
  info.vlan = 0;
  info.srcMac = 0;
  info.dstMac = 0;
  info.mplsCount = 0;
  switch (link) {
    case 1: {
      if (caplen < 14) return PKT.SHORT;
      info.dstMac = v.getUint16(p) * 4294967296 + v.getUint32(p + 2);
      info.srcMac = v.getUint16(p + 6) * 4294967296 + v.getUint32(p + 8);
      type = v.getUint16(p + 12);
      p += 14;
      // tags: 802.1Q, 802.1ad and the old QinQ type, any depth; the outermost VLAN id is kept
      while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) {
        if (p + 4 > end) return PKT.SHORT;
        if (info.vlan === 0) info.vlan = v.getUint16(p) & 0x0fff;
        type = v.getUint16(p + 2);
        p += 4;
      }
      if (type === ETH_PPPOE) {
        if (p + 8 > end) return PKT.SHORT;
        const ppp = v.getUint16(p + 6);
        p += 8;
        if (ppp === 0x0021) type = ETH_IPV4;
        else if (ppp === 0x0057) type = ETH_IPV6;
        else return PKT.NOT_IP;
      }
      if (type === ETH_MPLS || type === ETH_MPLS_MC) {
        for (;;) {
          if (p + 4 > end) return PKT.SHORT;
          const e = v.getUint32(p);
          if (info.mplsCount < 10) info.mpls[info.mplsCount++] = e >>> 8;
          p += 4;
          if ((e & 0x100) !== 0) break;
        }
        // below the stack: the IP version nibble says which
        if (p >= end) return PKT.SHORT;
        const ver = b[p]! >> 4;
        type = ver === 4 ? ETH_IPV4 : ver === 6 ? ETH_IPV6 : 0;
      }
      break;
    }
    case 113:
      if (caplen < 16) return PKT.SHORT;
      type = v.getUint16(p + 14);
      p += 16;
      while (type === ETH_VLAN) {
        if (p + 4 > end) return PKT.SHORT;
        if (info.vlan === 0) info.vlan = v.getUint16(p) & 0x0fff;
        type = v.getUint16(p + 2);
        p += 4;
      }
      break;
    case 276:
      if (caplen < 20) return PKT.SHORT;
      type = v.getUint16(p);
      p += 20;
      break;
    case 0:
    case 108: {
      if (caplen < 4) return PKT.SHORT;
      // null: host byte order of the capturing machine; loop: network order. AF_INET = 2 everywhere, AF_INET6
      // 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS)
      let af = link === 108 ? v.getUint32(p) : v.getUint32(p, true);
      if (link === 0 && af > 0xffff) af = v.getUint32(p);
      p += 4;
      type = af === 2 ? ETH_IPV4 : af === 10 || af === 24 || af === 28 || af === 30 ? ETH_IPV6 : 0;
      break;
    }
    case 12:
    case 14:
    case 101:
    case 228:
    case 229: {
      if (caplen < 1) return PKT.SHORT;
      const ver = b[p]! >> 4;
      type = ver === 4 ? ETH_IPV4 : ver === 6 ? ETH_IPV6 : 0;
      break;
    }
    default:
      return PKT.UNKNOWN_LINK;
  }
  if (type === ETH_IPV4) return decodeIPv4(b, v, p, end, info, frags);
  if (type === ETH_IPV6) return decodeIPv6(b, v, p, end, info, frags);
  return PKT.NOT_IP;
}

function decodeIPv4(
  b: Uint8Array,
  v: DataView,
  p: number,
  end: number,
  info: PacketInfo,
  frags: FragmentTable,
): PacketStatus {
  if (p + 20 > end) return PKT.SHORT;
  const vihl = b[p]!;
  const ihl = (vihl & 15) * 4;
  if (vihl >> 4 !== 4 || ihl < 20) return PKT.MALFORMED;
  const total = v.getUint16(p + 2);
  if (total < ihl) return PKT.MALFORMED;
  info.v6 = false;
  info.tos = b[p + 1]!;
  info.bytes = total;
  info.proto = b[p + 9]!;
  const s = info.src;
  const d = info.dst;
  s[0] = v.getUint32(p + 12);
  s[1] = 0;
  s[2] = 0;
  s[3] = 0;
  d[0] = v.getUint32(p + 16);
  d[1] = 0;
  d[2] = 0;
  d[3] = 0;
  const frag = v.getUint16(p + 6);
  const fragOffset = frag & 0x1fff;
  const more = (frag & 0x2000) !== 0;
  info.laterFragment = fragOffset !== 0;
  info.srcPort = 0;
  info.dstPort = 0;
  info.tcpFlags = 0;
  if (fragOffset !== 0) {
    frags.recall(info, v.getUint16(p + 4));
    return PKT.OK;
  }
  if (p + ihl > end) return PKT.SHORT;
  const st = transport(b, v, p + ihl, end, info, false);
  if (st === PKT.OK && more) frags.remember(info, v.getUint16(p + 4));
  return st;
}

function decodeIPv6(
  b: Uint8Array,
  v: DataView,
  p: number,
  end: number,
  info: PacketInfo,
  frags: FragmentTable,
): PacketStatus {
  if (p + 40 > end) return PKT.SHORT;
  if (b[p]! >> 4 !== 6) return PKT.MALFORMED;
  info.v6 = true;
  info.tos = ((v.getUint16(p) >>> 4) & 0xff) >>> 0;
  info.bytes = 40 + v.getUint16(p + 4);
  const s = info.src;
  const d = info.dst;
  for (let k = 0; k < 4; k++) {
    s[k] = v.getUint32(p + 8 + 4 * k);
    d[k] = v.getUint32(p + 24 + 4 * k);
  }
  let next = b[p + 6]!;
  p += 40;
  info.srcPort = 0;
  info.dstPort = 0;
  info.tcpFlags = 0;
  info.laterFragment = false;
  let fragId = -1;
  let firstFragment = false;
  // extension headers, at most 8 (a chain crafted to loop costs nothing)
  for (let n = 0; n < 8; n++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (p + 8 > end) return PKT.SHORT;
      const len = (b[p + 1]! + 1) * 8;
      next = b[p]!;
      p += len;
    } else if (next === 51) {
      if (p + 8 > end) return PKT.SHORT;
      const len = (b[p + 1]! + 2) * 4;
      next = b[p]!;
      p += len;
    } else if (next === 44) {
      if (p + 8 > end) return PKT.SHORT;
      const fo = v.getUint16(p + 2);
      fragId = v.getUint32(p + 4);
      next = b[p]!;
      p += 8;
      if (fo >>> 3 !== 0) {
        info.proto = next;
        info.laterFragment = true;
        frags.recall(info, fragId);
        return PKT.OK;
      }
      firstFragment = (fo & 1) !== 0;
    } else break;
  }
  info.proto = next;
  const st = transport(b, v, p, end, info, true);
  if (st === PKT.OK && firstFragment) frags.remember(info, fragId);
  return st;
}

function transport(b: Uint8Array, v: DataView, p: number, end: number, info: PacketInfo, v6: boolean): PacketStatus {
  switch (info.proto) {
    case 6:
      if (p + 14 > end) return PKT.SHORT;
      info.srcPort = v.getUint16(p);
      info.dstPort = v.getUint16(p + 2);
      info.tcpFlags = b[p + 13]!;
      return PKT.OK;
    case 17:
    case 132:
    case 136:
      if (p + 4 > end) return PKT.SHORT;
      info.srcPort = v.getUint16(p);
      info.dstPort = v.getUint16(p + 2);
      return PKT.OK;
    case 1:
      if (v6) return PKT.OK;
      if (p + 2 > end) return PKT.SHORT;
      info.dstPort = (b[p]! << 8) | b[p + 1]!;
      return PKT.OK;
    case 58:
      if (!v6) return PKT.OK;
      if (p + 2 > end) return PKT.SHORT;
      info.dstPort = (b[p]! << 8) | b[p + 1]!;
      return PKT.OK;
    default:
      return PKT.OK;
  }
}
