// tspcapd's packet path on built packets: capture formats (pcap both byte orders and ns, pcapng, gzip), link
// types, tags and labels, IPv6 extension headers, fragments, ICMP, snaplen cuts; damage is reported with its
// offset and the packets before it are kept; the flow cache's expiry (FIN/RST, inactive, active, cache full).

import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { CaptureParser } from "../../../src/pcapd/capture-file.js";
import { FlowCache, type FlowSink } from "../../../src/pcapd/flow-cache.js";
import { decodePacket, FragmentTable, PacketInfo, PKT } from "../../../src/pcapd/packet.js";
import { RecordBatch } from "../../../src/record/batch.js";
import {
  frame,
  ipPacket,
  ipv4Fragments,
  LINK,
  pcapFile,
  pcapngFile,
  seededTraffic,
  type CapturedPacket,
  type PacketSpec,
} from "../../helpers/packet-builder.js";
import { gunzipSync } from "node:zlib";

const T0 = 1_700_000_000_000_000;

interface Seen {
  timeMs: number;
  link: number;
  caplen: number;
  wire: number;
  bytes: Uint8Array;
}

function parse(file: Uint8Array, chunk = 7): { seen: Seen[]; parser: CaptureParser } {
  const seen: Seen[] = [];
  const parser = new CaptureParser((buf, _v, off, caplen, wire, timeMs, link) => {
    seen.push({ timeMs, link, caplen, wire, bytes: buf.slice(off, off + caplen) });
  });
  // odd chunk sizes: records cross every chunk boundary
  for (let o = 0; o < file.length; o += chunk) parser.push(file.subarray(o, o + chunk));
  parser.end();
  return { seen, parser };
}

const udp = (n: number): PacketSpec => ({
  src: "10.0.0.1",
  dst: "10.0.0.2",
  proto: 17,
  sport: 1000 + n,
  dport: 53,
  payload: 10 + n,
});
const packets = (link: number = LINK.ETHERNET): CapturedPacket[] =>
  [0, 1, 2].map((n) => ({ us: T0 + n * 1500, bytes: frame(ipPacket(udp(n)), link) }));

function decode(
  bytes: number[] | Uint8Array,
  link: number,
  frags = new FragmentTable(),
): { st: number; p: PacketInfo } {
  const b = Uint8Array.from(bytes);
  const p = new PacketInfo();
  const st = decodePacket(b, new DataView(b.buffer), 0, b.length, link, p, frags);
  return { st, p };
}

describe("capture files", () => {
  it.each([
    ["pcap little-endian µs", pcapFile(packets())],
    ["pcap big-endian µs", pcapFile(packets(), { bigEndian: true })],
    ["pcap ns", pcapFile(packets(), { nano: true })],
    ["pcapng", pcapngFile(packets())],
  ])("%s: every packet with its time in ms", (_name, file) => {
    const { seen, parser } = parse(file);
    expect(parser.damage).toBeNull();
    expect(seen.map((s) => s.timeMs)).toEqual([T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 3]);
    expect(seen.map((s) => s.link)).toEqual([1, 1, 1]);
    expect(seen[2]!.bytes).toEqual(Uint8Array.from(frame(ipPacket(udp(2)), LINK.ETHERNET)));
  });

  it.each([65_537, 100_003, 1 << 20])(
    "chunks of %i bytes (records bridged across boundaries) give every packet once",
    (chunk) => {
      const traffic = seededTraffic(9, 600);
      for (const file of [pcapFile(traffic), pcapngFile(traffic)]) {
        expect(file.length).toBeGreaterThan(3 * 65_536);
        // compared as one line per packet (deep equality of thousands of byte arrays is slow)
        const digest = (list: Seen[]): string[] =>
          list.map(
            (p) => `${p.timeMs} ${p.link} ${p.caplen} ${p.wire} ${p.bytes.reduce((a, b) => (a * 31 + b) >>> 0, 0)}`,
          );
        const whole = digest(parse(file, file.length).seen);
        const { seen, parser } = parse(file, chunk);
        expect(parser.damage).toBeNull();
        expect(seen).toHaveLength(traffic.length);
        expect(digest(seen)).toEqual(whole);
      }
      // damage after a bridge keeps its stream offset
      const file = pcapFile(traffic);
      let at = 24;
      for (let i = 0; i < 2000; i++) at += 16 + traffic[i]!.bytes.length;
      new DataView(file.buffer).setUint32(at + 8, 0x7fffffff, true);
      const { seen, parser } = parse(file, 70_001);
      expect(seen).toHaveLength(2000);
      expect(parser.damage?.offset).toBe(at);
    },
  );

  it("gzip is the caller's business: a gunzipped stream parses the same", () => {
    const gz = gzipSync(pcapFile(packets()));
    expect(parse(gunzipSync(gz)).seen).toHaveLength(3);
  });

  it("wrong magic: damage at offset 0, nothing decoded", () => {
    const file = pcapFile(packets());
    file[0] = 0x12;
    const { seen, parser } = parse(file);
    expect(seen).toHaveLength(0);
    expect(parser.damage).toEqual({ offset: 0, message: expect.stringContaining("not a pcap or pcapng file") });
  });

  it("a file cut inside the third record keeps the first two and names the record's offset", () => {
    const file = pcapFile(packets());
    const len = (n: number): number => 16 + frame(ipPacket(udp(n)), LINK.ETHERNET).length;
    const third = 24 + len(0) + len(1);
    const cut = file.subarray(0, third + 26);
    const { seen, parser } = parse(cut);
    expect(seen).toHaveLength(2);
    expect(parser.damage?.message).toMatch(/ends inside a packet record/);
    expect(parser.damage?.offset).toBe(third);
  });

  it("a record longer than the snaplen stops the file there", () => {
    const file = pcapFile(packets(), { snaplen: 1500 });
    const second = 24 + 16 + frame(ipPacket(udp(0)), LINK.ETHERNET).length;
    new DataView(file.buffer).setUint32(second + 8, 0x7fffffff, true);
    const { seen, parser } = parse(file);
    expect(seen).toHaveLength(1);
    expect(parser.damage).toEqual({ offset: second, message: expect.stringContaining("exceeds the snaplen 1500") });
  });

  it("pcapng: a packet block too short for its fixed part, at the end of the file, is damage (no read past it)", () => {
    const file = pcapngFile(packets().slice(0, 1));
    // the last block: an enhanced packet block of length 12 (type, length, trailing length only)
    const tail = new Uint8Array(12);
    const v = new DataView(tail.buffer);
    v.setUint32(0, 6, true);
    v.setUint32(4, 12, true);
    v.setUint32(8, 12, true);
    const whole = new Uint8Array(file.length + 12);
    whole.set(file);
    whole.set(tail, file.length);
    const { seen, parser } = parse(whole, whole.length);
    expect(seen).toHaveLength(1);
    expect(parser.damage).toEqual({
      offset: file.length,
      message: "pcapng block of type 6 shorter (12) than its fixed part (32)",
    });
  });

  it("pcapng: a block with a bad length is damage at its offset", () => {
    const file = pcapngFile(packets());
    // SHB 28 bytes, IDB 20 bytes: the first EPB starts at 48
    new DataView(file.buffer).setUint32(48 + 4, 13, true);
    const { seen, parser } = parse(file);
    expect(seen).toHaveLength(0);
    expect(parser.damage?.offset).toBe(48);
  });
});

describe("packet decoding", () => {
  it.each([
    ["Ethernet", LINK.ETHERNET],
    ["Linux cooked", LINK.SLL],
    ["Linux cooked v2", LINK.SLL2],
    ["raw", LINK.RAW],
    ["null", LINK.NULL],
    ["loop", LINK.LOOP],
  ])("%s: addresses, ports, bytes = IP total length", (_n, link) => {
    const { st, p } = decode(frame(ipPacket(udp(3)), link), link);
    expect(st).toBe(PKT.OK);
    expect([p.src[0], p.dst[0], p.proto, p.srcPort, p.dstPort, p.bytes]).toEqual([
      0x0a000001,
      0x0a000002,
      17,
      1003,
      53,
      20 + 8 + 13,
    ]);
  });

  it("802.1Q, QinQ (outer VLAN kept) and MPLS stacks", () => {
    expect(decode(frame(ipPacket(udp(0)), LINK.ETHERNET, { vlans: [42] }), 1).p.vlan).toBe(42);
    const q = decode(frame(ipPacket(udp(0)), LINK.ETHERNET, { vlans: [100, 7] }), 1);
    expect([q.st, q.p.vlan, q.p.srcPort]).toEqual([PKT.OK, 100, 1000]);
    const m = decode(frame(ipPacket(udp(0)), LINK.ETHERNET, { mpls: [16, 17, 18] }), 1);
    expect([m.st, m.p.mplsCount, m.p.mpls[0]! >>> 4, m.p.mpls[2]! & 1, m.p.dstPort]).toEqual([PKT.OK, 3, 16, 1, 53]);
  });

  it("IPv6 extension headers are walked to the transport; bytes = 40 + payload length", () => {
    const { st, p } = decode(
      frame(
        ipPacket({
          v6: true,
          src: "2001:db8::1",
          dst: "2001:db8::2",
          proto: 6,
          sport: 5,
          dport: 443,
          flags: 0x12,
          ext: [0, 43, 60],
        }),
        1,
      ),
      1,
    );
    expect([st, p.v6, p.proto, p.srcPort, p.dstPort, p.tcpFlags, p.bytes]).toEqual([
      PKT.OK,
      true,
      6,
      5,
      443,
      0x12,
      40 + 24 + 20,
    ]);
    expect([...p.src]).toEqual([0x20010db8, 0, 0, 1]);
  });

  it("ICMP and ICMPv6: type·256 + code in the destination port", () => {
    expect(
      decode(frame(ipPacket({ src: "1.1.1.1", dst: "2.2.2.2", proto: 1, icmpType: 3, icmpCode: 13 }), 1), 1).p.dstPort,
    ).toBe(3 * 256 + 13);
    expect(
      decode(frame(ipPacket({ v6: true, src: "::1", dst: "::2", proto: 58, icmpType: 129 }), 1), 1).p.dstPort,
    ).toBe(129 * 256);
  });

  it("later IPv4 fragments take the ports of their first fragment", () => {
    const frags = new FragmentTable();
    const parts = ipv4Fragments({ ...udp(0), payload: 3000, id: 99 }, [1480, 2960]);
    const seen = parts.map((f) => decode(f, LINK.RAW, frags).p);
    expect(seen.map((p) => [p.srcPort, p.dstPort, p.laterFragment])).toEqual([
      [1000, 53, false],
      [1000, 53, true],
      [1000, 53, true],
    ]);
    expect(seen.map((p) => p.bytes)).toEqual([1500, 1500, 20 + 3008 - 2960]);
  });

  it("snaplen-cut packets count their IP total length; a cut inside the headers is SHORT, bad headers MALFORMED", () => {
    const full = frame(ipPacket({ ...udp(0), payload: 1000 }), 1);
    expect(decode(full.slice(0, 60), 1).p.bytes).toBe(1028);
    expect(decode(full.slice(0, 30), 1).st).toBe(PKT.SHORT);
    const bad = [...full];
    bad[14] = 0x42; // IHL 2
    expect(decode(bad, 1).st).toBe(PKT.MALFORMED);
    expect(decode(full, 9999).st).toBe(PKT.UNKNOWN_LINK);
    const arp = [...full];
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(decode(arp, 1).st).toBe(PKT.NOT_IP);
  });
});

class Collect implements FlowSink {
  batch = new RecordBatch(4);
  rows: string[] = [];
  flush(): void {
    const c = this.batch.cols;
    for (let i = 0; i < this.batch.length; i++)
      this.rows.push(
        `${c.srcPort[i]}>${c.dstPort[i]} ${c.inPackets[i]}p ${c.inBytes[i]}b ${c.msecFirst[i]}-${c.msecLast[i]} f${c.tcpFlags[i]}`,
      );
    this.batch.reset();
  }
}

const FRAGS = new FragmentTable();
function feed(cache: FlowCache, spec: PacketSpec, ms: number): void {
  const b = Uint8Array.from(ipPacket(spec));
  const p = new PacketInfo();
  decodePacket(b, new DataView(b.buffer), 0, b.length, LINK.RAW, p, FRAGS);
  cache.advance(ms);
  cache.add(p, ms);
}

describe("flow cache", () => {
  const tcp = (flags: number): PacketSpec => ({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    proto: 6,
    sport: 1,
    dport: 2,
    flags,
  });

  it("FIN or RST ends the flow after counting the packet; the next packet starts a new flow", () => {
    const sink = new Collect();
    const cache = new FlowCache({ capacity: 8, activeMs: 300_000, inactiveMs: 60_000 }, sink);
    feed(cache, tcp(0x02), 1000);
    feed(cache, tcp(0x11), 1001);
    feed(cache, tcp(0x10), 1002);
    feed(cache, tcp(0x04), 1003);
    cache.flushAll();
    sink.flush();
    expect(sink.rows).toEqual(["1>2 2p 80b 1000-1001 f19", "1>2 2p 80b 1002-1003 f20"]);
    expect(cache.counters.finExpired).toBe(2);
  });

  it("inactive and active timeouts on the packet clock", () => {
    const sink = new Collect();
    const cache = new FlowCache({ capacity: 8, activeMs: 10_000, inactiveMs: 3_000 }, sink);
    const u = udp(0);
    feed(cache, u, 0);
    feed(cache, u, 2_000);
    feed(cache, u, 5_001); // 3.001 s idle: a new flow
    for (let t = 6_000; t <= 16_000; t += 1_000) feed(cache, u, t); // the second flow reaches 10 s: split
    cache.flushAll();
    sink.flush();
    expect(sink.rows).toEqual([
      "1000>53 2p 76b 0-2000 f0",
      "1000>53 11p 418b 5001-15000 f0",
      "1000>53 1p 38b 16000-16000 f0",
    ]);
    expect([cache.counters.inactiveExpired, cache.counters.activeExpired]).toEqual([1, 1]);
  });

  it("a full cache expires the least recently seen flow early and counts it; memory stays at -B", () => {
    const sink = new Collect();
    const cache = new FlowCache({ capacity: 3, activeMs: 300_000, inactiveMs: 60_000 }, sink);
    for (let n = 0; n < 3; n++) feed(cache, udp(n), n);
    feed(cache, udp(0), 10); // flow 0 seen again: flow 1 is now the least recent
    feed(cache, udp(9), 11);
    expect(cache.counters.earlyExpired).toBe(1);
    sink.flush();
    expect(sink.rows).toEqual(["1001>53 1p 39b 1-1 f0"]);
    expect(cache.size).toBe(3);
  });

  it("agrees with a Map on random traffic through many inserts and deletions", () => {
    const sink = new Collect();
    const cache = new FlowCache({ capacity: 64, activeMs: 1e12, inactiveMs: 50 }, sink);
    const want = new Map<string, number>();
    let s = 7;
    for (let t = 0; t < 20_000; t++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const port = s % 97;
      feed(cache, { ...udp(0), sport: port, payload: 0 }, t);
      want.set(String(port), (want.get(String(port)) ?? 0) + 1);
    }
    cache.flushAll();
    sink.flush();
    const got = new Map<string, number>();
    for (const r of sink.rows) {
      const [ports, pk] = r.split(" ");
      const key = ports!.split(">")[0]!;
      got.set(key, (got.get(key) ?? 0) + Number(pk!.slice(0, -1)));
    }
    expect(got).toEqual(want);
    expect(cache.size).toBe(0);
  });
});
