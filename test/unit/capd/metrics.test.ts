// SPDX-License-Identifier: BSD-3-Clause
// The metrics endpoint: serves the registry, and bounds what idle, slow and numerous clients can hold.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Server } from "node:http";
import { createMetricsRegistry, startMetricsServer } from "../../../src/capd/metrics.js";
import { parseCollectorOptions, buildProgram } from "../../../src/capd/options.js";

const registry = createMetricsRegistry(() => ({
  datagrams: 7,
  notAllowed: 0,
  flowsStored: 3,
  filesWritten: 1,
  exporters: [],
}));

let server: Server | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server) await new Promise((r) => server!.close(r));
  server = null;
});

async function start(limits: Parameters<typeof startMetricsServer>[2]): Promise<number> {
  server = await startMetricsServer(
    "127.0.0.1:0".replace(":0", `:${20000 + Math.floor(Math.random() * 30000)}`),
    registry,
    limits,
  );
  const a = server.address();
  return typeof a === "object" && a !== null ? a.port : 0;
}

/** Opens a TCP connection; resolves with it and a promise of the time (ms after opening) the server closed it. */
async function open(port: number): Promise<{ sock: Socket; closed: Promise<number> }> {
  const sock = connect(port, "127.0.0.1");
  sockets.push(sock);
  await new Promise<void>((ok, fail) => sock.once("connect", ok).once("error", fail));
  const t0 = performance.now();
  const closed = new Promise<number>((ok) => {
    sock.on("error", () => undefined);
    sock.once("close", () => {
      ok(performance.now() - t0);
    });
  });
  return { sock, closed };
}

const never = (ms: number): Promise<number> =>
  new Promise((r) =>
    setTimeout(() => {
      r(Infinity);
    }, ms),
  );

describe("metrics server", () => {
  it("serves the counters", async () => {
    const port = await start({});
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^tscapd_datagrams_received_total 7$/m);
  });

  it("closes a connection that sends nothing, and one that sends its headers too slowly", async () => {
    const port = await start({ idleMs: 300, requestMs: 600 });
    const idle = await open(port);
    expect(await Promise.race([idle.closed, never(3000)])).toBeLessThan(3000);
    const slow = await open(port);
    const drip = setInterval(() => slow.sock.write("X"), 100);
    slow.sock.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const t = await Promise.race([slow.closed, never(4000)]);
    clearInterval(drip);
    expect(t).toBeLessThan(4000);
  });

  it("caps the connections held at once", async () => {
    const port = await start({ maxConnections: 2 });
    await open(port);
    await open(port);
    const third = await open(port);
    expect(await Promise.race([third.closed, never(2000)])).toBeLessThan(2000);
  });
});

describe("--metrics", () => {
  it("is checked with the other options, before anything is bound", () => {
    const parse = (v: string): unknown =>
      parseCollectorOptions(buildProgram().exitOverride(), ["-l", "/tmp/x", "--metrics", v]);
    expect(() => parse("nope")).toThrow(/--metrics: want host:port, got nope/);
    expect(() => parse("127.0.0.1:70000")).toThrow(/--metrics: bad port/);
    expect(parse("127.0.0.1:9100")).toMatchObject({ metrics: "127.0.0.1:9100" });
  });
});
