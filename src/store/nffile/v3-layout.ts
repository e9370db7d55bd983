// SPDX-License-Identifier: BSD-3-Clause
// Generated decoders for nfdump V3 flow records (record type 11), one per element layout.
//
// A V3 record is a 12-byte header and a list of elements (u16 id | u16 length incl. the 4-byte header | payload)
// in exporter/template order (reference/nfdump.md §5.1). An exporter's records all share one layout: the same
// (id, length) sequence, so the payload offset of every field is a constant. For each layout met, a function is
// generated (nfdump's "sequencer" idea) that writes every column of the row with
// constant offsets: no switch per element, no per-record allocation.
//
// Rows are not zeroed before decoding (zeroing all 81 physical columns of a 2 MiB block cost more than the
// decode). Instead the decoder keeps, per batch, the "universe" of columns any layout has written; a layout's
// function writes its own columns and a 0 into every other universe column. Columns outside the universe were
// never written since the batch was made, so they hold zeros. When a new layout widens the universe, layouts
// compiled before are recompiled on their next use (a generation counter).
//
// Records of the recent layouts are decoded by one generated loop per set of layouts (blockDecoder): the element
// headers are compared at their constant offsets and the row written inline, so a record costs no call and no walk
// from element to element (about half the time per record of the first generated decoders, which were called per
// record after a walk over the element headers). The reader's general path takes whatever that loop stops at.
//
// Semantics kept from the element-by-element decoder: the later of an ipv4Flow and an ipv6Flow element (and of
// a v4/v6 next hop, BGP next hop, exporter address) wins; an element shorter than its fields is ignored; a
// repeated element overrides the earlier one; ICMP type/code come from dstPort when proto is 1 or 58.

import { PHYSICAL_COLUMNS, V6_BIT, type ColumnArrays } from "../../record/schema.js";

/** Writes row `row` from the V3 record at byte `p` of `v`/`d` (bounds checked by the caller). */
export type V3RowDecoder = (v: DataView, d: Uint8Array, p: number, row: number) => void;

/**
 * Decodes records r, r+1, … (record r at payload byte p, `len` payload bytes, `nrec` records) into rows row, row+1,
 * … while they are V3 records of the decoder's layouts; records each row's payload offset and layout id. Leaves
 * [r, p, row] of the first record it did not take in `state`.
 */
export type V3BlockDecoder = (
  v: DataView,
  d: Uint8Array,
  p: number,
  len: number,
  r: number,
  nrec: number,
  row: number,
  rowOff: Uint32Array,
  rowLayout: Int32Array,
  state: Int32Array,
) => void;

/** Whether the record at byte `p` of `v` has a layout's element headers. */
export type V3LayoutMatch = (v: DataView, p: number) => boolean;

export interface V3Layout {
  /** unique per cache (names the layout in generated block decoders) */
  readonly id: number;
  readonly numEl: number;
  /** per element: id | length << 16 (the element header read as a little-endian u32) */
  readonly words: Uint32Array;
  /** bytes of all elements (the record must be at least 12 + total bytes) */
  readonly total: number;
  /**
   * Whether the record at `p` (at least 12 + total bytes) has this layout: its element headers compared at
   * their constant offsets (generated: independent loads, not a walk from element to element).
   */
  readonly match: V3LayoutMatch;
  /**
   * The NSEL values kept as raw elements (nselExtrasOf), or null: most layouts have none, and the reader's
   * extras pass runs only for files where some layout has them.
   */
  readonly extras: Int32Array | null;
  fn: V3RowDecoder;
  gen: number;
}

/** A column write: a scalar column gets one expression, an IPv6 word column ("…6") four. */
interface Write {
  readonly col: string;
  readonly code: (q: number) => string | readonly string[];
}
interface ElementSpec {
  /** minimum payload bytes */
  readonly min: number;
  readonly writes: readonly Write[];
  /** v6Flags bits this element sets (1) or clears (0) */
  readonly bits?: readonly (readonly [number, 0 | 1])[];
}

const u8 = (o: number): string => `d[p + ${o}]`;
const u16 = (o: number): string => `v.getUint16(p + ${o}, true)`;
const u32 = (o: number): string => `v.getUint32(p + ${o}, true)`;
const u64 = (o: number): string => `(${u32(o)} + ${u32(o + 4)} * 4294967296)`;
/** exact − double of the u64 at `o` (record/u64.ts): 0 below 2^53 (high word < 2^21). */
const u64Fix = (o: number): string => {
  const hi = u32(o + 4);
  const v = u64(o);
  return `(${hi} >= 2097152 ? (${hi} - Math.floor(${v} / 4294967296)) * 4294967296 + (${u32(o)} - (${v} - Math.floor(${v} / 4294967296) * 4294967296)) : 0)`;
};
/** A u64 counter and its exact companion column. */
const counter = (col: string, o: (q: number) => number): Write[] => [
  w(col, (q) => u64(o(q))),
  w(`${col}Fix`, (q) => u64Fix(o(q))),
];
const mac = (o: number): string => `(${u32(o)} + (${u32(o + 4)} & 0xffff) * 4294967296)`;
/** IPv6 as nfdump stores it (two host-order u64, high half first) → four big-endian-order words. */
const v6 = (o: number): string[] => [u32(o + 4), u32(o), u32(o + 12), u32(o + 8)];
const ZERO6 = ["0", "0", "0", "0"] as const;
/** The IPv6 word columns (four u32 per row). */
const WORDS = new Set(PHYSICAL_COLUMNS.filter((pc) => pc.width === 4).map((pc) => pc.name));

const w = (col: string, code: (q: number) => string | readonly string[]): Write => ({ col, code });
const zero = (col: string): Write => w(col, () => (WORDS.has(col) ? ZERO6 : "0"));

const B = V6_BIT;

/** Element id → how its payload maps onto columns (reference/nfdump.md §5.1; nfdump nfxV3.h). */
const SPECS: ReadonlyMap<number, readonly ElementSpec[]> = new Map<number, ElementSpec[]>([
  [
    1, // genericFlow
    [
      {
        min: 48,
        writes: [
          w("msecFirst", (q) => u64(q)),
          w("msecLast", (q) => u64(q + 8)),
          w("msecReceived", (q) => u64(q + 16)),
          ...counter("inPackets", (q) => q + 24),
          ...counter("inBytes", (q) => q + 32),
          w("srcPort", (q) => u16(q + 40)),
          w("dstPort", (q) => u16(q + 42)),
          w("proto", (q) => u8(q + 44)),
          w("icmpType", (q) => `(${u8(q + 44)} === 1 || ${u8(q + 44)} === 58 ? ${u16(q + 42)} >>> 8 : 0)`),
          w("icmpCode", (q) => `(${u8(q + 44)} === 1 || ${u8(q + 44)} === 58 ? ${u16(q + 42)} & 0xff : 0)`),
          w("tcpFlags", (q) => u8(q + 45)),
          w("fwdStatus", (q) => u8(q + 46)),
          w("srcTos", (q) => u8(q + 47)),
        ],
      },
    ],
  ],
  [
    2, // ipv4Flow
    [
      {
        min: 8,
        writes: [w("srcAddr", u32), w("dstAddr", (q) => u32(q + 4)), zero("srcAddr6"), zero("dstAddr6")],
        bits: [
          [B.srcAddr, 0],
          [B.dstAddr, 0],
        ],
      },
    ],
  ],
  [
    3, // ipv6Flow
    [
      {
        min: 32,
        writes: [w("srcAddr6", v6), w("dstAddr6", (q) => v6(q + 16)), zero("srcAddr"), zero("dstAddr")],
        bits: [
          [B.srcAddr, 1],
          [B.dstAddr, 1],
        ],
      },
    ],
  ],
  [
    4, // flowMisc
    [
      {
        min: 14,
        writes: [
          w("input", u32),
          w("output", (q) => u32(q + 4)),
          w("srcMask", (q) => u8(q + 8)),
          w("dstMask", (q) => u8(q + 9)),
          w("direction", (q) => u8(q + 10)),
          w("dstTos", (q) => u8(q + 11)),
          w("biflowDirection", (q) => u8(q + 12)),
          w("flowEndReason", (q) => u8(q + 13)),
        ],
      },
    ],
  ],
  [
    5, // cntFlow
    [
      {
        min: 24,
        writes: [
          ...counter("flows", (q) => q),
          ...counter("outPackets", (q) => q + 8),
          ...counter("outBytes", (q) => q + 16),
        ],
      },
    ],
  ],
  [6, [{ min: 8, writes: [w("srcVlan", u32), w("dstVlan", (q) => u32(q + 4))] }]], // vLan
  [7, [{ min: 8, writes: [w("srcAs", u32), w("dstAs", (q) => u32(q + 4))] }]], // asRouting
  [8, [{ min: 4, writes: [w("bgpNextHop", u32), zero("bgpNextHop6")], bits: [[B.bgpNextHop, 0]] }]],
  [9, [{ min: 16, writes: [w("bgpNextHop6", v6), zero("bgpNextHop")], bits: [[B.bgpNextHop, 1]] }]],
  [10, [{ min: 4, writes: [w("nextHop", u32), zero("nextHop6")], bits: [[B.nextHop, 0]] }]],
  [11, [{ min: 16, writes: [w("nextHop6", v6), zero("nextHop")], bits: [[B.nextHop, 1]] }]],
  [12, [{ min: 4, writes: [w("exporterAddr", u32), zero("exporterAddr6")], bits: [[B.exporterAddr, 0]] }]],
  [13, [{ min: 16, writes: [w("exporterAddr6", v6), zero("exporterAddr")], bits: [[B.exporterAddr, 1]] }]],
  [
    14, // mplsLabel
    [
      {
        min: 40,
        writes: Array.from({ length: 10 }, (_, k) => w(`mpls${k + 1}`, (q) => u32(q + 4 * k))),
      },
    ],
  ],
  [
    15, // macAddr
    [
      {
        min: 32,
        writes: [
          w("inSrcMac", mac),
          w("outDstMac", (q) => mac(q + 8)),
          w("inDstMac", (q) => mac(q + 16)),
          w("outSrcMac", (q) => mac(q + 24)),
        ],
      },
    ],
  ],
  [16, [{ min: 8, writes: [w("nextAs", u32), w("prevAs", (q) => u32(q + 4))] }]], // asAdjacent
  [
    19, // nselCommon
    [
      {
        min: 15,
        writes: [w("msecEvent", u64), w("fwXEvent", (q) => u16(q + 12)), w("fwEvent", (q) => u8(q + 14))],
      },
    ],
  ],
  [20, [{ min: 8, writes: [w("xlateSrcAddr", u32), w("xlateDstAddr", (q) => u32(q + 4))] }]], // natXlate IPv4
  [
    21, // natXlate IPv6 (leaves the IPv4 columns alone, as the element decoder did)
    [
      {
        min: 32,
        writes: [w("xlateSrcAddr6", v6), w("xlateDstAddr6", (q) => v6(q + 16))],
        bits: [
          [B.xlateSrcAddr, 1],
          [B.xlateDstAddr, 1],
        ],
      },
    ],
  ],
  [22, [{ min: 4, writes: [w("xlateSrcPort", u16), w("xlateDstPort", (q) => u16(q + 2))] }]], // natXlate ports
  [
    25, // natCommon: 1.7.0/1.7.1 wrote the 24-byte "compat" form with VRFs, later 16 bytes
    [
      {
        min: 24,
        writes: [
          w("msecEvent", u64),
          w("egressVrf", (q) => u32(q + 8)),
          w("ingressVrf", (q) => u32(q + 12)),
          w("natPoolId", (q) => u32(q + 16)),
          w("natEvent", (q) => u8(q + 20)),
        ],
      },
      {
        min: 13,
        writes: [w("msecEvent", u64), w("natPoolId", (q) => u32(q + 8)), w("natEvent", (q) => u8(q + 12))],
      },
    ],
  ],
  [
    26, // natPortBlock
    [
      {
        min: 8,
        writes: [
          w("pbStart", u16),
          w("pbEnd", (q) => u16(q + 2)),
          w("pbStep", (q) => u16(q + 4)),
          w("pbSize", (q) => u16(q + 6)),
        ],
      },
    ],
  ],
  [33, [{ min: 12, writes: [w("observationDomain", (q) => u32(q + 8))] }]], // observation: pointID u64, domainID
  [36, [{ min: 8, writes: [w("egressVrf", u32), w("ingressVrf", (q) => u32(q + 4))] }]], // vrf
  [42, [{ min: 3, writes: [w("ipMinTtl", (q) => u8(q + 1)), w("ipMaxTtl", (q) => u8(q + 2))] }]], // ipInfo
]);

/** Columns every layout writes from the record header. */
const HEADER_WRITES: readonly Write[] = [
  w("engineType", () => u8(6)),
  w("engineId", () => u8(7)),
  w("exporterId", () => u16(8)),
  w("nfVersion", () => u8(11)),
  w("flows", () => "1"),
];

const SAFE_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Per-batch decoder state: the layouts met so far, the universe of columns they wrote, and the column selection
 * of the current read. One instance per RecordBatch (the generated functions close over its column arrays).
 */
export class V3LayoutCache {
  /** Layouts kept at most (a file with more distinct layouts recompiles). */
  static readonly MAX_LAYOUTS = 4096;

  private readonly cols: ColumnArrays;
  private readonly universe = new Set<string>();
  private universeGen = 0;
  /** physical columns to decode; undefined = all */
  private sel: ReadonlySet<string> | undefined;
  private selKey = "*";
  private gen = 0;
  private readonly byKey = new Map<string, V3Layout & { fns: Map<string, V3RowDecoder> }>();
  /** the same layouts by id (rows keep their layout's id: an int store, not an object store, in the hot loop) */
  private readonly byId = new Map<number, V3Layout>();
  /** the most recently used layouts, checked before the map (no key string built for them) */
  readonly recent: V3Layout[] = [];
  private nextId = 0;
  /** Some layout met in this batch's file keeps NSEL values raw (see nselExtrasOf). */
  hasExtras = false;
  /** block decoders by `universeGen|selKey|layout ids` (see blockDecoder) */
  private readonly blockFns = new Map<string, V3BlockDecoder>();
  private lastBlock: { gen: number; layouts: readonly V3Layout[]; fn: V3BlockDecoder } | undefined;

  constructor(cols: ColumnArrays) {
    this.cols = cols;
  }

  /** Current generation: a layout whose gen differs must be refreshed (universe grew or selection changed). */
  get generation(): number {
    return this.gen;
  }

  /** Sets the physical columns the next decodes write (undefined = all); cheap when unchanged. */
  select(physical: ReadonlySet<string> | undefined): void {
    if (physical === this.sel) return;
    this.sel = physical;
    this.selKey = physical === undefined ? "*" : [...physical].sort().join(",");
    this.gen++;
  }

  /**
   * The layout of the record at `p` (size `size` bytes, `numEl` elements); null when an element runs past the
   * record. Compiles as needed.
   */
  layoutOf(v: DataView, p: number, size: number, numEl: number): V3Layout | null {
    const end = p + size;
    const words = new Uint32Array(numEl);
    let e = p + 12;
    for (let k = 0; k < numEl; k++) {
      if (e + 4 > end) return null;
      const word = v.getUint32(e, true);
      const el = word >>> 16;
      if (el < 4 || e + el > end) return null;
      words[k] = word;
      e += el;
    }
    const key = words.join(",");
    let layout = this.byKey.get(key);
    if (layout === undefined) {
      if (this.byKey.size >= V3LayoutCache.MAX_LAYOUTS) {
        this.byKey.clear();
        this.byId.clear();
      }
      layout = {
        id: this.nextId++,
        numEl,
        words,
        total: e - p - 12,
        match: compileMatch(words),
        extras: nselExtrasOf(words),
        fn: noop,
        gen: -1,
        fns: new Map(),
      };
      this.byKey.set(key, layout);
      this.byId.set(layout.id, layout);
      if (layout.extras !== null) this.hasExtras = true;
    }
    this.refresh(layout);
    this.recent.unshift(layout);
    if (this.recent.length > 8) this.recent.length = 8;
    return layout;
  }

  /** The layout with this id; undefined once evicted (MAX_LAYOUTS): layoutOf finds it again from the record. */
  layoutById(id: number): V3Layout | undefined {
    return this.byId.get(id);
  }

  /** Makes the layout's function write the current selection and universe. */
  refresh(layout: V3Layout): void {
    if (layout.gen === this.gen) return;
    const l = layout as V3Layout & { fns?: Map<string, V3RowDecoder> };
    const fns = (l.fns ??= new Map());
    const writes = this.writesOf(layout);
    let grew = false;
    for (const col of writes.cols.keys()) {
      if (!this.universe.has(col)) {
        this.universe.add(col);
        grew = true;
      }
    }
    if (grew) {
      this.universeGen++;
      this.gen++;
    }
    const key = `${this.universeGen}|${this.selKey}`;
    let fn = fns.get(key);
    if (fn === undefined) {
      if (fns.size > 16) fns.clear();
      fn = this.compile(writes);
      fns.set(key, fn);
    }
    layout.fn = fn;
    layout.gen = this.gen;
  }

  /** The columns the layout writes (within the selection) and its v6Flags value. */
  private writesOf(layout: V3Layout): { cols: Map<string, string | readonly string[]>; bits: number } {
    const sel = this.sel;
    const cols = new Map<string, string | readonly string[]>();
    const put = (col: string, code: string | readonly string[]): void => {
      if (sel !== undefined && !sel.has(col)) return;
      cols.delete(col); // insertion order = last writer's position
      cols.set(col, code);
    };
    for (const h of HEADER_WRITES) put(h.col, h.code(0));
    const bitVal = new Map<number, 0 | 1>();
    let q = 12;
    for (let k = 0; k < layout.numEl; k++) {
      const id = layout.words[k]! & 0xffff;
      const len = layout.words[k]! >>> 16;
      const n = len - 4;
      const spec = SPECS.get(id)?.find((s) => n >= s.min);
      if (spec !== undefined) {
        for (const wr of spec.writes) put(wr.col, wr.code(q + 4));
        for (const [bit, val] of spec.bits ?? []) bitVal.set(bit, val);
      }
      q += len;
    }
    let bits = 0;
    for (const [bit, val] of bitVal) if (val === 1) bits |= bit;
    // the record's elements, for -o json / raw (schema `elements`: bit k = element k, bit 31 = vrf (36))
    let elements = 0;
    for (let k = 0; k < layout.numEl; k++) {
      const id = layout.words[k]! & 0xffff;
      if (id >= 1 && id <= 30) elements |= 1 << id;
      else if (id === 36) elements |= 1 << 31;
    }
    put("elements", String(elements >>> 0));
    return { cols, bits };
  }

  /**
   * The statements that write row `row` from the record at `p` for this selection and universe, and the
   * columns they use (declared as `<col>C` by the caller).
   */
  private rowCode(writes: { cols: Map<string, string | readonly string[]>; bits: number }): {
    used: Set<string>;
    body: string[];
  } {
    const sel = this.sel;
    // universe columns in the selection that this layout does not write get a 0
    const zeros = [...this.universe].filter((col) => !writes.cols.has(col) && (sel === undefined || sel.has(col)));
    const used = new Set<string>([...writes.cols.keys(), ...zeros, "v6Flags"]);
    const body: string[] = ["const w = row * 4;"];
    const emit = (col: string, code: string | readonly string[]): void => {
      if (typeof code === "string") body.push(`${col}C[row] = ${code};`);
      else code.forEach((x, k) => body.push(`${col}C[w + ${k}] = ${x};`));
    };
    for (const [col, code] of writes.cols) emit(col, code);
    for (const col of zeros) emit(col, WORDS.has(col) ? ZERO6 : "0");
    body.push(`v6FlagsC[row] = ${writes.bits};`);
    return { used, body };
  }

  /** `const <col>C = c.<col>;` for each column (checked against the schema: the names go into generated code). */
  private declare(used: Iterable<string>): string {
    const decl: string[] = [];
    for (const col of used) {
      if (!SAFE_NAME.test(col) || !(col in this.cols)) throw new Error(`nffile: unknown column ${col}`);
      decl.push(`const ${col}C = c.${col};`);
    }
    return decl.join("\n");
  }

  private compile(writes: { cols: Map<string, string | readonly string[]>; bits: number }): V3RowDecoder {
    const { used, body } = this.rowCode(writes);
    const src = `"use strict";\n${this.declare(used)}\nreturn function v3Row(v, d, p, row) {\n${body.join("\n")}\n};`;
    // generated from the schema's column names (checked in declare) and numeric offsets only
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function("c", src) as (c: ColumnArrays) => V3RowDecoder;
    return make(this.cols);
  }

  /**
   * A decoder for runs of records whose layout is one of the first BLOCK_LAYOUTS recent ones (refreshed for
   * the current selection first): one generated loop with each layout's element check and row writes inline, no
   * call per record. It stops at the first record it does not take (another record type, an unknown layout, a
   * bad size, the end of the payload) for the caller's general path to handle, then the caller resumes it.
   */
  blockDecoder(): V3BlockDecoder {
    // the last one again while neither the selection/universe (gen) nor the recent layouts changed
    const recent = this.recent;
    const last = this.lastBlock;
    if (last !== undefined && last.gen === this.gen && last.layouts.length === Math.min(recent.length, BLOCK_LAYOUTS)) {
      let same = true;
      for (let i = 0; i < last.layouts.length && same; i++) same = last.layouts[i] === recent[i];
      if (same) return last.fn;
    }
    const layouts = recent.slice(0, BLOCK_LAYOUTS);
    for (const l of layouts) this.refresh(l);
    const key = `${this.universeGen}|${this.selKey}|${layouts.map((l) => l.id).join(",")}`;
    let fn = this.blockFns.get(key);
    if (fn === undefined) fn = this.compileBlock(key, layouts);
    this.lastBlock = { gen: this.gen, layouts, fn };
    return fn;
  }

  private compileBlock(key: string, layouts: readonly V3Layout[]): V3BlockDecoder {
    if (this.blockFns.size >= 64) this.blockFns.clear();
    const used = new Set<string>();
    const cases: string[] = [];
    layouts.forEach((l, i) => {
      const { used: u, body } = this.rowCode(this.writesOf(l));
      for (const col of u) used.add(col);
      const checks = [`numEl === ${l.numEl}`, `size >= ${12 + l.total}`];
      let q = 12;
      for (const word of l.words) {
        checks.push(`v.getUint32(p + ${q}, true) === ${word}`);
        q += word >>> 16;
      }
      cases.push(
        `${i === 0 ? "if" : "else if"} (${checks.join(" && ")}) {\n${body.join("\n")}\nrowLayout[row] = ${l.id};\n}`,
      );
    });
    const src = [
      `"use strict";`,
      this.declare(used),
      `return function v3Block(v, d, p, len, r, nrec, row, rowOff, rowLayout, state) {`,
      `for (; r < nrec; r++) {`,
      `if (p + 12 > len) break;`,
      `const size = v.getUint16(p + 2, true);`,
      `if (v.getUint16(p, true) !== 11 || p + size > len) break;`,
      `const numEl = v.getUint16(p + 4, true);`,
      ...(cases.length > 0 ? [...cases, `else break;`] : [`break;`]),
      `rowOff[row] = p;`,
      `row++;`,
      `p += size;`,
      `}`,
      `state[0] = r; state[1] = p; state[2] = row;`,
      `};`,
    ].join("\n");
    // generated from the schema's column names (checked in declare) and numeric offsets only
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function("c", "L", src) as (c: ColumnArrays, L: readonly V3Layout[]) => V3BlockDecoder;
    const fn = make(this.cols, layouts);
    this.blockFns.set(key, fn);
    return fn;
  }
}

/** Layouts a generated block decoder takes inline (most files have one or two per exporter: IPv4 and IPv6). */
const BLOCK_LAYOUTS = 4;

/** The element-header check of a layout: `v.getUint32(p + offset, true) === word && …` for every element. */
function compileMatch(words: Uint32Array): V3LayoutMatch {
  const terms: string[] = [];
  let q = 12;
  for (const word of words) {
    terms.push(`v.getUint32(p + ${q}, true) === ${word}`);
    q += word >>> 16;
  }
  // generated from numbers only
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(
    "v",
    "p",
    `"use strict";\nreturn ${terms.length > 0 ? terms.join(" &&\n  ") : "true"};`,
  ) as V3LayoutMatch;
}

/** How an NSEL value is copied into the raw heap: a LE u32 word, 12 bytes as stored, a NUL-terminated string. */
export const NSEL_EXTRA = { u32: 0, acl: 1, text: 2 } as const;

/**
 * The NSEL values of a layout that have no column and are kept as raw elements, the way the IPFIX/v9 decoder keeps
 * them, so the formatters print them from either source: per value (raw element id, payload offset in the record,
 * NSEL_EXTRA kind). nselCommon (19): connection id (148) at +8; nselAcl (23): ingress (33000) and egress (33001)
 * ACL id triples at +0 and +12; nselUser (24): user name (40000), 66 bytes (nfdump nfxV3.h). Null when none.
 */
export function nselExtrasOf(words: Uint32Array): Int32Array | null {
  const out: number[] = [];
  let q = 12;
  for (const word of words) {
    const id = word & 0xffff;
    const n = (word >>> 16) - 4;
    const at = q + 4;
    if (id === 19 && n >= 12) out.push(148, at + 8, NSEL_EXTRA.u32);
    else if (id === 23 && n >= 24) out.push(33000, at, NSEL_EXTRA.acl, 33001, at + 12, NSEL_EXTRA.acl);
    else if (id === 24 && n >= 1) out.push(40000, at, NSEL_EXTRA.text | (Math.min(n, 66) << 8));
    q += word >>> 16;
  }
  return out.length === 0 ? null : Int32Array.from(out);
}

function noop(): void {
  // replaced by refresh() before first use
}
