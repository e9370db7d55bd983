// SPDX-License-Identifier: BSD-3-Clause
// Monitor actions: the events log, the exec'd program with the event on stdin (no shell), at most
// `concurrency` at once, killed at its timeout, and rate-limited per monitor, key and event.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Actions } from "../../../src/monitor/actions.js";
import type { MonitorEvent } from "../../../src/monitor/moving.js";

const ev = (dst: string, event: "over" | "back" = "over"): MonitorEvent => ({
  monitor: "ddos",
  event,
  key: { dstip: dst },
  value: 10,
  threshold: 5,
  time: "2026-12-06T12:00:00.000Z",
});

describe("monitor actions", () => {
  it("logs every event, runs the program with the event on stdin, limits runs per key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-actions-"));
    const out = join(dir, "ran; touch pwned"); // a name a shell would split: no shell is involved
    writeFileSync(
      join(dir, "prog.mjs"),
      `import { appendFileSync, readFileSync } from "node:fs"; appendFileSync(process.argv[2], readFileSync(0, "utf8"));\n`,
    );
    const logs: string[] = [];
    const a = new Actions(2, join(dir, "events.ndjson"), (_l, _k, m) => logs.push(m), dir);
    const argv = [process.execPath, "prog.mjs", out];
    a.emit(ev("192.0.2.1"), argv, 10_000, 60_000, "192.0.2.1");
    a.emit(ev("192.0.2.1"), argv, 10_000, 60_000, "192.0.2.1"); // same key and event within the interval
    a.emit(ev("192.0.2.1", "back"), argv, 10_000, 60_000, "192.0.2.1");
    a.emit(ev("192.0.2.2"), argv, 10_000, 60_000, "192.0.2.2");
    await a.idle(20_000);
    a.close();
    const ran = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as MonitorEvent);
    expect(ran.map((e) => `${e.event} ${String(e.key["dstip"])}`).sort()).toEqual([
      "back 192.0.2.1",
      "over 192.0.2.1",
      "over 192.0.2.2",
    ]);
    expect(a.counts).toMatchObject({ started: 3, ok: 3, failed: 0, limited: 1 });
    expect(existsSync(join(dir, "pwned"))).toBe(false);
    await new Promise((r) => setTimeout(r, 100)); // the log stream's last write
    expect(readFileSync(join(dir, "events.ndjson"), "utf8").trim().split("\n")).toHaveLength(4);
    expect(logs).toEqual([]);
  }, 30_000);

  it("kills a program at its timeout and runs at most `concurrency` at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-actions-"));
    const logs: string[] = [];
    const a = new Actions(1, undefined, (_l, _k, m) => logs.push(m), dir);
    const sleeper = [process.execPath, "-e", "setTimeout(() => {}, 60000)"];
    const t0 = Date.now();
    a.emit(ev("192.0.2.1"), sleeper, 300, 0, "192.0.2.1");
    a.emit(ev("192.0.2.2"), sleeper, 300, 0, "192.0.2.2");
    await a.idle(20_000);
    // one at a time: the second starts when the first is killed
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(a.counts).toMatchObject({ started: 2, ok: 0, failed: 2 });
    expect(logs.join("\n")).toMatch(/killed after 0\.3 s/);
    a.close();
  }, 30_000);
});
