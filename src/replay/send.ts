// SPDX-License-Identifier: BSD-3-Clause
// Where tsreplay's datagrams go, and when.
//
// The encoder builds each datagram in place in the Pacer's slabs (the Pacer is its DatagramOutput) and the Pacer
// keeps a ring of (slab, offset, length) entries: nothing is copied or allocated per datagram between the encoder
// and the socket. Sinks take a run of queued entries and say how many they took: the native sendmmsg sender
// (native/send.c) straight from the slab, node:dgram when the addon is not built (or TSFLOW_SEND=dgram), or a pcap
// file. The Pacer hands them over on a schedule: datagram i is due at t0 + i * interval, t0 being the first
// datagram's send, so the long-run rate is exact whatever the timers' lateness; what is due goes out in runs (at
// --pps 150000 about 150 datagrams per millisecond tick). Between ticks the process sleeps on a timer rather
// than spinning, leaving the CPU to the collector when both run on one machine.

import { createSocket, type Socket } from "node:dgram";
import { loadNativeAddon } from "../util/native-addon.js";
import { SlabDatagrams, type DatagramOutput } from "./encode.js";

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
/** Unpaced (and paced, while encoding), datagrams go out in runs of at least this many. */
const RUN = 64;

/** Queued datagrams as the sinks and the Pacer see them: entries head, head + 1, … at ring index i & mask. */
export interface SinkQueue {
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly mask: number;
  readonly head: number;
  /** entries queued */
  readonly size: number;
  /** the bytes entry at ring index `index` lies in */
  slabAt(index: number): Uint8Array;
  /** how many entries from ring index `index` (at most `most`, not past the ring's end) lie in one slab */
  runAt(index: number, most: number): number;
  /** the bytes of entry i (a view: allocates; for the slow sinks) */
  entry(i: number): Uint8Array;
  /** drops the n entries at the head (the sink took them) */
  shift(n: number): void;
}

/**
 * Queued datagrams: entry i (head <= i < tail) is bytes [offsets[i & mask], + lengths[i & mask]) of slabs[i & mask].
 * Slabs are never written again once full, so a sink may hold on to an entry's bytes (node:dgram does).
 */
export class DatagramQueue extends SlabDatagrams implements SinkQueue {
  slabs: Uint8Array[] = new Array<Uint8Array>(1024);
  offsets = new Uint32Array(1024);
  lengths = new Uint32Array(1024);
  mask = 1023;
  head = 0;
  tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  commit(offset: number, length: number): void {
    if (this.tail - this.head > this.mask) this.grow();
    const i = this.tail & this.mask;
    this.slabs[i] = this.buffer;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.tail++;
  }

  /** Queues a copy of `d` (tests, and callers that hold datagrams of their own). */
  push(d: Uint8Array): void {
    const at = this.reserve(d.length);
    this.buffer.set(d, at);
    this.commit(at, d.length);
  }

  slabAt(index: number): Uint8Array {
    return this.slabs[index]!;
  }

  runAt(index: number, most: number): number {
    const slab = this.slabs[index];
    let k = 1;
    while (k < most && this.slabs[index + k] === slab) k++;
    return k;
  }

  entry(i: number): Uint8Array {
    const k = i & this.mask;
    return this.slabs[k]!.subarray(this.offsets[k], this.offsets[k]! + this.lengths[k]!);
  }

  shift(n: number): void {
    for (let i = 0; i < n; i++) this.slabs[(this.head + i) & this.mask] = EMPTY;
    this.head += n;
  }

  private grow(): void {
    const n = this.mask + 1;
    const slabs = new Array<Uint8Array>(2 * n);
    const offsets = new Uint32Array(2 * n);
    const lengths = new Uint32Array(2 * n);
    for (let i = this.head; i < this.tail; i++) {
      const from = i & this.mask;
      const to = i & (2 * n - 1);
      slabs[to] = this.slabs[from]!;
      offsets[to] = this.offsets[from]!;
      lengths[to] = this.lengths[from]!;
    }
    this.slabs = slabs;
    this.offsets = offsets;
    this.lengths = lengths;
    this.mask = 2 * n - 1;
  }
}

const EMPTY = new Uint8Array(0);

export interface Sink {
  /** Takes queued entries q.head, q.head + 1, … (at most n): returns how many it took (fewer: try later). */
  send(q: SinkQueue, n: number): number;
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
  return {
    kind: "sendmmsg",
    send(q, n) {
      let taken = 0;
      try {
        while (taken < n) {
          // a run: entries of one slab, not past the end of the ring, at most NATIVE_RUN
          const first = (q.head + taken) & q.mask;
          const k = q.runAt(first, Math.min(n - taken, q.mask + 1 - first, NATIVE_RUN));
          const sent = addon.send(fd, q.slabAt(first), q.offsets, q.lengths, first, k);
          taken += sent;
          if (sent < k) break;
        }
      } catch (err) {
        if (taken > 0) return taken; // the next call meets the error again
        throw new SendError(
          `sending to ${address} port ${port}: ${(err as Error).message.replace(/^tsflow_send: /, "")}`,
        );
      }
      return taken;
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
    send(q, n) {
      if (failure) throw new SendError(`sending to ${address} port ${port}: ${failure.message}`);
      let k = 0;
      // slabs are not written again, so node:dgram may hold the bytes until written
      for (; k < n && inFlight < DGRAM_IN_FLIGHT; k++) {
        inFlight++;
        sock.send(q.entry(q.head + k), done);
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
 * The encoder's output: queues its datagrams and releases them to the sink on a schedule (`intervalMs` between
 * datagrams, from --pps or -d), or unpaced in runs of 64 and more. While the encoder commits, what is due goes out
 * in runs of RUN (the clock is read every 32 datagrams); `drain(keep)` sends what is due and waits until at most
 * `keep` are queued.
 */
export class Pacer implements DatagramOutput {
  /** the local queue (the encoder on this thread writes into it) */
  private readonly local = new DatagramQueue();
  /** the queue the sink is fed from: the local one, or the replay worker's ring */
  private readonly queue: SinkQueue;
  private t0 = -1;
  /** Datagrams the sink took. */
  sent = 0;
  private readonly sink: Sink;
  private readonly intervalMs: number | undefined;

  constructor(sink: Sink, intervalMs: number | undefined, queue?: SinkQueue) {
    this.sink = sink;
    this.intervalMs = intervalMs !== undefined && intervalMs > 0 ? intervalMs : undefined;
    this.queue = queue ?? this.local;
  }

  get buffer(): Uint8Array {
    return this.local.buffer;
  }

  get view(): DataView {
    return this.local.view;
  }

  get queued(): number {
    return this.queue.size;
  }

  reserve(length: number): number {
    return this.local.reserve(length);
  }

  commit(offset: number, length: number): void {
    this.local.commit(offset, length);
    if ((this.local.tail & 31) === 0) this.release(RUN);
  }

  /** Queues a copy of `d`. */
  push(d: Uint8Array): void {
    const at = this.local.reserve(d.length);
    this.local.buffer.set(d, at);
    this.commit(at, d.length);
  }

  /** Hands the sink what is due when that is at least `min`; returns how many are due but not taken. */
  private release(min: number): number {
    const q = this.queue;
    const queued = q.size;
    if (queued === 0) return 0;
    let n = queued;
    const interval = this.intervalMs;
    if (interval !== undefined) {
      const now = performance.now();
      // the schedule starts at the first datagram's send
      const t0 = this.t0 < 0 ? now : this.t0;
      n = Math.min(n, Math.floor((now - t0) / interval) + 1 - this.sent);
      if (n < min || n <= 0) return 0;
      this.t0 = t0;
    } else if (n < min) return 0;
    let left = n;
    while (left > 0) {
      const k = this.sink.send(q, left);
      q.shift(k);
      this.sent += k;
      left -= k;
      if (k === 0) break;
    }
    return left;
  }

  /**
   * Sends what another thread queues (the replay worker's ring) until `finished()` says nothing more will come
   * and the queue is empty; starts when `prefill` are queued.
   */
  async pump(finished: () => boolean, prefill = 0): Promise<void> {
    // the schedule starts once `prefill` datagrams are queued (or all are): the producer's warm-up is not paced
    while (this.queued < prefill && !finished()) await sleep(1);
    for (;;) {
      const busy = this.release(1) > 0;
      if (this.queued === 0) {
        if (finished() && this.queued === 0) return;
        await sleep(1); // the producer is behind
      } else if (busy) await this.sink.ready();
      else if (this.intervalMs !== undefined) {
        const wait = this.t0 + this.sent * this.intervalMs - performance.now();
        await sleep(Math.max(1, Math.floor(wait)));
      }
    }
  }

  /** Sends until at most `keep` datagrams are queued, sleeping until they are due. */
  async drain(keep: number): Promise<void> {
    for (;;) {
      const interval = this.intervalMs;
      const busy = this.release(1) > 0;
      if (this.queued <= keep) return;
      if (busy) await this.sink.ready();
      else if (interval !== undefined) {
        const wait = this.t0 + this.sent * interval - performance.now();
        // a timer fires a millisecond or more late: the schedule makes up for it on the next release
        await sleep(Math.max(1, Math.floor(wait)));
      }
    }
  }
}
