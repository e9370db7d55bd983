// SPDX-License-Identifier: BSD-3-Clause
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  currentFileName,
  flowFileName,
  flowFilePath,
  listFlowFiles,
  listMulti,
  listRange,
  parseFlowFileName,
  slotStart,
  strftime,
  subDirectory,
} from "../../../src/store/layout.js";
import { tempDir } from "./helpers.js";

const dir = tempDir("tsflow-layout-");
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// Expected values printed by C strftime (python3 time.strftime, TZ=UTC):  %Y/%m/%d/%H %Y/%W/%u %Y/%j %Y-%m-%d
const UTC_CASES: [number, string][] = [
  [1795435500000, "2026/11/23/12 2026/47/1 2026/327 2026-11-23"],
  [1767225600000, "2026/01/01/00 2026/00/4 2026/001 2026-01-01"],
  [1767571140000, "2026/01/04/23 2026/00/7 2026/004 2026-01-04"],
  [1767571200000, "2026/01/05/00 2026/01/1 2026/005 2026-01-05"],
  [1798761540000, "2026/12/31/23 2026/52/4 2026/365 2026-12-31"],
  [1709188200000, "2024/02/29/06 2024/09/4 2024/060 2024-02-29"],
  [1735520400000, "2024/12/30/01 2024/53/1 2024/365 2024-12-30"],
  [1735682400000, "2024/12/31/22 2024/53/2 2024/366 2024-12-31"],
  [1672531200000, "2023/01/01/00 2023/00/7 2023/001 2023-01-01"],
  [1672617600000, "2023/01/02/00 2023/01/1 2023/002 2023-01-02"],
  [1640995200000, "2022/01/01/00 2022/00/6 2022/001 2022-01-01"],
  [1609668000000, "2021/01/03/10 2021/00/7 2021/003 2021-01-03"],
  [1609372800000, "2020/12/31/00 2020/52/4 2020/366 2020-12-31"],
  [1830297600000, "2028/01/01/00 2028/00/6 2028/001 2028-01-01"],
  [1861920000000, "2029/01/01/00 2029/01/1 2029/001 2029-01-01"],
  [1806197400000, "2027/03/28/01 2027/12/7 2027/087 2027-03-28"],
];

// TZ=Europe/Berlin, C strftime: %Y%m%d%H%M%z %Y/%W/%u/%H %Y/%j (across both DST changes and a year boundary)
const BERLIN_CASES: [number, string][] = [
  [1774745700000, "202603290155+0100 2026/12/7/01 2026/088"],
  [1774746000000, "202603290300+0200 2026/12/7/03 2026/088"],
  [1792888200000, "202610250230+0200 2026/42/7/02 2026/298"],
  [1792890300000, "202610250205+0100 2026/42/7/02 2026/298"],
  [1798759800000, "202701010030+0100 2027/00/5/00 2027/001"],
];

const savedTz = process.env["TZ"];
afterEach(() => {
  process.env["TZ"] = savedTz;
});

describe("strftime and -S sub-directories", () => {
  it.each(UTC_CASES)("%d in UTC", (ms, expected) => {
    expect(strftime("%Y/%m/%d/%H %Y/%W/%u %Y/%j %Y-%m-%d", ms, "utc")).toBe(expected);
  });

  it("every -S level for the reference example (2026-11-23 12:05 UTC)", () => {
    const t = 1795435500000;
    expect(Array.from({ length: 9 }, (_, n) => subDirectory(t, n, "utc"))).toEqual([
      "",
      "2026/11/23",
      "2026/11/23/12",
      "2026/47/1",
      "2026/47/1/12",
      "2026/327",
      "2026/327/12",
      "2026-11-23",
      "2026-11-23/12",
    ]);
    expect(() => subDirectory(t, 9)).toThrow(expect.objectContaining({ code: "ERR_STORE_LIST" }));
  });

  it.each(BERLIN_CASES)("%d in local time with TZ=Europe/Berlin", (ms, expected) => {
    process.env["TZ"] = "Europe/Berlin";
    expect(strftime("%Y%m%d%H%M%z %Y/%W/%u/%H %Y/%j", ms, "local")).toBe(expected);
  });

  it("an explicit offset gives the same as the zone at that offset", () => {
    // 2026-11-23 12:05 UTC is 13:05 in Berlin (+0100) and 07:05 in New York (−0500)
    expect(strftime("%Y%m%d%H%M %z", 1795435500000, { offsetMinutes: 60 })).toBe("202611231305 +0100");
    expect(strftime("%Y/%W/%u/%H", 1795435500000, { offsetMinutes: -300 })).toBe("2026/47/1/07");
    expect(subDirectory(1798759800000, 4, { offsetMinutes: 60 })).toBe("2027/00/5/00");
    expect(subDirectory(1798759800000, 4, "utc")).toBe("2026/52/4/23");
  });
});

describe("slots and names", () => {
  it("slot = t − t mod interval, names in minutes or seconds", () => {
    const t = Date.UTC(2026, 10, 23, 12, 7, 31, 456);
    expect(slotStart(t, 300)).toBe(Date.UTC(2026, 10, 23, 12, 5));
    expect(slotStart(t, 60)).toBe(Date.UTC(2026, 10, 23, 12, 7));
    expect(slotStart(t, 10)).toBe(Date.UTC(2026, 10, 23, 12, 7, 30));
    expect(flowFileName(slotStart(t, 300), { interval: 300, zone: "utc" })).toBe("tscapd.202611231205");
    expect(flowFileName(slotStart(t, 10), { interval: 10, zone: "utc" })).toBe("tscapd.20261123120730");
    expect(flowFileName(slotStart(t, 300), { interval: 300, zone: { offsetMinutes: 60 }, appendZone: true })).toBe(
      "tscapd.202611231305+0100",
    );
    expect(flowFilePath("/flows", slotStart(t, 300), { interval: 300, zone: "utc", subdirLevel: 1 })).toBe(
      "/flows/2026/11/23/tscapd.202611231205",
    );
    expect(currentFileName(4242)).toBe("tscapd.current.4242");
  });

  it("local time by default", () => {
    process.env["TZ"] = "America/New_York";
    expect(flowFileName(Date.UTC(2026, 10, 23, 12, 5), { interval: 300 })).toBe("tscapd.202611230705");
    expect(parseFlowFileName("tscapd.202611230705")!.time).toBe(Date.UTC(2026, 10, 23, 12, 5));
  });

  it("parses names back (zone, seconds, suffix, nfcapd names) and rejects others", () => {
    expect(parseFlowFileName("tscapd.202611231205", "utc")).toEqual({
      prefix: "tscapd",
      time: Date.UTC(2026, 10, 23, 12, 5),
      seq: 0,
      seconds: false,
    });
    expect(parseFlowFileName("nfcapd.20261123120730", "utc")!.time).toBe(Date.UTC(2026, 10, 23, 12, 7, 30));
    expect(parseFlowFileName("tscapd.202611231305+0100", "utc")!.time).toBe(Date.UTC(2026, 10, 23, 12, 5));
    expect(parseFlowFileName("tscapd.202611231205.2", "utc")!.seq).toBe(2);
    for (const bad of [
      "tscapd.current.123",
      ".tscapd.202611231205",
      "tscapd.2026112312",
      "tscapd.202613231205",
      "templates.json",
      "nfcapd.202611231205.pcap",
    ]) {
      expect(parseFlowFileName(bad)).toBeUndefined();
    }
  });
});

describe("listing", () => {
  const base = path.join(dir, "flows");
  const names = [
    "2026/11/23/tscapd.202611232355",
    "2026/11/24/tscapd.202611240000",
    "2026/11/24/tscapd.202611240005",
    "2026/11/24/tscapd.202611240005.1",
    "2026/11/24/nfcapd.202611240010",
    "2026/11/24/tscapd.202611240015",
    "2026/11/23/tscapd.202611232350",
  ];
  const skipped = [
    "2026/11/24/tscapd.current.999",
    "2026/11/24/.hidden",
    "2026/11/24/templates.json",
    ".snap/tscapd.202611240000",
  ];
  for (const n of [...names, ...skipped]) {
    fs.mkdirSync(path.dirname(path.join(base, n)), { recursive: true });
    fs.writeFileSync(path.join(base, n), "");
  }
  const rel = (files: string[]): string[] => files.map((f) => path.relative(base, f));
  const opts = { zone: "utc" as const };

  it("a directory: recursive, time order, .current/dot/other files skipped", () => {
    expect(rel(listFlowFiles(base, opts))).toEqual([
      "2026/11/23/tscapd.202611232350",
      "2026/11/23/tscapd.202611232355",
      "2026/11/24/tscapd.202611240000",
      "2026/11/24/tscapd.202611240005",
      "2026/11/24/tscapd.202611240005.1",
      "2026/11/24/nfcapd.202611240010",
      "2026/11/24/tscapd.202611240015",
    ]);
  });

  it("a single file is taken as given", () => {
    const f = path.join(base, "2026/11/24/templates.json");
    expect(listFlowFiles(f, opts)).toEqual([f]);
    expect(() => listFlowFiles(path.join(base, "missing"))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_LIST" }),
    );
  });

  it("-R a:b ranges, across sub-directories, and a:end", () => {
    expect(rel(listRange(path.join(base, "2026/11/24/tscapd.202611240000:tscapd.202611240010"), opts))).toEqual([
      "2026/11/24/tscapd.202611240000",
      "2026/11/24/tscapd.202611240005",
      "2026/11/24/tscapd.202611240005.1",
      "2026/11/24/nfcapd.202611240010",
    ]);
    expect(
      rel(listRange(path.join(base, "2026/11/23/tscapd.202611232355:2026/11/24/tscapd.202611240000"), opts)),
    ).toEqual(["2026/11/23/tscapd.202611232355", "2026/11/24/tscapd.202611240000"]);
    expect(rel(listRange(path.join(base, "2026/11/24/tscapd.202611240010"), opts))).toEqual([
      "2026/11/24/nfcapd.202611240010",
      "2026/11/24/tscapd.202611240015",
    ]);
    // -R dir keeps every file the walk finds, as nfdump (the reader reports what is not a flow file)
    expect(rel(listRange(base, opts))).toEqual(["2026/11/24/templates.json", ...rel(listFlowFiles(base, opts))]);
  });

  it("-R as nfdump: an absolute last name is refused before any walk, a missing first path is named", () => {
    const first = path.join(base, "2026/11/24/tscapd.202611240000");
    expect(() => listRange(`${first}:${path.join(base, "2026/11/24/tscapd.202611240010")}`, opts)).toThrow(
      expect.objectContaining({ code: "ERR_USAGE", message: expect.stringMatching(/must not start with '\/'/) }),
    );
    // more directories in the last name than the first's path has: would walk from /
    expect(() => listRange(`${first}:${"d/".repeat(40)}tscapd.202611240010`, opts)).toThrow(
      expect.objectContaining({ code: "ERR_USAGE" }),
    );
    // (under the test's own directory: the fs guard refuses reads outside the repository and the temp directory)
    const missing = path.join(base, "nonexistent");
    for (const spec of [missing, `${missing}/tscapd.202611240000`, `${missing}/x:tscapd.202611240010`]) {
      expect(() => listRange(spec, opts)).toThrow(
        expect.objectContaining({
          code: "ERR_STORE_LIST",
          message: expect.stringMatching(/cannot open \S*\/nonexistent.*no such file or directory/),
        }),
      );
    }
  });

  it("-R keeps files named like a copy of a flow file (spaces) at their time; -r still lists flow names", () => {
    const d = path.join(dir, "spaces dir");
    for (const n of ["tscapd.202611240000", "tscapd.202611240005", "tscapd.202611240005 copy", "my flows"]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, n), "");
    }
    const r = (files: string[]): string[] => files.map((f) => path.relative(d, f));
    expect(r(listRange(d, opts))).toEqual([
      "my flows",
      "tscapd.202611240000",
      "tscapd.202611240005",
      "tscapd.202611240005 copy",
    ]);
    expect(r(listRange(`${d}/tscapd.202611240000:tscapd.202611240010`, opts))).toEqual([
      "tscapd.202611240000",
      "tscapd.202611240005",
      "tscapd.202611240005 copy",
    ]);
    // as nfdump's name order: the copy sorts after the last name
    expect(r(listRange(`${d}/tscapd.202611240000:tscapd.202611240005`, opts))).toEqual([
      "tscapd.202611240000",
      "tscapd.202611240005",
    ]);
    expect(r(listFlowFiles(d, opts))).toEqual(["tscapd.202611240000", "tscapd.202611240005"]);
  });

  it("a time window keeps the files whose slot overlaps it", () => {
    const w = { start: Date.UTC(2026, 10, 24, 0, 3), end: Date.UTC(2026, 10, 24, 0, 10) };
    expect(rel(listFlowFiles(base, { ...opts, window: w }))).toEqual([
      "2026/11/24/tscapd.202611240000",
      "2026/11/24/tscapd.202611240005",
      "2026/11/24/tscapd.202611240005.1",
      "2026/11/24/nfcapd.202611240010",
    ]);
  });

  it("-M /base/d1:d2 with a relative -R range or file, merged in time order", () => {
    const m = path.join(dir, "multi");
    for (const [d, n] of [
      ["r1", "tscapd.202611240000"],
      ["r1", "tscapd.202611240010"],
      ["r2", "tscapd.202611240005"],
      ["r2", "tscapd.202611240010"],
      ["r3", "tscapd.202611240000"],
    ]) {
      fs.mkdirSync(path.join(m, d!), { recursive: true });
      fs.writeFileSync(path.join(m, d!, n!), "");
    }
    const r = (files: string[]): string[] => files.map((f) => path.relative(m, f));
    expect(r(listMulti(`${m}/r1:r2`, {}, opts))).toEqual([
      "r1/tscapd.202611240000",
      "r2/tscapd.202611240005",
      "r1/tscapd.202611240010",
      "r2/tscapd.202611240010",
    ]);
    expect(r(listMulti(`${m}/r1:r2:r3`, { range: "tscapd.202611240000:tscapd.202611240005" }, opts))).toEqual([
      "r1/tscapd.202611240000",
      "r3/tscapd.202611240000",
      "r2/tscapd.202611240005",
    ]);
    expect(r(listMulti(`${m}/r1:r2:r3`, { file: "tscapd.202611240010" }, opts))).toEqual([
      "r1/tscapd.202611240010",
      "r2/tscapd.202611240010",
    ]);
  });
});
