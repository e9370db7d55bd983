// SPDX-License-Identifier: BSD-3-Clause
// A tiny pcap reader for tests: classic libpcap files (both byte orders, µs or ns timestamps), link types
// Ethernet (with 802.1Q tags), raw IP and Linux cooked; yields the UDP datagrams over IPv4 or IPv6.

import { readFileSync } from "node:fs";

export interface UdpDatagram {
  /** Capture time, ms since the epoch. */
  readonly timeMs: number;
  readonly srcAddress: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

export function readPcapFile(path: string): UdpDatagram[] {
  return parsePcap(new Uint8Array(readFileSync(path)));
}

export function parsePcap(buf: Uint8Array): UdpDatagram[] {
  if (buf.length < 24) throw new Error("pcap: file shorter than the global header");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, true);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4) le = true;
  else if (magic === 0xd4c3b2a1) le = false;
  else if (magic === 0xa1b23c4d) {
    le = true;
    nano = true;
  } else if (magic === 0x4d3cb2a1) {
    le = false;
    nano = true;
  } else throw new Error(`pcap: bad magic 0x${magic.toString(16)}`);
  const linkType = view.getUint32(20, le);
  const out: UdpDatagram[] = [];
  let o = 24;
  while (o + 16 <= buf.length) {
    const sec = view.getUint32(o, le);
    const frac = view.getUint32(o + 4, le);
    const incl = view.getUint32(o + 8, le);
    o += 16;
    if (o + incl > buf.length) throw new Error(`pcap: record at ${o - 16} runs past the file`);
    const timeMs = sec * 1000 + Math.floor(nano ? frac / 1e6 : frac / 1e3);
    const d = udpOf(buf.subarray(o, o + incl), linkType, timeMs);
    if (d) out.push(d);
    o += incl;
  }
  return out;
}

function udpOf(frame: Uint8Array, linkType: number, timeMs: number): UdpDatagram | null {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let p = 0;
  let type = 0;
  if (linkType === 1) {
    if (frame.length < 14) return null;
    type = v.getUint16(12);
    p = 14;
    while ((type === 0x8100 || type === 0x88a8) && p + 4 <= frame.length) {
      type = v.getUint16(p + 2);
      p += 4;
    }
  } else if (linkType === 113) {
    if (frame.length < 16) return null;
    type = v.getUint16(14);
    p = 16;
  } else if (linkType === 101 || linkType === 12) {
    type = frame[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  } else if (linkType === 0) {
    type = frame[4]! >> 4 === 6 ? 0x86dd : 0x0800;
    p = 4;
  } else throw new Error(`pcap: unsupported link type ${linkType}`);
  let src: string;
  let udp: number;
  if (type === 0x0800) {
    const ihl = (frame[p]! & 15) * 4;
    if (frame[p + 9] !== 17) return null;
    src = `${frame[p + 12]!}.${frame[p + 13]!}.${frame[p + 14]!}.${frame[p + 15]!}`;
    udp = p + ihl;
  } else if (type === 0x86dd) {
    if (frame[p + 6] !== 17) return null;
    const g: string[] = [];
    for (let k = 0; k < 8; k++) g.push(v.getUint16(p + 8 + 2 * k).toString(16));
    src = compressV6(g);
    udp = p + 40;
  } else return null;
  const len = v.getUint16(udp + 4);
  return {
    timeMs,
    srcAddress: src,
    srcPort: v.getUint16(udp),
    dstPort: v.getUint16(udp + 2),
    payload: frame.slice(udp + 8, udp + Math.max(8, Math.min(len, frame.length - udp))),
  };
}

function compressV6(g: string[]): string {
  // longest run of "0" groups → "::"
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}
