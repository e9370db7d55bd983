// SPDX-License-Identifier: BSD-3-Clause
// IPv4 / IPv6 / MAC parse and format helpers.
//
// IPv4 addresses are u32 numbers (host order of the value, i.e. 10.0.0.1 = 0x0a000001) and formatting them
// uses cached octet strings, no intermediate arrays. IPv6 addresses are four big-endian u32 words held in a
// Uint32Array at some offset (the layout of the `<addr>6` batch columns).

const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Formats a u32 IPv4 address as dotted quad. */
export function formatIPv4(v: number): string {
  return `${OCTET[v >>> 24]!}.${OCTET[(v >>> 16) & 0xff]!}.${OCTET[(v >>> 8) & 0xff]!}.${OCTET[v & 0xff]!}`;
}

/** Parses a dotted-quad IPv4 address; returns the u32 value or -1 when `text` is not one. */
export function parseIPv4(text: string): number {
  let value = 0;
  let octet = -1;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero ("01") is ambiguous (octal in inet_aton)
      octet = (octet < 0 ? 0 : octet) * 10 + (ch - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (ch === 46) {
      if (octet < 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || octet < 0) return -1;
  return value * 256 + octet;
}

/**
 * Parses an IPv6 address (RFC 4291 text forms, `::` compression, embedded IPv4 tail, optional `%zone` ignored)
 * into four u32 words at `out[off]`. Returns false when `text` is not an IPv6 address.
 */
export function parseIPv6(text: string, out: Uint32Array, off = 0): boolean {
  const pct = text.indexOf("%");
  const s = pct >= 0 ? text.slice(0, pct) : text;
  if (s.length < 2 || s.length > 45) return false;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith("::")) {
    gap = 0;
    i = 2;
    if (s.length === 2) {
      out.fill(0, off, off + 4);
      return true;
    }
  } else if (s.startsWith(":")) {
    return false;
  }
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] !== ":") j++;
    const part = s.slice(i, j);
    if (part.includes(".")) {
      if (j !== s.length) return false;
      const v4 = parseIPv4(part);
      if (v4 < 0) return false;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (part.length === 0 || part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return false;
      groups.push(parseInt(part, 16));
    }
    if (j === s.length) break;
    if (s[j + 1] === ":") {
      if (gap >= 0) return false;
      gap = groups.length;
      i = j + 2;
      if (i === s.length) break;
    } else {
      i = j + 1;
      if (i === s.length) return false; // trailing single ':'
    }
  }
  if (groups.length > 8 || (gap < 0 && groups.length !== 8) || (gap >= 0 && groups.length > 7)) return false;
  const full = new Array<number>(8).fill(0);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) full[k] = groups[k]!;
  } else {
    const tail = groups.length - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k]!;
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k]!;
  }
  for (let k = 0; k < 4; k++) out[off + k] = ((full[2 * k]! << 16) | full[2 * k + 1]!) >>> 0;
  return true;
}

/** Formats four u32 words at `words[off]` as an RFC 5952 IPv6 address (lowercase, longest zero run as `::`). */
export function formatIPv6(words: ArrayLike<number>, off = 0): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const w = words[off + k]! >>> 0;
    g[2 * k] = w >>> 16;
    g[2 * k + 1] = w & 0xffff;
  }
  // IPv4-mapped ::ffff:a.b.c.d keeps the dotted tail (RFC 5952 §5)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(words[off + 3]! >>> 0)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(":");
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(":");
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(":");
  return `${head}::${tail}`;
}

/** Parsed address: IPv4 as `v4`, IPv6 as four words. */
export type ParsedAddress =
  { readonly v6: false; readonly v4: number } | { readonly v6: true; readonly words: Uint32Array };

/** Parses IPv4 or IPv6 text; returns null when it is neither. */
export function parseAddress(text: string): ParsedAddress | null {
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { v6: false, v4 };
  const words = new Uint32Array(4);
  return parseIPv6(text, words) ? { v6: true, words } : null;
}

/** Formats a 48-bit MAC held as a number as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(v: number): string {
  let s = "";
  for (let k = 5; k >= 0; k--) {
    const b = Math.floor(v / 2 ** (8 * k)) % 256;
    s += (b < 16 ? "0" : "") + b.toString(16) + (k > 0 ? ":" : "");
  }
  return s;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated); returns the 48-bit value or -1. */
export function parseMac(text: string): number {
  const m =
    /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/.exec(
      text,
    );
  if (!m) return -1;
  let v = 0;
  for (let k = 1; k <= 6; k++) v = v * 256 + parseInt(m[k]!, 16);
  return v;
}

/** Reads a 6-byte big-endian MAC at `buf[off]` as a number (exact: 48 bits < 2^53). */
export function readMac(buf: Uint8Array, off: number): number {
  return (
    ((buf[off]! << 8) | buf[off + 1]!) * 4294967296 +
    (((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0)
  );
}

/** The u32 netmask of an IPv4 prefix length (0..32). */
export function maskV4(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}
