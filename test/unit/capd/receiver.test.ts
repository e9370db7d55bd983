// The receive path (src/capd/receiver.ts node:dgram, src/capd/native-receiver.ts recvmmsg thread): real UDP on
// loopback into a real receive ring, read back with the decode thread's RingConsumer. Both receivers must hand
// over the same datagrams, in order, with the same exporter address and port; count what a full ring refuses;
// keep senders outside the allow-list out of the ring; and the native thread must stop at close().
import { createSocket, type Socket } from "node:dgram";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Logger } from "../../../src/util/log.js";
import { ExporterFilter } from "../../../src/capd/allow.js";
import { loadRecvAddon } from "../../../src/capd/native.js";
import { NativeReceiver } from "../../../src/capd/native-receiver.js";
import { buildProgram, parseCollectorOptions, type CollectorOptions } from "../../../src/capd/options.js";
import { JsReceiver, type PacketReceiver } from "../../../src/capd/receiver.js";
import { createRing, MAX_EXPORTER_IDS, RingConsumer, type RingBuffers } from "../../../src/capd/ring.js";

const addon = loadRecvAddon();
const kinds = ["js", "native"] as const;
type Kind = (typeof kinds)[number];

interface Got {
  bytes: number[];
  address: string;
  port: number;
  time: number;
}

const open: (PacketReceiver | Socket)[] = [];
afterEach(() => {
  for (const x of open.splice(0)) x.close();
});

function options(args: string[]): CollectorOptions {
  return parseCollectorOptions(buildProgram().exitOverride(), ["-l", "/nonexistent", "-p", "0", ...args]);
}

function receiver(kind: Kind, o: CollectorOptions, ring: RingBuffers, lines: string[] = []): PacketReceiver {
  const log = new Logger({ sink: { write: (l) => lines.push(l) } });
  const filter = ExporterFilter.forOptions(o);
  if (kind === "js") return new JsReceiver(o, log, ring, filter);
  if (typeof addon === "string") throw new Error(`the native receiver is not built: ${addon}`);
  return new NativeReceiver(o, log, ring, filter, addon);
}

async function sender(address: string): Promise<Socket> {
  const s = createSocket(address.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((ok) => s.bind(0, address, ok));
  open.push(s);
  return s;
}

/** Sends one datagram and waits until the kernel took it (loopback: it is in the receiver's socket then). */
function send(s: Socket, d: Uint8Array, port: number, to = "127.0.0.1"): Promise<void> {
  return new Promise((ok, fail) => {
    s.send(d, port, to, (e) => {
      if (e) fail(e);
      else ok();
    });
  });
}

function datagram(seq: number, len: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (seq * 31 + i) & 0xff;
  new DataView(d.buffer).setUint32(0, seq);
  return d;
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function drainAll(ring: RingBuffers): Got[] {
  const out: Got[] = [];
  new RingConsumer(ring).drain((d, address, port, time) => {
    out.push({ bytes: [...d], address, port, time });
  }, Number.MAX_SAFE_INTEGER);
  return out;
}

/** The exporter addresses defined in the ring (its ADDRESS records) up to offset w, in order, with their ids. */
function addressRecords(ring: RingBuffers, w: number, ids: number[] = []): string[] {
  const words = new Int32Array(ring.data);
  const out: string[] = [];
  for (let at = 0; at < w;) {
    const len = words[at >> 2]!;
    const meta = words[(at >> 2) + 1]!;
    if (meta >>> 24 === 1) {
      out.push(Buffer.from(ring.data, at + 20, len).toString());
      ids.push(meta & 0xffffff);
    }
    at += 20 + ((len + 3) & ~3);
  }
  return out;
}

describe("receivers", () => {
  it("the native receiver is built on this platform", () => {
    expect(addon).not.toBeTypeOf("string");
  });

  it.each(kinds)("%s: every datagram reaches the ring in order with its exporter, port and time", async (kind) => {
    const ring = createRing(1 << 20);
    const r = receiver(kind, options(["-b", "127.0.0.1"]), ring);
    open.push(r);
    await r.bind();
    const senders = [await sender("127.0.0.2"), await sender("127.0.0.3"), await sender("127.0.0.1")];
    const sent: Omit<Got, "time">[] = [];
    const t0 = Date.now();
    for (let seq = 0; seq < 300; seq++) {
      const s = senders[(seq * 7) % 3]!;
      const d = datagram(seq, 4 + ((seq * 977) % 1500));
      await send(s, d, r.port);
      sent.push({ bytes: [...d], address: s.address().address, port: s.address().port });
    }
    await until(() => r.datagrams === 300);
    const got = drainAll(ring);
    const t1 = Date.now();
    expect(got.map((g) => ({ bytes: g.bytes, address: g.address, port: g.port }))).toEqual(sent);
    expect(got.every((g) => g.time >= t0 - 1 && g.time <= t1)).toBe(true);
    expect(r.queueDropped).toBe(0);
    expect(r.notAllowed).toBe(0);
  });

  it.each(kinds)(
    "%s: dual stack — IPv6 and IPv4 senders through one ring, addresses as Node reports them",
    async (kind) => {
      const probe = await sender("127.0.0.1");
      const port = probe.address().port; // a port free on IPv4; the receiver takes it on :: and 0.0.0.0
      probe.close();
      open.pop();
      const ring = createRing(1 << 20);
      const lines: string[] = [];
      const r = receiver(kind, options(["-p", String(port)]), ring, lines);
      open.push(r);
      await r.bind();
      r.announce();
      expect(lines.join("")).toBe(`info: listening on :::${port}\ninfo: listening on 0.0.0.0:${port}\n`);
      const s6 = await sender("::1");
      const s4 = await sender("127.0.0.1");
      for (let seq = 0; seq < 20; seq++) {
        if (seq % 2) await send(s4, datagram(seq, 100), port);
        else await send(s6, datagram(seq, 100), port, "::1");
      }
      await until(() => r.datagrams === 20);
      const got = drainAll(ring);
      // the two sockets are read in turn, so only the order within each family is certain
      const of = (a: string): number[] => got.filter((g) => g.address === a).map((g) => g.bytes[3]!);
      expect(of("::1")).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      expect(of("127.0.0.1")).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
      expect(got.find((g) => g.address === "::1")!.port).toBe(s6.address().port);
    },
  );

  it.each(kinds)(
    "%s: past MAX_EXPORTER_IDS senders (ids redefined in-band) each datagram keeps its own sender",
    async (kind) => {
      const ring = createRing(1 << 20);
      const r = receiver(kind, options(["-b", "127.0.0.1"]), ring);
      open.push(r);
      await r.bind();
      const consumer = new RingConsumer(ring);
      const n = MAX_EXPORTER_IDS + 300;
      const addressOf = (i: number): string => `127.1.${i >> 7}.${(i & 0x7f) + 1}`;
      let wrong = 0;
      let got = 0;
      const check = (d: Uint8Array, address: string): void => {
        got++;
        if (address !== addressOf(new DataView(d.buffer, d.byteOffset, 4).getUint32(0))) wrong++;
      };
      for (let i = 0; i < n; i++) {
        const s = createSocket("udp4");
        await new Promise<void>((ok) => s.bind(0, addressOf(i), ok));
        await send(s, datagram(i, 64), r.port);
        s.close();
        if (i % 64 === 63) {
          await until(() => r.datagrams === i + 1);
          consumer.drain(check, Number.MAX_SAFE_INTEGER);
        }
      }
      await until(() => r.datagrams === n);
      consumer.drain(check, Number.MAX_SAFE_INTEGER);
      expect(got).toBe(n);
      expect(wrong).toBe(0);
      expect(r.queueDropped).toBe(0);
      // the ring never wrapped: every definition is still there; ids start over at 0 after MAX_EXPORTER_IDS
      const ids: number[] = [];
      const defined = addressRecords(ring, Atomics.load(new Int32Array(ring.control), 0), ids);
      expect(defined).toEqual([...Array(n).keys()].map(addressOf));
      expect(ids).toEqual([...Array(n).keys()].map((i) => i % MAX_EXPORTER_IDS));
    },
  );

  it.each(kinds)("%s: a full ring refuses datagrams and counts them; it keeps what it took", async (kind) => {
    const ring = createRing(1 << 16);
    const r = receiver(kind, options(["-b", "127.0.0.1"]), ring);
    open.push(r);
    await r.bind();
    const s = await sender("127.0.0.2");
    for (let seq = 0; seq < 100; seq++) await send(s, datagram(seq, 1400), r.port);
    await until(() => r.datagrams === 100);
    // 64 KiB hold the sender's address record (32 bytes) and 46 records of 20 + 1400 bytes (ring.test.ts)
    expect(r.queueDropped).toBe(54);
    const got = drainAll(ring);
    expect(got.map((g) => g.bytes[3])).toEqual([...Array(46).keys()]);
    // drained, the ring takes datagrams again
    await send(s, datagram(100, 1400), r.port);
    await until(() => r.datagrams === 101);
    expect(drainAll(ring).map((g) => g.bytes[3])).toEqual([100]);
    expect(r.queueDropped).toBe(54);
  });

  it.each(kinds)("%s: a full ring is logged at most every 10 s", async (kind) => {
    const ring = createRing(1 << 16);
    const lines: string[] = [];
    const r = receiver(kind, options(["-b", "127.0.0.1"]), ring, lines);
    open.push(r);
    await r.bind();
    const s = await sender("127.0.0.2");
    for (let seq = 0; seq < 60; seq++) await send(s, datagram(seq, 1400), r.port);
    await until(() => r.datagrams === 60 && lines.length > 0);
    await new Promise((w) => setTimeout(w, 50));
    expect(lines).toEqual(["error: receive queue full (decoder behind): 1 datagrams dropped so far\n"]);
  });

  it.each(kinds)("%s: --allow and -n keep other senders out of the ring and count them", async (kind) => {
    for (const args of [
      ["--allow", "127.0.0.2/32", "-b", "127.0.0.1"],
      ["-b", "127.0.0.1"],
    ]) {
      const o =
        args[0] === "--allow"
          ? options(args)
          : parseCollectorOptions(buildProgram().exitOverride(), [
              ...["-p", "0", "-b", "127.0.0.1", "-n", "a,127.0.0.2;10.0.0.0/8,/nonexistent"],
            ]);
      const ring = createRing(1 << 20);
      const r = receiver(kind, o, ring);
      open.push(r);
      await r.bind();
      const ok = await sender("127.0.0.2");
      const other = await sender("127.0.0.3");
      for (let seq = 0; seq < 50; seq++) await send(seq % 3 ? other : ok, datagram(seq, 200), r.port);
      await until(() => r.datagrams === 50);
      expect(r.notAllowed).toBe(33);
      const got = drainAll(ring);
      expect(got.map((g) => g.bytes[3])).toEqual([...Array(50).keys()].filter((k) => k % 3 === 0));
      expect(new Set(got.map((g) => g.address))).toEqual(new Set(["127.0.0.2"]));
      // the refused sender is not even defined in the ring
      expect(addressRecords(ring, Atomics.load(new Int32Array(ring.control), 0))).toEqual(["127.0.0.2"]);
    }
  });

  it.each(kinds)("%s: a port in use is refused with node:dgram's message", async (kind) => {
    const busy = await sender("127.0.0.1");
    const port = busy.address().port;
    const r = receiver(kind, options(["-b", "127.0.0.1", "-p", String(port)]), createRing(1 << 16));
    open.push(r);
    await expect(r.bind()).rejects.toThrow(`cannot bind UDP 127.0.0.1:${port}: bind EADDRINUSE 127.0.0.1:${port}`);
  });

  it("native: a decode thread asleep in wait() is woken when a datagram arrives", async () => {
    const ring = createRing(1 << 20);
    const r = receiver("native", options(["-b", "127.0.0.1"]), ring);
    open.push(r);
    await r.bind();
    const s = await sender("127.0.0.2");
    const consumer = new RingConsumer(ring);
    for (let round = 0; round < 5; round++) {
      const woken = consumer.wait();
      await new Promise((w) => setTimeout(w, 20)); // asleep for a while first
      await send(s, datagram(round, 64), r.port);
      await Promise.race([
        woken,
        new Promise((_ok, fail) => {
          setTimeout(() => {
            fail(new Error("the consumer was not woken"));
          }, 2000);
        }),
      ]);
      expect(consumer.drain(() => undefined, 10)).toBe(1);
    }
  });

  it("native: close() stops the receiving thread at once and frees the port", async () => {
    const threads = (): string[] =>
      readdirSync("/proc/self/task").map((t) => {
        try {
          return readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim();
        } catch {
          return "";
        }
      });
    const ring = createRing(1 << 20);
    const r = receiver("native", options(["-b", "127.0.0.1"]), ring);
    await r.bind();
    const port = r.port;
    expect(threads()).toContain("tscapd-recv");
    const s = await sender("127.0.0.2");
    await send(s, datagram(0, 64), port);
    await until(() => r.datagrams === 1);
    const t0 = performance.now();
    r.close();
    expect(performance.now() - t0).toBeLessThan(100);
    expect(threads()).not.toContain("tscapd-recv");
    // the port is free again, and nothing more is received
    const rebound = createSocket("udp4");
    await new Promise<void>((ok) => rebound.bind(port, "127.0.0.1", ok));
    rebound.close();
    expect(r.datagrams).toBe(1);
    r.close(); // twice is harmless
  });
});
