// SPDX-License-Identifier: BSD-3-Clause
// The shared ring between tsreplay's worker and its sender (src/replay/ring.ts): datagrams of every size come out
// whole and in order while the bytes wrap around the ring many times.

import { describe, expect, it } from "vitest";
import { newRingBuffers, RingReader, RingWriter } from "../../../src/replay/ring.js";

describe("replay ring", () => {
  it("hands over datagrams whole and in order across wrap-arounds", () => {
    const b = newRingBuffers();
    const w = new RingWriter(b);
    const r = new RingReader(b);
    let next = 0;
    let checked = 0;
    let wrapped = 0;
    let last = -1;
    // takes all but `keep` (some stay queued: the writer never starts again at the front, it wraps)
    const consume = (keep: number): void => {
      const n = Math.max(0, r.size - keep);
      for (let i = 0; i < n; i++) {
        const d = r.entry(r.head + i);
        const k = checked++;
        expect(d.length).toBe(20 + ((k * 37) % 1400));
        expect(new DataView(d.buffer, d.byteOffset, d.length).getUint32(0)).toBe(k);
        expect(d[d.length - 1]).toBe(k & 0xff);
      }
      r.shift(n);
    };
    for (let i = 0; i < 60_000; i++) {
      const len = 20 + ((i * 37) % 1400);
      const at = w.reserve(len);
      if (at < last) wrapped++;
      last = at;
      w.view.setUint32(at, next++);
      w.buffer[at + len - 1] = i & 0xff;
      w.commit(at, len);
      if (i % 97 === 0) consume(5);
    }
    consume(0);
    expect(checked).toBe(60_000);
    expect(wrapped).toBeGreaterThan(1);
    expect(r.size).toBe(0);
  });
});
