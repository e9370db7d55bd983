// SPDX-License-Identifier: BSD-3-Clause
// A small packet builder for tspcapd's tests: Ethernet/SLL/SLL2/raw/null frames around IPv4 or IPv6 (with
// extension headers and fragments) carrying TCP, UDP, ICMP, ICMPv6, GRE or IPIP, with 802.1Q/QinQ tags and MPLS
// labels; written as classic pcap (either byte order, µs or ns) or pcapng. Seeded traffic of ordinary shape for
// comparisons with nfpcapd comes from `seededTraffic`.

export const LINK = { NULL: 0, ETHERNET: 1, RAW: 101, SLL: 113, SLL2: 276, LOOP: 108 } as const;

export interface PacketSpec {
  v6?: boolean;
  src: string;
  dst: string;
  proto: number; // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 47 GRE, 4 IPIP, 41 IPv6-in-IPv4
  sport?: number;
  dport?: number;
  /** TCP flags byte */
  flags?: number;
  tos?: number;
  icmpType?: number;
  icmpCode?: number;
  /** transport payload bytes */
  payload?: number;
  /** 802.1Q tags, outermost first */
  vlans?: number[];
  /** MPLS labels, outermost first */
  mpls?: number[];
  srcMac?: number;
  dstMac?: number;
  /** IPv6 extension headers before the transport (hop-by-hop 0, routing 43, destination 60) */
  ext?: number[];
  /** IPv4 identification (fragments of one datagram share it) */
  id?: number;
}

function v4(text: string): number[] {
  return text.split(".").map(Number);
}

function v6(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head === "" || head === undefined ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}

function csum(bytes: number[], start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** The transport header and payload of a packet. */
export function transport(p: PacketSpec): number[] {
  const body = Array<number>(p.payload ?? 0).fill(0x61);
  switch (p.proto) {
    case 6:
      return [
        ...u16(p.sport ?? 0),
        ...u16(p.dport ?? 0),
        ...u32(1),
        ...u32(0),
        0x50,
        p.flags ?? 0x18,
        ...u16(65535),
        0,
        0,
        0,
        0,
        ...body,
      ];
    case 17:
      return [...u16(p.sport ?? 0), ...u16(p.dport ?? 0), ...u16(8 + body.length), 0, 0, ...body];
    case 1:
    case 58:
      return [p.icmpType ?? 8, p.icmpCode ?? 0, 0, 0, 0, 1, 0, 1, ...body];
    case 47:
      return [
        0,
        0,
        0x08,
        0x00,
        ...ipv4Header({ src: "10.9.9.1", dst: "10.9.9.2", proto: 17 }, 8 + body.length),
        ...u16(1),
        ...u16(2),
        ...u16(8 + body.length),
        0,
        0,
        ...body,
      ];
    default:
      return body;
  }
}

function ipv4Header(
  p: Pick<PacketSpec, "src" | "dst" | "proto" | "tos" | "id">,
  payloadLen: number,
  frag = 0,
): number[] {
  const h = [
    0x45,
    p.tos ?? 0,
    ...u16(20 + payloadLen),
    ...u16(p.id ?? 1),
    ...u16(frag),
    64,
    p.proto,
    0,
    0,
    ...v4(p.src),
    ...v4(p.dst),
  ];
  const c = csum(h, 0, 20);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return h;
}

/** The IP packet (IPv4 or IPv6 with its extension headers). */
export function ipPacket(p: PacketSpec): number[] {
  const t = transport(p);
  if (!p.v6) return [...ipv4Header(p, t.length), ...t];
  const ext = p.ext ?? [];
  let rest = t;
  let next = p.proto;
  for (let i = ext.length - 1; i >= 0; i--) {
    rest = [next, 0, 0, 0, 0, 0, 0, 0, ...rest]; // 8-byte header, no options
    next = ext[i]!;
  }
  const tos = p.tos ?? 0;
  return [0x60 | (tos >> 4), (tos & 15) << 4, 0, 0, ...u16(rest.length), next, 64, ...v6(p.src), ...v6(p.dst), ...rest];
}

/** IPv4 fragments of a packet: payload split at `at` (multiples of 8) bytes of the IP payload. */
export function ipv4Fragments(p: PacketSpec, at: number[]): number[][] {
  const t = transport(p);
  const cuts = [0, ...at, t.length];
  const out: number[][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const part = t.slice(cuts[i], cuts[i + 1]);
    const more = i + 2 < cuts.length ? 0x2000 : 0;
    out.push([...ipv4Header(p, part.length, more | (cuts[i]! >> 3)), ...part]);
  }
  return out;
}

/** Wraps an IP packet in the link layer (with VLAN tags and MPLS labels for Ethernet). */
export function frame(ip: number[], link: number, p: Partial<PacketSpec> = {}): number[] {
  const isV6 = ip[0]! >> 4 === 6;
  const etherType = isV6 ? 0x86dd : 0x0800;
  switch (link) {
    case LINK.ETHERNET: {
      const mac = (m: number): number[] => [...u16(Math.floor(m / 2 ** 32)), ...u32(m % 2 ** 32)];
      const out = [...mac(p.dstMac ?? 0x020000000002), ...mac(p.srcMac ?? 0x020000000001)];
      for (const tag of p.vlans ?? [])
        out.push(...u16(out.length === 12 && (p.vlans?.length ?? 0) > 1 ? 0x88a8 : 0x8100), ...u16(tag));
      const labels = p.mpls ?? [];
      if (labels.length > 0) {
        out.push(...u16(0x8847));
        labels.forEach((l, i) => out.push(...u32((l << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64)));
      } else out.push(...u16(etherType));
      return [...out, ...ip];
    }
    case LINK.SLL:
      return [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...u16(etherType), ...ip];
    case LINK.SLL2:
      return [...u16(etherType), 0, 0, ...u32(1), 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...ip];
    case LINK.RAW:
      return ip;
    case LINK.NULL:
      return [...(isV6 ? [30, 0, 0, 0] : [2, 0, 0, 0]), ...ip]; // host order (little-endian) AF_INET / AF_INET6
    case LINK.LOOP:
      return [0, 0, 0, isV6 ? 24 : 2, ...ip];
    default:
      throw new Error(`packet builder: link ${link}`);
  }
}

export interface CapturedPacket {
  /** capture time in µs since the epoch */
  readonly us: number;
  readonly bytes: number[] | Uint8Array;
  /** original length when the capture cut the packet (snaplen) */
  readonly wireLength?: number;
}

/** A classic pcap file. */
export function pcapFile(
  packets: readonly CapturedPacket[],
  o: { link?: number; bigEndian?: boolean; nano?: boolean; snaplen?: number } = {},
): Uint8Array {
  const le = o.bigEndian !== true;
  let size = 24;
  for (const p of packets) size += 16 + p.bytes.length;
  const buf = new Uint8Array(size);
  const v = new DataView(buf.buffer);
  v.setUint32(0, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, o.snaplen ?? 262144, le);
  v.setUint32(20, o.link ?? LINK.ETHERNET, le);
  let off = 24;
  for (const p of packets) {
    v.setUint32(off, Math.floor(p.us / 1e6), le);
    v.setUint32(off + 4, o.nano ? (p.us % 1e6) * 1000 : p.us % 1e6, le);
    v.setUint32(off + 8, p.bytes.length, le);
    v.setUint32(off + 12, p.wireLength ?? p.bytes.length, le);
    buf.set(p.bytes, off + 16);
    off += 16 + p.bytes.length;
  }
  return buf;
}

/** A pcapng file: section header, one interface (µs resolution), enhanced packet blocks. */
export function pcapngFile(packets: readonly CapturedPacket[], o: { link?: number } = {}): Uint8Array {
  const blocks: number[][] = [];
  const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  const le16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
  const block = (type: number, body: number[]): void => {
    const len = 12 + body.length;
    blocks.push([...le32(type), ...le32(len), ...body, ...le32(len)]);
  };
  block(0x0a0d0d0a, [...le32(0x1a2b3c4d), ...le16(1), ...le16(0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  block(1, [...le16(o.link ?? LINK.ETHERNET), 0, 0, ...le32(262144)]);
  for (const p of packets) {
    const hi = Math.floor(p.us / 2 ** 32);
    const lo = p.us % 2 ** 32;
    const data = [...p.bytes];
    while (data.length % 4 !== 0) data.push(0);
    block(6, [
      ...le32(0),
      ...le32(hi),
      ...le32(lo),
      ...le32(p.bytes.length),
      ...le32(p.wireLength ?? p.bytes.length),
      ...data,
    ]);
  }
  return Uint8Array.from(blocks.flat());
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded ordinary traffic: TCP connections (SYN … FIN), UDP conversations (DNS-like), ICMP echo, some IPv6, over
 * Ethernet with a VLAN on some; packets spaced by a few ms, over about `seconds` of capture time.
 */
export function seededTraffic(
  seed: number,
  conversations: number,
  startUs = 1_700_000_000_000_000,
  seconds = 60,
  link: number = LINK.ETHERNET,
): CapturedPacket[] {
  const r = prng(seed);
  const out: CapturedPacket[] = [];
  const pick = (n: number): number => Math.floor(r() * n);
  for (let c = 0; c < conversations; c++) {
    const useV6 = r() < 0.2;
    const a = useV6 ? `2001:db8::${(pick(200) + 1).toString(16)}` : `10.0.${pick(4)}.${pick(250) + 1}`;
    const b = useV6 ? `2001:db8:1::${(pick(200) + 1).toString(16)}` : `192.0.2.${pick(250) + 1}`;
    const kind = r();
    const vlans = r() < 0.3 ? [10 + pick(3)] : [];
    let t = startUs + Math.floor(r() * seconds * 1e6);
    const sport = 1024 + pick(60000);
    const push = (p: PacketSpec): void => {
      out.push({ us: t, bytes: frame(ipPacket(p), link, { vlans }) });
      t += 100 + pick(20_000);
    };
    if (kind < 0.5) {
      const dport = [80, 443, 22, 25][pick(4)]!;
      const n = 3 + pick(20);
      push({ v6: useV6, src: a, dst: b, proto: 6, sport, dport, flags: 0x02 });
      push({ v6: useV6, src: b, dst: a, proto: 6, sport: dport, dport: sport, flags: 0x12 });
      for (let i = 0; i < n; i++) {
        const up = r() < 0.4;
        push(
          up
            ? { v6: useV6, src: a, dst: b, proto: 6, sport, dport, flags: 0x18, payload: pick(1400) }
            : { v6: useV6, src: b, dst: a, proto: 6, sport: dport, dport: sport, flags: 0x10, payload: pick(1400) },
        );
      }
      push({ v6: useV6, src: a, dst: b, proto: 6, sport, dport, flags: 0x11 });
      push({ v6: useV6, src: b, dst: a, proto: 6, sport: dport, dport: sport, flags: 0x11 });
    } else if (kind < 0.85) {
      const n = 1 + pick(6);
      for (let i = 0; i < n; i++) {
        push({ v6: useV6, src: a, dst: b, proto: 17, sport, dport: 53, payload: 20 + pick(60), tos: 0 });
        push({ v6: useV6, src: b, dst: a, proto: 17, sport: 53, dport: sport, payload: 40 + pick(400) });
      }
    } else {
      const n = 1 + pick(5);
      const proto = useV6 ? 58 : 1;
      for (let i = 0; i < n; i++) {
        push({ v6: useV6, src: a, dst: b, proto, icmpType: useV6 ? 128 : 8, payload: 56 });
        push({ v6: useV6, src: b, dst: a, proto, icmpType: useV6 ? 129 : 0, payload: 56 });
      }
    }
  }
  out.sort((x, y) => x.us - y.us);
  return out;
}
