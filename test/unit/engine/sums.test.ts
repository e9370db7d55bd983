// SPDX-License-Identifier: BSD-3-Clause
// The footer's sums over a block's passing rows: native/encode.c's loop (sums) gives what engine/sums.ts's JS loop
// gives, bit for bit — every row or a selection, flows of 0 and NaN counted as 1, NaN times, sums past 2^53.
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { emptyCounts } from "../../../src/engine/pipeline.js";
import { sumRows } from "../../../src/engine/sums.js";
import { nativeDecoder } from "../../../src/store/native-encode.js";
import { rng } from "../store/helpers.js";

const linux = process.platform === "linux";

/** The JS loop of sumRows (its fallback), written out: sums from 0 in row order, then min / max. */
function reference(
  c: {
    inBytes: Float64Array;
    inPackets: Float64Array;
    flows: Float64Array;
    msecFirst: Float64Array;
    msecLast: Float64Array;
  },
  sel: Uint32Array | null,
  k: number,
  first: number,
  last: number,
): number[] {
  let bytes = 0;
  let packets = 0;
  let flows = 0;
  for (let j = 0; j < k; j++) {
    const i = sel === null ? j : sel[j]!;
    bytes += c.inBytes[i]!;
    packets += c.inPackets[i]!;
    flows += c.flows[i]! || 1;
    if (c.msecFirst[i]! < first) first = c.msecFirst[i]!;
    if (c.msecLast[i]! > last) last = c.msecLast[i]!;
  }
  return [bytes, packets, flows, first, last];
}

/** Random columns; `odd`: NaN and values near 2^52 among them (whose sums leave sumRows's double path). */
function columns(seed: number, n: number, odd = true): RecordBatch {
  const r = rng(seed);
  const b = new RecordBatch(n);
  const c = b.cols;
  const pick = (): number => {
    const x = r();
    return x < 0.05
      ? 0
      : x < 0.08 && odd
        ? NaN
        : x < 0.1
          ? -0
          : x < 0.15 && odd
            ? 2 ** 52 + Math.floor(r() * 1e6)
            : Math.floor(r() * 1e9) / (x < 0.3 ? 7 : 1);
  };
  for (let i = 0; i < n; i++) {
    b.addRow();
    c.inBytes[i] = pick();
    c.inPackets[i] = pick();
    c.flows[i] = pick();
    c.msecFirst[i] = pick();
    c.msecLast[i] = pick();
  }
  return b;
}

describe.skipIf(!linux)("native footer sums (native/encode.c sums)", () => {
  it("equal the JS loop bit for bit: every row and a selection, odd values included", () => {
    const sums = nativeDecoder()?.sums;
    expect(typeof sums).toBe("function");
    const state = new Float64Array(5);
    for (let t = 0; t < 50; t++) {
      const n = 1 + Math.floor(rng(t)() * 3000);
      const b = columns(100 + t, n);
      const r = rng(t + 7);
      const sel = new Uint32Array(n);
      let k = 0;
      for (let i = 0; i < n; i++) if (r() < 0.4) sel[k++] = i;
      for (const [s, m] of [
        [null, n],
        [sel, k],
      ] as const) {
        const first = t % 3 === 0 ? Infinity : 5e8;
        const last = t % 3 === 0 ? -Infinity : 5e8;
        state[3] = first;
        state[4] = last;
        sums!(b.cols.inBytes, b.cols.inPackets, b.cols.flows, b.cols.msecFirst, b.cols.msecLast, s, m, state);
        expect(Array.from(state)).toEqual(reference(b.cols, s, m, first, last));
      }
    }
  });

  it("sumRows takes the native loop and keeps the footer's totals of the rows", () => {
    // sums below 2^53 (the loop's sums are the totals; past it the exact path decides them)
    const b = columns(5, 2000, false);
    const r = rng(6);
    const sel = new Uint32Array(2000);
    let k = 0;
    for (let i = 0; i < 2000; i++) if (r() < 0.5) sel[k++] = i;
    for (const [s, m] of [
      [Uint32Array.from({ length: 2000 }, (_, i) => i), 2000],
      [sel, k],
    ] as const) {
      const counts = emptyCounts();
      sumRows(b, s, m, counts);
      const [bytes, packets, flows, first, last] = reference(b.cols, s, m, Infinity, -Infinity);
      expect(bytes! < 2 ** 53 && packets! < 2 ** 53 && flows! < 2 ** 53).toBe(true);
      expect([counts.bytes, counts.packets, counts.flows, counts.first, counts.last]).toEqual([
        bytes,
        packets,
        flows,
        first,
        last,
      ]);
      expect([counts.bytesFix, counts.packetsFix, counts.flowsFix]).toEqual([0, 0, 0]);
    }
  });

  it("rejects a selection that points outside the columns", () => {
    const b = columns(9, 10);
    const state = new Float64Array(5);
    expect(() => {
      nativeDecoder()!.sums!(
        b.cols.inBytes,
        b.cols.inPackets,
        b.cols.flows,
        b.cols.msecFirst,
        b.cols.msecLast,
        Uint32Array.of(0, 1e6),
        2,
        state,
      );
    }).toThrow(RangeError);
  });
});
