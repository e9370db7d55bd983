// SPDX-License-Identifier: BSD-3-Clause
// A ring of datagrams in shared memory between tsreplay's worker (which reads and encodes: the producer, the
// encoder's DatagramOutput) and its main thread (which paces and sends: the consumer, a queue for the Pacer).
//
//   data     SharedArrayBuffer of DATA_BYTES: each datagram's bytes in one piece (a datagram that does not fit
//            before the end starts again at 0)
//   offsets, lengths   per entry, ENTRIES of them (entry i at i & (ENTRIES - 1))
//   ctl      Int32Array [tail, head]: entries [head, tail) are queued, positions counted modulo 2^30
//
// The producer waits (Atomics.wait on head) while the entries or the bytes are full; the consumer moves head on
// when the sink took datagrams (after the send returned: the bytes stay valid while sendmmsg reads them).

import type { DatagramOutput } from "./encode.js";
import type { SinkQueue } from "./send.js";

const DATA_BYTES = 16 << 20;
const ENTRIES = 1 << 14;
/** datagrams the ring holds at most */
export const RING_ENTRIES = ENTRIES;
const POS = 0x3fffffff;
const TAIL = 0;
const HEAD = 1;

export interface RingBuffers {
  readonly data: SharedArrayBuffer;
  readonly offsets: SharedArrayBuffer;
  readonly lengths: SharedArrayBuffer;
  readonly ctl: SharedArrayBuffer;
}

export function newRingBuffers(): RingBuffers {
  return {
    data: new SharedArrayBuffer(DATA_BYTES),
    offsets: new SharedArrayBuffer(4 * ENTRIES),
    lengths: new SharedArrayBuffer(4 * ENTRIES),
    ctl: new SharedArrayBuffer(8),
  };
}

/** The worker's side: the encoder writes each datagram in place. */
export class RingWriter implements DatagramOutput {
  readonly buffer: Uint8Array;
  readonly view: DataView;
  private readonly offsets: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly ctl: Int32Array;
  private tail = 0;
  private pos = 0;

  constructor(b: RingBuffers) {
    this.buffer = new Uint8Array(b.data);
    this.view = new DataView(b.data);
    this.offsets = new Uint32Array(b.offsets);
    this.lengths = new Uint32Array(b.lengths);
    this.ctl = new Int32Array(b.ctl);
  }

  reserve(length: number): number {
    if (length > DATA_BYTES) throw new RangeError(`replay ring: a datagram of ${length} bytes`);
    for (;;) {
      const head = Atomics.load(this.ctl, HEAD);
      const queued = (this.tail - head) & POS;
      if (queued === 0) {
        this.pos = 0; // everything was sent: start again at the front
        return this.take(length);
      }
      if (queued < ENTRIES) {
        // bytes still queued start at the head entry's offset
        const start = this.offsets[head & (ENTRIES - 1)]!;
        if (this.pos >= start) {
          if (this.pos + length <= DATA_BYTES) return this.take(length);
          if (length < start) {
            this.pos = 0;
            return this.take(length);
          }
        } else if (this.pos + length < start) return this.take(length);
      }
      // full: wait for the sender to move head on
      Atomics.wait(this.ctl, HEAD, head, 100);
    }
  }

  private take(length: number): number {
    const at = this.pos;
    this.pos += length;
    return at;
  }

  commit(offset: number, length: number): void {
    const i = this.tail & (ENTRIES - 1);
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.tail = (this.tail + 1) & POS;
    Atomics.store(this.ctl, TAIL, this.tail);
  }
}

/** The main thread's side: the Pacer's queue. */
export class RingReader implements SinkQueue {
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly mask = ENTRIES - 1;
  head = 0;
  private readonly data: Uint8Array;
  private readonly ctl: Int32Array;

  constructor(b: RingBuffers) {
    this.data = new Uint8Array(b.data);
    this.offsets = new Uint32Array(b.offsets);
    this.lengths = new Uint32Array(b.lengths);
    this.ctl = new Int32Array(b.ctl);
  }

  get size(): number {
    return (Atomics.load(this.ctl, TAIL) - this.head) & POS;
  }

  slabAt(): Uint8Array {
    return this.data;
  }

  runAt(_index: number, most: number): number {
    return most;
  }

  entry(i: number): Uint8Array {
    const k = i & this.mask;
    return this.data.subarray(this.offsets[k], this.offsets[k]! + this.lengths[k]!);
  }

  shift(n: number): void {
    this.head = (this.head + n) & POS;
    Atomics.store(this.ctl, HEAD, this.head);
    Atomics.notify(this.ctl, HEAD);
  }
}
