// SPDX-License-Identifier: BSD-3-Clause
import { describe, expect, it } from "vitest";
import { DecodeStatus, SamplingSource } from "../../../src/decode/index.js";
import { be, cat, ip4, ip6, ipfix, optionsTemplate, set, templates, type Field } from "./build.js";
import { decodePackets } from "./util.js";

const T = 1_700_000_000;
const NTP = 2208988800;

function tpl(id: number, fields: Field[]): Uint8Array {
  return set(2, templates(true, { id, fields }));
}

describe("ipfix", () => {
  it("converts every absolute and relative time encoding to ms", () => {
    const msg = ipfix(
      { time: T },
      tpl(300, [
        [150, 4],
        [151, 4],
      ]),
      tpl(301, [
        [152, 8],
        [153, 8],
      ]),
      tpl(302, [
        [154, 8],
        [155, 8],
      ]),
      tpl(303, [
        [156, 8],
        [157, 8],
      ]),
      tpl(304, [
        [158, 4],
        [159, 4],
      ]),
      tpl(305, [
        [160, 8],
        [22, 4],
        [21, 4],
      ]),
      tpl(306, [
        [152, 8],
        [161, 4],
      ]),
      tpl(307, [
        [153, 8],
        [162, 4],
      ]),
      set(300, cat(be(T - 10, 4), be(T - 5, 4))),
      set(301, cat(be(T * 1000 - 1234, 8), be(T * 1000 - 34, 8))),
      // NTP µs/ns: seconds since 1900 + fraction (0.5 s = 2^31)
      set(302, cat(be(T + NTP - 2, 4), be(2 ** 31, 4), be(T + NTP - 1, 4), be(0, 4))),
      set(303, cat(be(T + NTP - 3, 4), be(2 ** 30, 4), be(T + NTP - 1, 4), be(2 ** 31 + 2 ** 30, 4))),
      set(304, cat(be(2_500_000, 4), be(500_000, 4))),
      set(305, cat(be(T * 1000 - 100_000, 8), be(40_000, 4), be(90_000, 4))),
      set(306, cat(be(T * 1000 - 700, 8), be(300, 4))),
      set(307, cat(be(T * 1000, 8), be(1_500_000, 4))),
    );
    const { rows, statuses } = decodePackets([msg]);
    expect(statuses).toEqual([DecodeStatus.OK]);
    const t = rows.map((r) => [r["msecFirst"], r["msecLast"]]);
    const ms = T * 1000;
    expect(t).toEqual([
      [ms - 10_000, ms - 5000],
      [ms - 1234, ms - 34],
      [ms - 1500, ms - 1000],
      [ms - 2750, ms - 250],
      [ms - 2500, ms - 500],
      [ms - 100_000 + 40_000, ms - 100_000 + 90_000],
      [ms - 700, ms - 400],
      [ms - 1500, ms],
    ]);
  });

  it("anchors sysUpTime times at systemInitTime from options data, else at the export time", () => {
    const opt = set(3, optionsTemplate(true, 400, [[149, 4]], [[160, 8]]));
    const data = tpl(401, [
      [22, 4],
      [21, 4],
    ]);
    const rec = set(401, cat(be(1000, 4), be(3000, 4)));
    const init = T * 1000 - 50_000;
    const withInit = decodePackets([ipfix({ time: T }, opt, set(400, cat(be(0, 4), be(init, 8))), data, rec)]).rows;
    expect(withInit[0]).toMatchObject({ msecFirst: init + 1000, msecLast: init + 3000 });
    const without = decodePackets([ipfix({ time: T }, data, rec)]).rows;
    expect(without[0]).toMatchObject({ msecFirst: T * 1000 - 2000, msecLast: T * 1000 });
  });

  it("keeps variable-length and enterprise elements raw, reverse counters in out*", () => {
    const fields: Field[] = [
      [8, 4],
      [82, 0xffff],
      [1, 4],
      [2, 4],
      [1, 8, 29305],
      [2, 4, 29305],
      [14, 4, 6871],
      [96, 0xffff],
    ];
    const long = new Uint8Array(300).fill(0x61);
    const msg = ipfix(
      { time: T },
      tpl(500, fields),
      set(
        500,
        cat(
          ip4("10.0.0.1"),
          [3],
          [0x65, 0x74, 0x68],
          be(1000, 4),
          be(10, 4),
          be(5000, 8),
          be(50, 4),
          be(0x01020304, 4),
          [255],
          be(300, 2),
          long,
        ),
      ),
    );
    const { rows } = decodePackets([msg]);
    expect(rows[0]).toMatchObject({
      srcAddr: "10.0.0.1",
      inBytes: 1000,
      inPackets: 10,
      outBytes: 5000,
      outPackets: 50,
    });
    expect(rows[0]!["extra"]).toBe(`0/82=657468 6871/14=01020304 0/96=${"61".repeat(300)}`);
  });

  it("withdraws one template, all data templates (id 2) and all options templates (id 3)", () => {
    const data = (id: number): Uint8Array => set(id, be(7, 4));
    const setup = ipfix(
      {},
      tpl(600, [[2, 4]]),
      tpl(601, [[2, 4]]),
      set(3, optionsTemplate(true, 602, [[149, 4]], [[34, 4]])),
    );
    const withdrawOne = ipfix({}, set(2, cat(be(600, 2), be(0, 2))));
    const { rows, statuses, state } = decodePackets([setup, withdrawOne, ipfix({}, data(600)), ipfix({}, data(601))]);
    expect(statuses).toEqual([DecodeStatus.OK, DecodeStatus.OK, DecodeStatus.NO_TEMPLATE, DecodeStatus.OK]);
    expect(rows).toHaveLength(1);
    const t = state.templates.forExporter([...state.exporters.values()][0]!.key);
    expect([...t.plans.keys()].sort()).toEqual([601, 602]);
    decodePackets([ipfix({}, set(2, cat(be(2, 2), be(0, 2))))], { state });
    expect([...t.plans.keys()]).toEqual([602]);
    decodePackets([ipfix({}, set(3, cat(be(3, 2), be(0, 2))))], { state });
    expect(t.plans.size).toBe(0);
  });

  it("derives the interval from PSAMP options (305/306) and takes a template with both v4 and v6 addresses", () => {
    const opt = set(
      3,
      optionsTemplate(
        true,
        700,
        [[149, 4]],
        [
          [304, 1],
          [305, 4],
          [306, 4],
        ],
      ),
    );
    const optData = set(700, cat(be(0, 4), [1], be(1, 4), be(9, 4)));
    const t = tpl(701, [
      [8, 4],
      [27, 16],
      [12, 4],
      [28, 16],
      [2, 4],
    ]);
    const zero6 = new Uint8Array(16);
    const d = set(
      701,
      cat(
        ip4("10.0.0.1"),
        zero6,
        ip4("10.0.0.2"),
        zero6,
        be(1, 4),
        ip4("0.0.0.0"),
        ip6("2001:db8:0:0:0:0:0:1"),
        ip4("0.0.0.0"),
        ip6("2001:db8:0:0:0:0:0:2"),
        be(2, 4),
      ),
    );
    const { rows } = decodePackets([ipfix({}, opt, optData, t, d)]);
    expect(rows[0]).toMatchObject({
      srcAddr: "10.0.0.1",
      dstAddr: "10.0.0.2",
      inPackets: 10,
      samplingInterval: 10,
      samplingSource: SamplingSource.OPTIONS,
    });
    expect(rows[1]).toMatchObject({ srcAddr: "2001:db8::1", dstAddr: "2001:db8::2", inPackets: 20 });
  });

  it("counts sequence gaps in data records per observation domain", () => {
    const t = tpl(800, [[2, 4]]);
    const two = set(800, cat(be(1, 4), be(1, 4)));
    const { state } = decodePackets([ipfix({ seq: 10 }, t, two), ipfix({ seq: 12 }, two), ipfix({ seq: 20 }, two)]);
    const e = [...state.exporters.values()][0]!;
    expect(e.sequenceErrors).toBe(1);
    expect(e.records).toBe(6);
  });

  it("reports truncation and bad lengths as statuses, keeping the rows before them", () => {
    const t = tpl(900, [
      [2, 4],
      [82, 0xffff],
    ]);
    const good = set(900, cat(be(1, 4), [1], [0x41]));
    const runaway = set(900, cat(be(2, 4), [9], [0x41]));
    const msg = ipfix({}, t, good, runaway);
    const { rows, statuses } = decodePackets([
      msg,
      msg.subarray(0, msg.length - 3),
      ipfix({}, cat(be(900, 2), be(2, 2))),
    ]);
    expect(statuses).toEqual([DecodeStatus.TRUNCATED, DecodeStatus.TRUNCATED, DecodeStatus.BAD_SET_LENGTH]);
    expect(rows.map((r) => r["inPackets"])).toEqual([1, 1]);
    const reserved = decodePackets([ipfix({}, set(5, be(0, 4)))]);
    expect(reserved.statuses).toEqual([DecodeStatus.BAD_SET_ID]);
  });

  it("decodes a last set that runs past the message length into trailing datagram bytes, and counts it", () => {
    // nfcapd 1.7.1 (and tshark, telegraf) decode all three records of this datagram
    const t = tpl(400, [
      [8, 4],
      [12, 4],
      [4, 1],
      [7, 2],
      [11, 2],
      [2, 4],
      [1, 4],
    ]);
    const r = (src: string, packets: number): Uint8Array =>
      cat(ip4(src), ip4("10.8.8.8"), [6], be(1000, 2), be(80, 2), be(packets, 4), be(packets * 100, 4));
    const msg = ipfix({}, t, set(400, cat(r("10.1.0.1", 1), r("10.1.0.2", 2), r("10.1.0.3", 3))));
    msg.set(be(msg.length - 5, 2), 2); // message length 5 bytes short of the datagram
    const { rows, statuses, state } = decodePackets([msg]);
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows.map((x) => [x["srcAddr"], x["srcPort"], x["dstPort"], x["inPackets"], x["inBytes"]])).toEqual([
      ["10.1.0.1", 1000, 80, 1, 100],
      ["10.1.0.2", 1000, 80, 2, 200],
      ["10.1.0.3", 1000, 80, 3, 300],
    ]);
    const e = [...state.exporters.values()][0]!;
    expect(e.lengthOverruns).toBe(1);
    expect(e.counters().lengthOverruns).toBe(1);
    expect(e.malformed.reduce((a, b) => a + b, 0)).toBe(0);
    // a set that runs past the datagram itself is still truncated
    const cut = msg.subarray(0, msg.length - 2);
    expect(decodePackets([cut]).statuses).toEqual([DecodeStatus.TRUNCATED]);
  });

  it("refuses templates whose records take no bytes (no endless loop)", () => {
    const { statuses, rows } = decodePackets([ipfix({}, tpl(950, [[2, 0]]), set(950, new Uint8Array(40)))]);
    expect(rows).toHaveLength(0);
    expect(statuses).toEqual([DecodeStatus.BAD_TEMPLATE]);
  });
});
