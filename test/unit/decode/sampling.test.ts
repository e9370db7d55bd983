// SPDX-License-Identifier: BSD-3-Clause
// Sampling rates: where they come from, what they are bound to, what is refused, what survives a restart.
import { describe, expect, it } from "vitest";
import { DecoderState, SamplingSource } from "../../../src/decode/index.js";
import { be, cat, ip4, ipfix, optionsTemplate, set, templates, v5, v9, type Field } from "./build.js";
import { readPcapFile } from "../../helpers/pcap.js";
import { resolve } from "node:path";
import { decodeCapture, decodePackets, REPO_ROOT } from "./util.js";

const SECS = 1_650_000_000;
const hdr = { secs: SECS, uptime: 3_600_000 };

// softflowd-like data template 256 (30-byte records)
const DATA256: Field[] = [
  [8, 4],
  [12, 4],
  [2, 4],
  [1, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [22, 4],
  [21, 4],
];
const dataTpl = set(0, templates(false, { id: 256, fields: DATA256 }));
const rec = (src: string, dst: string, packets: number): Uint8Array =>
  cat(ip4(src), ip4(dst), be(packets, 4), be(packets * 100, 4), be(1000, 2), be(80, 2), [6, 0], be(1, 4), be(2, 4));
// another sender's options template 256 on the same exporter key: System scope, samplingInterval, algorithm
const optTpl = set(
  1,
  optionsTemplate(
    false,
    256,
    [[1, 4]],
    [
      [34, 4],
      [35, 1],
    ],
  ),
);
const optData = (rate: number): Uint8Array => set(256, cat(be(0, 4), be(rate, 4), [2]), 3);

describe("sampling rates", () => {
  it("applies options announced after the data in the same datagram to that data", () => {
    const tpl = set(0, templates(false, { id: 258, fields: [[2, 4]] }));
    const opt = set(
      1,
      optionsTemplate(
        false,
        257,
        [[1, 4]],
        [
          [34, 4],
          [35, 1],
        ],
      ),
    );
    const od = set(257, cat(be(0, 4), be(50, 4), [2]), 3);
    const { rows, state } = decodePackets([v9(hdr, tpl), v9(hdr, set(258, be(3, 4)), opt, od)]);
    expect(rows.map((r) => [r["inPackets"], r["samplingInterval"], r["samplingSource"]])).toEqual([
      [150, 50, SamplingSource.OPTIONS],
    ]);
    const e = [...state.exporters.values()][0]!;
    expect(e.samplerReport()).toEqual([{ id: -1, rate: 50, algorithm: 2, templateId: 257 }]);
    expect(Array.from(e.flowsBySource)).toEqual([0, 0, 1, 0, 0, 0]);
  });

  it("refuses rates outside 1..10,000,000 and counts them (issue: 33,619,979 applied to every flow)", () => {
    const tpl = set(0, templates(false, { id: 258, fields: [[2, 4]] }));
    const opt = set(
      1,
      optionsTemplate(
        false,
        257,
        [[1, 4]],
        [
          [34, 4],
          [35, 1],
        ],
      ),
    );
    const seen: [number, number, boolean][] = [];
    const state = new DecoderState();
    state.onSampling = (_e, _id, rate, tid, ok) => seen.push([rate, tid, ok]);
    const { rows } = decodePackets(
      [v9(hdr, tpl, opt, set(257, cat(be(0, 4), be(33_619_979, 4), [2]), 3)), v9(hdr, set(258, be(3, 4)))],
      { state },
    );
    expect(rows.map((r) => [r["inPackets"], r["samplingSource"]])).toEqual([[3, SamplingSource.NONE]]);
    const e = [...state.exporters.values()][0]!;
    expect(e.ratesRejected).toBe(1);
    expect(e.counters().flowsBySource[SamplingSource.NONE]).toBe(1);
    expect(seen).toEqual([[33_619_979, 257, false]]);
    // a data-field interval out of range is not applied either
    const t2 = set(
      0,
      templates(false, {
        id: 259,
        fields: [
          [2, 4],
          [34, 4],
        ],
      }),
    );
    const b = decodePackets([v9(hdr, t2, set(259, cat(be(3, 4), be(0xffffffff, 4))))]);
    expect(b.rows[0]).toMatchObject({ inPackets: 3, samplingInterval: 1, samplingSource: SamplingSource.NONE });
    expect([...b.state.exporters.values()][0]!.ratesRejected).toBe(1);
  });

  it("two senders sharing an exporter key and template id 256 (options vs data): no rate from data bytes", () => {
    const state = new DecoderState();
    // B's data record whose bytes 4..7 read as A's samplingInterval would be 0x0201000b = 33,619,979
    const bData = set(256, cat(rec("10.0.0.1", "2.1.0.11", 5), rec("10.0.0.2", "2.1.0.11", 6)));
    decodePackets([v9(hdr, optTpl, optData(100))], { state });
    const e = [...state.exporters.values()][0]!;
    const rateBefore = e.samplers.get(-1)?.interval;
    // B's data while 256 is A's options template: read as options, the bytes do not fit → ignored, counted
    decodePackets([v9(hdr, bData)], { state });
    const rateAfter = e.samplers.get(-1)?.interval;
    // B redefines 256 as a data template: A's rate goes with A's template
    const b = decodePackets([v9(hdr, dataTpl, bData)], { state });
    expect(b.rows.map((r) => [r["srcAddr"], r["inPackets"], r["inBytes"], r["samplingSource"]])).toEqual([
      ["10.0.0.1", 5, 500, SamplingSource.NONE],
      ["10.0.0.2", 6, 600, SamplingSource.NONE],
    ]);
    expect([rateBefore, rateAfter]).toEqual([100, 100]);
    expect(e.optionsMismatch).toBe(1);
    expect(e.samplerReport()).toEqual([]);
    // nothing to persist: the rate's template is gone; after a restart B's flows stay unscaled
    const saved = JSON.parse(JSON.stringify(state.saveState())) as unknown;
    expect((saved as { exporters: unknown[] }).exporters).toEqual([]);
    const restarted = new DecoderState();
    restarted.loadState(saved);
    const r = decodePackets([v9(hdr, bData)], { state: restarted });
    expect(r.rows.map((x) => x["inPackets"])).toEqual([5, 6]);
  });

  it("persists a rate with its options template and drops one whose template is not reloaded", () => {
    const tpl = set(0, templates(false, { id: 258, fields: [[2, 4]] }));
    const { state } = decodePackets([v9(hdr, optTpl, optData(100), tpl)]);
    const saved = JSON.parse(JSON.stringify(state.saveState())) as {
      templates: { exporters: { templates: { id: number }[] }[] };
      exporters: { samplers: number[][] }[];
    };
    expect(saved.exporters[0]!.samplers).toEqual([[-1, 100, 2, 256]]);
    const a = new DecoderState();
    a.loadState(saved);
    expect(decodePackets([v9(hdr, set(258, be(3, 4)))], { state: a }).rows[0]).toMatchObject({
      inPackets: 300,
      samplingSource: SamplingSource.OPTIONS,
    });
    // the same file without the options template: the rate is not applied
    const without = structuredClone(saved);
    const tpls = without.templates.exporters[0]!.templates;
    tpls.splice(
      tpls.findIndex((t) => t.id === 256),
      1,
    );
    const b = new DecoderState();
    b.loadState(without);
    expect(decodePackets([v9(hdr, set(258, be(3, 4)))], { state: b }).rows[0]).toMatchObject({
      inPackets: 3,
      samplingSource: SamplingSource.NONE,
    });
    // a rate from an older state file (no template id) or out of range is not reloaded
    const old = structuredClone(saved);
    old.exporters[0]!.samplers = [[-1, 100, 2]];
    const c = new DecoderState();
    c.loadState(old);
    expect(decodePackets([v9(hdr, set(258, be(3, 4)))], { state: c }).rows[0]!["inPackets"]).toBe(3);
    const huge = structuredClone(saved);
    huge.exporters[0]!.samplers = [[-1, 33_619_979, 2, 256]];
    const d = new DecoderState();
    d.loadState(huge);
    expect(decodePackets([v9(hdr, set(258, be(3, 4)))], { state: d }).rows[0]!["inPackets"]).toBe(3);
  });

  it("IPFIX: withdrawing the options template withdraws its rate; PSAMP interval/space after the data", () => {
    const t = set(2, templates(true, { id: 300, fields: [[2, 4]] }));
    const opt = set(
      3,
      optionsTemplate(
        true,
        301,
        [[149, 4]],
        [
          [304, 1],
          [305, 4],
          [306, 4],
        ],
      ),
    );
    // Nokia: samplingPacketInterval 1, samplingPacketSpace 99 → 1 in 100
    const od = set(301, cat(be(0, 4), [1], be(1, 4), be(99, 4)));
    const { rows, state } = decodePackets([ipfix({}, t), ipfix({}, set(300, be(2, 4)), opt, od)]);
    expect(rows[0]).toMatchObject({ inPackets: 200, samplingInterval: 100, samplingSource: SamplingSource.OPTIONS });
    decodePackets([ipfix({}, set(3, cat(be(301, 2), be(0, 2))))], { state });
    const after = decodePackets([ipfix({}, set(300, be(2, 4)))], { state });
    expect(after.rows[0]).toMatchObject({ inPackets: 2, samplingSource: SamplingSource.NONE });
  });
});

describe("sampling rates of v5 and sFlow", () => {
  const sflow = (): Uint8Array =>
    readPcapFile(resolve(REPO_ROOT, "test/fixtures/packets/tcpdump--sflow-expanded.pcap"))[0]!.payload;

  it("ignores an sFlow rate outside 1..10,000,000 (counted, as for v9/IPFIX) and attributes each flow to its rate source", () => {
    const good = sflow();
    const bad = good.slice();
    const view = new DataView(bad.buffer, bad.byteOffset, bad.byteLength);
    // expanded flow sample: header 28 bytes, tag, length, sequence, source type, source index, rate
    expect(view.getUint32(48)).toBe(1000);
    view.setUint32(48, 0xffffffff);
    const { rows, state } = decodePackets([good, bad]);
    expect(rows.map((r) => [r["samplingInterval"], r["samplingSource"], r["inPackets"]])).toEqual([
      [1000, SamplingSource.DATA, 1000],
      [1, SamplingSource.NONE, 1],
    ]);
    const e = [...state.exporters.values()][0]!;
    expect(e.ratesRejected).toBe(1);
    expect(Array.from(e.flowsBySource)).toEqual([1, 0, 0, 1, 0, 0]);
    // with -s 100 the rejected rate falls back to the default
    const d = decodePackets([bad], { options: { samplingRate: 100 } });
    expect(d.rows.map((r) => [r["samplingInterval"], r["samplingSource"]])).toEqual([[100, SamplingSource.DEFAULT]]);
    expect(Array.from([...d.state.exporters.values()][0]!.flowsBySource)).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it("attributes v5 flows to the header interval, the -s default or none", () => {
    const recs = [
      { packets: 2, bytes: 100 },
      { packets: 3, bytes: 300 },
    ];
    const header = decodePackets([v5({ sampling: (1 << 14) | 50 }, ...recs)]);
    expect(header.rows.map((r) => r["inPackets"])).toEqual([100, 150]);
    expect(Array.from([...header.state.exporters.values()][0]!.flowsBySource)).toEqual([0, 2, 0, 0, 0, 0]);
    const none = decodePackets([v5({}, ...recs)]);
    expect(Array.from([...none.state.exporters.values()][0]!.flowsBySource)).toEqual([2, 0, 0, 0, 0, 0]);
    const dflt = decodePackets([v5({}, ...recs)], { options: { samplingRate: 10 } });
    expect(Array.from([...dflt.state.exporters.values()][0]!.flowsBySource)).toEqual([0, 0, 0, 0, 2, 0]);
  });
});

describe("sampling rates on a real capture", () => {
  it("FortiGate (FortiOS 5.2.1): options template 256 announces rate 1; the flow stays as nfcapd stores it", () => {
    const { rows, state } = decodeCapture(
      resolve(REPO_ROOT, "test/fixtures/packets/logstash-codec-netflow--nf9-fortigate-fortios521.pcap"),
    );
    // nfcapd 1.7.1: 192.168.99.7:61910 -> 31.13.87.36:443 TCP, 3 packets, 152 bytes
    expect(
      rows.map((r) => [r["srcAddr"], r["srcPort"], r["dstAddr"], r["dstPort"], r["inPackets"], r["inBytes"]]),
    ).toEqual([["192.168.99.7", 61910, "31.13.87.36", 443, 3, 152]]);
    const e = [...state.exporters.values()][0]!;
    expect(e.samplerReport()).toEqual([{ id: -1, rate: 1, algorithm: 1, templateId: 256 }]);
    expect(e.optionsMismatch + e.ratesRejected).toBe(0);
  });
});
