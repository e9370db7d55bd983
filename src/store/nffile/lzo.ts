// SPDX-License-Identifier: BSD-3-Clause
// LZO1X decompressor (the format nfcapd -z writes: lzo1x_1_compress blocks, no header, no checksum).
//
// Written here because no maintained pure-JS package exists on npm: `lzo` is a native binding that needs a
// compiler at install time, `lzo-decompress`/`lzo-wasm` are unmaintained or browser builds. The algorithm is
// the "safe" decoder of lzo1x_d.ch: every read of the input and every write and back-reference of the output
// is bounds-checked, so damaged input returns -1 and never reads or writes out of range.
//
// Instruction stream (t = the instruction byte):
//   0..15   after a match: M1 (2-byte match, distance ≤ 1 KiB); after literals/at start: literal run
//   16..31  M4 (distance 16 KiB..48 KiB; distance 0 = end of stream)
//   32..63  M3 (distance ≤ 16 KiB)
//   64..255 M2 (3..8-byte match, distance ≤ 2 KiB)
// The low 2 bits of the byte holding a match's distance give 0..3 literals that follow the match.

const LOOP = 0;
const FIRST_LITERAL_RUN = 1;
const MATCH = 2;
const MATCH_DONE = 3;
const MATCH_NEXT = 4;

/**
 * Decompresses the LZO1X stream `src[start, end)` into `dst` (from offset 0).
 * @returns the number of bytes written, or -1 when the stream is damaged or `dst` is too small.
 */
export function decodeLzo1x(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  if (end > src.length || start < 0 || start >= end) return -1;
  const cap = dst.length;
  let ip = start;
  let op = 0;
  let t = 0;
  let mPos = 0;
  let state = LOOP;
  if (src[ip]! > 17) {
    t = src[ip++]! - 17;
    if (t < 4) state = MATCH_NEXT;
    else {
      if (ip + t > end || op + t > cap) return -1;
      dst.set(src.subarray(ip, ip + t), op);
      ip += t;
      op += t;
      state = FIRST_LITERAL_RUN;
    }
  }
  for (;;) {
    switch (state) {
      case LOOP: {
        if (ip >= end) return -1;
        t = src[ip++]!;
        if (t >= 16) {
          state = MATCH;
          break;
        }
        if (t === 0) {
          while (ip < end && src[ip] === 0) {
            t += 255;
            ip++;
          }
          if (ip >= end) return -1;
          t += 15 + src[ip++]!;
        }
        t += 3;
        if (ip + t > end || op + t > cap) return -1;
        if (t < 16) for (let k = 0; k < t; k++) dst[op + k] = src[ip + k]!;
        else dst.set(src.subarray(ip, ip + t), op);
        ip += t;
        op += t;
        state = FIRST_LITERAL_RUN;
        break;
      }
      case FIRST_LITERAL_RUN: {
        if (ip >= end) return -1;
        t = src[ip++]!;
        if (t >= 16) {
          state = MATCH;
          break;
        }
        if (ip >= end) return -1;
        mPos = op - 0x801 - (t >> 2) - (src[ip++]! << 2);
        if (mPos < 0 || op + 3 > cap) return -1;
        dst[op++] = dst[mPos++]!;
        dst[op++] = dst[mPos++]!;
        dst[op++] = dst[mPos]!;
        state = MATCH_DONE;
        break;
      }
      case MATCH: {
        let len: number;
        if (t >= 64) {
          if (ip >= end) return -1;
          mPos = op - 1 - ((t >> 2) & 7) - (src[ip++]! << 3);
          len = (t >> 5) + 1;
        } else if (t >= 32) {
          t &= 31;
          if (t === 0) {
            while (ip < end && src[ip] === 0) {
              t += 255;
              ip++;
            }
            if (ip >= end) return -1;
            t += 31 + src[ip++]!;
          }
          if (ip + 2 > end) return -1;
          mPos = op - 1 - ((src[ip]! >> 2) + (src[ip + 1]! << 6));
          ip += 2;
          len = t + 2;
        } else if (t >= 16) {
          mPos = op - ((t & 8) << 11);
          t &= 7;
          if (t === 0) {
            while (ip < end && src[ip] === 0) {
              t += 255;
              ip++;
            }
            if (ip >= end) return -1;
            t += 7 + src[ip++]!;
          }
          if (ip + 2 > end) return -1;
          mPos -= (src[ip]! >> 2) + (src[ip + 1]! << 6);
          ip += 2;
          if (mPos === op) return op; // end-of-stream marker
          mPos -= 0x4000;
          len = t + 2;
        } else {
          if (ip >= end) return -1;
          mPos = op - 1 - (t >> 2) - (src[ip++]! << 2);
          len = 2;
        }
        if (mPos < 0 || op + len > cap) return -1;
        if (op - mPos >= len) {
          dst.copyWithin(op, mPos, mPos + len);
          op += len;
        } else {
          for (let k = 0; k < len; k++) dst[op++] = dst[mPos++]!;
        }
        state = MATCH_DONE;
        break;
      }
      case MATCH_DONE: {
        t = src[ip - 2]! & 3;
        state = t === 0 ? LOOP : MATCH_NEXT;
        break;
      }
      default: {
        // MATCH_NEXT: 1..3 literals, then the next instruction is a match
        if (ip + t + 1 > end || op + t > cap) return -1;
        for (let k = 0; k < t; k++) dst[op++] = src[ip++]!;
        t = src[ip++]!;
        state = MATCH;
        break;
      }
    }
  }
}
