// SPDX-License-Identifier: BSD-3-Clause
// tscapd --monitor: configuration errors with their place, key packing (masks, IPv6), the bounded heavy-hitter
// table under key explosion, moving-average over/back, and fixed-window top N + rest rows.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { parseIPv4, parseIPv6 } from "../../../src/record/ip.js";
import { parseMonitorConfig, monitorColumns, MonitorConfigError } from "../../../src/monitor/config.js";
import { KeySpec, parseElement } from "../../../src/monitor/keys.js";
import { KeyTable } from "../../../src/monitor/table.js";
import { MovingAverage } from "../../../src/monitor/moving.js";
import { FixedWindow } from "../../../src/monitor/window.js";
import { FileSink } from "../../../src/monitor/sink-file.js";

interface Flow {
  src?: string;
  dst?: string;
  dport?: number;
  packets?: number;
  bytes?: number;
  recv: number;
}

function batchOf(flows: readonly Flow[]): RecordBatch {
  const b = new RecordBatch(Math.max(1, flows.length));
  const w = new Uint32Array(4);
  for (const f of flows) {
    const r = b.addRow();
    const c = b.cols;
    for (const [addr, col, bit] of [
      [f.src, "srcAddr", 0],
      [f.dst, "dstAddr", 1],
    ] as const) {
      if (addr === undefined) continue;
      const v4 = parseIPv4(addr);
      if (v4 >= 0) c[col][r] = v4;
      else {
        expect(parseIPv6(addr, w)).toBe(true);
        c[`${col}6`].set(w, r * 4);
        c.v6Flags[r] = c.v6Flags[r]! | (1 << bit);
      }
    }
    c.dstPort[r] = f.dport ?? 0;
    c.inPackets[r] = f.packets ?? 1;
    c.inBytes[r] = f.bytes ?? 100;
    c.flows[r] = 1;
    c.msecReceived[r] = f.recv;
  }
  return b;
}

const all = (n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => i);

describe("monitor configuration", () => {
  it("parses YAML and JSON into monitors with defaults", () => {
    const yaml = parseMonitorConfig(
      "monitors:\n  - name: ddos\n    filter: proto udp\n    key: [dstip]\n    value: pps\n    window: 5s\n    over: 1000\n    exec: [/bin/true, x]\n",
      "m.yaml",
    );
    const m = yaml.monitors[0]!;
    expect(m.moving).toMatchObject({ value: "pps", windowSec: 5, over: 1000, backMs: 5000, exec: ["/bin/true", "x"] });
    expect(m.window).toBeUndefined();
    const json = parseMonitorConfig(
      '{"monitors": [{"name": "top", "key": ["srcip/24", "dstport"], "period": "30s", "top": 10, "to": "out.csv"}]}',
      "/etc/m.json",
    );
    expect(json.monitors[0]!.window).toMatchObject({ periodMs: 30_000, top: 10, kind: "csv", to: "/etc/out.csv" });
    expect(monitorColumns(yaml)).toEqual(
      expect.arrayContaining(["proto", "dstAddr", "dstAddr6", "v6Flags", "msecReceived"]),
    );
  });

  it("names file:line:column of each mistake", () => {
    const bad = (text: string): string => {
      try {
        parseMonitorConfig(text, "m.yaml");
      } catch (err) {
        expect(err).toBeInstanceOf(MonitorConfigError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(bad("monitors:\n  - name: a\n    key: [dstip]\n    over: 10\n    filter: proto udpx\n")).toMatch(
      /^m\.yaml:5:13: monitor a: filter:/,
    );
    expect(bad("monitors:\n  - name: a\n    key: [dstip, dstip7/24]\n    over: 1\n")).toMatch(
      /^m\.yaml:3:18: monitor a: unknown key element 'dstip7\/24'/,
    );
    expect(bad("monitors:\n  - name: a\n    key: [dstip]\n    over: 1\n    windw: 3s\n")).toMatch(
      /^m\.yaml:5:5: unknown setting 'windw'/,
    );
    expect(bad("monitors:\n  - name: a\n    key: [dstip\n")).toMatch(/^m\.yaml:\d+:\d+: /);
    expect(bad("monitors:\n  - name: a\n    key: [dstip]\n    period: 10x\n    to: a.csv\n")).toMatch(
      /^m\.yaml:4:13: monitor a: period/,
    );
    expect(bad("monitors:\n  - name: Bad-Name\n    key: [dstip]\n    over: 1\n")).toMatch(/^m\.yaml:2:11: name/);
    expect(bad("monitors:\n  - name: a\n    key: [dstip]\n    to: mysql://x/y\n")).toMatch(
      /^m\.yaml:4:9: monitor a: to/,
    );
  });

  it("reads per-key thresholds, normalised by the key's mask", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-mon-"));
    writeFileSync(join(dir, "limits.csv"), "dstip,over\n192.0.2.77,500\n2001:db8:0:0:1::,7\n");
    writeFileSync(
      join(dir, "m.yaml"),
      "monitors:\n  - name: a\n    key: [dstip/24, dstip6/64]\n    over: 1\n    thresholds: limits.csv\n",
    );
    expect(() =>
      parseMonitorConfig(
        "monitors:\n  - name: a\n    key: [dstip/24]\n    over: 1\n    thresholds: limits.csv\n",
        join(dir, "m.yaml"),
      ),
    ).not.toThrow();
    const cfg = parseMonitorConfig(
      "monitors:\n  - name: a\n    key: [dstip/24]\n    over: 1\n    thresholds: limits.csv\n",
      join(dir, "m.yaml"),
    );
    expect(cfg.monitors[0]!.moving!.thresholds).toEqual({ "192.0.2.0/24": 500, "2001:db8:0:0:1::": 7 });
    writeFileSync(join(dir, "bad.csv"), "192.0.2.1,500\n192.0.2.300,4\n");
    expect(() =>
      parseMonitorConfig(
        "monitors:\n  - name: a\n    key: [dstip]\n    over: 1\n    thresholds: bad.csv\n",
        join(dir, "m.yaml"),
      ),
    ).toThrow(/bad\.csv:2:1: dstip: bad address '192\.0\.2\.300'/);
  });
});

describe("monitor keys", () => {
  it("masks IPv4 and IPv6 addresses per element and prints them as networks", () => {
    const spec = new KeySpec(["srcip/24", "srcip6/64", "dstport"].map(parseElement));
    const b = batchOf([
      { src: "10.1.2.3", dport: 53, recv: 0 },
      { src: "2001:db8:1:2:3:4:5:6", dport: 443, recv: 0 },
    ]);
    const out = new Uint32Array(spec.width);
    spec.bind(b.cols);
    spec.pack(0, out, 0);
    expect(spec.texts(out, 0)).toEqual(["10.1.2.0/24", "10.1.2.3", "53"]);
    spec.pack(1, out, 0);
    expect(spec.texts(out, 0)).toEqual(["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "443"]);
    expect(spec.names).toEqual(["srcip", "srcip_2", "dstport"]);
    expect(() => parseElement("dstip/33")).toThrow(/longer than 32/);
    expect(() => parseElement("srcnet")).toThrow(/wants a mask/);
  });
});

describe("KeyTable", () => {
  it("keeps a heavy key exact and memory bounded under a million new keys, counting evictions", () => {
    const cfg = parseMonitorConfig(
      "monitors:\n  - name: a\n    key: [srcip]\n    value: fps\n    window: 10s\n    over: 1000000\n    size: 1024\n",
      "m.yaml",
    );
    const spec = new KeySpec(cfg.monitors[0]!.key.map(parseElement));
    const mv = new MovingAverage(cfg.monitors[0]!, cfg.monitors[0]!.moving!, spec);
    const t0 = 1_800_000_000_000;
    let heavy = 0;
    const n = 1 << 20;
    const chunk = 16384;
    for (let off = 0; off < n; off += chunk) {
      const flows: Flow[] = [];
      for (let i = 0; i < chunk; i++) {
        const x = off + i;
        if (x % 10 === 0) {
          flows.push({ src: "192.0.2.1", recv: t0 + 500 });
          heavy++;
        } else flows.push({ src: `10.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`, recv: t0 + 500 });
      }
      const b = batchOf(flows);
      mv.add(b.cols, all(b.length), b.length);
    }
    expect(mv.table.size).toBeLessThanOrEqual(1024);
    expect(mv.table.evicted).toBeGreaterThan(n * 0.8);
    const top = mv.top(1)[0]!;
    expect(top.key).toBe("192.0.2.1");
    expect(top.rate).toBe(heavy / 10);
  });

  it("looks chunks up with the key's generated probe: the entries pack() and hashKey find, new keys added", () => {
    const spec = new KeySpec(["srcip/24", "dstport", "dstip6/64"].map(parseElement));
    const flows: Flow[] = [];
    for (let i = 0; i < 40; i++)
      flows.push({
        src: i % 3 === 0 ? `2001:db8:${i % 5}::${i}` : `10.0.${i % 4}.${i}`,
        dst: i % 2 === 0 ? `2001:db8:1:${i % 3}::${i}` : `192.0.2.${i % 6}`,
        dport: i % 2,
        recv: 0,
      });
    const b = batchOf(flows);
    const t = new KeyTable(spec.width, 64);
    const ent = new Int32Array(40);
    // rows 1, 3, 5 ... only, so that a row's key may be absent
    const sel = Uint32Array.from({ length: 20 }, (_, j) => 2 * j + 1);
    expect(spec.probe(b.cols, sel, 0, 20, t, ent, false)).toBe(20);
    expect([...ent.subarray(0, 20)].every((e) => e === -1)).toBe(true);
    expect(spec.probe(b.cols, sel, 0, 20, t, ent, true)).toBe(20);
    const packed = new Uint32Array(spec.width);
    spec.bind(b.cols);
    const seen = new Set<number>();
    for (let j = 0; j < 20; j++) {
      spec.pack(sel[j]!, packed, 0);
      const e = t.find(packed, 0, t.hash(packed, 0));
      // -2 - entry: added by this row; the entry: added by an earlier row with the same key
      expect(ent[j]! < -1 ? -2 - ent[j]! : ent[j]).toBe(e);
      expect(ent[j]! < -1).toBe(!seen.has(e));
      seen.add(e);
    }
    expect(t.size).toBe(seen.size);
    // all rows now: the odd ones are found, the even ones were absent
    expect(spec.probe(b.cols, all(40), 0, 40, t, ent, false)).toBe(40);
    for (let i = 0; i < 40; i++) {
      spec.pack(i, packed, 0);
      expect(ent[i]).toBe(t.find(packed, 0, t.hash(packed, 0)));
    }
    // a full table: the probe stops at the first new key
    const small = new KeyTable(spec.width, 2);
    expect(spec.probe(b.cols, all(40), 0, 40, small, ent, true)).toBeLessThan(40);
    expect(small.size).toBe(2);
  });

  it("evicts half of a full table by score", () => {
    const t = new KeyTable(1, 8);
    const k = new Uint32Array(1);
    for (let i = 0; i < 8; i++) {
      k[0] = i;
      const e = t.insert(k, 0, t.hash(k, 0));
      t.scores[e] = i;
    }
    expect(t.full).toBe(true);
    const floor = t.evictHalf();
    expect(floor).toBe(3);
    expect(t.size).toBe(4);
    expect(t.evicted).toBe(4);
    for (let i = 0; i < 8; i++) {
      k[0] = i;
      expect(t.find(k, 0, t.hash(k, 0)) >= 0).toBe(i >= 4);
    }
  });
});

describe("moving average", () => {
  const cfg = parseMonitorConfig(
    "monitors:\n  - name: ddos\n    key: [dstip]\n    value: pps\n    window: 4s\n    over: 100\n    back: 2s\n",
    "m.yaml",
  ).monitors[0]!;
  it("fires over only for the keys above the threshold within the window, and back after the traffic stops", () => {
    const mv = new MovingAverage(cfg, cfg.moving!, new KeySpec(cfg.key.map(parseElement)));
    const t0 = 1_800_000_000_000;
    const events: string[] = [];
    // 192.0.2.1 gets 300 packets/s, 192.0.2.2 gets 50/s, from t0 for 6 s
    for (let s = 0; s < 6; s++) {
      const b = batchOf([
        { dst: "192.0.2.1", packets: 300, recv: t0 + s * 1000 + 100 },
        { dst: "192.0.2.2", packets: 50, recv: t0 + s * 1000 + 100 },
      ]);
      mv.add(b.cols, all(b.length), b.length);
      for (const e of mv.evaluate(t0 + s * 1000 + 500))
        events.push(`${s} ${e.event} ${String(e.key["dstip"])} ${e.value}`);
    }
    // after one second the window holds 300 packets: 75/s; after two, 150/s > 100
    expect(events).toEqual(["1 over 192.0.2.1 150"]);
    expect(mv.alerts).toBe(1);
    for (let s = 6; s < 14; s++)
      for (const e of mv.evaluate(t0 + s * 1000 + 500))
        events.push(`${s} ${e.event} ${String(e.key["dstip"])} ${e.value}`);
    // the window empties below 100/s at s = 8 (one second of 300 left = 75/s); back 2 s later
    expect(events.slice(1)).toEqual(["10 back 192.0.2.1 0"]);
    expect(mv.alerts).toBe(0);
  });

  it("uses per-key thresholds", () => {
    const c = { ...cfg, moving: { ...cfg.moving!, thresholds: { "192.0.2.2": 10 } } };
    const mv = new MovingAverage(c, c.moving, new KeySpec(c.key.map(parseElement)));
    const t0 = 1_800_000_000_000;
    const b = batchOf([
      { dst: "192.0.2.1", packets: 300, recv: t0 },
      { dst: "192.0.2.2", packets: 50, recv: t0 },
    ]);
    mv.add(b.cols, all(b.length), b.length);
    expect(mv.evaluate(t0 + 500).map((e) => [e.key["dstip"], e.threshold])).toEqual([["192.0.2.2", 10]]);
  });
});

describe("fixed window", () => {
  it("emits the top N keys and a NULL-key rest row that sum to every flow, per period", () => {
    const cfg = parseMonitorConfig(
      "monitors:\n  - name: top\n    key: [srcip]\n    period: 10s\n    top: 2\n    size: 16\n    to: x.csv\n",
      "m.yaml",
    ).monitors[0]!;
    const t0 = 1_800_000_000_000; // a multiple of 10 s
    const fw = new FixedWindow(cfg, cfg.window!, new KeySpec(cfg.key.map(parseElement)), t0);
    const flows: Flow[] = [];
    for (let i = 0; i < 100; i++)
      flows.push({ src: `10.0.0.${i}`, bytes: i === 7 ? 100_000 : 10, packets: 1, recv: t0 + 1000 });
    flows.push({ src: "10.0.0.9", bytes: 50_000, packets: 5, recv: t0 + 2000 });
    flows.push({ src: "10.0.0.9", bytes: 1, packets: 1, recv: t0 + 10_500 }); // next period
    const b = batchOf(flows);
    fw.add(b.cols, all(b.length), b.length);
    expect(fw.close(t0 + 11_000)).toEqual([]); // within the grace time
    const [first] = fw.close(t0 + 12_000);
    expect(first).toEqual([
      { time: t0, keys: ["10.0.0.7"], flows: 1, packets: 1, bytes: 100_000 },
      // its first flow (10 bytes) came before the table was full and was evicted with the small keys: in the rest
      { time: t0, keys: ["10.0.0.9"], flows: 1, packets: 5, bytes: 50_000 },
      { time: t0, keys: null, flows: 99, packets: 99, bytes: 990 },
    ]);
    expect(fw.evicted).toBeGreaterThan(0);
    expect(fw.close(t0 + 12_000, true)).toEqual([
      [{ time: t0 + 10_000, keys: ["10.0.0.9"], flows: 1, packets: 1, bytes: 1 }],
    ]);
  });
});

describe("fixed window files", () => {
  it("appends each period as CSV (header once, empty keys for the rest) or ndjson (null keys)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-mon-"));
    const spec = new KeySpec(["srcip/24", "dstport"].map(parseElement));
    const rows = (t: number) => [
      { time: t, keys: ["10.1.2.0/24", "443"], flows: 3, packets: 30, bytes: 3000 },
      { time: t, keys: null, flows: 1, packets: 2, bytes: 3 },
    ];
    const t0 = Date.UTC(2026, 11, 6, 12, 0, 0);
    const csv = new FileSink(join(dir, "top.csv"), "csv", spec);
    csv.write(rows(t0));
    csv.write(rows(t0 + 60_000));
    expect(readFileSync(join(dir, "top.csv"), "utf8")).toBe(
      "time,srcip,dstport,flows,packets,bytes\n" +
        "2026-12-06T12:00:00.000Z,10.1.2.0/24,443,3,30,3000\n2026-12-06T12:00:00.000Z,,,1,2,3\n" +
        "2026-12-06T12:01:00.000Z,10.1.2.0/24,443,3,30,3000\n2026-12-06T12:01:00.000Z,,,1,2,3\n",
    );
    const nd = new FileSink(join(dir, "top.ndjson"), "ndjson", spec);
    nd.write(rows(t0));
    expect(
      readFileSync(join(dir, "top.ndjson"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { time: "2026-12-06T12:00:00.000Z", srcip: "10.1.2.0/24", dstport: 443, flows: 3, packets: 30, bytes: 3000 },
      { time: "2026-12-06T12:00:00.000Z", srcip: null, dstport: null, flows: 1, packets: 2, bytes: 3 },
    ]);
  });
});
