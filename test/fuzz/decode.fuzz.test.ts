// SPDX-License-Identifier: BSD-3-Clause
// Decoder fuzzing (the msgpack fuzz contract): over a million mutations of real captures — bit flips, byte
// writes, truncations, length-field edits, splices — must only produce counted statuses (no exception, no
// hang), and afterwards the same DecoderState must decode the good captures exactly as a fresh one does.
//
// Seeded (FUZZ_SEED, default 1) so a failure is reproducible; FUZZ_MUTATIONS overrides the total.

import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeDatagram,
  DecoderState,
  DecodeStatus,
  DECODE_STATUS_COUNT,
  type ExporterState,
} from "../../src/decode/index.js";
import { readPcapFile, type UdpDatagram } from "../helpers/pcap.js";
import { CollectSink, CountSink, REPO_ROOT, type Row } from "../unit/decode/util.js";

const FIXTURES = resolve(REPO_ROOT, "test/fixtures/packets");
const TOTAL = Number(process.env["FUZZ_MUTATIONS"] ?? 1_050_000);
const SEED = Number(process.env["FUZZ_SEED"] ?? 1);

/** xorshift32: deterministic and fast. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING16 = [0, 1, 2, 3, 4, 5, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** Offsets of 16-bit length/count fields in a NetFlow v9 / IPFIX datagram (set lengths, template counts and field lengths). */
function structuralOffsets(p: Uint8Array): number[] {
  const out: number[] = [2];
  if (p.length < 4) return out;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const version = v.getUint16(0);
  if (version === 0 && v.getUint16(2) === 5) {
    // sFlow: sample count and each sample's length (32-bit: edit the low half)
    for (let o = 26; o + 4 <= p.length && out.length < 64; o += 4) out.push(o);
    return out;
  }
  if (version !== 9 && version !== 10) return out;
  let o = version === 9 ? 20 : 16;
  while (o + 4 <= p.length && out.length < 256) {
    const id = v.getUint16(o);
    const len = v.getUint16(o + 2);
    out.push(o + 2);
    if (len < 4) break;
    if (id <= 3) {
      // template records: count (and scope count) and every field length
      let t = o + 4;
      const end = Math.min(o + len, p.length);
      while (t + 4 <= end && out.length < 256) {
        out.push(t + 2);
        const count = v.getUint16(t + 2);
        t += id === 1 || id === 3 ? 6 : 4;
        if (id === 3) out.push(t - 2);
        for (let k = 0; k < count && t + 4 <= end; k++) {
          out.push(t + 2);
          t += version === 10 && v.getUint16(t) & 0x8000 ? 8 : 4;
        }
      }
    }
    o += len;
  }
  return out;
}

function mutate(rng: Rng, good: Uint8Array, offsets: number[]): Uint8Array {
  const kind = rng.below(10);
  let p: Uint8Array;
  switch (kind) {
    case 0:
    case 1: {
      p = good.slice();
      const flips = 1 + rng.below(4);
      for (let k = 0; k < flips && p.length > 0; k++) p[rng.below(p.length)]! ^= 1 << rng.below(8);
      break;
    }
    case 2: {
      p = good.slice();
      if (p.length > 0) p[rng.below(p.length)] = rng.below(256);
      break;
    }
    case 3:
      p = good.slice(0, rng.below(good.length + 1));
      break;
    case 4:
    case 5:
    case 6: {
      // length-field edit at a structural offset
      p = good.slice();
      const o = offsets[rng.below(offsets.length)]!;
      if (o + 2 <= p.length) {
        const orig = (p[o]! << 8) | p[o + 1]!;
        const r = rng.below(4);
        const val =
          r === 0
            ? INTERESTING16[rng.below(INTERESTING16.length)]!
            : r === 1
              ? orig + 1
              : r === 2
                ? orig - 1
                : orig + 4 * (rng.below(9) - 4);
        p[o] = (val >>> 8) & 0xff;
        p[o + 1] = val & 0xff;
      }
      break;
    }
    case 7: {
      // splice: duplicate or drop a chunk
      const a = rng.below(good.length + 1);
      const b = a + rng.below(Math.min(64, good.length - a) + 1);
      p =
        rng.below(2) === 0
          ? concat(good.subarray(0, b), good.subarray(a))
          : concat(good.subarray(0, a), good.subarray(b));
      break;
    }
    case 8: {
      // 32-bit field to an extreme value (sFlow lengths/counts, IPFIX enterprise numbers, v5 counters)
      p = good.slice();
      if (p.length >= 4) {
        const o = rng.below(p.length - 3) & ~3;
        const v = [0, 0xffffffff, 0x80000000, 0x7fffffff, 1, 4][rng.below(6)]!;
        p[o] = v >>> 24;
        p[o + 1] = (v >>> 16) & 0xff;
        p[o + 2] = (v >>> 8) & 0xff;
        p[o + 3] = v & 0xff;
      }
      break;
    }
    default: {
      p = mutate(rng, mutate(rng, good, offsets), offsets);
      break;
    }
  }
  return p;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function decodeAll(state: DecoderState, datagrams: UdpDatagram[]): Row[] {
  const sink = new CollectSink(32);
  for (const d of datagrams)
    decodeDatagram(d.payload, { address: d.srcAddress, port: d.srcPort }, d.timeMs, state, sink);
  return sink.drain();
}

function samplingState(state: DecoderState): string {
  return JSON.stringify(
    [...state.exporters.values()].map((e: ExporterState) => [e.key, [...e.samplers.entries()], e.sysInitMs]).sort(),
  );
}

const captures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".pcap"))
  .sort()
  .map((f) => ({ name: f, datagrams: readPcapFile(resolve(FIXTURES, f)) }));

describe("fuzz: mutated captures", () => {
  it(`survives ${TOTAL} mutations and still decodes the good captures exactly`, () => {
    const rng = new Rng(SEED);
    const perCapture = Math.ceil(TOTAL / captures.length);
    let done = 0;
    let worstMs = 0;
    const statusCounts = new Array<number>(DECODE_STATUS_COUNT).fill(0);
    let stateChanged = 0;
    const started = performance.now();
    for (const cap of captures) {
      const state = new DecoderState({
        maxExporters: 32,
        templateLimits: { maxTemplates: 64, maxBytes: 64 * 1024 },
        maxHeldSets: 8,
      });
      decodeAll(state, cap.datagrams);
      const sink = new CountSink(512);
      const offsets = cap.datagrams.map((d) => structuralOffsets(d.payload));
      const t0 = cap.datagrams[0]?.timeMs ?? 0;
      for (let i = 0; i < perCapture; i++) {
        const k = rng.below(cap.datagrams.length);
        const d = cap.datagrams[k]!;
        const p = mutate(rng, d.payload, offsets[k]!);
        const t = performance.now();
        let status: number;
        try {
          status = decodeDatagram(p, { address: d.srcAddress, port: d.srcPort }, t0 + i, state, sink);
        } catch (err) {
          throw new Error(
            `${cap.name}: mutation ${i} of datagram ${k} threw (seed ${SEED}): ${String(err)}\n${Buffer.from(p).toString("hex")}`,
          );
        }
        const dt = performance.now() - t;
        if (dt > worstMs) worstMs = dt;
        statusCounts[status] = statusCounts[status]! + 1;
        done++;
      }
      // The contract: the same state decodes the good capture as a fresh one does. The first replay
      // re-sends every template (until then junk templates of the same ids legitimately decode data that
      // precedes its template, and held junk may be released); the second replay must then match a fresh
      // state's second replay exactly. Junk options records may also have announced samplers the good
      // capture never overwrites: then rows must match up to the sampling interval (see below).
      decodeAll(state, cap.datagrams);
      const after = decodeAll(state, cap.datagrams);
      const fresh = new DecoderState();
      decodeAll(fresh, cap.datagrams);
      const reference = decodeAll(fresh, cap.datagrams);
      if (
        samplingState(fresh) === samplingState(state) ||
        cap.datagrams.every((d) => d.payload[1] === 5 || d.payload[3] === 5)
      ) {
        expect(after, cap.name).toEqual(reference);
      } else {
        // Then each row must still be exact up to the sampling interval (raw counters = scaled / interval)
        // and, for sysUpTime-relative times, up to the anchor (durations exact).
        stateChanged++;
        const strip = (r: Row): Row => {
          const rest: Row = { ...r };
          for (const k of [
            "samplingInterval",
            "samplingSource",
            "inPackets",
            "inBytes",
            "outPackets",
            "outBytes",
            "msecFirst",
            "msecLast",
          ]) {
            Reflect.deleteProperty(rest, k);
          }
          const n = r["samplingInterval"] as number;
          const v = (k: string): number => (r[k] as number) / n;
          rest["rawIn"] = `${v("inPackets")}/${v("inBytes")}`;
          rest["rawOut"] = `${v("outPackets")}/${v("outBytes")}`;
          rest["duration"] = (r["msecLast"] as number) - (r["msecFirst"] as number);
          return rest;
        };
        expect(after.map(strip), cap.name).toEqual(reference.map(strip));
      }
      // Bounds held.
      expect(state.exporters.size).toBeLessThanOrEqual(32);
      for (const e of state.exporters.values()) {
        expect(e.templates?.plans.size ?? 0).toBeLessThanOrEqual(64);
        expect(e.held.length).toBeLessThanOrEqual(8);
      }
    }
    const secs = (performance.now() - started) / 1000;
    process.stderr.write(
      `fuzz: ${done} mutations over ${captures.length} captures in ${secs.toFixed(1)} s; worst decode ${worstMs.toFixed(2)} ms; ` +
        `statuses ${statusCounts.map((n, i) => `${i}:${n}`).join(" ")}; sampling state changed in ${stateChanged}\n`,
    );
    expect(done).toBeGreaterThanOrEqual(TOTAL);
    expect(statusCounts[DecodeStatus.OK]).toBeGreaterThan(0);
    // No single decode may take long: a hang fails here or at the test timeout (the bound is loose because
    // a loaded CI machine can stall any call for a GC or a scheduling hiccup).
    expect(worstMs).toBeLessThan(2000);
  }, 300_000);
});
