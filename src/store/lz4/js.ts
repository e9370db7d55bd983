// SPDX-License-Identifier: BSD-3-Clause
// Raw LZ4 block decompressor (nfcapd -y: LZ4_compress_default / LZ4_compress_HC output, no frame, no size
// prefix). lz4-napi only reads its own size-prefixed form, so the block format is decoded here, straight into a
// reused output buffer (no allocation per block). Every input read, output write and back-reference is checked.

/**
 * Decompresses the LZ4 block `src[start, end)` into `dst` (from offset 0).
 * @returns the number of bytes written, or -1 when the block is damaged or `dst` is too small.
 */
export function decodeLz4Raw(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  if (end > src.length || start < 0 || start > end) return -1;
  const cap = dst.length;
  let ip = start;
  let op = 0;
  while (ip < end) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) return -1;
        b = src[ip++]!;
        lit += b;
      }
    }
    if (ip + lit > end || op + lit > cap) return -1;
    if (lit < 16) for (let k = 0; k < lit; k++) dst[op + k] = src[ip + k]!;
    else dst.set(src.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    // the last sequence has literals only (encoders write a 0 match nibble there); a cut stream rarely ends so
    if (ip === end) return (token & 15) === 0 ? op : -1;
    if (ip + 2 > end) return -1;
    const dist = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (dist === 0 || dist > op) return -1;
    let len = token & 15;
    if (len === 15) {
      let b = 255;
      while (b === 255) {
        if (ip >= end) return -1;
        b = src[ip++]!;
        len += b;
      }
    }
    len += 4;
    if (op + len > cap) return -1;
    let m = op - dist;
    if (dist >= len) {
      if (len < 16) for (let k = 0; k < len; k++) dst[op + k] = dst[m + k]!;
      else dst.copyWithin(op, m, m + len);
      op += len;
    } else {
      for (let k = 0; k < len; k++) dst[op++] = dst[m++]!;
    }
  }
  return op;
}
