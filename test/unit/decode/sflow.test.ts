// SPDX-License-Identifier: BSD-3-Clause
// sFlow v5 on the permissively licensed fixtures (tcpdump, telegraf) plus hand-made damage.
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DecodeStatus, SamplingSource } from "../../../src/decode/index.js";
import { readPcapFile } from "../../helpers/pcap.js";
import { decodePackets, REPO_ROOT } from "./util.js";

const fixture = (name: string): Uint8Array[] =>
  readPcapFile(resolve(REPO_ROOT, "test/fixtures/packets", name)).map((d) => d.payload);

describe("sflow v5", () => {
  it("decodes an expanded flow sample with gateway and router records (tcpdump sflow_expanded)", () => {
    const { rows, statuses, state } = decodePackets(fixture("tcpdump--sflow-expanded.pcap"));
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows).toHaveLength(1);
    // values as tcpdump -v prints them (sflow-expanded.tcpdump-v.out) and tshark decodes them
    expect(rows[0]).toMatchObject({
      nfVersion: 133,
      exporterAddr: "49.49.49.49",
      input: 29001,
      output: 1285816721,
      samplingInterval: 1000,
      samplingSource: SamplingSource.DATA,
      inPackets: 1000,
      inBytes: 126_000,
      observationDomain: 11001,
      nextHop: "54.54.54.54",
      bgpNextHop: "54.54.54.54",
      srcMask: 32,
      dstMask: 22,
      srcAs: 203476,
      prevAs: 203476,
      dstAs: 203361,
      nextAs: 8218,
      msecFirst: 1_700_000_000_000,
      msecLast: 1_700_000_000_000,
    });
    expect([...state.exporters.values()][0]).toMatchObject({ nfVersion: 133, domain: 0, records: 1 });
  });

  it("keeps counter samples per data source in a plain, bounded store (telegraf issue 18876)", () => {
    const { rows, state } = decodePackets(fixture("telegraf--sflow-counters-18876.pcap"));
    expect(rows).toHaveLength(0);
    const all = state.sflowCounters();
    expect(all).toHaveLength(1);
    expect(all[0]!.exporter).toBe("172.16.254.196");
    const s = all[0]!.samples[0]!;
    // values from telegraf's expected output for this capture (sflow-counters-18876.telegraf-expected.out)
    expect(s.sequence).toBe(17628);
    expect(s.generic).toMatchObject({
      ifIndex: 1258293248,
      ifType: 1,
      ifSpeed: 10_000_000_000,
      ifInOctets: 59347538341644,
      ifInUcastPkts: 1698396964,
      ifInMulticastPkts: 133525532,
      ifInBroadcastPkts: 160001596,
      ifInErrors: 58690,
      ifOutOctets: 89572325677612,
      ifOutUcastPkts: 2754096045,
      ifOutMulticastPkts: 4095509374,
      ifOutBroadcastPkts: 255518929,
      ifPromiscuousMode: 1,
    });
    expect(s.ethernet).toMatchObject({ fcsErrors: 58690, alignmentErrors: 0, symbolErrors: 0 });
    expect(JSON.parse(JSON.stringify(all))).toEqual(all); // plain data
  });

  it("skips discarded-packet samples (format 5) without rows or errors", () => {
    const { rows, statuses } = decodePackets(fixture("telegraf--sflow-drop-sample.pcap"));
    expect(statuses).toEqual([DecodeStatus.OK]);
    expect(rows).toHaveLength(0);
  });

  it("decodes IPv6 transport captures and honours an -s override", () => {
    const pk = fixture("tcpdump--sflow-ipv6-transport.pcap");
    const { rows } = decodePackets(pk);
    expect(rows).toHaveLength(13);
    expect(rows.every((r) => (r["inBytes"] as number) > 0 && r["inPackets"] === r["samplingInterval"])).toBe(true);
    const o = decodePackets(pk, { options: { samplingRate: -3 } }).rows;
    expect(o.every((r) => r["inPackets"] === 3 && r["samplingSource"] === SamplingSource.OVERRIDE)).toBe(true);
  });

  it("reports damaged samples as statuses and counts sequence gaps per agent", () => {
    const good = fixture("tcpdump--sflow-expanded.pcap")[0]!;
    const longSample = good.slice();
    new DataView(longSample.buffer).setUint32(32, 0xfffffff0); // first sample length
    const manySamples = good.slice();
    new DataView(manySamples.buffer).setUint32(24, 1000); // sample count
    const badAgent = good.slice();
    new DataView(badAgent.buffer).setUint32(4, 7);
    const { statuses } = decodePackets([longSample, manySamples, badAgent, good.subarray(0, 20)]);
    expect(statuses).toEqual([
      DecodeStatus.BAD_SAMPLE,
      DecodeStatus.BAD_COUNT,
      DecodeStatus.BAD_SAMPLE,
      DecodeStatus.TRUNCATED,
    ]);
    const seq = decodePackets([good, good]);
    expect([...seq.state.exporters.values()][0]!.sequenceErrors).toBe(1);
  });
});
