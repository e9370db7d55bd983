// SPDX-License-Identifier: BSD-3-Clause
// Where a sampling rate came from, as an operator sees it: tscapd's log lines when options data announce (or
// announce an absurd) rate, and tsdump -E's sampler and per-source flow lines for the file tscapd wrote.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { craftedV9RefusedRate, craftedV9Sampling } from "../helpers/crafted.js";
import { sendDatagrams } from "../helpers/nfdump.js";
import { flowFiles, startTscapd, tsdump } from "../helpers/programs.js";

describe("sampling rates reported by tscapd's log and tsdump -E", () => {
  let log = "";
  let file = "";

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-sampling-"));
    const d = await startTscapd(["-w", dir]);
    await sendDatagrams([...craftedV9Sampling(), ...craftedV9RefusedRate()], d.port, 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(await d.stop()).toBe(0);
    log = d.log();
    const files = flowFiles(dir);
    expect(files).toHaveLength(1);
    file = files[0]!;
  }, 60_000);

  it("logs each accepted rate with its sampler and options template, and a refused one as a warning", () => {
    expect(log).toContain("info: 127.0.0.1/1 sampler 1: sampling rate 30000 from options template 258\n");
    expect(log).toContain("info: 127.0.0.1/2 sampler (exporter-wide): sampling rate 100 from options template 259\n");
    expect(log).toContain(
      "warn: 127.0.0.1/3 sampler (exporter-wide): sampling rate 20000000 from options template 260 ignored (outside 1..10000000)\n",
    );
  });

  it("-E lists each exporter's samplers, their options template and the flows by rate source", async () => {
    const e = await tsdump(["-E", file]);
    expect(e.code).toBe(0);
    const blocks = e.stdout
      .split(/\n(?=SysID: )/)
      .slice(1)
      .map((b) => `${b}\n`);
    const of = (domain: number): string => {
      const b = blocks.find((x) =>
        new RegExp(`^SysID: \\d+, IP: +127\\.0\\.0\\.1, version: 9, ID: +${domain},`).test(x),
      );
      if (b === undefined) throw new Error(`no exporter ${domain} in\n${e.stdout}`);
      return b;
    };
    expect(of(1)).toContain("    Sampler: Assigned Sampler: id: 1, rate: 30000, from options template 258\n");
    // its flows name no sampler (no FLOW_SAMPLER_ID) and it announced no exporter-wide rate: unscaled, as nfcapd
    expect(of(1)).toContain("    Sampling: flowsUnscaled: 6\n");
    expect(of(2)).toContain("    Sampler: Generic Sampler: rate: 100, from options template 259\n");
    expect(of(2)).toContain("    Sampling: flowsRateOptions: 5\n");
    expect(of(3)).not.toContain("Sampler:");
    expect(of(3)).toContain("    Sampling: flowsUnscaled: 4, ratesRejected: 1\n");
  });
});
