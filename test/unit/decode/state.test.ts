// SPDX-License-Identifier: BSD-3-Clause
// Bounds and persistence: template cache, exporter table, held data sets, serialisation across a restart.
import { describe, expect, it } from "vitest";
import {
  DecodeDiagnostics,
  DecodeError,
  DecoderState,
  DecodeStatus,
  TemplateCache,
} from "../../../src/decode/index.js";
import { fieldList } from "../../../src/decode/templates.js";
import { be, cat, ip4, ipfix, optionsTemplate, set, templates, v9, type Field } from "./build.js";
import { decodePackets } from "./util.js";

function list(fields: Field[]): ReturnType<typeof fieldList> {
  const l = fieldList(fields.length);
  fields.forEach(([id, len, pen], i) => {
    l.id[i] = id;
    l.length[i] = len;
    l.enterprise[i] = pen ?? 0;
  });
  return l;
}

describe("TemplateCache", () => {
  it("bounds templates per exporter by count, evicting the least recently refreshed", () => {
    const cache = new TemplateCache({ maxTemplates: 3, maxBytes: 1 << 20 });
    const t = cache.forExporter("9|192.0.2.1|0");
    for (let id = 256; id < 261; id++) t.define(id, false, 0, list([[2, 4]]), id);
    expect([...t.plans.keys()].sort()).toEqual([258, 259, 260]);
    expect(t.evicted).toBe(2);
    t.define(258, false, 0, list([[2, 4]]), 1000); // refresh: now the newest
    t.define(300, false, 0, list([[2, 4]]), 1001);
    expect([...t.plans.keys()].sort()).toEqual([258, 260, 300]);
  });

  it("bounds templates per exporter by bytes", () => {
    const cache = new TemplateCache({ maxTemplates: 1000, maxBytes: 2000 });
    const t = cache.forExporter("10|192.0.2.1|0");
    const big = list(Array.from({ length: 100 }, (): Field => [2, 4]));
    for (let id = 256; id < 266; id++) t.define(id, false, 0, big, id);
    expect(t.bytes).toBeLessThanOrEqual(2000);
    expect(t.plans.size).toBeGreaterThan(0);
    expect(t.plans.has(265)).toBe(true);
  });

  it("serialises and reloads templates so a restarted collector decodes data at once", () => {
    const tpl = set(
      0,
      templates(false, {
        id: 256,
        fields: [
          [8, 4],
          [2, 4],
          [82, 4],
        ],
      }),
    );
    const data = v9({ source: 3 }, set(256, cat(ip4("10.1.2.3"), be(9, 4), be(1, 4))));
    const before = decodePackets([v9({ source: 3 }, tpl), data]);
    const gen = before.state.templates.generation;
    expect(gen).toBe(1);
    decodePackets([v9({ source: 3 }, tpl)], { state: before.state }); // refresh: nothing to persist
    expect(before.state.templates.generation).toBe(gen);
    const saved = JSON.parse(JSON.stringify(before.state.templates.serialize())) as unknown;
    const restarted = new DecoderState();
    expect(restarted.templates.load(saved)).toBe(1);
    const after = decodePackets([data], { state: restarted });
    expect(after.statuses).toEqual([DecodeStatus.OK]);
    expect(after.rows[0]).toMatchObject({ srcAddr: "10.1.2.3", inPackets: 9, extra: "0/82=00000001" });
  });

  it("saves and restores samplers with the templates (DecoderState.saveState/loadState)", () => {
    const opt = set(
      1,
      optionsTemplate(
        false,
        257,
        [[1, 4]],
        [
          [48, 1],
          [34, 4],
        ],
      ),
    );
    const tpl = set(
      0,
      templates(false, {
        id: 258,
        fields: [
          [2, 4],
          [48, 1],
        ],
      }),
    );
    const data = v9({}, set(258, cat(be(3, 4), [9])));
    const first = decodePackets([v9({}, opt, set(257, cat(be(0, 4), [9], be(50, 4)))), v9({}, tpl), data]);
    expect(first.rows[0]).toMatchObject({ inPackets: 150, samplingInterval: 50 });
    const saved = JSON.parse(JSON.stringify(first.state.saveState())) as unknown;
    const restarted = new DecoderState();
    expect(restarted.loadState(saved)).toBe(2);
    expect(restarted.loadState({ format: "nope" })).toBe(0);
    expect(decodePackets([data], { state: restarted }).rows[0]).toMatchObject({ inPackets: 150, samplingInterval: 50 });
  });

  it("ignores malformed serialised data", () => {
    const c = new TemplateCache();
    expect(c.load(null)).toBe(0);
    expect(c.load({ format: "other", version: 1, exporters: [] })).toBe(0);
    const bad = {
      format: "tsflow-templates",
      version: 1,
      exporters: [
        {
          key: "9|a|0",
          templates: [
            { id: 12, options: false, scopeCount: 0, fields: [[0, 2, 4]] },
            { id: 300, options: false, scopeCount: 0, fields: [[0, "x", 4]] },
            { id: 301, options: false, scopeCount: 0, fields: [[0, 2, 4]], lastSeenMs: 5 },
          ],
        },
      ],
    };
    expect(c.load(bad)).toBe(1);
    expect(c.get("9|a|0", 301)?.lastSeenMs).toBe(5);
  });
});

describe("DecoderState", () => {
  it("assigns small exporter ids per (address, domain) and bounds the table without locking out a new exporter", () => {
    const state = new DecoderState({ maxExporters: 2 });
    const r = (address: string, source: number, at: number): number =>
      decodePackets([v9({ source })], { state, address, receivedMs: at }).statuses[0]!;
    expect(r("192.0.2.1", 0, 0)).toBe(DecodeStatus.OK);
    expect(r("192.0.2.1", 1, 0)).toBe(DecodeStatus.OK);
    expect([...state.exporters.values()].map((e) => e.id)).toEqual([1, 2]);
    // 192.0.2.1/1 keeps sending; full and nobody idle: the new exporter is still taken, the least recently seen
    // one (192.0.2.1/0) gives its place and its id
    r("192.0.2.1", 1, 400);
    expect(r("192.0.2.2", 0, 500)).toBe(DecodeStatus.OK);
    expect(state.exportersEvicted).toBe(1);
    expect(state.exporters.size).toBe(2);
    const ids = [...state.exporters.values()].map((e) => [e.address, e.domain, e.id]);
    expect(ids).toContainEqual(["192.0.2.2", 0, 1]);
    expect(ids).toContainEqual(["192.0.2.1", 1, 2]);
  });

  it("keeps a steadily sending exporter and its templates while 10,000 one-datagram exporters pass through a full table", () => {
    const maxExporters = 4096;
    const state = new DecoderState({ maxExporters });
    const tpl = set(
      0,
      templates(false, {
        id: 256,
        fields: [
          [8, 4],
          [2, 4],
        ],
      }),
    );
    const data = v9({ source: 7 }, set(256, cat(ip4("10.1.2.3"), be(5, 4))));
    expect(decodePackets([v9({ source: 7 }, tpl)], { state, address: "192.0.2.9", receivedMs: 0 }).statuses).toEqual([
      DecodeStatus.OK,
    ]);
    let decoded = 0;
    for (let i = 0; i < 10_000; i++) {
      const a = `198.51.${(i >> 8) & 0xff}.${i & 0xff}`;
      const st = decodePackets([v9({ source: i })], { state, address: a, receivedMs: 1 + i }).statuses[0];
      expect(st).toBe(DecodeStatus.OK); // never "exporter table full"
      if (i % 1000 === 999)
        decoded += decodePackets([data], { state, address: "192.0.2.9", receivedMs: 1 + i }).rows.length;
    }
    expect(state.exporters.size).toBe(maxExporters);
    expect(decoded).toBe(10); // the template survived every round of evictions
    const good = [...state.exporters.values()].find((e) => e.address === "192.0.2.9")!;
    expect(good.id).toBe(1);
    expect(state.exportersEvicted).toBe(10_001 - maxExporters);
  });

  it("bounds held data sets over all exporters: a spray of domains each within its own bound evicts the largest holders, not a small one", () => {
    const maxHeldBytesTotal = 64 * 1024;
    const state = new DecoderState({ maxHeldBytesTotal });
    const fields: [number, number][] = [
      [8, 4],
      [2, 4],
    ];
    // the good exporter's data arrives before its template: one small set held
    const good = (p: Uint8Array): number =>
      decodePackets([p], { state, address: "192.0.2.9", receivedMs: 10 }).rows.length;
    expect(good(v9({ source: 1 }, set(256, cat(ip4("10.1.2.3"), be(5, 4)))))).toBe(0);
    // 200 domains of one sprayer, each holding 16 sets of 1 KB (its own bound is 256 KB): 3.2 MB without a global bound
    const big = set(300, new Uint8Array(1024 - 4));
    for (let d = 0; d < 200; d++) {
      const burst = Array.from({ length: 16 }, () => v9({ source: 1000 + d }, big));
      decodePackets(burst, { state, address: "198.51.100.7", receivedMs: 20 });
    }
    let held = 0;
    for (const e of state.exporters.values()) held += e.heldBytes;
    expect(state.heldBytesTotal).toBe(held);
    expect(held).toBeLessThanOrEqual(maxHeldBytesTotal);
    expect(state.heldDroppedGlobal).toBeGreaterThan(3000);
    // the good exporter held little, so its set survived: the template releases it
    const tpl = set(0, templates(false, { id: 256, fields }));
    expect(good(v9({ source: 1 }, tpl))).toBe(1);
  });

  describe("under template spam (many domains × templates from one address)", () => {
    const good = { address: "192.0.2.9", source: 7 };
    const goodTpl = v9(
      { source: good.source },
      set(
        0,
        templates(false, {
          id: 256,
          fields: [
            [8, 4],
            [2, 4],
          ],
        }),
      ),
    );
    const goodData = v9({ source: good.source }, set(256, cat(ip4("10.1.2.3"), be(5, 4), ip4("10.1.2.4"), be(6, 4))));
    /** One spam datagram: `count` templates of `fields` fields, ids from `first`, for source id `domain`. */
    const spam = (domain: number, first: number, count: number, fields: number): Uint8Array => {
      const f = Array.from({ length: fields }, (_, i): Field => [i + 1, 4]);
      const t = Array.from({ length: count }, (_, i) => ({ id: first + i, fields: f }));
      return v9({ source: domain }, set(0, templates(false, ...t)));
    };
    /** Spams `domains` × `perDomain` templates; the good exporter sends two flows after each domain. */
    const run = (
      state: DecoderState,
      domains: number,
      perDomain: number,
      fields: number,
      perPacket: number,
    ): number => {
      let t = 1;
      decodePackets([goodTpl], { state, address: good.address, receivedMs: t++ });
      let decoded = 0;
      for (let d = 0; d < domains; d++) {
        const packets: Uint8Array[] = [];
        for (let id = 256; id < 256 + perDomain; id += perPacket) packets.push(spam(d, id, perPacket, fields));
        decodePackets(packets, { state, address: "203.0.113.66", receivedMs: t });
        t += packets.length;
        decoded += decodePackets([goodData], { state, address: good.address, receivedMs: t++ }).rows.length;
        expect(state.templates.size).toBeLessThanOrEqual(state.templates.maxTotalTemplates);
        expect(state.templates.totalBytes).toBeLessThanOrEqual(state.templates.maxTotalBytes);
      }
      return decoded;
    };

    it("bounds the templates of all exporters together (default limits) and keeps a good exporter's flows", () => {
      const state = new DecoderState();
      expect(run(state, 48, 1024, 4, 64)).toBe(2 * 48); // 49,152 templates sent
      expect(state.templates.size).toBe(32768);
      expect(state.templates.globalEvicted).toBe(48 * 1024 + 1 - 32768);
    });

    it("bounds the accounted bytes of all exporters together, and the saved state, incrementally", () => {
      const state = new DecoderState({
        templateLimits: { maxTemplates: 1024, maxBytes: 1 << 20, maxTotalTemplates: 1 << 20, maxTotalBytes: 1 << 20 },
      });
      expect(run(state, 40, 256, 128, 8)).toBe(2 * 40); // 10,240 templates of 128 fields (11 MB accounted)
      expect(state.templates.totalBytes).toBeLessThanOrEqual(1 << 20);
      expect(state.templates.size).toBeLessThan(1000);
      // the saved state is bounded, and has the exporter that sends data
      const text = state.saveStateText(64 * 1024, Infinity);
      expect(text.length).toBeLessThanOrEqual(64 * 1024);
      const restarted = new DecoderState();
      expect(restarted.loadState(JSON.parse(text))).toBeGreaterThan(0);
      expect(decodePackets([goodData], { state: restarted, address: good.address }).rows).toHaveLength(2);
      // nothing changed: nothing is serialised again
      let fragments = 0;
      const fragment = state.templates.fragment.bind(state.templates);
      state.templates.fragment = (key: string): string | null => {
        fragments++;
        return fragment(key);
      };
      expect(state.saveStateText(64 * 1024)).toBe(text);
      expect(fragments).toBe(0);
      // one domain changes: only its templates are serialised again
      decodePackets([spam(3, 5000, 1, 128)], { state, address: "203.0.113.66" });
      state.saveStateText(64 * 1024);
      expect(fragments).toBeLessThanOrEqual(2); // the domain, and the one that gave up a template for it
    });
  });

  it("bounds held data sets by count, bytes and age", () => {
    const data = (id: number): Uint8Array => v9({}, set(id, new Uint8Array(100)));
    const { state } = decodePackets(
      Array.from({ length: 10 }, (_, i) => data(300 + i)),
      { options: { maxHeldSets: 4 } },
    );
    const e = [...state.exporters.values()][0]!;
    expect(e.held.map((h) => h.templateId)).toEqual([306, 307, 308, 309]);
    expect(e.heldDropped).toBe(6);
    const bytes = decodePackets(
      Array.from({ length: 10 }, (_, i) => data(300 + i)),
      { options: { maxHeldBytes: 250 } },
    );
    expect([...bytes.state.exporters.values()][0]!.heldBytes).toBeLessThanOrEqual(250);
    const aged = decodePackets([data(300)], { options: { heldMaxAgeMs: 1000 } });
    decodePackets([v9({}, set(0, templates(false, { id: 300, fields: [[2, 4]] })))], {
      state: aged.state,
      receivedMs: 1_700_000_000_000 + 5000,
    });
    const ae = [...aged.state.exporters.values()][0]!;
    expect(ae.heldDecoded).toBe(0);
    expect(ae.heldDropped).toBe(1);
  });

  it("writes IPv6 and IPv4-mapped exporter addresses", () => {
    const t = set(0, templates(false, { id: 256, fields: [[2, 4]] }));
    const p = v9({}, t, set(256, be(1, 4)));
    expect(decodePackets([p], { address: "2001:db8::5" }).rows[0]).toMatchObject({
      exporterAddr: "2001:db8::5",
      inPackets: 1,
    });
    expect(decodePackets([p], { address: "::ffff:192.0.2.9" }).rows[0]).toMatchObject({ exporterAddr: "192.0.2.9" });
  });

  it("keeps v9 and IPFIX from one address apart", () => {
    const { state } = decodePackets([v9({ source: 1 }), ipfix({ domain: 1 })]);
    expect([...state.exporters.values()].map((e) => e.nfVersion).sort()).toEqual([10, 9]);
  });

  it("exposes counters as plain data", () => {
    const { state } = decodePackets([v9({ seq: 1 }, set(400, be(0, 4))), v9({ seq: 5 })]);
    const c = state.exporterCounters()[0]!;
    expect(c).toMatchObject({
      packets: 2,
      templateMisses: 1,
      sequenceErrors: 1,
      records: 0,
      address: "192.0.2.1",
      nfVersion: 9,
    });
  });
});

describe("DecodeError", () => {
  it("formats diagnostics lazily with a stable code and the numbers", () => {
    const d = new DecodeDiagnostics();
    d.status = DecodeStatus.TRUNCATED;
    d.protocol = "netflow v9";
    d.exporter = "192.0.2.1";
    d.domainId = 7;
    d.templateId = 260;
    d.offset = 48;
    d.detail = "flowset runs past the datagram";
    d.a = 52;
    d.b = 40;
    const err = d.toError();
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.code).toBe("ERR_DECODE_TRUNCATED");
    expect(err.name).toBe("DecodeError");
    expect(err.message).toBe(
      "netflow v9: template 260 from 192.0.2.1/7: flowset runs past the datagram (expected 52, available 40) at offset 48",
    );
  });

  it("is filled by the decoders with exporter, domain, template and offset", () => {
    const { state } = decodePackets([
      v9({ source: 4 }, set(0, templates(false, { id: 256, fields: [[2, 4]] })), cat(be(256, 2), be(64, 2), be(1, 4))),
    ]);
    const err = state.diag.toError();
    expect(err.message).toBe(
      "netflow v9: template 256 from 192.0.2.1/4: flowset runs past the datagram (expected 96, available 40) at offset 32",
    );
  });
});
