// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's sending (src/replay/send.ts): the pacer never sends a datagram before its time on the schedule,
// keeps order when the sink is busy, and both UDP sinks (sendmmsg and the node:dgram fallback) deliver every
// datagram whole and in order on loopback.

import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { Pacer, udpSink, type DatagramQueue, type Sink } from "../../../src/replay/send.js";

/** A sink that notes each datagram's first byte and time, and takes at most `take` per call (0: busy once). */
function recordingSink(take: number): Sink & { got: number[]; at: number[]; busy: number } {
  let busyOnce = take === 0;
  const s = {
    kind: "test",
    got: [] as number[],
    at: [] as number[],
    busy: 0,
    send(q: DatagramQueue, n: number): number {
      if (busyOnce) {
        busyOnce = false;
        s.busy++;
        return 0;
      }
      const k = take === 0 ? n : Math.min(n, take);
      for (let i = 0; i < k; i++) {
        s.got.push(q.entry(q.head + i)[0]!);
        s.at.push(performance.now());
      }
      return k;
    },
    ready: () => new Promise<void>((r) => setTimeout(r, 1)),
    close: () => Promise.resolve(),
  };
  return s;
}

const datagram = (i: number): Uint8Array => Uint8Array.of(i & 0xff, 1, 2, 3);

describe("Pacer", () => {
  it("sends datagram i no earlier than i intervals after the schedule starts, all of them, in order", async () => {
    const sink = recordingSink(7);
    const pacer = new Pacer(sink, 2);
    // the schedule starts at the first send, which is after this; measured from the sink's note of datagram 0
    // instead, a slow first call into the sink made later datagrams look early
    const start = performance.now();
    for (let i = 0; i < 60; i++) pacer.push(datagram(i));
    await pacer.drain(0);
    expect(sink.got).toEqual(Array.from({ length: 60 }, (_, i) => i));
    sink.at.forEach((t, i) => {
      expect(t - start).toBeGreaterThanOrEqual(i * 2);
    });
    expect(sink.at[59]! - start).toBeGreaterThanOrEqual(118);
  });

  it("unpaced: runs of 64 and more go out as they are pushed, the rest on drain; a busy sink is waited for", async () => {
    const sink = recordingSink(0);
    const pacer = new Pacer(sink, undefined);
    for (let i = 0; i < 63; i++) pacer.push(datagram(i));
    expect(sink.got.length).toBe(0);
    pacer.push(datagram(63)); // busy once: nothing taken
    for (let i = 64; i < 95; i++) pacer.push(datagram(i));
    expect(sink.got.length).toBe(0);
    pacer.push(datagram(95));
    expect(sink.got.length).toBe(96);
    for (let i = 96; i < 100; i++) pacer.push(datagram(i));
    await pacer.drain(0);
    expect(sink.got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(sink.busy).toBe(1);
  });
});

describe("udpSink", () => {
  const saved = process.env["TSFLOW_SEND"];
  afterEach(() => {
    if (saved === undefined) delete process.env["TSFLOW_SEND"];
    else process.env["TSFLOW_SEND"] = saved;
  });

  it.each([
    ["sendmmsg", undefined],
    ["node:dgram", "dgram"],
  ])("%s delivers every datagram whole and in order (loopback)", async (kind, env) => {
    if (env === undefined) delete process.env["TSFLOW_SEND"];
    else process.env["TSFLOW_SEND"] = env;
    const rx = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
    await new Promise<void>((ok) => rx.bind(0, "127.0.0.1", ok));
    const got: Buffer[] = [];
    const all = new Promise<void>((ok) =>
      rx.on("message", (m) => {
        got.push(m);
        if (got.length === 3000) ok();
      }),
    );
    const sink = await udpSink("127.0.0.1", 4, rx.address().port);
    expect(sink.kind).toBe(kind);
    const pacer = new Pacer(sink, undefined);
    for (let i = 0; i < 3000; i++) {
      const d = new Uint8Array(100 + (i % 1000));
      new DataView(d.buffer).setUint32(0, i);
      pacer.push(d);
      if (i % 500 === 499) await pacer.drain(0); // the receiver keeps up
    }
    await pacer.drain(0);
    await sink.close();
    await all;
    rx.close();
    expect(got.map((m) => m.readUInt32BE(0))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(got.map((m) => m.length)).toEqual(Array.from({ length: 3000 }, (_, i) => 100 + (i % 1000)));
  });

  it.each([
    ["sendmmsg", undefined],
    ["node:dgram", "dgram"],
  ])(
    "%s: a destination the system refuses is a clear error, at connect or at the first send (broadcast)",
    async (_kind, env) => {
      if (env === undefined) delete process.env["TSFLOW_SEND"];
      else process.env["TSFLOW_SEND"] = env;
      const attempt = async (): Promise<void> => {
        const sink = await udpSink("255.255.255.255", 4, 9);
        const pacer = new Pacer(sink, undefined);
        pacer.push(datagram(1));
        await pacer.drain(0);
        await sink.close();
      };
      await expect(attempt()).rejects.toThrow(
        /(cannot send to|sending to) 255.255.255.255 port 9: .*(Permission denied|EACCES)/,
      );
    },
  );
});
