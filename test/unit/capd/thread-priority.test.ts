// The decode and writer threads lower their own priority only: the receiving (main) thread keeps the process's.
// (Runs the built module in a worker: dist/ is built by the global setup.)
import { getPriority } from "node:os";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";

const code = `
const { parentPort } = require("node:worker_threads");
const { readlinkSync } = require("node:fs");
const { getPriority } = require("node:os");
import(${JSON.stringify(new URL("../../../dist/capd/thread-priority.js", import.meta.url).href)}).then((m) => {
  const ok = m.lowerThreadPriority(3);
  const tid = Number(readlinkSync("/proc/thread-self").split("/")[2]);
  parentPort.postMessage({ ok, tid, nice: getPriority(tid) });
});
`;

describe.skipIf(process.platform !== "linux")("thread priority", () => {
  it("lowers the calling worker thread by the given nice steps and leaves the main thread alone", async () => {
    const before = getPriority(process.pid);
    const w = new Worker(code, { eval: true });
    const got = await new Promise<{ ok: boolean; tid: number; nice: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    expect(got.ok).toBe(true);
    expect(got.tid).not.toBe(process.pid);
    expect(got.nice).toBe(Math.min(19, before + 3));
    expect(getPriority(process.pid)).toBe(before);
  });
});
