// SPDX-License-Identifier: BSD-3-Clause
import { describe, expect, it } from "vitest";
import { DecodeStatus, SamplingSource } from "../../../src/decode/index.js";
import { be, cat, ip4, ip6, mac, optionsTemplate, set, templates, v9, type Field } from "./build.js";
import { decodePackets } from "./util.js";

const SECS = 1_650_000_000;
const UP = 3_600_000;
const BOOT = SECS * 1000 - UP;

const T256: Field[] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [2, 4],
  [1, 8],
  [22, 4],
  [21, 4],
];
const tpl256 = set(0, templates(false, { id: 256, fields: T256 }));
function rec256(
  src: string,
  sp: number,
  packets: number,
  bytes: number,
  first = UP - 5000,
  last = UP - 1000,
): Uint8Array {
  return cat(
    ip4(src),
    ip4("10.9.9.9"),
    be(sp, 2),
    be(443, 2),
    [6, 0x12],
    be(packets, 4),
    be(bytes, 8),
    be(first, 4),
    be(last, 4),
  );
}
const hdr = { secs: SECS, uptime: UP };

describe("netflow v9", () => {
  it("decodes template and data in one datagram, with set padding", () => {
    const p = v9(hdr, tpl256, set(256, cat(rec256("10.0.0.1", 1000, 5, 500), rec256("10.0.0.2", 1001, 6, 600)), 3));
    const { rows, statuses } = decodePackets([p]);
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      srcAddr: "10.0.0.1",
      dstAddr: "10.9.9.9",
      srcPort: 1000,
      dstPort: 443,
      proto: 6,
      tcpFlags: 0x12,
      inPackets: 5,
      inBytes: 500,
      msecFirst: BOOT + UP - 5000,
      msecLast: BOOT + UP - 1000,
      nfVersion: 9,
      flows: 1,
      samplingInterval: 1,
    });
    expect(rows[1]).toMatchObject({ srcAddr: "10.0.0.2", inPackets: 6, inBytes: 600 });
  });

  it("reads 1..8-byte integers, IPv6, MACs, MPLS, VLANs and maps masks, AS, next hops", () => {
    const fields: Field[] = [
      [27, 16],
      [28, 16],
      [62, 16],
      [63, 16],
      [1, 3],
      [2, 1],
      [16, 2],
      [17, 4],
      [29, 1],
      [30, 1],
      [56, 6],
      [57, 6],
      [80, 6],
      [81, 6],
      [70, 3],
      [71, 3],
      [58, 2],
      [59, 2],
      [10, 4],
      [14, 2],
      [61, 1],
      [5, 1],
      [55, 1],
      [89, 1],
      [136, 1],
      [52, 1],
      [53, 1],
      [3, 8],
    ];
    const data = cat(
      ip6("2001:db8:0:0:0:0:0:1"),
      ip6("2001:db8:0:0:0:0:0:2"),
      ip6("fe80:0:0:0:0:0:0:1"),
      ip6("2001:db8:0:0:0:0:0:ff"),
      be(70000, 3),
      be(200, 1),
      be(65001, 2),
      be(4200000000, 4),
      [48, 64],
      mac("00:11:22:33:44:55"),
      mac("66:77:88:99:aa:bb"),
      mac("01:02:03:04:05:06"),
      mac("0a:0b:0c:0d:0e:0f"),
      be((1000 << 4) | (5 << 1), 3),
      be((2000 << 4) | 1, 3),
      be(100, 2),
      be(200, 2),
      be(70000, 4),
      be(9, 2),
      [1, 0x20, 0x28, 0x40, 3, 12, 64],
      be(2 ** 40, 8),
    );
    const { rows } = decodePackets([v9(hdr, set(0, templates(false, { id: 300, fields })), set(300, data))]);
    expect(rows[0]).toMatchObject({
      srcAddr: "2001:db8::1",
      dstAddr: "2001:db8::2",
      nextHop: "fe80::1",
      bgpNextHop: "2001:db8::ff",
      inBytes: 70000,
      inPackets: 200,
      srcAs: 65001,
      dstAs: 4200000000,
      srcMask: 48,
      dstMask: 64,
      inSrcMac: "00:11:22:33:44:55",
      outDstMac: "66:77:88:99:aa:bb",
      inDstMac: "01:02:03:04:05:06",
      outSrcMac: "0a:0b:0c:0d:0e:0f",
      mpls1: (1000 << 4) | (5 << 1),
      mpls2: (2000 << 4) | 1,
      srcVlan: 100,
      dstVlan: 200,
      input: 70000,
      output: 9,
      direction: 1,
      srcTos: 0x20,
      dstTos: 0x28,
      fwdStatus: 0x40,
      flowEndReason: 3,
      ipMinTtl: 12,
      ipMaxTtl: 64,
      flows: 2 ** 40,
    });
  });

  it("holds data sets whose template is unknown and decodes them when it arrives", () => {
    const data = v9({ ...hdr, seq: 1 }, set(256, rec256("10.0.0.7", 7, 1, 70)));
    const tpl = v9({ ...hdr, seq: 2 }, tpl256);
    const { rows, statuses, state } = decodePackets([data, tpl]);
    expect(statuses).toEqual([DecodeStatus.NO_TEMPLATE, DecodeStatus.OK]);
    expect(rows.map((r) => r["srcAddr"])).toEqual(["10.0.0.7"]);
    const e = [...state.exporters.values()][0]!;
    expect(e.templateMisses).toBe(1);
    expect(e.heldDecoded).toBe(1);
    expect(e.held).toHaveLength(0);
    // held data keeps the header clock it arrived with
    expect(rows[0]!["msecLast"]).toBe(BOOT + UP - 1000);
  });

  it("refreshes an identical template and replaces a changed one", () => {
    const changed = set(
      0,
      templates(false, {
        id: 256,
        fields: [
          [8, 4],
          [2, 4],
        ],
      }),
    );
    const { rows, state } = decodePackets([
      v9(hdr, tpl256, set(256, rec256("10.0.0.1", 1, 1, 1))),
      v9(hdr, tpl256),
      v9(hdr, changed, set(256, cat(ip4("10.0.0.3"), be(33, 4)))),
    ]);
    expect(rows[1]).toMatchObject({ srcAddr: "10.0.0.3", inPackets: 33, srcPort: 0 });
    const t = state.templates.forExporter([...state.exporters.values()][0]!.key);
    expect([t.added, t.refreshed, t.replaced]).toEqual([1, 1, 1]);
  });

  it("scales by a sampler announced in options data (sampler id in the record)", () => {
    const opt = set(
      1,
      optionsTemplate(
        false,
        257,
        [[1, 4]],
        [
          [48, 2],
          [50, 4],
          [49, 1],
        ],
      ),
    );
    const optData = set(257, cat(be(0, 4), be(5, 2), be(1000, 4), [2]), 1);
    const tpl = set(
      0,
      templates(false, {
        id: 258,
        fields: [
          [8, 4],
          [2, 4],
          [1, 4],
          [48, 2],
        ],
      }),
    );
    const data = set(
      258,
      cat(ip4("10.1.1.1"), be(2, 4), be(100, 4), be(5, 2), ip4("10.1.1.2"), be(2, 4), be(100, 4), be(6, 2)),
    );
    const { rows } = decodePackets([v9(hdr, opt, optData), v9(hdr, tpl, data)]);
    expect(rows[0]).toMatchObject({
      inPackets: 2000,
      inBytes: 100_000,
      samplingInterval: 1000,
      samplingSource: SamplingSource.OPTIONS,
    });
    // unknown sampler id 6: unsampled
    expect(rows[1]).toMatchObject({ inPackets: 2, samplingInterval: 1, samplingSource: SamplingSource.NONE });
  });

  it("uses an exporter-wide sampler (no id), data-field intervals, -s default and override in that order", () => {
    const opt = set(
      1,
      optionsTemplate(
        false,
        257,
        [[1, 0]],
        [
          [35, 1],
          [34, 4],
        ],
      ),
    );
    const optData = set(257, cat([2], be(100, 4)));
    const plain = set(0, templates(false, { id: 258, fields: [[2, 4]] }));
    const withField = set(
      0,
      templates(false, {
        id: 259,
        fields: [
          [2, 4],
          [34, 4],
        ],
      }),
    );
    const pkts = [
      v9(hdr, plain, withField),
      v9(hdr, set(258, be(3, 4)), set(259, cat(be(3, 4), be(64, 4)))),
      v9(hdr, opt, optData),
      v9(hdr, set(258, be(3, 4))),
    ];
    const a = decodePackets(pkts, { options: { samplingRate: 10 } }).rows;
    expect(a.map((r) => [r["inPackets"], r["samplingInterval"], r["samplingSource"]])).toEqual([
      [30, 10, SamplingSource.DEFAULT],
      [192, 64, SamplingSource.DATA],
      [300, 100, SamplingSource.OPTIONS],
    ]);
    const b = decodePackets(pkts, { options: { samplingRate: -4 } }).rows;
    expect(b.map((r) => [r["inPackets"], r["samplingSource"]])).toEqual([
      [12, SamplingSource.OVERRIDE],
      [12, SamplingSource.OVERRIDE],
      [12, SamplingSource.OVERRIDE],
    ]);
  });

  it("takes both-zero uptimes as unset and wraps a start after the end", () => {
    const { rows } = decodePackets([
      v9(hdr, tpl256, set(256, cat(rec256("10.0.0.1", 1, 1, 1, 0, 0), rec256("10.0.0.2", 1, 1, 1, 4294967000, 500)))),
    ]);
    expect(rows[0]).toMatchObject({ msecFirst: 0, msecLast: 0 });
    expect(rows[1]).toMatchObject({ msecFirst: BOOT + 4294967000 - 2 ** 32, msecLast: BOOT + 500 });
  });

  it("puts ICMP type*256+code in dstPort from icmpTypeCode, engine from the source id", () => {
    const t = set(
      0,
      templates(false, {
        id: 260,
        fields: [
          [4, 1],
          [11, 2],
          [32, 2],
        ],
      }),
    );
    const { rows } = decodePackets([
      v9({ ...hdr, source: 0x0102 }, t, set(260, cat([1], be(0, 2), be(0x0800, 2), [1], be(0, 2), be(0x0301, 2)))),
    ]);
    expect(rows[0]).toMatchObject({
      proto: 1,
      dstPort: 0x0800,
      icmpType: 8,
      icmpCode: 0,
      engineType: 1,
      engineId: 2,
      observationDomain: 0x0102,
    });
    expect(rows[1]).toMatchObject({ dstPort: 0x0301, icmpType: 3, icmpCode: 1 });
  });

  it("keeps unmapped fields raw and skips zero-length fields", () => {
    const t = set(
      0,
      templates(false, {
        id: 261,
        fields: [
          [8, 4],
          [95, 4],
          [11, 0],
          [40000 + 99, 2],
        ],
      }),
    );
    const { rows } = decodePackets([v9(hdr, t, set(261, cat(ip4("1.1.1.1"), be(0xdeadbeef, 4), be(0xabcd, 2))))]);
    expect(rows[0]).toMatchObject({ srcAddr: "1.1.1.1", extra: "0/95=deadbeef 0/40099=abcd" });
  });

  it("counts malformed flowsets and never loops on a zero length", () => {
    const zero = cat(v9(hdr), be(256, 2), be(0, 2), be(1, 4));
    const over = cat(v9(hdr), be(256, 2), be(100, 2), be(1, 4));
    const reserved = v9(hdr, set(7, be(0, 4)));
    const badTpl = v9(hdr, set(0, cat(be(5, 2), be(1, 2), be(8, 2), be(4, 2))));
    const { statuses, state } = decodePackets([zero, over, reserved, badTpl, v9(hdr).subarray(0, 10)]);
    expect(statuses).toEqual([
      DecodeStatus.BAD_SET_LENGTH,
      DecodeStatus.TRUNCATED,
      DecodeStatus.BAD_SET_ID,
      DecodeStatus.BAD_TEMPLATE,
      DecodeStatus.TRUNCATED,
    ]);
    expect(state.diag.toError().code).toBe("ERR_DECODE_TRUNCATED");
    const e = [...state.exporters.values()][0]!;
    expect(e.malformed[DecodeStatus.BAD_SET_LENGTH]).toBe(1);
    expect(e.malformed[DecodeStatus.BAD_TEMPLATE]).toBe(1);
  });

  it("decodes variable-length fields (length 65535, H3C/HPE NetStream) as IPFIX does, as nfdump does", () => {
    // nfcapd 1.7.1 on this datagram: 10.0.0.1:1111 5/500, 10.0.0.2:2222 6/600, 10.0.0.3:3333 7/700
    const t = set(
      0,
      templates(false, {
        id: 300,
        fields: [
          [8, 4],
          [12, 4],
          [4, 1],
          [7, 2],
          [11, 2],
          [2, 4],
          [1, 4],
          [82, 0xffff],
          [22, 4],
          [21, 4],
        ],
      }),
    );
    const name = (s: string): Uint8Array => {
      const b = new TextEncoder().encode(s);
      return b.length < 255 ? cat([b.length], b) : cat([255], be(b.length, 2), b);
    };
    const r = (src: string, sp: number, ifName: string, packets: number): Uint8Array =>
      cat(
        ip4(src),
        ip4("10.9.9.9"),
        [17],
        be(sp, 2),
        be(53, 2),
        be(packets, 4),
        be(packets * 100, 4),
        name(ifName),
        be(UP - 5000, 4),
        be(UP - 1000, 4),
      );
    const long = "x".repeat(300);
    const d = set(
      300,
      cat(r("10.0.0.1", 1111, "GigabitEthernet0/0/1", 5), r("10.0.0.2", 2222, long, 6), r("10.0.0.3", 3333, "", 7)),
    );
    const { rows, statuses } = decodePackets([v9({ ...hdr, source: 1 }, t, d)]);
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows.map((x) => [x["srcAddr"], x["srcPort"], x["dstPort"], x["inPackets"], x["inBytes"]])).toEqual([
      ["10.0.0.1", 1111, 53, 5, 500],
      ["10.0.0.2", 2222, 53, 6, 600],
      ["10.0.0.3", 3333, 53, 7, 700],
    ]);
    expect(rows[0]).toMatchObject({
      msecFirst: BOOT + UP - 5000,
      msecLast: BOOT + UP - 1000,
      extra: `0/82=${Buffer.from("GigabitEthernet0/0/1").toString("hex")}`,
    });
    expect(rows[1]!["extra"]).toBe(`0/82=${Buffer.from(long).toString("hex")}`);
    expect(rows[2]!["extra"]).toBe("");
  });

  it("keeps the first meaningful port when generic and tcp/udp-specific port elements share a template (NBAR)", () => {
    // L4_SRC_PORT/L4_DST_PORT (7, 11), then udp (180, 181) and tcp (182, 183) ports, zero where they do not apply.
    // nfcapd 1.7.1 on this datagram: 34220/53, 0/0 (it ignores 182/183), 0/0.0 and 8.0 for the ICMP flows,
    // 1234/443 — tsflow takes 5555/80 from the tcp elements where the generic ones are absent.
    const t = set(
      0,
      templates(false, {
        id: 500,
        fields: [
          [8, 4],
          [4, 1],
          [7, 2],
          [11, 2],
          [180, 2],
          [181, 2],
          [182, 2],
          [183, 2],
          [176, 1],
          [177, 1],
          [2, 4],
        ],
      }),
    );
    const r = (src: string, proto: number, ports: number[], type = 0, code = 0): Uint8Array =>
      cat(ip4(src), [proto], ...ports.map((p) => be(p, 2)), [type, code], be(1, 4));
    const d = set(
      500,
      cat(
        r("10.2.0.1", 17, [34220, 53, 34220, 53, 0, 0]),
        r("10.2.0.2", 6, [0, 0, 0, 0, 5555, 80]),
        r("10.2.0.3", 1, [0, 0x0303, 0, 0, 0, 0]),
        r("10.2.0.4", 1, [0, 0, 0, 0, 0, 0], 8, 0),
        r("10.2.0.5", 6, [1234, 443, 0, 0, 4321, 8443]),
      ),
    );
    const { rows } = decodePackets([v9({ ...hdr, source: 2 }, t, d)]);
    expect(rows.map((x) => [x["srcAddr"], x["srcPort"], x["dstPort"], x["icmpType"], x["icmpCode"]])).toEqual([
      ["10.2.0.1", 34220, 53, 0, 0],
      ["10.2.0.2", 5555, 80, 0, 0],
      // ICMP type/code elements decide the ICMP "port", 0.0 included (the ASA puts the ICMP id in port 11)
      ["10.2.0.3", 0, 0, 0, 0],
      ["10.2.0.4", 0, 0x0800, 8, 0],
      ["10.2.0.5", 1234, 443, 0, 0],
    ]);
    // specific elements first, generic ones last: the same result
    const t2 = set(
      0,
      templates(false, {
        id: 501,
        fields: [
          [8, 4],
          [4, 1],
          [182, 2],
          [183, 2],
          [180, 2],
          [181, 2],
          [7, 2],
          [11, 2],
          [2, 4],
        ],
      }),
    );
    const d2 = set(
      501,
      cat(
        ip4("10.3.0.1"),
        [17],
        be(0, 2),
        be(0, 2),
        be(34220, 2),
        be(53, 2),
        be(34220, 2),
        be(53, 2),
        be(1, 4),
        ip4("10.3.0.2"),
        [6],
        be(5555, 2),
        be(80, 2),
        be(0, 2),
        be(0, 2),
        be(0, 2),
        be(0, 2),
        be(1, 4),
      ),
    );
    const b = decodePackets([v9({ ...hdr, source: 3 }, t2, d2)]).rows;
    expect(b.map((x) => [x["srcPort"], x["dstPort"]])).toEqual([
      [34220, 53],
      [5555, 80],
    ]);
  });

  it("counts sequence gaps in packets per source id", () => {
    const { state } = decodePackets([v9({ seq: 1 }), v9({ seq: 2 }), v9({ seq: 4 }), v9({ seq: 9, source: 5 })]);
    const byDomain = new Map([...state.exporters.values()].map((e) => [e.domain, e]));
    expect(byDomain.get(0)!.sequenceErrors).toBe(1);
    expect(byDomain.get(5)!.sequenceErrors).toBe(0);
    expect(byDomain.get(0)!.id).not.toBe(byDomain.get(5)!.id);
  });
});
