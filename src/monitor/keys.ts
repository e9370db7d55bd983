// SPDX-License-Identifier: BSD-3-Clause
// Monitor keys: the elements a monitor groups flows by (srcip, dstip/24, srcip6/64, dstport, exporter, ...),
// packed per row into a fixed number of u32 words so the heavy-hitter table hashes and compares them without
// an object or a string per flow. An address element takes five words: a family word (0 IPv4, 1 IPv6) and the
// masked address (IPv4 in the first word, IPv6 as four big-endian words).
//
// The hot path looks a whole chunk's keys up at once (`probe`): one function generated per key from its
// elements (straight-line code, no loop over elements or branch on their kinds per row) computes each selected
// row's words and hash (`hashKey` of the packed words) from the columns and probes the bounded table with them;
// only a key that enters the table is written out.

import type { ColumnArrays } from "../record/schema.js";
import { COLUMN } from "../record/schema.js";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../record/ip.js";

export type ElementKind = "addr" | "int";

export interface KeyElement {
  /** as written in the configuration, e.g. `dstip/24` */
  readonly text: string;
  /** the database column / JSON key: srcip, dstip, srcport, ... (exporter for the router address) */
  readonly name: string;
  readonly kind: ElementKind;
  /** physical column (the u32 or u16 column; addresses also read `<column>6` and v6Flags) */
  readonly column: string;
  readonly v6bit: number;
  readonly v4mask: number;
  readonly v6mask: number;
  /** words of the packed key */
  readonly words: number;
  /** PostgreSQL type of the column */
  readonly sqlType: string;
}

const ADDRS: Record<string, { column: string; v6bit: number }> = {
  srcip: { column: "srcAddr", v6bit: COLUMN.srcAddr.v6bit },
  dstip: { column: "dstAddr", v6bit: COLUMN.dstAddr.v6bit },
  exporter: { column: "exporterAddr", v6bit: COLUMN.exporterAddr.v6bit },
};
const ADDR_ALIAS: Record<string, string> = { srcnet: "srcip", dstnet: "dstip" };

const INTS: Record<string, { column: string; sqlType: string }> = {
  srcport: { column: "srcPort", sqlType: "integer" },
  dstport: { column: "dstPort", sqlType: "integer" },
  proto: { column: "proto", sqlType: "smallint" },
  srcas: { column: "srcAs", sqlType: "bigint" },
  dstas: { column: "dstAs", sqlType: "bigint" },
  inif: { column: "input", sqlType: "bigint" },
  outif: { column: "output", sqlType: "bigint" },
};

const HASH_SEED = 0x811c9dc5 | 0;
const HASH_MUL = 0x01000193;
/** HASH_MUL³ (mod 2³²): three zero words */
const HASH_MUL3 = Math.imul(Math.imul(HASH_MUL, HASH_MUL), HASH_MUL) >>> 0;

/** Hash of the packed key at `buf[off .. off + width)` (a multiply per word, murmur3's finalizer); the probe
 * function computes the same from the columns. */
export function hashKey(buf: Uint32Array, off: number, width: number): number {
  let h = HASH_SEED;
  for (let k = 0; k < width; k++) h = Math.imul(h ^ buf[off + k]!, HASH_MUL);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The parts of a KeyTable the probe reads and fills (table.ts). */
export interface ProbeTable {
  readonly width: number;
  readonly capacity: number;
  readonly keys: Uint32Array;
  readonly hashes: Uint32Array;
  readonly live: Uint8Array;
  readonly index: Int32Array;
  readonly mask: number;
  readonly free: Int32Array;
  freeTop: number;
  size: number;
  end: number;
}

/**
 * Looks up the keys of rows `sel[from..to)` of a chunk in a table: `ent[j]` = the entry, or -1 when absent.
 * With `insert`, an absent key is added instead and `ent[j]` = -2 - entry (the caller initializes it); when the
 * table is full the probe stops at that row and returns its j (the caller evicts and goes on from there).
 * Returns `to` when every row was looked up.
 */
export type RowProbe = (
  cols: ColumnArrays,
  sel: Uint32Array,
  from: number,
  to: number,
  t: ProbeTable,
  ent: Int32Array,
  insert: boolean,
) => number;

/**
 * Generated source of a key's RowProbe: straight-line code for its elements (only numbers and checked column
 * names are spliced in). The row's key words are locals, compared with the table's and stored only on insert.
 */
function probeSource(elements: readonly KeyElement[], width: number): string {
  const SAFE = /^[A-Za-z][A-Za-z0-9]*$/;
  const head: string[] = ["const f = cols.v6Flags;"];
  const body: string[] = [];
  const masked = (expr: string, bits: number): string =>
    bits >= 32 ? expr : bits <= 0 ? "0" : `((${expr} & ${(0xffffffff << (32 - bits)) >>> 0}) >>> 0)`;
  let off = 0;
  elements.forEach((e, k) => {
    if (!SAFE.test(e.column)) throw new Error(`monitor key: unsafe column name ${e.column}`);
    head.push(`const c${k} = cols.${e.column};`);
    const w = (x: number): string => `w${off + x}`;
    if (e.kind === "int") {
      body.push(`${w(0)} = c${k}[i] >>> 0;`, `h = Math.imul(h ^ ${w(0)}, ${HASH_MUL});`);
    } else {
      head.push(`const x${k} = cols.${e.column}6;`);
      let bits = e.v6mask;
      const v6: string[] = [`${w(0)} = 1;`];
      for (let q = 0; q < 4; q++, bits -= 32) v6.push(`${w(1 + q)} = ${masked(`x${k}[i * 4 + ${q}]`, bits)};`);
      // the hash of the words (0, a, 0, 0, 0) of an IPv4 address: the multiplications by the zero words folded
      body.push(
        `if (((f[i] >> ${e.v6bit}) & 1) === 0) {`,
        `${w(0)} = 0; ${w(1)} = ${masked(`c${k}[i]`, e.v4mask)}; ${w(2)} = 0; ${w(3)} = 0; ${w(4)} = 0;`,
        `h = Math.imul(Math.imul(Math.imul(h, ${HASH_MUL}) ^ ${w(1)}, ${HASH_MUL}), ${HASH_MUL3});`,
        `} else {`,
        v6.join(" "),
        ...[0, 1, 2, 3, 4].map((x) => `h = Math.imul(h ^ ${w(x)}, ${HASH_MUL});`),
        `}`,
      );
    }
    off += e.words;
  });
  const words = Array.from({ length: width }, (_, x) => `w${x}`);
  return [
    `return function probe(cols, sel, from, to, t, ent, insert) {`,
    ...head,
    `const { keys, hashes, index, mask } = t;`,
    `let ${words.map((x) => `${x} = 0`).join(", ")};`,
    `for (let j = from; j < to; j++) {`,
    `const i = sel[j];`,
    `let h = ${HASH_SEED};`,
    ...body,
    ...(elements.length === 0 ? [`h = Math.imul(h, ${HASH_MUL});`] : []),
    `h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h = (h ^ (h >>> 16)) >>> 0;`,
    `let s = h & mask;`,
    `let e = index[2 * s];`,
    `while (e >= 0) {`,
    `if (index[2 * s + 1] === (h | 0)) {`,
    `const b = e * ${width};`,
    `if (${words.map((x, n) => `keys[b + ${n}] === ${x}`).join(" && ")}) break;`,
    `}`,
    `s = (s + 1) & mask;`,
    `e = index[2 * s];`,
    `}`,
    `if (e >= 0) { ent[j] = e; continue; }`,
    `if (!insert) { ent[j] = -1; continue; }`,
    `if (t.size >= t.capacity) return j;`,
    `e = t.freeTop > 0 ? t.free[--t.freeTop] : t.end++;`,
    `t.size++;`,
    `t.live[e] = 1;`,
    `const b = e * ${width};`,
    ...words.map((x, n) => `keys[b + ${n}] = ${x};`),
    `hashes[e] = h;`,
    `index[2 * s] = e;`,
    `index[2 * s + 1] = h;`,
    `ent[j] = -2 - e;`,
    `}`,
    `return to;`,
    `};`,
  ].join("\n");
}

/** Names of the key elements, for messages. */
export const ELEMENT_NAMES = [
  "srcip",
  "dstip",
  "srcip/N",
  "srcip6/N",
  "dstip/N",
  "dstip6/N",
  "srcnet/N",
  "dstnet/N",
  "exporter",
  ...Object.keys(INTS),
];

/** Parses one key element; throws an Error with a message naming the element. */
export function parseElement(text: string): KeyElement {
  const t = text.trim().toLowerCase();
  const m = /^([a-z]+?)(6)?(?:\/(\d{1,3}))?$/.exec(t);
  if (m) {
    const base = ADDR_ALIAS[m[1]!] ?? m[1]!;
    const addr = ADDRS[base];
    if (addr !== undefined) {
      const six = m[2] === "6";
      const bits = m[3] === undefined ? undefined : Number(m[3]);
      if (bits !== undefined && bits > (six ? 128 : 32))
        throw new Error(`key element ${text}: mask /${bits} longer than ${six ? 128 : 32} bits`);
      if ((m[1] !== base || six) && bits === undefined)
        throw new Error(`key element ${text}: wants a mask, e.g. ${m[1]}${six ? "6/64" : "/24"}`);
      const name = base;
      return {
        text,
        name,
        kind: "addr",
        column: addr.column,
        v6bit: addr.v6bit,
        v4mask: six ? 32 : (bits ?? 32),
        v6mask: six ? (bits ?? 128) : 128,
        words: 5,
        sqlType: "inet",
      };
    }
    const int = INTS[t];
    if (int !== undefined)
      return {
        text,
        name: t,
        kind: "int",
        column: int.column,
        v6bit: 0,
        v4mask: 0,
        v6mask: 0,
        words: 1,
        sqlType: int.sqlType,
      };
  }
  throw new Error(`unknown key element '${text}' (one of ${ELEMENT_NAMES.join(", ")})`);
}

/** A monitor's key: its elements and how to pack, print and store them. */
export class KeySpec {
  readonly elements: readonly KeyElement[];
  /** words per packed key */
  readonly width: number;
  /** column names (the element names, made unique: dstip, dstip_2 ...) */
  readonly names: readonly string[];
  private readonly offsets: readonly number[];
  /** looks up (and adds) the selected rows' keys in a KeyTable (see RowProbe) */
  readonly probe: RowProbe;

  constructor(elements: readonly KeyElement[]) {
    this.elements = elements;
    let w = 0;
    const offs: number[] = [];
    const names: string[] = [];
    for (const e of elements) {
      offs.push(w);
      w += e.words;
      let n = e.name;
      for (let k = 2; names.includes(n); k++) n = `${e.name}_${k}`;
      names.push(n);
    }
    this.width = Math.max(1, w);
    this.offsets = offs;
    this.names = names;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    this.probe = (new Function(probeSource(elements, this.width)) as () => RowProbe)();
  }

  /** Physical columns the packing reads. */
  columns(): string[] {
    const out = new Set<string>();
    for (const e of this.elements) {
      out.add(e.column);
      if (e.kind === "addr") {
        out.add(`${e.column}6`);
        out.add("v6Flags");
      }
    }
    return [...out];
  }

  /** Binds the columns of a chunk for `pack` (once per chunk: no name lookups per row). */
  bind(cols: ColumnArrays): void {
    const c = cols as unknown as Record<string, ArrayLike<number> | undefined>;
    const none = new Uint32Array(0);
    this.bound = this.elements.map((e) => c[e.column] ?? none);
    this.bound6 = this.elements.map((e) => (c[`${e.column}6`] as Uint32Array | undefined) ?? none);
    this.flags = cols.v6Flags ?? new Uint8Array(0);
  }

  private bound: ArrayLike<number>[] = [];
  private bound6: Uint32Array[] = [];
  private flags: Uint8Array = new Uint8Array(0);

  /** Packs row `i` of the bound chunk into `out[off .. off + width)`. */
  pack(i: number, out: Uint32Array, off: number): void {
    const els = this.elements;
    for (let k = 0; k < els.length; k++) {
      const e = els[k]!;
      const o = off + this.offsets[k]!;
      const c = this.bound[k]!;
      if (e.kind === "int") {
        out[o] = c[i]!;
        continue;
      }
      const v6 = (this.flags[i]! >> e.v6bit) & 1;
      out[o] = v6;
      if (v6 === 0) {
        out[o + 1] = e.v4mask === 0 ? 0 : (c[i]! & (0xffffffff << (32 - e.v4mask))) >>> 0;
        out[o + 2] = 0;
        out[o + 3] = 0;
        out[o + 4] = 0;
      } else {
        const c6 = this.bound6[k]!;
        let bits = e.v6mask;
        for (let w = 0; w < 4; w++) {
          const word = c6[i * 4 + w]!;
          out[o + 1 + w] = bits >= 32 ? word : bits <= 0 ? 0 : (word & (0xffffffff << (32 - bits))) >>> 0;
          bits -= 32;
        }
      }
    }
  }

  /** The key's values as text, one per element (`10.0.0.0/24` for a masked address). */
  texts(keys: Uint32Array, off: number): string[] {
    const out: string[] = [];
    this.elements.forEach((e, k) => {
      const o = off + this.offsets[k]!;
      if (e.kind === "int") {
        out.push(String(keys[o]));
        return;
      }
      if (keys[o] === 0) {
        const a = formatIPv4(keys[o + 1]!);
        out.push(e.v4mask < 32 ? `${a}/${e.v4mask}` : a);
      } else {
        const a = formatIPv6(keys, o + 1);
        out.push(e.v6mask < 128 ? `${a}/${e.v6mask}` : a);
      }
    });
    return out;
  }

  /** The key as a JSON object (element name → value; integers as numbers). */
  object(keys: Uint32Array, off: number): Record<string, string | number> {
    const texts = this.texts(keys, off);
    const o: Record<string, string | number> = {};
    this.elements.forEach((e, k) => {
      o[this.names[k]!] = e.kind === "int" ? Number(texts[k]) : texts[k]!;
    });
    return o;
  }

  /**
   * The label of a key given as text fields (a thresholds file's row): each value parsed and masked as the
   * element packs it, so `192.0.2.77` under `dstip/24` is `192.0.2.0/24`. Throws on a bad value.
   */
  labelOf(fields: readonly string[]): string {
    if (fields.length !== this.elements.length)
      throw new Error(`want ${this.elements.length} key value(s) (${this.names.join(",")}), got ${fields.length}`);
    const cols: Record<string, unknown> = { v6Flags: new Uint8Array(1) };
    this.elements.forEach((e, k) => {
      const text = fields[k]!.trim();
      if (e.kind === "int") {
        if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) throw new Error(`${e.name}: bad number '${text}'`);
        cols[e.column] = new Float64Array([Number(text)]);
        return;
      }
      const addr = text.replace(/\/\d+$/, "");
      const v4 = parseIPv4(addr);
      const w6 = new Uint32Array(4);
      if (v4 >= 0) cols[e.column] = new Uint32Array([v4]);
      else if (parseIPv6(addr, w6)) {
        cols[e.column] = new Uint32Array(1);
        cols[`${e.column}6`] = w6;
        (cols["v6Flags"] as Uint8Array)[0]! |= 1 << e.v6bit;
      } else throw new Error(`${e.name}: bad address '${text}'`);
    });
    const out = new Uint32Array(this.width);
    this.bind(cols as unknown as ColumnArrays);
    this.pack(0, out, 0);
    return this.label(out, 0);
  }

  /** A key's text as used by per-key thresholds: the element values joined by commas. */
  label(keys: Uint32Array, off: number): string {
    return this.texts(keys, off).join(",");
  }
}
