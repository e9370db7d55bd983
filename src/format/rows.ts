// SPDX-License-Identifier: BSD-3-Clause
// Row writers compiled once per output layout: the hot path of `-o line`, `csv`, `extended` and the other
// column formats.
//
// A layout (fmt.ts, csv.ts) is a list of parts: literal text, a code snippet for a common field, or a byte
// writer (the generic per-field function, used for rare fields and for the rare values of common ones). The
// parts become one generated function per layout that loops over a block's selected rows and writes ASCII
// bytes straight into the BufferedOutput's buffer: column arrays in locals, no call per field through an array
// of closures, no string per field. Numbers are written with a two-digit table, IPv4 addresses from a
// 256-entry octet table, protocol names and TCP flags from byte tables, and `YYYY-MM-DD hh:mm:ss` texts are
// kept as bytes per second (flow times repeat). A snippet handles the usual values (IPv4, counters below the
// scaled range, times inside Date's range) and hands anything else to the field's byte writer, the code
// every row went through before, so rare values print exactly as they did.
//
// Only schema column names, numeric literals and fixed helper names are spliced into the generated source;
// literal text becomes byte values and writers are bound constants.

import type { BufferedOutput } from "./out.js";
import type { BatchView } from "./view.js";
import { localDateTime, PROTO_NAMES, flagsString, zeroRun } from "./text.js";
import { PHYSICAL_COLUMNS, V6_BIT, type AddrColumnName, type PhysicalName } from "../record/schema.js";

/** Writes one field of row `i` at `o.pos` (room reserved by the caller). */
export type ByteWriter = (b: BatchView, i: number, o: BufferedOutput) => void;

/**
 * A field as generated code: statements writing at `buf[p…]` for row `i` (advancing `p`), reading the columns
 * in `cols` as locals `c_<name>`; `$SLOW` stands for a call of `slow` (the field's byte writer) for this row.
 */
export interface RowCode {
  readonly code: string;
  readonly cols: readonly PhysicalName[];
  readonly slow?: ByteWriter;
}

/** One part of a row: literal ASCII text, a generated field, or a byte writer called as is. */
export type RowPart = string | RowCode | ByteWriter;

/**
 * Writes rows `sel[0..n)` of a batch (rows 0..n when `sel` is null), each followed by a newline, into `o`.
 * Stops early when the output stopped (EPIPE).
 */
export type RowsWriter = (b: BatchView, sel: ArrayLike<number> | null, n: number, o: BufferedOutput) => void;

// ── byte helpers: (buf, p, …) → new p ────────────────────────────────────────────────────────────────

/** "00".."99" as byte pairs. */
const D2 = new Uint8Array(200);
for (let k = 0; k < 100; k++) {
  D2[2 * k] = 48 + ((k / 10) | 0);
  D2[2 * k + 1] = 48 + (k % 10);
}

// POW10[t]: the smallest number of t + 1 digits (0 for t = 0: every n below 8 has one digit, 0 included)
const POW10 = new Float64Array([0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);

/** Decimal digits of 0 ≤ n < 2^32 (from the bit length: no chain of comparisons to mispredict). */
function decLen(n: number): number {
  const t = ((32 - Math.clz32(n | 1)) * 1233) >>> 12;
  return t + 1 - (n < POW10[t]! ? 1 : 0);
}

/** Writes the digits of 0 ≤ x < 2^32 so that they end just before `end`. */
function digitsBefore(buf: Uint8Array, end: number, x: number): void {
  let e = end;
  while (x >= 100) {
    const q = (x / 100) >>> 0;
    const r = (x - q * 100) << 1;
    buf[--e] = D2[r + 1]!;
    buf[--e] = D2[r]!;
    x = q;
  }
  if (x >= 10) {
    buf[--e] = D2[(x << 1) + 1]!;
    buf[--e] = D2[x << 1]!;
  } else buf[--e] = 48 + x;
}

/** printf("%u") of 0 ≤ n < 2^32. */
export function putDec(buf: Uint8Array, p: number, n: number): number {
  const end = p + decLen(n);
  digitsBefore(buf, end, n);
  return end;
}

/** printf("%<w>u") of 0 ≤ n < 2^32: right-aligned in `w`. */
export function putDecRight(buf: Uint8Array, p: number, n: number, w: number): number {
  const d = decLen(n);
  for (let k = d; k < w; k++) buf[p++] = 32;
  digitsBefore(buf, p + d, n);
  return p + d;
}

/** printf("%-<w>u") of 0 ≤ n < 2^32: left-aligned in `w`. */
export function putDecLeft(buf: Uint8Array, p: number, n: number, w: number): number {
  const d = decLen(n);
  digitsBefore(buf, p + d, n);
  p += d;
  for (let k = d; k < w; k++) buf[p++] = 32;
  return p;
}

/** Three digits with leading zeros, 0 ≤ n < 1000 (milliseconds). */
export function put3(buf: Uint8Array, p: number, n: number): number {
  const h = (n / 100) | 0;
  const r = (n - h * 100) << 1;
  buf[p] = 48 + h;
  buf[p + 1] = D2[r]!;
  buf[p + 2] = D2[r + 1]!;
  return p + 3;
}

/** Two digits with leading zero, 0 ≤ n < 100. */
export function put2(buf: Uint8Array, p: number, n: number): number {
  buf[p] = D2[n << 1]!;
  buf[p + 1] = D2[(n << 1) + 1]!;
  return p + 2;
}

/** Octet table: per value, its length then up to three digit bytes. */
const OCTET = new Uint8Array(256 * 4);
for (let v = 0; v < 256; v++) {
  const s = String(v);
  OCTET[v * 4] = s.length;
  for (let k = 0; k < s.length; k++) OCTET[v * 4 + 1 + k] = s.charCodeAt(k);
}

/** Writes an octet's digits (always three bytes: the room is reserved; the next write overwrites the rest). */
function putOctet(buf: Uint8Array, p: number, v: number): number {
  const o = v << 2;
  buf[p] = OCTET[o + 1]!;
  buf[p + 1] = OCTET[o + 2]!;
  buf[p + 2] = OCTET[o + 3]!;
  return p + OCTET[o]!;
}

/** An IPv4 address (u32) as a dotted quad, right-aligned in `w` (0: no padding). */
export function putIPv4(buf: Uint8Array, p: number, v: number, w: number): number {
  const a = v >>> 24;
  const b = (v >>> 16) & 0xff;
  const c = (v >>> 8) & 0xff;
  const d = v & 0xff;
  if (w > 0) {
    const len = OCTET[a << 2]! + OCTET[b << 2]! + OCTET[c << 2]! + OCTET[d << 2]! + 3;
    for (let k = len; k < w; k++) buf[p++] = 32;
  }
  p = putOctet(buf, p, a);
  buf[p++] = 46;
  p = putOctet(buf, p, b);
  buf[p++] = 46;
  p = putOctet(buf, p, c);
  buf[p++] = 46;
  return putOctet(buf, p, d);
}

const HEX = new Uint8Array(16);
for (let k = 0; k < 16; k++) HEX[k] = "0123456789abcdef".charCodeAt(k);
const v6Text = new Uint8Array(48);
const v6Groups = new Uint16Array(8);

/** Lowercase hex of a 16-bit group without leading zeros. */
function putHexGroup(t: Uint8Array, q: number, g: number): number {
  if (g >= 0x1000) t[q++] = HEX[g >>> 12]!;
  if (g >= 0x100) t[q++] = HEX[(g >>> 8) & 15]!;
  if (g >= 0x10) t[q++] = HEX[(g >>> 4) & 15]!;
  t[q++] = HEX[g & 15]!;
  return q;
}

/**
 * An IPv6 address (four u32 words at `words[off…]`) as glibc inet_ntop prints it (text.ts formatIPv6: the
 * first longest run of ≥ 2 zero groups as `::`, `::a.b.c.d` and `::ffff:a.b.c.d`), right-aligned in `w`;
 * `condense`: texts longer than 16 become their first 7 characters, `..`, their last 7 (nfdump CondenseV6).
 */
export function putIPv6(
  buf: Uint8Array,
  p: number,
  words: ArrayLike<number>,
  off: number,
  w: number,
  condense: boolean,
): number {
  const g = v6Groups;
  for (let k = 0; k < 4; k++) {
    const v = words[off + k]! >>> 0;
    g[2 * k] = v >>> 16;
    g[2 * k + 1] = v & 0xffff;
  }
  const run = zeroRun(g);
  const bestBase = run < 0 ? -1 : run >> 4;
  const bestLen = run & 15;
  const t = v6Text;
  let q = 0;
  let dotted = false;
  for (let k = 0; k < 8; k++) {
    if (bestBase >= 0 && k >= bestBase && k < bestBase + bestLen) {
      if (k === bestBase) t[q++] = 58;
      continue;
    }
    if (k !== 0) t[q++] = 58;
    if (k === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      q = putIPv4(t, q, words[off + 3]! >>> 0, 0);
      dotted = true;
      break;
    }
    q = putHexGroup(t, q, g[k]!);
  }
  if (!dotted && bestBase >= 0 && bestBase + bestLen === 8) t[q++] = 58;
  if (condense && q > 16) {
    for (let k = 16; k < w; k++) buf[p++] = 32;
    for (let k = 0; k < 7; k++) buf[p + k] = t[k]!;
    buf[p + 7] = 46;
    buf[p + 8] = 46;
    for (let k = 0; k < 7; k++) buf[p + 9 + k] = t[q - 7 + k]!;
    return p + 16;
  }
  for (let k = q; k < w; k++) buf[p++] = 32;
  for (let k = 0; k < q; k++) buf[p + k] = t[k]!;
  return p + q;
}

/** Fixed-width texts by byte value (8 bytes each): protocol names `%-5s`, numeric with -N, TCP flags. */
function table8(text: (v: number) => string): Uint8Array {
  const t = new Uint8Array(256 * 8);
  for (let v = 0; v < 256; v++) {
    const s = text(v);
    if (s.length > 8) throw new RangeError(`format: table text '${s}' longer than 8`);
    for (let k = 0; k < 8; k++) t[v * 8 + k] = k < s.length ? s.charCodeAt(k) : 0;
  }
  return t;
}

/** Copies a table8 entry (its length is fixed per table: `len`). */
export function putTable(buf: Uint8Array, p: number, t: Uint8Array, v: number, len: number): number {
  const o = (v & 0xff) << 3;
  for (let k = 0; k < len; k++) buf[p + k] = t[o + k]!;
  return p + len;
}

interface Tables {
  /** `%-5s` protocol names (nfdump's table; numbers from 138 on); every entry is 5 characters. */
  readonly PROTO5: Uint8Array;
  /** `%-5i` protocol numbers (-N). */
  readonly PROTO5_PLAIN: Uint8Array;
  /** TCP flags, 8 characters. */
  readonly FLAGS8: Uint8Array;
}
let tables: Tables | undefined;

/** The fixed-width tables, built when the first row writer is compiled (a run that lists no row never needs them). */
function fixedTables(): Tables {
  tables ??= {
    PROTO5: table8((v) => (PROTO_NAMES[v] ?? String(v)).padEnd(5)),
    PROTO5_PLAIN: table8((v) => String(v).padEnd(5)),
    FLAGS8: table8((v) => flagsString(v)),
  };
  return tables;
}

const TIME_SLOTS = 256;
const TIME_STRIDE = 32;
const timeKey = new Float64Array(TIME_SLOTS).fill(NaN);
const timeLen = new Uint8Array(TIME_SLOTS);
const timeText = new Uint8Array(TIME_SLOTS * TIME_STRIDE);

/** strftime("%Y-%m-%d %H:%M:%S", localtime(sec)) as bytes, kept per second in a direct-mapped cache. */
export function putDateTime(buf: Uint8Array, p: number, sec: number): number {
  const slot = sec & (TIME_SLOTS - 1);
  const base = slot * TIME_STRIDE;
  if (timeKey[slot] !== sec) {
    const s = localDateTime(sec);
    if (s.length > TIME_STRIDE) {
      for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
      return p;
    }
    for (let k = 0; k < s.length; k++) timeText[base + k] = s.charCodeAt(k);
    timeLen[slot] = s.length;
    timeKey[slot] = sec;
  }
  const len = timeLen[slot]!;
  for (let k = 0; k < len; k++) buf[p + k] = timeText[base + k]!;
  return p + len;
}

const HELPERS = {
  putDec,
  putDecRight,
  putDecLeft,
  put2,
  put3,
  putIPv4,
  putIPv6,
  putTable,
  putDateTime,
  get PROTO5(): Uint8Array {
    return fixedTables().PROTO5;
  },
  get PROTO5_PLAIN(): Uint8Array {
    return fixedTables().PROTO5_PLAIN;
  },
  get FLAGS8(): Uint8Array {
    return fixedTables().FLAGS8;
  },
};

/** A helper name usable in a snippet. */
export type HelperName = keyof typeof HELPERS;

// ── the compiler ─────────────────────────────────────────────────────────────────────────────────────

const PHYSICAL = new Set<string>(PHYSICAL_COLUMNS.map((pc) => pc.name));

function literalCode(text: string, lits: Uint8Array[]): string {
  const bytes = Buffer.from(text, "latin1");
  if (bytes.length <= 8) {
    let s = "";
    for (let k = 0; k < bytes.length; k++) s += `buf[p${k > 0 ? ` + ${k}` : ""}] = ${bytes[k]!}; `;
    return `${s}p += ${bytes.length};`;
  }
  lits.push(new Uint8Array(bytes));
  const k = lits.length - 1;
  return `buf.set(L[${k}], p); p += ${bytes.length};`;
}

/**
 * Compiles a row layout into one writer function. `reserve`: most bytes one row may take (≤ OUTPUT_RECORD_MAX,
 * the room BufferedOutput keeps beyond its chunk size).
 */
export function compileRows(parts: readonly RowPart[], reserve: number): RowsWriter {
  const used = new Set<string>();
  const slow: ByteWriter[] = [];
  const lits: Uint8Array[] = [];
  let body = "";
  // adjacent literal texts are merged
  let pending = "";
  const flush = (): void => {
    if (pending !== "") body += `    ${literalCode(pending, lits)}\n`;
    pending = "";
  };
  for (const part of parts) {
    if (typeof part === "string") {
      pending += part;
      continue;
    }
    flush();
    if (typeof part === "function") {
      slow.push(part);
      body += `    o.pos = p; S[${slow.length - 1}](view, i, o); p = o.pos;\n`;
      continue;
    }
    for (const c of part.cols) {
      if (!PHYSICAL.has(c) || !/^[A-Za-z][A-Za-z0-9]*$/.test(c)) throw new RangeError(`format: bad column ${c}`);
      used.add(c);
    }
    let code = part.code;
    if (code.includes("$SLOW")) {
      if (!part.slow) throw new RangeError("format: $SLOW without a slow writer");
      slow.push(part.slow);
      code = code.replaceAll("$SLOW", `{ o.pos = p; S[${slow.length - 1}](view, i, o); p = o.pos; }`);
    }
    body += `    { ${code} }\n`;
  }
  flush();
  const names = Object.keys(HELPERS);
  const cols = [...used].map((c) => `  const c_${c} = cols.${c};\n`).join("");
  const src =
    `const { ${names.join(", ")} } = H;\n` +
    `return function rows(view, sel, n, o) {\n` +
    `  if (o.stopped) return;\n` +
    `  const cols = view.cols;\n${cols}` +
    `  const chunk = o.chunk;\n` +
    `  let buf = o.buf;\n` +
    `  let p = o.pos;\n` +
    `  for (let j = 0; j < n; j++) {\n` +
    `    const i = sel === null ? j : sel[j];\n` +
    `    if (p >= chunk || p + ${reserve} > buf.length) {\n` +
    `      o.pos = p; o.ensure(${reserve});\n` +
    `      if (o.stopped) return;\n` +
    `      buf = o.buf; p = o.pos;\n` +
    `    }\n` +
    body +
    `    buf[p++] = 10;\n` +
    `  }\n` +
    `  o.pos = p;\n` +
    `};\n`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function("H", "S", "L", src) as (
    h: typeof HELPERS,
    s: readonly ByteWriter[],
    l: readonly Uint8Array[],
  ) => RowsWriter;
  return make(HELPERS, slow, lits);
}

// ── snippets shared by the layouts ───────────────────────────────────────────────────────────────────

/** A local time with milliseconds (`YYYY-MM-DD hh:mm:ss.mmm`, %ts %te %tr). */
export function timeCode(col: PhysicalName, slow: ByteWriter): RowCode {
  return {
    cols: [col],
    slow,
    code:
      `const ms = c_${col}[i]; ` +
      `if (ms >= 0 && ms < 8.64e15 && ms === Math.floor(ms)) { ` +
      `const s = Math.floor(ms / 1000); p = putDateTime(buf, p, s); buf[p] = 46; p = put3(buf, p + 1, ms - s * 1000); ` +
      `} else $SLOW`,
  };
}

/**
 * A non-negative integer column right-aligned in `width` (0: no padding); values from 2^32 on (and anything
 * not a non-negative integer) go to `slow`. `orOne`: 0 prints as 1 (nfdump's flows).
 */
export function uintCode(col: PhysicalName, width: number, slow: ByteWriter, orOne = false): RowCode {
  const put = width > 0 ? `putDecRight(buf, p, v, ${width | 0})` : "putDec(buf, p, v)";
  return {
    cols: [col],
    slow,
    code: `const v = c_${col}[i]${orOne ? " || 1" : ""}; if (v >>> 0 === v) p = ${put}; else $SLOW`,
  };
}

/**
 * An address column right-aligned in `width` (0: no padding); IPv6 condensed to 16 characters when `condense`
 * (the column formats without -6).
 */
export function addrCode(col: AddrColumnName, width: number, condense: boolean): RowCode {
  return {
    cols: [col, "v6Flags"],
    code:
      `if ((c_v6Flags[i] & ${V6_BIT[col] | 0}) === 0) p = putIPv4(buf, p, c_${col}[i], ${width | 0}); ` +
      `else p = putIPv6(buf, p, cols.${col}6, i * 4, ${width | 0}, ${condense ? "true" : "false"});`,
  };
}
