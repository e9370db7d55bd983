// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's sendmmsg sender (native/send.c, also used by bench/replay.mjs): the datagrams it is given arrive
// whole and in order on a loopback socket; it takes numeric addresses only, refuses out-of-range datagrams and
// oversized calls, and reports the kernel's errors by name.

import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { loadNativeAddon } from "../../../src/util/native-addon.js";

interface Sender {
  open(address: string, port: number, sendBufferBytes: number): number;
  send(fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, first: number, count: number): number;
  close(fd: number): void;
  bindCounter(address: string, port: number, receiveBufferBytes: number): number;
  boundPort(fd: number): number;
  count(fd: number, stats: Float64Array, waitMs: number): number;
}

const addon = loadNativeAddon("tsflow_send.node");

describe("native sender (tsreplay, bench/replay.mjs)", () => {
  it("is built", () => {
    expect(typeof addon).toBe("object");
  });

  it("sends a range of datagrams, in order and whole, in batches of up to 64", async () => {
    const s = addon as Sender;
    const rx = createSocket("udp4");
    await new Promise<void>((ok) => rx.bind(0, "127.0.0.1", ok));
    const got: Buffer[] = [];
    const all = new Promise<void>((ok) =>
      rx.on("message", (m) => {
        got.push(m);
        if (got.length === 150) ok();
      }),
    );
    // 200 datagrams of 1..200 bytes, each filled with its index; send 150 of them from #20
    const lengths = Uint32Array.from({ length: 200 }, (_, i) => i + 1);
    const offsets = new Uint32Array(200);
    for (let i = 1; i < 200; i++) offsets[i] = offsets[i - 1]! + lengths[i - 1]!;
    const data = new Uint8Array(offsets[199]! + lengths[199]!);
    for (let i = 0; i < 200; i++) data.fill(i, offsets[i], offsets[i]! + lengths[i]!);
    const fd = s.open("127.0.0.1", rx.address().port, 1 << 20);
    try {
      expect(s.send(fd, data, offsets, lengths, 20, 150)).toBe(150);
      await all;
    } finally {
      s.close(fd);
      rx.close();
    }
    expect(got.map((m) => m.length)).toEqual(Array.from({ length: 150 }, (_, i) => i + 21));
    got.forEach((m, i) => {
      expect(m.every((b) => b === i + 20)).toBe(true);
    });
  });

  it("takes numeric addresses only, and only datagrams inside the data, at most 4096 per call", () => {
    const s = addon as Sender;
    expect(() => s.open("localhost", 9995, 0)).toThrow(/numeric IPv4 or IPv6/);
    expect(() => s.open("192.0.2.300", 9995, 0)).toThrow(/numeric IPv4 or IPv6/);
    const fd = s.open("::1", 9, 0);
    try {
      const data = new Uint8Array(100);
      expect(() => s.send(fd, data, Uint32Array.of(90), Uint32Array.of(11), 0, 1)).toThrow(/outside/);
      expect(() => s.send(fd, data, Uint32Array.of(0), Uint32Array.of(10), 0, 2)).toThrow(TypeError);
      expect(() => s.send(fd, data, Uint32Array.of(0), Uint32Array.of(10, 20), 0, 1)).toThrow(TypeError);
      const many = new Uint32Array(4097);
      expect(() => s.send(fd, data, many, many, 0, 4097)).toThrow(TypeError);
    } finally {
      s.close(fd);
    }
  });

  it("reports a send error by name (a datagram larger than UDP allows)", async () => {
    const s = addon as Sender;
    const rx = createSocket("udp4");
    await new Promise<void>((ok) => rx.bind(0, "127.0.0.1", ok));
    const fd = s.open("127.0.0.1", rx.address().port, 0);
    try {
      const data = new Uint8Array(70_000);
      let err: (Error & { code?: string }) | undefined;
      try {
        s.send(fd, data, Uint32Array.of(0), Uint32Array.of(70_000), 0, 1);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.message).toMatch(/sendmmsg: Message too long/);
      expect(err?.code).toBe("EMSGSIZE");
    } finally {
      s.close(fd);
      rx.close();
    }
  });

  it("counts datagrams with the kernel's arrival times (the rate benchmark's sink)", () => {
    const s = addon as Sender;
    const rx = s.bindCounter("127.0.0.1", 0, 4 << 20);
    const port = s.boundPort(rx);
    expect(port).toBeGreaterThan(0);
    const lengths = Uint32Array.from({ length: 300 }, (_, i) => 1 + i * 4);
    const offsets = new Uint32Array(300);
    for (let i = 1; i < 300; i++) offsets[i] = offsets[i - 1]! + lengths[i - 1]!;
    const data = new Uint8Array(offsets[299]! + lengths[299]!);
    const tx = s.open("127.0.0.1", port, 1 << 20);
    const stats = new Float64Array(3);
    try {
      const before = Date.now() * 1e6;
      expect(s.send(tx, data, offsets, lengths, 0, 200)).toBe(200);
      expect(s.count(rx, stats, 100)).toBe(200);
      const first = stats[1]!;
      expect(stats[0]).toBe(200);
      expect(first).toBeGreaterThanOrEqual(before - 1e6);
      // CLOCK_REALTIME, stamped by the kernel: a clock step of the VM can put the last one a little before the
      // first (seen: 0.14 ms), as the 1 ms allowance on `first` above allows for
      expect(stats[2]).toBeGreaterThanOrEqual(first - 1e6);
      // counting goes on from the stats given: the first arrival stays
      expect(s.send(tx, data, offsets, lengths, 200, 100)).toBe(100);
      expect(s.count(rx, stats, 100)).toBe(100);
      expect(stats[0]).toBe(300);
      expect(stats[1]).toBe(first);
      expect(stats[2]).toBeLessThanOrEqual(Date.now() * 1e6 + 1e6);
      // nothing more: returns after the wait with 0
      expect(s.count(rx, stats, 20)).toBe(0);
    } finally {
      s.close(tx);
      s.close(rx);
    }
    expect(() => s.count(rx, new Float64Array(2), 0)).toThrow(TypeError);
  });
});
