// SPDX-License-Identifier: BSD-3-Clause
// FilterNode → one generated block-scan function per query (compile, don't interpret), plus
// the zone-map predicate for block skipping and a slow interpreter kept for differential tests.
//
// The generator splices only schema column names (checked against the schema) and numeric literals into
// the source; address lists, large number sets and ident strings are bound constants (`K[j]`) and the
// derived-value helpers (`H`) are plain module functions. The generated scan looks like
//
//   const c0 = cols.proto, c1 = cols.dstPort;
//   let k = 0;
//   for (let i = 0; i < n; i++) if ((c0[i] === 6 && c1[i] === 443)) sel[k++] = i;
//   return k;

import type { RecordBatch } from "../record/batch.js";
import { COLUMN, type AddrColumnName, type ColumnArrays, V6_BIT } from "../record/schema.js";
import type { ZoneMap } from "../record/zone.js";
import type { CmpOp, FilterNode, NumColumn, Prefix4, Prefix6 } from "./ast.js";

// ── helpers shared by the generated code and the interpreter ───────────────────────────────────────

const TWO64 = 18446744073709551616;

/** nfdump: msecLast − msecFirst as uint64 (a negative difference wraps). */
export function durationOf(first: number, last: number): number {
  const d = last - first;
  return d < 0 ? d + TWO64 : d;
}
export function ppsOf(packets: number, first: number, last: number): number {
  const d = durationOf(first, last);
  return d === 0 ? 0 : Math.floor((1000 * packets) / d);
}
export function bpsOf(bytes: number, first: number, last: number): number {
  const d = durationOf(first, last);
  return d === 0 ? 0 : Math.floor((8000 * bytes) / d);
}
export function bppOf(bytes: number, packets: number): number {
  return packets > 0 ? Math.floor(bytes / packets) : 0;
}
/** nfdump's mpls eos: the label (20 bits) of the first entry with the bottom-of-stack bit, else 0xff00000. */
export function mplsEosOf(m: readonly ArrayLike<number>[], i: number): number {
  for (let k = 0; k < 10; k++) {
    const v = m[k]![i]!;
    if ((v & 1) !== 0) return (v >>> 4) & 0xfffff;
  }
  return 0xff00000;
}
export function mplsAnyOf(m: readonly ArrayLike<number>[], i: number, label: number): boolean {
  for (let k = 0; k < 10; k++) if (((m[k]![i]! >>> 4) & 0xfffff) === label) return true;
  return false;
}

/**
 * Prefix sets for IPv4: per distinct prefix length one open-addressing hash table of the networks
 * (linear probing, load ≤ 1/2), all in flat typed arrays so the lookup stays monomorphic:
 * `meta` = [mask, offset, bits] per group, `keys`/`used` = the slots of every group back to back.
 */
export interface V4Table {
  readonly meta: Uint32Array;
  readonly keys: Uint32Array;
  readonly used: Uint8Array;
  /**
   * Per group a 65536-bit pre-filter (2048 words) over the top 16 bits of the key's hash: the generated scan
   * tests it inline and calls inV4Group only on a hit, so most non-matching rows cost no call.
   */
  readonly bitmaps: Int32Array;
}

const HASH_MUL = 0x9e3779b1;
const BITMAP_WORDS = 2048;

export function buildV4Table(prefixes: readonly Prefix4[]): V4Table {
  const byLen = new Map<number, Set<number>>();
  for (const p of prefixes) {
    let s = byLen.get(p.len);
    if (!s) byLen.set(p.len, (s = new Set()));
    s.add(p.net >>> 0);
  }
  const lens = [...byLen.keys()].sort((a, b) => b - a);
  const meta = new Uint32Array(lens.length * 3);
  let total = 0;
  const bitsOf = lens.map((l) => {
    let bits = 1;
    while (1 << bits < byLen.get(l)!.size * 2) bits++;
    return bits;
  });
  lens.forEach((l, g) => {
    meta[g * 3] = maskOf(l);
    meta[g * 3 + 1] = total;
    meta[g * 3 + 2] = bitsOf[g]!;
    total += 1 << bitsOf[g]!;
  });
  const keys = new Uint32Array(total);
  const used = new Uint8Array(total);
  const bitmaps = new Int32Array(lens.length * BITMAP_WORDS);
  lens.forEach((l, g) => {
    const off = meta[g * 3 + 1]!;
    const bits = meta[g * 3 + 2]!;
    const size = 1 << bits;
    for (const v of byLen.get(l)!) {
      const h16 = Math.imul(v, HASH_MUL) >>> 16;
      bitmaps[g * BITMAP_WORDS + (h16 >>> 5)]! |= 1 << (h16 & 31);
      let h = Math.imul(v, HASH_MUL) >>> (32 - bits);
      while (used[off + h] === 1) h = (h + 1) & (size - 1);
      used[off + h] = 1;
      keys[off + h] = v;
    }
  });
  return { meta, keys, used, bitmaps };
}

function maskOf(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** One group of a V4Table, with its parameters as arguments (the generated scan passes literals). */
export function inV4Group(
  keys: Uint32Array,
  used: Uint8Array,
  mask: number,
  off: number,
  bits: number,
  addr: number,
): boolean {
  const v = (addr & mask) >>> 0;
  const wrap = (1 << bits) - 1;
  let h = Math.imul(v, HASH_MUL) >>> (32 - bits);
  while (used[off + h] === 1) {
    if (keys[off + h] === v) return true;
    h = (h + 1) & wrap;
  }
  return false;
}

export function inV4Table(t: V4Table, addr: number): boolean {
  const meta = t.meta;
  const keys = t.keys;
  const used = t.used;
  for (let g = 0; g + 2 < meta.length; g += 3) {
    const v = (addr & meta[g]!) >>> 0;
    const off = meta[g + 1]!;
    const bits = meta[g + 2]!;
    const wrap = (1 << bits) - 1;
    let h = Math.imul(v, HASH_MUL) >>> (32 - bits);
    while (used[off + h] === 1) {
      if (keys[off + h] === v) return true;
      h = (h + 1) & wrap;
    }
  }
  return false;
}

/** IPv6 prefixes as 8 words each: 4 network words then 4 mask words. Linear scan (lists are short). */
export function buildV6Table(prefixes: readonly Prefix6[]): Uint32Array {
  const out = new Uint32Array(prefixes.length * 8);
  prefixes.forEach((p, j) => {
    for (let k = 0; k < 4; k++) {
      out[j * 8 + k] = p.words[k]!;
      out[j * 8 + 4 + k] = maskOf(Math.max(0, Math.min(32, p.len - 32 * k)));
    }
  });
  return out;
}

export function inV6Table(t: Uint32Array, words: Uint32Array, i: number): boolean {
  const o = i * 4;
  const w0 = words[o]!;
  const w1 = words[o + 1]!;
  const w2 = words[o + 2]!;
  const w3 = words[o + 3]!;
  for (let j = 0; j + 8 <= t.length; j += 8) {
    if (
      (w0 & t[j + 4]!) >>> 0 === t[j] &&
      (w1 & t[j + 5]!) >>> 0 === t[j + 1] &&
      (w2 & t[j + 6]!) >>> 0 === t[j + 2] &&
      (w3 & t[j + 7]!) >>> 0 === t[j + 3]
    )
      return true;
  }
  return false;
}

export function inSorted(tab: ArrayLike<number>, v: number): boolean {
  let lo = 0;
  let hi = tab.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = tab[mid]!;
    if (x < v) lo = mid + 1;
    else if (x > v) hi = mid - 1;
    else return true;
  }
  return false;
}

const HELPERS = {
  durationOf,
  ppsOf,
  bpsOf,
  bppOf,
  mplsEosOf,
  mplsAnyOf,
  inV4Table,
  inV4Group,
  inV6Table,
  inSorted,
} as const;

const MPLS = ["mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9", "mpls10"] as const;

// ── interpreter ────────────────────────────────────────────────────────────────────────────────────

function compare(a: number, op: CmpOp, b: number): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "gt":
      return a > b;
    case "lt":
      return a < b;
    case "ge":
      return a >= b;
    case "le":
      return a <= b;
  }
}

/** Evaluates `node` for row `i` (slow path: differential tests and -X explanations). */
export function evaluateRow(node: FilterNode, batch: RecordBatch, i: number, ident?: string): boolean {
  const c = batch.cols;
  switch (node.t) {
    case "const":
      return node.v;
    case "and":
      return node.a.every((x) => evaluateRow(x, batch, i, ident));
    case "or":
      return node.a.some((x) => evaluateRow(x, batch, i, ident));
    case "not":
      return !evaluateRow(node.a, batch, i, ident);
    case "cmp":
      return compare(c[node.col][i]!, node.op, node.v);
    case "bits":
      return compare((c[node.col][i]! >>> node.shift) & node.mask, node.op, node.v);
    case "flags": {
      const f = c.tcpFlags[i]! & node.mask;
      return node.any ? f !== 0 : f === node.mask;
    }
    case "set":
      return node.values.includes(c[node.col][i]!);
    case "family":
      return batch.isV6(node.col, i) === node.v6;
    case "prefix4":
      return !batch.isV6(node.col, i) && (c[node.col][i]! & node.mask) >>> 0 === node.net;
    case "prefix6":
      return (
        batch.isV6(node.col, i) && inV6Table(buildV6Table([{ words: node.words, len: node.len }]), c[`${node.col}6`], i)
      );
    case "list":
      if (batch.isV6(node.col, i)) return inV6Table(buildV6Table(node.v6), c[`${node.col}6`], i);
      return node.v4.some((p) => (c[node.col][i]! & maskOf(p.len)) >>> 0 === p.net);
    case "fn": {
      let v: number;
      switch (node.fn) {
        case "duration":
          v = durationOf(c.msecFirst[i]!, c.msecLast[i]!);
          break;
        case "pps":
          v = ppsOf(c.inPackets[i]!, c.msecFirst[i]!, c.msecLast[i]!);
          break;
        case "bps":
          v = bpsOf(c.inBytes[i]!, c.msecFirst[i]!, c.msecLast[i]!);
          break;
        case "bpp":
          v = bppOf(c.inBytes[i]!, c.inPackets[i]!);
          break;
        case "mplsEos":
          v = mplsEosOf(
            MPLS.map((m) => c[m]),
            i,
          );
          break;
      }
      return compare(v, node.op, node.v);
    }
    case "mplsAny":
      return mplsAnyOf(
        MPLS.map((m) => c[m]),
        i,
        node.v,
      );
    case "ident":
      return ident === node.value;
  }
}

// ── code generation ────────────────────────────────────────────────────────────────────────────────

const OPS: Record<CmpOp, string> = { eq: "===", gt: ">", lt: "<", ge: ">=", le: "<=" };

/** A number as a JavaScript literal (only finite numbers are ever spliced into code). */
function lit(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`filter compiler: non-finite literal ${v}`);
  return Object.is(v, -0) ? "0" : String(v);
}

/** i32 view of a u32, for comparisons against `x & mask` (which yields a signed int32). */
function i32(v: number): string {
  return lit(v | 0);
}

class CodeGen {
  readonly consts: unknown[] = [];
  readonly locals = new Map<string, string>();
  readonly preamble: string[] = [];
  /** Columns the scan reads (physical names). */
  readonly used = new Set<string>();

  col(name: string): string {
    // only schema column names reach generated code
    const known =
      name === "v6Flags" ||
      name in COLUMN ||
      (name.endsWith("6") &&
        (COLUMN as Record<string, { type: string } | undefined>)[name.slice(0, -1)]?.type === "addr");
    if (!known) throw new Error(`filter compiler: unknown column ${name}`);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`filter compiler: bad column name ${name}`);
    let v = this.locals.get(name);
    if (v === undefined) {
      v = `c${this.locals.size}`;
      this.locals.set(name, v);
      this.used.add(name);
      this.preamble.push(`const ${v} = cols.${name};`);
    }
    return v;
  }

  /** Binds a constant (list, table, string) and returns the local that holds it in the scan. */
  bind(value: unknown): string {
    this.consts.push(value);
    const j = this.consts.length - 1;
    const v = `k${j}`;
    this.preamble.push(`const ${v} = K[${j}];`);
    return v;
  }

  local(expr: string): string {
    const v = `v${this.preamble.length}`;
    this.preamble.push(`const ${v} = ${expr};`);
    return v;
  }

  isV6(col: AddrColumnName): string {
    return `(${this.col("v6Flags")}[i] & ${lit(V6_BIT[col])}) !== 0`;
  }

  expr(n: FilterNode): string {
    switch (n.t) {
      case "const":
        return n.v ? "true" : "false";
      case "and":
        return `(${n.a.map((x) => this.expr(x)).join(" && ")})`;
      case "or":
        return `(${n.a.map((x) => this.expr(x)).join(" || ")})`;
      case "not":
        return `!${this.expr(n.a)}`;
      case "cmp":
        return `(${this.col(n.col)}[i] ${OPS[n.op]} ${lit(n.v)})`;
      case "bits":
        return `(((${this.col(n.col)}[i] >>> ${lit(n.shift)}) & ${lit(n.mask)}) ${OPS[n.op]} ${lit(n.v)})`;
      case "flags":
        return n.any
          ? `((${this.col("tcpFlags")}[i] & ${lit(n.mask)}) !== 0)`
          : `((${this.col("tcpFlags")}[i] & ${lit(n.mask)}) === ${lit(n.mask)})`;
      case "set": {
        const c = this.col(n.col);
        if (n.values.length <= 8) return `(${n.values.map((v) => `${c}[i] === ${lit(v)}`).join(" || ")})`;
        return `inSorted(${this.bind(Float64Array.from(n.values))}, ${c}[i])`;
      }
      case "family":
        return n.v6 ? `(${this.isV6(n.col)})` : `!(${this.isV6(n.col)})`;
      case "prefix4": {
        const c = this.col(n.col);
        const test =
          n.mask === 0xffffffff
            ? `${c}[i] === ${lit(n.net)}`
            : n.mask === 0
              ? "true"
              : `(${c}[i] & ${i32(n.mask)}) === ${i32(n.net)}`;
        // IPv6 rows hold 0 in the u32 column: only a prefix that contains 0.0.0.0 needs the family test
        return n.net === 0 ? `(!(${this.isV6(n.col)}) && ${test})` : `(${test})`;
      }
      case "prefix6": {
        const w = this.col(`${n.col}6`);
        const parts = [this.isV6(n.col)];
        for (let k = 0; k < 4; k++) {
          const bits = Math.max(0, Math.min(32, n.len - 32 * k));
          if (bits === 0) break;
          const m = maskOf(bits);
          parts.push(
            m === 0xffffffff
              ? `${w}[4 * i + ${k}] === ${lit(n.words[k]!)}`
              : `(${w}[4 * i + ${k}] & ${i32(m)}) === ${i32(n.words[k]!)}`,
          );
        }
        return `(${parts.join(" && ")})`;
      }
      case "list": {
        const c = this.col(n.col);
        const parts: string[] = [];
        if (n.v4.length > 0) {
          const table = buildV4Table(n.v4);
          const keys = this.bind(table.keys);
          const used = this.bind(table.used);
          const bm = this.bind(table.bitmaps);
          // fast path: an inline bitmap pre-filter, then one hash probe per prefix length (parameters as literals)
          const groups: string[] = [];
          for (let g = 0; g + 2 < table.meta.length; g += 3) {
            const mask = table.meta[g]!;
            const x = mask === 0xffffffff ? `${c}[i]` : `(${c}[i] & ${i32(mask)})`;
            const h = `Math.imul(${x}, ${i32(HASH_MUL)})`;
            const pre = `(${bm}[${lit((g / 3) * BITMAP_WORDS)} + (${h} >>> 21)] & (1 << ((${h} >>> 16) & 31))) !== 0`;
            groups.push(
              `(${pre} && inV4Group(${keys}, ${used}, ${i32(mask)}, ${lit(table.meta[g + 1]!)}, ${lit(table.meta[g + 2]!)}, ${c}[i]))`,
            );
          }
          const test = groups.length === 1 ? groups[0]! : `(${groups.join(" || ")})`;
          const hasZero = n.v4.some((p) => p.net === 0);
          parts.push(hasZero || n.v6.length > 0 ? `(!(${this.isV6(n.col)}) && ${test})` : test);
        }
        if (n.v6.length > 0) {
          const t = this.bind(buildV6Table(n.v6));
          parts.push(`(${this.isV6(n.col)} && inV6Table(${t}, ${this.col(`${n.col}6`)}, i))`);
        }
        return `(${parts.join(" || ")})`;
      }
      case "fn": {
        const first = () => `${this.col("msecFirst")}[i]`;
        const last = () => `${this.col("msecLast")}[i]`;
        let v: string;
        switch (n.fn) {
          case "duration":
            v = `durationOf(${first()}, ${last()})`;
            break;
          case "pps":
            v = `ppsOf(${this.col("inPackets")}[i], ${first()}, ${last()})`;
            break;
          case "bps":
            v = `bpsOf(${this.col("inBytes")}[i], ${first()}, ${last()})`;
            break;
          case "bpp":
            v = `bppOf(${this.col("inBytes")}[i], ${this.col("inPackets")}[i])`;
            break;
          case "mplsEos":
            v = `mplsEosOf(${this.mplsArray()}, i)`;
            break;
        }
        return `(${v} ${OPS[n.op]} ${lit(n.v)})`;
      }
      case "mplsAny":
        return `mplsAnyOf(${this.mplsArray()}, i, ${lit(n.v)})`;
      case "ident":
        return this.local(`ident === ${this.bind(n.value)}`);
    }
  }

  mplsArray(): string {
    const have = this.locals.get("#mpls");
    if (have !== undefined) return have;
    const v = this.local(`[${MPLS.map((m) => this.col(m)).join(", ")}]`);
    this.locals.set("#mpls", v);
    return v;
  }
}

export interface GeneratedScan {
  readonly source: string;
  readonly scan: (cols: ColumnArrays, n: number, sel: Uint32Array, ident: string | undefined) => number;
  readonly columns: readonly string[];
}

type Factory = (K: readonly unknown[], H: typeof HELPERS) => GeneratedScan["scan"];

/** Generates the block-scan function for a (folded) filter tree. */
export function generateScan(node: FilterNode): GeneratedScan {
  const g = new CodeGen();
  const cond = g.expr(node);
  const body =
    node.t === "const"
      ? node.v
        ? "  for (let i = 0; i < n; i++) sel[i] = i;\n  return n;"
        : "  return 0;"
      : `  let k = 0;\n  for (let i = 0; i < n; i++) if (${cond}) sel[k++] = i;\n  return k;`;
  const pre = g.preamble.map((l) => `  ${l}\n`).join("");
  const source = `function scan(cols, n, sel, ident) {\n${pre}${body}\n}`;
  const helpers = Object.keys(HELPERS)
    .map((h) => `const ${h} = H.${h};`)
    .join(" ");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compile, don't interpret; only column names and numbers are spliced
  const factory = new Function("K", "H", `"use strict"; ${helpers}\nreturn ${source};`) as Factory;
  return { source, scan: factory(g.consts, HELPERS), columns: [...g.used].filter((c) => c !== "#mpls") };
}

// ── zone maps ─────────────────────────────────────────────────────────────────────────────────────

/** Some value in [lo, hi] satisfies `x op v`. */
function rangeMay(lo: number, hi: number, op: CmpOp, v: number): boolean {
  switch (op) {
    case "eq":
      return lo <= v && v <= hi;
    case "gt":
      return hi > v;
    case "lt":
      return lo < v;
    case "ge":
      return hi >= v;
    case "le":
      return lo <= v;
  }
}

/** Some value in [lo, hi] fails `x op v`. */
function rangeMayNot(lo: number, hi: number, op: CmpOp, v: number): boolean {
  switch (op) {
    case "eq":
      return !(lo === v && hi === v);
    case "gt":
      return lo <= v;
    case "lt":
      return hi >= v;
    case "ge":
      return lo < v;
    case "le":
      return hi > v;
  }
}

function range(zone: ZoneMap, col: NumColumn): [number, number] | undefined {
  const lo = zone.min(col);
  const hi = zone.max(col);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

/**
 * Whether some row of a block described by `zone` may satisfy (`want` = true) or fail (`want` = false) `n`.
 * Conservative: answers true whenever unsure.
 */
export function zoneMay(n: FilterNode, zone: ZoneMap, want: boolean, ident?: string): boolean {
  switch (n.t) {
    case "const":
      return n.v === want;
    case "and":
      return want ? n.a.every((x) => zoneMay(x, zone, true, ident)) : n.a.some((x) => zoneMay(x, zone, false, ident));
    case "or":
      return want ? n.a.some((x) => zoneMay(x, zone, true, ident)) : n.a.every((x) => zoneMay(x, zone, false, ident));
    case "not":
      return zoneMay(n.a, zone, !want, ident);
    case "cmp": {
      const r = range(zone, n.col);
      if (r === undefined) return true;
      return want ? rangeMay(r[0], r[1], n.op, n.v) : rangeMayNot(r[0], r[1], n.op, n.v);
    }
    case "set": {
      if (!want) return true;
      const r = range(zone, n.col);
      return r === undefined || n.values.some((v) => v >= r[0] && v <= r[1]);
    }
    case "family":
      return n.v6 === want ? zone.hasV6(n.col) : zone.hasV4(n.col);
    case "prefix4":
      if (!want) return true;
      return zone.hasV4(n.col) && zone.mayContainV4(n.col, (n.net & n.mask) >>> 0, (n.net | ~n.mask) >>> 0);
    case "prefix6":
      if (!want) return true;
      return zone.hasV6(n.col) && zone.mayContainV6(n.col, n.words, n.len);
    case "list":
      if (!want) return true;
      return (
        (n.v4.length > 0 &&
          zone.hasV4(n.col) &&
          n.v4.some((p) => zone.mayContainV4(n.col, p.net, (p.net | ~maskOf(p.len)) >>> 0))) ||
        (n.v6.length > 0 && zone.hasV6(n.col) && n.v6.some((p) => zone.mayContainV6(n.col, p.words, p.len)))
      );
    case "ident":
      // known when the caller passes the file's ident: whole files can be skipped
      return ident === undefined || (ident === n.value) === want;
    case "bits":
    case "flags":
    case "fn":
    case "mplsAny":
      return true;
  }
}
