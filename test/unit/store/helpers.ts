// SPDX-License-Identifier: BSD-3-Clause
// Helpers for the store tests: seeded random batches covering every column type, temp dirs, batch comparison.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, SCHEMA, V6_BIT, type PhysicalName } from "../../../src/record/schema.js";

/** mulberry32: small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomBatchOptions {
  /** share of rows with IPv6 addresses (0..1) */
  v6?: number;
  /** IPv6 addresses from this many hosts of one /64 (compressible, as real traffic) instead of random bytes */
  v6Hosts?: number;
  /** fill every column (not only the usual ones) */
  allColumns?: boolean;
  /** add raw elements */
  extras?: boolean;
  /** counters near 2^53 */
  huge?: boolean;
  /** fraction f64 values (forces the raw transform) */
  fractions?: boolean;
  t0?: number;
}

/** A batch of `n` random rows. */
export function randomBatch(seed: number, n: number, o: RandomBatchOptions = {}): RecordBatch {
  const r = rng(seed);
  const b = new RecordBatch(Math.max(1, n));
  const c = b.cols;
  const t0 = o.t0 ?? 1_795_435_500_000;
  const words = new Uint8Array(16);
  for (let i = 0; i < n; i++) {
    const row = b.addRow();
    c.msecReceived[row] = t0 + Math.floor(i / 30) * 3;
    c.msecLast[row] = t0 - Math.floor(r() * 60_000);
    c.msecFirst[row] = c.msecLast[row] - Math.floor(r() * 8000);
    c.proto[row] = [6, 17, 1, 47][Math.floor(r() * 4)]!;
    c.srcPort[row] = Math.floor(r() * 65536);
    c.dstPort[row] = [443, 80, 53, 22][Math.floor(r() * 4)]!;
    c.tcpFlags[row] = Math.floor(r() * 64);
    c.inPackets[row] = o.huge ? 2 ** 53 - 1 - Math.floor(r() * 1000) : 1 + Math.floor(r() * 1000);
    c.inBytes[row] = o.huge ? 2 ** 53 - Math.floor(r() * 2 ** 40) : 40 + Math.floor(r() * 1_000_000);
    if (o.fractions) c.outBytes[row] = r() * 1000;
    c.srcAs[row] = Math.floor(r() * 70000);
    c.input[row] = 1 + Math.floor(r() * 10);
    if (r() < (o.v6 ?? 0)) {
      if (o.v6Hosts !== undefined) {
        words.fill(0);
        words[15] = 1 + Math.floor(r() * o.v6Hosts);
      } else for (let k = 0; k < 16; k++) words[k] = Math.floor(r() * 256);
      words[0] = 0x20;
      words[1] = 0x01;
      b.setV6("srcAddr", row, words, 0);
      words[15] = words[15]! ^ 0xff;
      b.setV6("dstAddr", row, words, 0);
    } else {
      b.setV4("srcAddr", row, (0x0a000000 + Math.floor(r() * 65536)) >>> 0);
      b.setV4("dstAddr", row, Math.floor(r() * 2 ** 32) >>> 0);
    }
    if (o.allColumns) {
      for (const col of SCHEMA) {
        if (col.name === "msecFirst" || col.name === "msecLast" || col.name === "msecReceived") continue;
        const a = c[col.name as PhysicalName] as unknown as { [i: number]: number };
        switch (col.type) {
          case "u8":
            a[row] = Math.floor(r() * 256);
            break;
          case "u16":
            a[row] = Math.floor(r() * 65536);
            break;
          case "u32":
            a[row] = Math.floor(r() * 2 ** 32);
            break;
          case "f64":
            if (col.name !== "inPackets" && col.name !== "inBytes" && col.name !== "outBytes")
              a[row] = Math.floor(r() * 2 ** 40);
            break;
          case "mac":
            a[row] = Math.floor(r() * 2 ** 48);
            break;
          case "addr":
            if (col.name === "srcAddr" || col.name === "dstAddr") break;
            if (r() < 0.3) {
              for (let k = 0; k < 16; k++) words[k] = Math.floor(r() * 256);
              b.setV6(col.name, row, words, 0);
            } else b.setV4(col.name, row, Math.floor(r() * 2 ** 32));
            break;
        }
      }
    }
    if (o.extras && r() < 0.5) {
      const len = Math.floor(r() * 12);
      const data = new Uint8Array(len);
      for (let k = 0; k < len; k++) data[k] = Math.floor(r() * 256);
      b.addExtra(Math.floor(r() * 40000), Math.floor(r() * 500), data, 0, len);
    }
  }
  return b;
}

/** Every physical column and the raw elements of row i, as plain values (for toEqual). */
export function rowOf(b: RecordBatch, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pc of PHYSICAL_COLUMNS) {
    const a = b.cols[pc.name as PhysicalName];
    out[pc.name] = pc.width === 1 ? a[i] : Array.from(a.subarray(i * 4, i * 4 + 4));
  }
  out["extra"] = Array.from(b.extra.subarray(b.extraStart(i), b.extraEnd[i]));
  return out;
}

export function expectSameRows(actual: RecordBatch[], expected: RecordBatch[]): { rows: number; mismatches: string[] } {
  // column-wise: concatenate every physical column of both sides and compare element by element
  const mismatches: string[] = [];
  const count = (bs: RecordBatch[]): number => bs.reduce((a, b) => a + b.length, 0);
  const rows = count(actual);
  if (rows !== count(expected)) mismatches.push(`row count ${rows} != ${count(expected)}`);
  const flat = (bs: RecordBatch[], name: PhysicalName, width: number): number[] => {
    const out: number[] = [];
    for (const b of bs) {
      const a = b.cols[name];
      for (let i = 0; i < b.length * width; i++) out.push(a[i]!);
    }
    return out;
  };
  for (const pc of PHYSICAL_COLUMNS) {
    const x = flat(actual, pc.name as PhysicalName, pc.width);
    const y = flat(expected, pc.name as PhysicalName, pc.width);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if (!Object.is(x[i], y[i]) && !(x[i] === 0 && y[i] === 0)) {
        mismatches.push(`${pc.name}[${Math.floor(i / pc.width)}]: ${x[i]} != ${y[i]}`);
        break;
      }
    }
  }
  const extras = (bs: RecordBatch[]): string[] =>
    bs.flatMap((b) =>
      Array.from({ length: b.length }, (_, i) =>
        Buffer.from(b.extra.subarray(b.extraStart(i), b.extraEnd[i])).toString("hex"),
      ),
    );
  const ex = extras(actual);
  const ey = extras(expected);
  const bad = ex.findIndex((v, i) => v !== ey[i]);
  if (bad >= 0) mismatches.push(`extra[${bad}]: ${ex[bad]} != ${ey[bad]}`);
  return { rows, mismatches };
}

export function tempDir(prefix = "tsflow-store-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies a batch so it survives the reader's next step (column-wise). */
export function cloneBatch(b: RecordBatch): RecordBatch {
  const cols: Record<string, unknown> = {};
  for (const pc of PHYSICAL_COLUMNS)
    cols[pc.name] = b.cols[pc.name as PhysicalName].slice(0, Math.max(1, b.length) * pc.width);
  const out = RecordBatch.view(b.length, cols as unknown as RecordBatch["cols"], b.absent);
  out.extraEnd = b.extraEnd.slice(0, Math.max(1, b.length));
  out.extra = b.extra.slice(0, b.extraLength);
  out.extraLength = b.extraLength;
  return out;
}

export { V6_BIT };
