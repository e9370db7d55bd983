// The receive → decode hand-off (src/capd/ring.ts): every datagram comes out once, in order, with its exporter,
// port and arrival time; a full ring refuses and counts instead of growing; space is reused across wrap-arounds.
import { describe, expect, it } from "vitest";
import { createRing, MAX_EXPORTER_IDS, RingConsumer, RingProducer } from "../../../src/capd/ring.js";

interface Got {
  bytes: number[];
  address: string;
  port: number;
  time: number;
}

function datagram(seq: number, len: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (seq * 31 + i) & 0xff;
  if (len >= 4) new DataView(d.buffer).setUint32(0, seq);
  return d;
}

function drainAll(c: RingConsumer, max = Number.MAX_SAFE_INTEGER): Got[] {
  const out: Got[] = [];
  c.drain((d, address, port, time) => {
    out.push({ bytes: [...d], address, port, time });
  }, max);
  return out;
}

describe("receive ring", () => {
  it("hands over every datagram in order with its sender and time, across many wrap-arounds", () => {
    const ring = createRing(1 << 16);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const sent: Got[] = [];
    const got: Got[] = [];
    let seq = 0;
    let refusals = 0;
    // uneven sizes (not multiples of 4), three senders, a time past 2^32 ms
    for (let round = 0; round < 400; round++) {
      const n = 1 + (round % 7);
      for (let k = 0; k < n; k++) {
        const len = 1 + ((seq * 977) % 3001);
        const d = datagram(seq, len);
        const address = `10.0.0.${seq % 3}`;
        const time = 1_763_900_000_000 + seq;
        if (!p.push(d, address, 2000 + (seq % 3), time)) {
          // full: the consumer catches up, then there is room
          got.push(...drainAll(c));
          expect(p.push(d, address, 2000 + (seq % 3), time)).toBe(true);
          refusals++;
        }
        sent.push({ bytes: [...d], address, port: 2000 + (seq % 3), time });
        seq++;
      }
      got.push(...drainAll(c, 1 + (round % 5))); // the consumer lags behind, then catches up
    }
    got.push(...drainAll(c));
    expect(refusals).toBeGreaterThan(5); // the ring did fill up now and then
    expect(p.dropped).toBe(refusals);
    expect(got.length).toBe(sent.length);
    expect(got).toEqual(sent);
    expect(c.empty).toBe(true);
  });

  it("refuses and counts datagrams when full, keeps the ones it took, and takes more once drained", () => {
    const ring = createRing(1 << 16);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    let accepted = 0;
    let refused = 0;
    for (let seq = 0; seq < 100; seq++) {
      if (p.push(datagram(seq, 1400), "192.0.2.1", 9995, seq)) accepted++;
      else refused++;
    }
    // 64 KiB hold the sender's address record (32 bytes) and 46 records of 20 + 1400 bytes
    expect(accepted).toBe(46);
    expect(refused).toBe(54);
    expect(p.dropped).toBe(54);
    const got = drainAll(c);
    expect(got.map((g) => g.time)).toEqual([...Array(46).keys()]);
    expect(got.every((g, i) => g.bytes.length === 1400 && g.bytes[3] === i)).toBe(true);
    expect(p.push(datagram(7, 1400), "192.0.2.1", 9995, 1000)).toBe(true);
    expect(drainAll(c).map((g) => g.time)).toEqual([1000]);
    expect(p.dropped).toBe(54);
  });

  it("refuses a datagram larger than the ring without disturbing the rest", () => {
    const ring = createRing(1 << 16);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    expect(p.push(datagram(1, 100), "a", 1, 1)).toBe(true);
    expect(p.push(datagram(2, 70_000), "a", 1, 2)).toBe(false);
    expect(p.push(datagram(3, 100), "a", 1, 3)).toBe(true);
    expect(drainAll(c).map((g) => g.time)).toEqual([1, 3]);
  });

  it("keeps senders right when the exporter id table starts over", () => {
    const ring = createRing(1 << 20);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const got: string[] = [];
    const n = MAX_EXPORTER_IDS + 500;
    for (let i = 0; i < n; i++) {
      expect(p.push(datagram(i, 8), `2001:db8::${i.toString(16)}`, 1, i)).toBe(true);
      if (i % 1000 === 999) got.push(...drainAll(c).map((g) => g.address));
    }
    got.push(...drainAll(c).map((g) => g.address));
    expect(got.length).toBe(n);
    for (let i = 0; i < n; i++) expect(got[i]).toBe(`2001:db8::${i.toString(16)}`);
  });

  it("wakes a waiting consumer when a datagram arrives", async () => {
    const ring = createRing(1 << 16);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    let woke = false;
    const waiting = c.wait().then(() => {
      woke = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    p.push(datagram(1, 10), "a", 1, 1);
    await waiting;
    expect(woke).toBe(true);
    expect(drainAll(c).length).toBe(1);
    // something already queued: wait() resolves at once
    p.push(datagram(2, 10), "a", 1, 2);
    await c.wait();
    expect(drainAll(c).length).toBe(1);
  });
});
