// tsweb's pure parts: the overview's grid (gaps, slots adding up, bucketing of long spans), the URL words'
// checks and the credentials check.
import { describe, expect, it } from "vitest";
import type { FileSummary } from "../../../src/api.js";
import { MAX_POINTS, overviewSeries } from "../../../src/web/overview.js";
import { ParamError, parseViewParams } from "../../../src/web/params.js";
import { authorized } from "../../../src/web/server.js";

const T0 = Date.UTC(2026, 0, 1);

function file(slotMin: number, tcp: number, exporter = "192.0.2.1"): FileSummary {
  return {
    file: `f${slotMin}`,
    rows: tcp + 1,
    slot: T0 + slotMin * 60_000,
    first: T0 + slotMin * 60_000,
    last: T0 + (slotMin + 5) * 60_000,
    flows: [tcp, 1, 0, 0],
    packets: [tcp * 10, 10, 0, 0],
    bytes: [tcp * 1000, 1000, 0, 0],
    exporters: [{ address: exporter, id: 1, flows: tcp + 1, packets: tcp * 10 + 10 }],
  };
}

describe("overviewSeries", () => {
  it("puts files on a 5-minute grid: rates per second, a missing slot is a gap, one slot's files add up", () => {
    const s = overviewSeries([file(0, 300), file(5, 600), file(5, 300, "192.0.2.2"), file(15, 0)]);
    expect(s.step).toBe(300);
    expect(s.times).toEqual([0, 5, 10, 15].map((m) => (T0 + m * 60_000) / 1000));
    expect(s.proto.names).toEqual(["TCP", "UDP", "ICMP", "other"]);
    expect(s.proto.flows[0]).toEqual([1, 3, null, 0]);
    expect(s.proto.flows[1]).toEqual([0.003, 0.007, null, 0.003]);
    expect(s.exporter.names).toEqual(["192.0.2.1/1", "192.0.2.2/1"]);
    expect(s.exporter.flows[0]).toEqual([1.003, 2.003, null, 0.003]);
    expect(s.exporter.flows[1]).toEqual([0, 1.003, null, 0]);
    expect(s.totals).toEqual({ flows: 1200 + 4, packets: 12000 + 40, bytes: 1_200_000 + 4000 });
  });

  it("merges long spans into at most MAX_POINTS buckets of whole slots", () => {
    const files = Array.from({ length: 30 * 288 }, (_, i) => file(i * 5, 300));
    const s = overviewSeries(files);
    expect(s.times.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(s.step % 300).toBe(0);
    expect(s.proto.flows[0]!.every((v) => v === 1)).toBe(true);
    // two files years apart: still a bounded answer
    expect(overviewSeries([file(0, 1), file(6 * 365 * 1440, 1)]).times.length).toBeLessThanOrEqual(MAX_POINTS);
  });

  it("answers an empty selection", () => {
    expect(overviewSeries([]).times).toEqual([]);
  });
});

describe("parseViewParams", () => {
  const p = (q: string): ReturnType<typeof parseViewParams> => parseViewParams(new URLSearchParams(q));
  it("reads tsdump's words", () => {
    const v = p("s=srcip/bytes&s=dstport%20proto&n=10&t=2026/01/01.00:00-2026/01/01.01:00&filter=proto+tcp");
    expect(v.stats).toEqual(["srcip/bytes", "dstport", "proto"]);
    expect(v.n).toBe(10);
    expect(v.window).toEqual({ start: T0, end: T0 + 3_600_000 });
    expect(v.filter).toBe("proto tcp");
  });
  it.each([
    ["t=tomorrow", "t: bad time tomorrow"],
    ["t=2026/01/01.02:00-2026/01/01.01:00", "t: time window ends before it starts"],
    ["n=-3", "n: not a number: -3"],
    ["filter=a&filter=b", "filter: given 2 times"],
    ["filter=x…(4097)", "filter: longer than 4096 characters"],
    ["filter=any%07", "filter: control characters"],
    ["s=srcip;ls", "s: bad statistic 'srcip;ls'"],
    ["A=srcip%2Cdstip%3B", "A: bad aggregation keys"],
    [`s=${Array.from({ length: 9 }, () => "proto").join("+")}`, "s: at most 8 statistics"],
  ])("refuses %s", (given, message) => {
    const q = given.replace("x…(4097)", "x".repeat(4097));
    expect(() => p(q)).toThrow(ParamError);
    expect(() => p(q)).toThrow(message);
  });
});

describe("authorized", () => {
  const basic = (s: string): string => `Basic ${Buffer.from(s).toString("base64")}`;
  it("token: Bearer or any user's basic password", () => {
    expect(authorized("Bearer tok-12345", "tok-12345")).toBe(true);
    expect(authorized(basic("x:tok-12345"), "tok-12345")).toBe(true);
    expect(authorized("Bearer tok-1234", "tok-12345")).toBe(false);
    expect(authorized(basic("tok-12345"), "tok-12345")).toBe(false);
    expect(authorized(undefined, "tok-12345")).toBe(false);
  });
  it("user:password: basic only, both must match", () => {
    expect(authorized(basic("ann:pass-word"), "ann:pass-word")).toBe(true);
    expect(authorized(basic("ann:pass-wor"), "ann:pass-word")).toBe(false);
    expect(authorized("Bearer ann:pass-word", "ann:pass-word")).toBe(false);
  });
});
