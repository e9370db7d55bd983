// SPDX-License-Identifier: BSD-3-Clause
// Where tsreplay's datagrams go, and when.
//
// Sinks take a run of queued datagrams and say how many they took: the native sendmmsg sender (native/send.c),
// node:dgram when the addon is not built (or TSFLOW_SEND=dgram), or a pcap file. The Pacer queues what the
// encoder emits and hands it to the sink on a schedule: datagram i is due at t0 + i * interval, t0 being the
// first datagram's send, so the long-run rate is exact whatever the timers' lateness; whatever is due goes out
// in one call (at --pps 150000 about 150 datagrams per millisecond tick). Between ticks the process sleeps
// on a timer rather than spinning, leaving the CPU to the collector when both run on one machine.

import { createSocket, type Socket } from "node:dgram";
import { loadNativeAddon } from "../util/native-addon.js";

/** native/send.c */
interface SendAddon {
  open(address: string, port: number, sendBufferBytes: number): number;
  send(fd: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, first: number, count: number): number;
  close(fd: number): void;
}

/** Datagrams per native send() call (the addon's bound is 4096). */
const NATIVE_RUN = 1024;
/** Datagrams node:dgram may hold in its queue before the sink stops taking more. */
const DGRAM_IN_FLIGHT = 256;
const SEND_BUFFER = 4 << 20;

export interface Sink {
  /** Takes datagrams list[from], list[from + 1], … (at most n): returns how many it took (fewer: try later). */
  send(list: readonly Uint8Array[], from: number, n: number): number;
  /** Resolves when the sink may take more after it took fewer than offered. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /** "sendmmsg", "node:dgram" or "pcap" */
  readonly kind: string;
}

/** A send failure: the message names the destination and the system's error. */
export class SendError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A UDP sink connected to `address` (numeric) and `port`: the native sender when it is built and not disabled
 * by TSFLOW_SEND=dgram, else node:dgram. Throws SendError when the socket cannot be connected.
 */
export async function udpSink(address: string, family: 4 | 6, port: number): Promise<Sink> {
  const addon = process.env["TSFLOW_SEND"] === "dgram" ? "" : loadNativeAddon("tsflow_send.node");
  if (typeof addon === "object") return nativeSink(addon as SendAddon, address, port);
  return dgramSink(address, family, port);
}

function nativeSink(addon: SendAddon, address: string, port: number): Sink {
  let fd: number;
  try {
    fd = addon.open(address, port, SEND_BUFFER);
  } catch (err) {
    throw new SendError(
      `cannot send to ${address} port ${port}: ${(err as Error).message.replace(/^tsflow_send: /, "")}`,
    );
  }
  let data = new Uint8Array(1 << 20);
  const offsets = new Uint32Array(NATIVE_RUN);
  const lengths = new Uint32Array(NATIVE_RUN);
  return {
    kind: "sendmmsg",
    send(list, from, n) {
      if (n > NATIVE_RUN) n = NATIVE_RUN;
      let bytes = 0;
      for (let i = 0; i < n; i++) bytes += list[from + i]!.length;
      if (bytes > data.length) data = new Uint8Array(Math.max(bytes, data.length * 2));
      let o = 0;
      for (let i = 0; i < n; i++) {
        const d = list[from + i]!;
        data.set(d, o);
        offsets[i] = o;
        lengths[i] = d.length;
        o += d.length;
      }
      try {
        return addon.send(fd, data, offsets, lengths, 0, n);
      } catch (err) {
        throw new SendError(
          `sending to ${address} port ${port}: ${(err as Error).message.replace(/^tsflow_send: /, "")}`,
        );
      }
    },
    ready: () => sleep(1),
    close() {
      addon.close(fd);
      return Promise.resolve();
    },
  };
}

async function dgramSink(address: string, family: 4 | 6, port: number): Promise<Sink> {
  const sock: Socket = createSocket({ type: family === 6 ? "udp6" : "udp4", sendBufferSize: SEND_BUFFER });
  let failure: Error | null = null;
  sock.on("error", (e) => (failure ??= e));
  await new Promise<void>((ok, fail) => {
    sock.once("error", fail);
    // a connect error (e.g. EACCES for a broadcast address) comes as the callback's argument
    sock.connect(port, address, (err?: Error) => {
      sock.off("error", fail);
      if (err) fail(err);
      else ok();
    });
  }).catch((err: unknown) => {
    sock.close();
    throw new SendError(`cannot send to ${address} port ${port}: ${(err as Error).message}`);
  });
  let inFlight = 0;
  let waiter: (() => void) | null = null;
  const done = (err: Error | null): void => {
    inFlight--;
    // ICMP port unreachable on a connected socket: nothing listens yet; the datagram is lost as it would be
    if (err && (err as NodeJS.ErrnoException).code !== "ECONNREFUSED") failure ??= err;
    const w = waiter;
    waiter = null;
    w?.();
  };
  return {
    kind: "node:dgram",
    send(list, from, n) {
      if (failure) throw new SendError(`sending to ${address} port ${port}: ${failure.message}`);
      let k = 0;
      // the encoder's datagrams are not reused, so node:dgram may hold them until written
      for (; k < n && inFlight < DGRAM_IN_FLIGHT; k++) {
        inFlight++;
        sock.send(list[from + k]!, done);
      }
      return k;
    },
    ready: () => new Promise<void>((r) => (waiter = r)),
    async close() {
      while (inFlight > 0) await new Promise<void>((r) => (waiter = r));
      await new Promise<void>((r) => sock.close(r));
      if (failure) throw new SendError(`sending to ${address} port ${port}: ${failure.message}`);
    },
  };
}

/**
 * Queues the encoder's datagrams and releases them to the sink: on a schedule (`intervalMs` between datagrams,
 * from --pps or -d), or unpaced in runs of 64 and more. `push` sends what is due at once (the encoder's own
 * time between datagrams counts towards the schedule); `drain(keep)` waits until at most `keep` are queued.
 */
export class Pacer {
  private queue: Uint8Array[] = [];
  private head = 0;
  private t0 = -1;
  /** Datagrams the sink took. */
  sent = 0;
  private readonly sink: Sink;
  private readonly intervalMs: number | undefined;

  constructor(sink: Sink, intervalMs: number | undefined) {
    this.sink = sink;
    this.intervalMs = intervalMs !== undefined && intervalMs > 0 ? intervalMs : undefined;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  push(d: Uint8Array): void {
    this.queue.push(d);
    this.release();
  }

  /** Hands the sink what is due; returns how many are due but not taken (the sink is busy). */
  private release(): number {
    const queued = this.queue.length - this.head;
    if (queued === 0) return 0;
    let n = queued;
    const interval = this.intervalMs;
    if (interval !== undefined) {
      const now = performance.now();
      if (this.t0 < 0) this.t0 = now;
      n = Math.min(n, Math.floor((now - this.t0) / interval) + 1 - this.sent);
      if (n <= 0) return 0;
    } else if (queued < 64) return 0;
    let left = n;
    while (left > 0) {
      const k = this.sink.send(this.queue, this.head, left);
      this.head += k;
      this.sent += k;
      left -= k;
      if (k === 0) break;
    }
    if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return left;
  }

  /** Sends until at most `keep` datagrams are queued, sleeping until they are due. */
  async drain(keep: number): Promise<void> {
    for (;;) {
      const busy = this.release() > 0;
      if (this.queued <= keep) return;
      const interval = this.intervalMs;
      if (busy) await this.sink.ready();
      else if (interval !== undefined) {
        const wait = this.t0 + this.sent * interval - performance.now();
        // a timer fires a millisecond or more late: the schedule makes up for it on the next release
        await sleep(Math.max(1, Math.floor(wait)));
      } else if (this.queued > 0) {
        // unpaced: the last fewer than 64
        const k = this.sink.send(this.queue, this.head, this.queued);
        this.head += k;
        this.sent += k;
        if (k === 0) await this.sink.ready();
      }
    }
  }
}
