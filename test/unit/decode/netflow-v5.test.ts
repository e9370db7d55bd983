// SPDX-License-Identifier: BSD-3-Clause
import { describe, expect, it } from "vitest";
import { DecodeStatus, SamplingSource } from "../../../src/decode/index.js";
import { v5 } from "./build.js";
import { decodePackets } from "./util.js";

const SECS = 1_600_000_000;

describe("netflow v5", () => {
  it("decodes every field and converts sysUptime times with unix_secs/nsecs", () => {
    const p = v5(
      { secs: SECS, nsecs: 250_000_000, uptime: 100_000, seq: 7, engineType: 1, engineId: 2 },
      {
        src: "10.0.0.1",
        dst: "10.0.0.2",
        nextHop: "10.0.0.254",
        input: 3,
        output: 4,
        packets: 10,
        bytes: 1500,
        first: 40_000,
        last: 90_000,
        srcPort: 1234,
        dstPort: 80,
        flags: 0x1b,
        proto: 6,
        tos: 8,
        srcAs: 64512,
        dstAs: 65000,
        srcMask: 24,
        dstMask: 16,
      },
    );
    const { rows, statuses } = decodePackets([p]);
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    const boot = SECS * 1000 + 250 - 100_000;
    expect(r).toMatchObject({
      srcAddr: "10.0.0.1",
      dstAddr: "10.0.0.2",
      nextHop: "10.0.0.254",
      input: 3,
      output: 4,
      inPackets: 10,
      inBytes: 1500,
      msecFirst: boot + 40_000,
      msecLast: boot + 90_000,
      srcPort: 1234,
      dstPort: 80,
      tcpFlags: 0x1b,
      proto: 6,
      srcTos: 8,
      srcAs: 64512,
      dstAs: 65000,
      srcMask: 24,
      dstMask: 16,
      engineType: 1,
      engineId: 2,
      nfVersion: 5,
      flows: 1,
      samplingInterval: 1,
      samplingSource: SamplingSource.NONE,
      exporterAddr: "192.0.2.1",
      exporterId: 1,
      msecReceived: 1_700_000_000_000,
    });
  });

  it("applies nfdump's uptime wrap rules", () => {
    const up = 50_000;
    const { rows } = decodePackets([
      v5(
        { secs: SECS, uptime: up },
        { first: 4294967000, last: 1000 },
        { first: 10_000, last: up + 200_000 },
        { first: 10_000, last: up + 50_000 },
      ),
    ]);
    const boot = SECS * 1000 - up;
    // First > Last: wrapped inside the flow
    expect(rows[0]!["msecFirst"]).toBe(boot + 4294967000 - 2 ** 32);
    expect(rows[0]!["msecLast"]).toBe(boot + 1000);
    // Last more than 100 s after sysUptime: both from before the wrap
    expect(rows[1]!["msecFirst"]).toBe(boot + 10_000 - 2 ** 32);
    expect(rows[1]!["msecLast"]).toBe(boot + up + 200_000 - 2 ** 32);
    // small overshoot (Cisco CSCei12353) is taken as is
    expect(rows[2]!["msecLast"]).toBe(boot + up + 50_000);
  });

  it("scales counters by the header sampling interval (mode bits masked)", () => {
    const { rows } = decodePackets([v5({ sampling: (1 << 14) | 100 }, { packets: 3, bytes: 300 })]);
    expect(rows[0]).toMatchObject({
      inPackets: 300,
      inBytes: 30_000,
      samplingInterval: 100,
      samplingSource: SamplingSource.HEADER,
    });
  });

  it("uses -s as default when the header has none and as override when negative", () => {
    const noRate = v5({}, { packets: 2, bytes: 20 });
    const withRate = v5({ sampling: 10 }, { packets: 2, bytes: 20 });
    expect(decodePackets([noRate], { options: { samplingRate: 5 } }).rows[0]).toMatchObject({
      inPackets: 10,
      samplingInterval: 5,
      samplingSource: SamplingSource.DEFAULT,
    });
    expect(decodePackets([withRate], { options: { samplingRate: 5 } }).rows[0]).toMatchObject({
      inPackets: 20,
      samplingInterval: 10,
      samplingSource: SamplingSource.HEADER,
    });
    expect(decodePackets([withRate], { options: { samplingRate: -7 } }).rows[0]).toMatchObject({
      inPackets: 14,
      inBytes: 140,
      samplingInterval: 7,
      samplingSource: SamplingSource.OVERRIDE,
    });
  });

  it("fills ICMP type/code from the destination port", () => {
    const { rows } = decodePackets([v5({}, { proto: 1, dstPort: 0x0303 })]);
    expect(rows[0]).toMatchObject({ icmpType: 3, icmpCode: 3, dstPort: 771 });
  });

  it("counts flow_sequence gaps in flows", () => {
    const rec = { packets: 1 };
    const { state } = decodePackets([v5({ seq: 100 }, rec, rec), v5({ seq: 102 }, rec), v5({ seq: 110 }, rec)]);
    const e = [...state.exporters.values()][0]!;
    expect(e.sequenceErrors).toBe(1);
    expect(e.records).toBe(4);
    expect(e.packets).toBe(3);
  });

  it("decodes v1 and v7 layouts", () => {
    const r1 = decodePackets([
      v5({ version: 1, secs: SECS }, { src: "1.2.3.4", proto: 17, tos: 4, flags: 2, packets: 5 }),
    ]).rows[0]!;
    expect(r1).toMatchObject({ srcAddr: "1.2.3.4", proto: 17, srcTos: 4, tcpFlags: 2, inPackets: 5, nfVersion: 1 });
    const r7 = decodePackets([
      v5({ version: 7 }, { src: "5.6.7.8", proto: 6, srcAs: 1, dstMask: 8 }, { src: "5.6.7.9" }),
    ]).rows;
    expect(r7.map((r) => r["srcAddr"])).toEqual(["5.6.7.8", "5.6.7.9"]);
    expect(r7[0]).toMatchObject({ proto: 6, srcAs: 1, dstMask: 8, nfVersion: 7 });
  });

  it("rejects a count that does not fit, and short headers, as counted statuses", () => {
    const bad = v5({ count: 3 }, { packets: 1 });
    const { rows, statuses, state } = decodePackets([bad, bad.subarray(0, 20)]);
    expect(rows).toHaveLength(0);
    expect(statuses).toEqual([DecodeStatus.BAD_COUNT, DecodeStatus.TRUNCATED]);
    expect([...state.exporters.values()][0]!.malformed[DecodeStatus.BAD_COUNT]).toBe(1);
    expect(decodePackets([v5({ count: 31 }, ...Array.from({ length: 31 }, () => ({})))]).statuses).toEqual([
      DecodeStatus.BAD_COUNT,
    ]);
  });

  it("continues into a fresh batch when the batch fills mid-datagram", () => {
    const recs = Array.from({ length: 5 }, (_, i) => ({ srcPort: i + 1 }));
    const { rows, sink } = decodePackets([v5({}, ...recs)], { capacity: 2 });
    expect(sink.flushes).toBe(2);
    expect(rows.map((r) => r["srcPort"])).toEqual([1, 2, 3, 4, 5]);
  });
});
