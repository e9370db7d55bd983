// SPDX-License-Identifier: BSD-3-Clause
// tspcapd's capture parser and packet decoder under mutation: bit flips, byte writes, length-field edits and
// truncations of pcap and pcapng files built from seeded traffic (Ethernet with VLANs, IPv4/IPv6, TCP/UDP/ICMP,
// fragments, MPLS, extension headers) must only ever give counted statuses or reported damage, never an
// exception; the flow cache stays consistent (every packet accounted is in an exported flow).
//
// Seeded (FUZZ_SEED, default 1); FUZZ_MUTATIONS overrides the count.

import { describe, expect, it } from "vitest";
import { CaptureParser } from "../../src/pcapd/capture-file.js";
import { FlowCache, type FlowSink } from "../../src/pcapd/flow-cache.js";
import { decodePacket, FragmentTable, PacketInfo, PKT } from "../../src/pcapd/packet.js";
import { RecordBatch } from "../../src/record/batch.js";
import {
  frame,
  ipPacket,
  ipv4Fragments,
  LINK,
  pcapFile,
  pcapngFile,
  seededTraffic,
  type CapturedPacket,
} from "../helpers/packet-builder.js";

const TOTAL = Number(process.env["FUZZ_MUTATIONS"] ?? 5_000);
const SEED = Number(process.env["FUZZ_SEED"] ?? 1);

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

class Count implements FlowSink {
  batch = new RecordBatch(256);
  packets = 0;
  flush(): void {
    for (let i = 0; i < this.batch.length; i++) this.packets += this.batch.cols.inPackets[i]!;
    this.batch.reset();
  }
}

function corpus(): Uint8Array[] {
  const extra: CapturedPacket[] = [
    ...ipv4Fragments(
      { src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 3000, id: 5 },
      [1480],
    ).map((f, i) => ({ us: 1e15 + i, bytes: frame(f, LINK.ETHERNET, { vlans: [5, 6] }) })),
    {
      us: 1e15 + 9,
      bytes: frame(ipPacket({ src: "10.0.0.1", dst: "10.0.0.3", proto: 6, sport: 1, dport: 2 }), LINK.ETHERNET, {
        mpls: [1, 2],
      }),
    },
    {
      us: 1e15 + 10,
      bytes: frame(
        ipPacket({ v6: true, src: "::1", dst: "::2", proto: 17, sport: 1, dport: 2, ext: [0, 60, 43] }),
        LINK.ETHERNET,
      ),
    },
  ];
  const traffic = [...seededTraffic(3, 20, 1e15), ...extra];
  return [
    pcapFile(traffic),
    pcapFile(traffic, { bigEndian: true, nano: true }),
    pcapngFile(traffic),
    pcapFile(
      traffic.map((p) => ({
        ...p,
        bytes: frame(ipPacket({ src: "1.1.1.1", dst: "2.2.2.2", proto: 17, sport: 3, dport: 4 }), LINK.SLL),
      })),
      { link: LINK.SLL },
    ),
  ];
}

describe("tspcapd fuzz", () => {
  it(`${TOTAL} mutated capture files: only statuses and damage reports, flows consistent`, () => {
    const rng = new Rng(SEED);
    const files = corpus();
    const info = new PacketInfo();
    const frags = new FragmentTable(64);
    const statuses = new Array<number>(5).fill(0);
    let damaged = 0;
    for (let m = 0; m < TOTAL; m++) {
      const file = files[rng.below(files.length)]!.slice();
      const edits = 1 + rng.below(4);
      for (let e = 0; e < edits; e++) {
        const at = rng.below(file.length);
        switch (rng.below(4)) {
          case 0:
            file[at] = file[at]! ^ (1 << rng.below(8));
            break;
          case 1:
            file[at] = rng.below(256);
            break;
          case 2: // a length field: record caplen / block length
            file[at] = 0xff;
            if (at + 1 < file.length) file[at + 1] = rng.below(256);
            break;
          default:
            break;
        }
      }
      const cut = rng.below(8) === 0 ? file.subarray(0, rng.below(file.length)) : file;
      const sink = new Count();
      const cache = new FlowCache({ capacity: 16, activeMs: 1000, inactiveMs: 500 }, sink);
      const parser = new CaptureParser((buf, view, off, caplen, _wire, timeMs, link) => {
        const st = decodePacket(buf, view, off, caplen, link, info, frags);
        statuses[st]!++;
        if (st === PKT.OK) {
          cache.advance(timeMs);
          cache.add(info, timeMs);
        }
      });
      const chunk = 1 + rng.below(4096);
      for (let o = 0; o < cut.length; o += chunk) parser.push(cut.subarray(o, o + chunk));
      parser.end();
      if (parser.damage !== null) damaged++;
      cache.flushAll();
      sink.flush();
      expect(sink.packets).toBe(cache.counters.packets);
      expect(cache.size).toBe(0);
    }
    expect(statuses[PKT.OK]).toBeGreaterThan(TOTAL);
    expect(damaged).toBeGreaterThan(0);
  });
});
