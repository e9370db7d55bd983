// SPDX-License-Identifier: BSD-3-Clause
// ASCII byte writers for the hot column formats: digits, padding and dotted quads go straight into the
// BufferedOutput's buffer, so a `-o line` record allocates no intermediate strings. Callers have
// reserved room with `out.ensure(n)` for the whole record first.

import type { BufferedOutput } from "./out.js";
import { counterText, intString } from "./text.js";

const SPACE = 0x20;

/** Appends an ASCII string. */
export function putAscii(o: BufferedOutput, s: string): void {
  const buf = o.buf;
  let p = o.pos;
  for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
  o.pos = p;
}

/** Appends a string right-aligned in `width` (printf "%<width>s"). */
export function putRight(o: BufferedOutput, s: string, width: number): void {
  const buf = o.buf;
  let p = o.pos;
  for (let k = s.length; k < width; k++) buf[p++] = SPACE;
  for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
  o.pos = p;
}

/** Appends a string left-aligned in `width` (printf "%-<width>s"). */
export function putLeft(o: BufferedOutput, s: string, width: number): void {
  const buf = o.buf;
  let p = o.pos;
  for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
  for (let k = s.length; k < width; k++) buf[p++] = SPACE;
  o.pos = p;
}

/** Number of decimal digits of a non-negative integer below 2^53. */
export function digitCount(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  let d = 10;
  let x = Math.floor(n / 1e10);
  while (x > 0) {
    d++;
    x = Math.floor(x / 10);
  }
  return d;
}

/** Writes the digits of n (non-negative integer) ending just before `end`. */
function digitsAt(buf: Uint8Array, end: number, n: number): void {
  let p = end;
  if (n < 4294967296) {
    let x = n >>> 0;
    do {
      const q = (x / 10) >>> 0;
      buf[--p] = 48 + (x - q * 10);
      x = q;
    } while (x > 0);
    return;
  }
  let x = n;
  do {
    const q = Math.floor(x / 10);
    buf[--p] = 48 + (x - q * 10);
    x = q;
  } while (x > 0);
}

/** Appends u64 counter `v[i]` (exact with its fix column, record/u64.ts) right-aligned in `width`. */
export function putCounterRight(o: BufferedOutput, v: Float64Array, fix: Uint32Array, i: number, width: number): void {
  const n = v[i]!;
  if (n < 9007199254740992) putUIntRight(o, n, width);
  else putRight(o, counterText(v, fix, i), width);
}

/** Appends a non-negative integer right-aligned in `width` (printf "%<width>u"). */
export function putUIntRight(o: BufferedOutput, n: number, width: number): void {
  // digit arithmetic on a double is exact only below 2^53: larger values print their exact digits as text
  if (n >= 9007199254740992) {
    putRight(o, intString(n), width);
    return;
  }
  const d = digitCount(n);
  const buf = o.buf;
  let p = o.pos;
  for (let k = d; k < width; k++) buf[p++] = SPACE;
  digitsAt(buf, p + d, n);
  o.pos = p + d;
}

/** Appends a non-negative integer left-aligned in `width` (printf "%-<width>u"). */
export function putUIntLeft(o: BufferedOutput, n: number, width: number): void {
  if (n >= 9007199254740992) {
    putLeft(o, intString(n), width);
    return;
  }
  const d = digitCount(n);
  const buf = o.buf;
  let p = o.pos;
  digitsAt(buf, p + d, n);
  p += d;
  for (let k = d; k < width; k++) buf[p++] = SPACE;
  o.pos = p;
}

/** Appends `n` zero-padded to `width` digits. */
export function putUIntZero(o: BufferedOutput, n: number, width: number): void {
  const d = digitCount(n);
  const buf = o.buf;
  let p = o.pos;
  for (let k = d; k < width; k++) buf[p++] = 48;
  digitsAt(buf, p + d, n);
  o.pos = p + d;
}

/** Appends an IPv4 address (u32) as a dotted quad right-aligned in `width`. */
export function putIPv4Right(o: BufferedOutput, v: number, width: number): void {
  const a = v >>> 24;
  const b = (v >>> 16) & 0xff;
  const c = (v >>> 8) & 0xff;
  const d = v & 0xff;
  const len = digitCount(a) + digitCount(b) + digitCount(c) + digitCount(d) + 3;
  const buf = o.buf;
  let p = o.pos;
  for (let k = len; k < width; k++) buf[p++] = SPACE;
  p += digitCount(a);
  digitsAt(buf, p, a);
  buf[p++] = 46;
  p += digitCount(b);
  digitsAt(buf, p, b);
  buf[p++] = 46;
  p += digitCount(c);
  digitsAt(buf, p, c);
  buf[p++] = 46;
  p += digitCount(d);
  digitsAt(buf, p, d);
  o.pos = p;
}
