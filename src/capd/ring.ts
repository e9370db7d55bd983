// SPDX-License-Identifier: BSD-3-Clause
// The receive → decode hand-off: a single-producer single-consumer ring of datagrams in a SharedArrayBuffer.
// The receiving thread (native/recv.c's pthread, or RingProducer below on the main thread) copies each
// datagram with its exporter (a small id, defined once per address by an in-band record), port and arrival
// time into the ring; the decode thread (ingest-worker.ts) reads them in order. No message per datagram: the producer publishes with one Atomics.store, and wakes the consumer
// (Atomics.notify) only when it has said it is going to sleep.
//
// The ring is bounded: a datagram that does not fit is not stored and `push` returns false (the caller counts
// it as dropped) — the same as a full kernel socket buffer, but with far more room.
//
// Layout: `control` (Int32Array over its own SharedArrayBuffer) holds the write offset, the read offset and the
// consumer's sleep flag; `data` holds records, each 4-byte aligned:
//
//   word 0  payload length in bytes, or WRAP (-1): the next record is at offset 0
//   word 1  kind << 24 | exporter id          (kind DATAGRAM or ADDRESS)
//   word 2  sender port                        (ADDRESS: unused)
//   word 3  arrival time, ms, low 32 bits
//   word 4  arrival time, ms, high bits
//   payload (datagram bytes; ADDRESS: the address, UTF-8)
//
// The producer always leaves room for a WRAP word at the end and never lets the write offset catch up with the
// read offset (equal offsets mean empty).

const W = 0;
const R = 1;
const SLEEP = 2;
const CONTROL_WORDS = 4;
const HEADER = 20;
const WRAP = -1;
export const RECORD_DATAGRAM = 0;
export const RECORD_ADDRESS = 1;
/** Exporter ids fit in 24 bits; the producer starts over (redefining ids in-band) long before that. */
export const MAX_EXPORTER_IDS = 4096;

export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

export function createRing(bytes: number): RingBuffers {
  const size = Math.max(1 << 16, (bytes + 3) & ~3);
  return {
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    data: new SharedArrayBuffer(size),
  };
}

const padded = (n: number): number => (n + 3) & ~3;

/** Atomics.waitAsync (V8, Node ≥ 16), not yet in the TypeScript lib this project targets. */
const atomics = Atomics as unknown as {
  waitAsync(
    a: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
};

/**
 * Wakes a consumer sleeping in `wait()`. The native receiver (native/recv.c) clears the sleep flag and asks the
 * main thread to call this: only a JS thread can end an Atomics.waitAsync.
 */
export function wakeConsumer(control: Int32Array): void {
  Atomics.notify(control, W);
}

/** The receiving side. */
export class RingProducer {
  private readonly control: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly size: number;
  private w: number;
  private readonly ids = new Map<string, number>();
  private lastAddress = "";
  private lastId = -1;
  /** datagrams that did not fit */
  dropped = 0;
  /** datagrams stored */
  pushed = 0;

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
    this.words = new Int32Array(ring.data);
    this.bytes = new Uint8Array(ring.data);
    this.size = ring.data.byteLength;
    this.w = Atomics.load(this.control, W);
  }

  /**
   * Room for a record of `need` bytes: its offset, or -1 when the ring is full. Writes the WRAP word when the
   * record goes to the start.
   */
  private reserve(need: number): number {
    const w = this.w;
    const r = Atomics.load(this.control, R);
    if (w >= r) {
      if (this.size - w >= need + 4) return w;
      if (r > need) {
        this.words[w >> 2] = WRAP;
        return 0;
      }
      return -1;
    }
    return r - w > need ? w : -1;
  }

  private publish(at: number, need: number): void {
    this.w = at + need;
    Atomics.store(this.control, W, this.w);
    if (Atomics.load(this.control, SLEEP) !== 0) {
      Atomics.store(this.control, SLEEP, 0);
      Atomics.notify(this.control, W);
    }
  }

  /** The exporter id of `address`, defining it in the ring first when new; -1 when the ring is full. */
  private exporterId(address: string): number {
    if (address === this.lastAddress) return this.lastId;
    let id = this.ids.get(address);
    if (id === undefined) {
      if (this.ids.size >= MAX_EXPORTER_IDS) this.ids.clear(); // ids are redefined in-band, in order
      id = this.ids.size;
      const text = Buffer.from(address, "utf8");
      const need = HEADER + padded(text.length);
      const at = this.reserve(need);
      if (at < 0) return -1;
      const h = at >> 2;
      this.words[h] = text.length;
      this.words[h + 1] = (RECORD_ADDRESS << 24) | id;
      this.bytes.set(text, at + HEADER);
      this.publish(at, need);
      this.ids.set(address, id);
    }
    this.lastAddress = address;
    this.lastId = id;
    return id;
  }

  /** Stores a datagram; false (and counted) when the ring is full. */
  push(datagram: Uint8Array, address: string, port: number, nowMs: number): boolean {
    const id = this.exporterId(address);
    const need = HEADER + padded(datagram.length);
    const at = id < 0 ? -1 : this.reserve(need);
    if (at < 0) {
      this.dropped++;
      return false;
    }
    const h = at >> 2;
    const words = this.words;
    words[h] = datagram.length;
    words[h + 1] = (RECORD_DATAGRAM << 24) | id;
    words[h + 2] = port;
    words[h + 3] = nowMs >>> 0;
    words[h + 4] = Math.floor(nowMs / 4294967296);
    this.bytes.set(datagram, at + HEADER);
    this.publish(at, need);
    this.pushed++;
    return true;
  }
}

/** What the consumer is handed per datagram (the payload is a view into the ring, valid during the call). */
export type DatagramHandler = (datagram: Uint8Array, address: string, port: number, nowMs: number) => void;

/** The decoding side. */
export class RingConsumer {
  private readonly control: Int32Array;
  private readonly words: Int32Array;
  private readonly data: SharedArrayBuffer;
  private r: number;
  private readonly addresses: string[] = [];

  constructor(ring: RingBuffers) {
    this.control = new Int32Array(ring.control);
    this.words = new Int32Array(ring.data);
    this.data = ring.data;
    this.r = Atomics.load(this.control, R);
  }

  /** True when nothing is waiting. */
  get empty(): boolean {
    return Atomics.load(this.control, W) === this.r;
  }

  /**
   * Hands up to `max` datagrams to `handle`, in arrival order; returns how many. Space is given back to the
   * producer after each record, so a long drain never holds the ring full.
   */
  drain(handle: DatagramHandler, max: number): number {
    let n = 0;
    let end = Atomics.load(this.control, W);
    const words = this.words;
    while (n < max) {
      if (this.r === end) {
        end = Atomics.load(this.control, W);
        if (this.r === end) break;
      }
      const h = this.r >> 2;
      const len = words[h]!;
      if (len === WRAP) {
        this.r = 0;
        Atomics.store(this.control, R, 0);
        continue;
      }
      const meta = words[h + 1]!;
      const id = meta & 0xffffff;
      const at = this.r + HEADER;
      if (meta >>> 24 === RECORD_ADDRESS) {
        this.addresses[id] = Buffer.from(this.data, at, len).toString("utf8");
      } else {
        const nowMs = (words[h + 3]! >>> 0) + words[h + 4]! * 4294967296;
        handle(new Uint8Array(this.data, at, len), this.addresses[id] ?? "", words[h + 2]!, nowMs);
        n++;
      }
      this.r = at + padded(len);
      Atomics.store(this.control, R, this.r);
    }
    return n;
  }

  /** Gives back every queued record without handing it out; returns the datagrams discarded. */
  discard(): number {
    return this.drain(() => undefined, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Resolves when the producer has published something after this call (at once when something is waiting).
   * Only one wait at a time.
   */
  wait(): Promise<void> {
    Atomics.store(this.control, SLEEP, 1);
    const w = Atomics.load(this.control, W);
    if (w !== this.r) {
      Atomics.store(this.control, SLEEP, 0);
      return Promise.resolve();
    }
    const res = atomics.waitAsync(this.control, W, w);
    return res.async ? res.value.then(() => undefined) : Promise.resolve();
  }
}
