// SPDX-License-Identifier: BSD-3-Clause
// -A / -a aggregation and -O sorting.
//
// `-A keys` (nfdump 1.7.1 aggregation keys, plus later ones): flows with equal keys merge into one record with
// summed counters, flows = number of merged flows, first = min, last = max. The key columns of the output hold
// the (masked) key values and every other column is zero, as nfdump 1.7.1 prints them. `-a` is the 5-tuple
// srcip,dstip,srcport,dstport,proto and keeps the other columns of the group's first flow.
//
// Key words (u32) per part: scalar 1, MAC 2 (hi16, lo32), address 4 (IPv4 in the last word); when the key has
// address parts one more word holds their IPv6 bits, so 10.0.0.1 and ::10.0.0.1 stay apart.
//
// Without -O the output keeps first-seen order (nfdump prints hash order). With -O the rows come ordered by
// the order's value (ties: first-seen order); `-n N` selects N with a heap instead of sorting everything.

import { RecordBatch } from "../record/batch.js";
import { maskV4 } from "../record/ip.js";
import { COLUMN, type ColumnArrays, type ColumnName } from "../record/schema.js";
import { storeSum } from "../record/u64.js";
import { didYouMean, StatsError } from "./errors.js";
import { selectTop, selectTopOf } from "./heap.js";
import {
  A_FIRST,
  A_FLOWS,
  A_IN_BYTES,
  A_IN_PACKETS,
  A_LAST,
  ACC_STRIDE,
  hash2,
  hashWord,
  hashWords,
  KeyTable,
  type KeyTableState,
  MemoryBudget,
  OUT_STRIDE,
  FIX_STRIDE,
  type FixColumns,
  stateBuffers,
} from "./key-table.js";
import { orderValue, type OrderDef } from "./orders.js";
import { ROW_CHUNK, ROW_CHUNK_BITS, RowStore } from "./row-store.js";

const CHUNK = 4096;
/** Output batch size of `toBatches`. */
export const OUTPUT_BATCH_ROWS = 16384;

type PartKind = "scalar" | "addr" | "mac";

/** One element of an aggregation key. */
export interface AggrPart {
  /** The -A name as given (lowercase, without /N). */
  readonly name: string;
  readonly column: ColumnName;
  readonly kind: PartKind;
  /** IPv4 netmask (u32) applied to IPv4 values; 0xffffffff = none. */
  readonly v4Mask: number;
  /** IPv6 prefix length applied to IPv6 values; 128 = none. */
  readonly v6Prefix: number;
  /** For srcnet/dstnet: the column holding the flow's own prefix length. */
  readonly maskColumn: "srcMask" | "dstMask" | null;
  /** nfdump %token for the automatic output format. */
  readonly fmt: string;
}

export interface AggregationSpec {
  readonly text: string;
  readonly parts: readonly AggrPart[];
  /** Keep the non-key columns of each group's first flow (-a); otherwise they are zero (-A). */
  readonly keepFirst: boolean;
  /** nfdump's automatic output format for this aggregation: `%ts %td <keys> %pkt %byt %bps %bpp %fl`. */
  readonly fmt: string;
  /** Bidirectional (-b = 1, -B = 2: also guess the client/server direction from the ports). */
  readonly bidir: 0 | 1 | 2;
}

interface KeyDef {
  readonly column: ColumnName;
  readonly fmt: string;
  /** "4" / "6": the address family a /N applies to; "any": no mask allowed; "net": srcnet/dstnet. */
  readonly mask: "4" | "6" | "any" | "none" | "net";
}

const k = (column: ColumnName, fmt: string, mask: KeyDef["mask"] = "none"): KeyDef => ({ column, fmt, mask });

/** nfdump 1.7.1 aggregationTable (+ flags, odid, minttl, maxttl of later versions). */
const KEYS: Readonly<Record<string, KeyDef>> = {
  proto: k("proto", "%pr"),
  srcport: k("srcPort", "%sp"),
  dstport: k("dstPort", "%dp"),
  tos: k("srcTos", "%tos"),
  srctos: k("srcTos", "%stos"),
  dsttos: k("dstTos", "%dtos"),
  flags: k("tcpFlags", "%flg"),
  srcip: k("srcAddr", "%sa", "any"),
  dstip: k("dstAddr", "%da", "any"),
  srcip4: k("srcAddr", "%sa", "4"),
  dstip4: k("dstAddr", "%da", "4"),
  srcip6: k("srcAddr", "%sa", "6"),
  dstip6: k("dstAddr", "%da", "6"),
  srcnet: k("srcAddr", "%sn", "net"),
  dstnet: k("dstAddr", "%dn", "net"),
  srcmask: k("srcMask", "%smk"),
  dstmask: k("dstMask", "%dmk"),
  srcvlan: k("srcVlan", "%svln"),
  dstvlan: k("dstVlan", "%dvln"),
  srcas: k("srcAs", "%sas"),
  dstas: k("dstAs", "%das"),
  nextas: k("nextAs", "%nas"),
  prevas: k("prevAs", "%pas"),
  inif: k("input", "%in"),
  outif: k("output", "%out"),
  next: k("nextHop", "%nh"),
  bgpnext: k("bgpNextHop", "%nhb"),
  router: k("exporterAddr", "%ra"),
  insrcmac: k("inSrcMac", "%ismc"),
  outdstmac: k("outDstMac", "%odmc"),
  indstmac: k("inDstMac", "%idmc"),
  outsrcmac: k("outSrcMac", "%osmc"),
  mpls1: k("mpls1", "%mpls1"),
  mpls2: k("mpls2", "%mpls2"),
  mpls3: k("mpls3", "%mpls3"),
  mpls4: k("mpls4", "%mpls4"),
  mpls5: k("mpls5", "%mpls5"),
  mpls6: k("mpls6", "%mpls6"),
  mpls7: k("mpls7", "%mpls7"),
  mpls8: k("mpls8", "%mpls8"),
  mpls9: k("mpls9", "%mpls9"),
  mpls10: k("mpls10", "%mpls10"),
  odid: k("observationDomain", "%odid"),
  minttl: k("ipMinTtl", "%minttl"),
  maxttl: k("ipMaxTtl", "%maxttl"),
  xsrcip: k("xlateSrcAddr", "%xsa"),
  xdstip: k("xlateDstAddr", "%xda"),
  xsrcport: k("xlateSrcPort", "%xsp"),
  xdstport: k("xlateDstPort", "%xdp"),
};

/** The names `-A` accepts. */
export const AGGREGATION_KEYS: readonly string[] = Object.keys(KEYS);

/**
 * Parses `-A key[,key…]` (nfdump names; `srcip4/N dstip4/N srcip6/N dstip6/N` take a prefix length).
 * @throws StatsError ERR_STATS_UNKNOWN_KEY (with "did you mean"), ERR_STATS_BAD_MASK, ERR_STATS_DUPLICATE_KEY.
 */
export function parseAggregation(text: string, keepFirst = false): AggregationSpec {
  const parts: AggrPart[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(",")) {
    const item = raw.trim().toLowerCase();
    if (item === "") throw new StatsError("ERR_STATS_UNKNOWN_KEY", `aggregation: empty key in '${text}'`);
    const slash = item.indexOf("/");
    const name = slash >= 0 ? item.slice(0, slash) : item;
    const def = KEYS[name];
    if (!def) {
      throw new StatsError(
        "ERR_STATS_UNKNOWN_KEY",
        `aggregation: unknown key '${name}'${didYouMean(name, AGGREGATION_KEYS)}`,
      );
    }
    if (seen.has(name)) throw new StatsError("ERR_STATS_DUPLICATE_KEY", `aggregation: duplicate key '${name}'`);
    seen.add(name);
    let v4Mask = 0xffffffff;
    let v6Prefix = 128;
    if (slash >= 0) {
      const bitsText = item.slice(slash + 1);
      const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (def.mask === "any") {
        throw new StatsError(
          "ERR_STATS_BAD_MASK",
          `aggregation: need ${name.slice(0, 3)}ip4 or ${name.slice(0, 3)}ip6 for a netmask: '${item}'`,
        );
      }
      if (def.mask === "4" && bits >= 0 && bits <= 32) v4Mask = maskV4(bits);
      else if (def.mask === "6" && bits >= 0 && bits <= 128) v6Prefix = bits;
      else if (def.mask === "4" || def.mask === "6") {
        throw new StatsError(
          "ERR_STATS_BAD_MASK",
          `aggregation: bad netmask '/${bitsText}' in '${item}' (0..${def.mask === "4" ? 32 : 128})`,
        );
      } else {
        throw new StatsError("ERR_STATS_BAD_MASK", `aggregation: key '${name}' takes no netmask`);
      }
    }
    const t = COLUMN[def.column].type;
    parts.push({
      name,
      column: def.column,
      kind: t === "addr" ? "addr" : t === "mac" ? "mac" : "scalar",
      v4Mask,
      v6Prefix,
      maskColumn: def.mask === "net" ? (def.column === "srcAddr" ? "srcMask" : "dstMask") : null,
      fmt: def.fmt,
    });
  }
  const fmt = `%ts %td ${parts.map((p) => p.fmt).join(" ")} %pkt %byt %bps %bpp %fl`;
  return { text, parts, keepFirst, fmt, bidir: 0 };
}

/** `-a`: the 5-tuple, keeping the first flow's other columns. */
export function fiveTupleAggregation(): AggregationSpec {
  const spec = parseAggregation("srcip,dstip,srcport,dstport,proto", true);
  return { ...spec, text: "-a", fmt: "" };
}

/**
 * `-b` / `-B`: bidirectional aggregation on the 5-tuple. A flow whose reverse (dst→src) is already a group
 * is added to that group with its in and out counters swapped (its packets become the group's out packets);
 * with `guess` (-B) a TCP/UDP flow from a port below 1024 / 32768 / 49152 to a port at or above the same bound
 * is first turned around, so the client is the source (nfdump NeedSwapGeneric).
 */
export function bidirAggregation(guess: boolean): AggregationSpec {
  const spec = parseAggregation("srcip,dstip,srcport,dstport,proto");
  return { ...spec, text: guess ? "-B" : "-b", fmt: "", bidir: guess ? 2 : 1 };
}

/** Transferable partial state of an Aggregator. */
export interface AggregatorState {
  readonly text: string;
  /** Groups whose address keys are all IPv4 (compact keys). */
  readonly t4: KeyTableState;
  /** Groups with an IPv6 address key (full keys), or null when the key has no address. */
  readonly t6: KeyTableState | null;
  /** Representative rows (-a) of t4 / t6 entries: entry e at row e of RecordBatch chunks of ROW_CHUNK rows. */
  readonly reps4: readonly ColumnArrays[];
  readonly reps6: readonly ColumnArrays[];
}

/**
 * One hash partition of an aggregation (see Aggregator.partition): its groups, each with the ordinal of its
 * first flow, in first-seen order per table. Partitions hold disjoint groups; `Aggregator.fromParts` merges them.
 */
export interface AggregatorPart {
  readonly text: string;
  readonly t4: KeyTableState;
  readonly t6: KeyTableState | null;
  /** Ordinal of each t4 / t6 entry's first flow (ascending). */
  readonly ords4: Float64Array;
  readonly ords6: Float64Array;
}

/**
 * Rows of one partition and table (IPv4-only or IPv6 keys) that another thread forwards (Aggregator.partition
 * with `forward`): built keys, their hashes, counters and ordinals, `m` of each; plain typed arrays to post.
 */
export interface ForwardedRows {
  readonly part: number;
  readonly v6: boolean;
  readonly m: number;
  readonly keys: Uint32Array;
  readonly hashes: Uint32Array;
  readonly flows: Float64Array;
  readonly inPackets: Float64Array;
  readonly inBytes: Float64Array;
  readonly outPackets: Float64Array;
  readonly outBytes: Float64Array;
  readonly first: Float64Array;
  readonly last: Float64Array;
  readonly ords: Float64Array;
  /** the rows' exact companions (record/u64.ts) when one is non-zero, else null */
  readonly fix: FixColumns | null;
}

/** Rows staged during one `add` for another partition (see ForwardedRows). */
class Outbox {
  m = 0;
  rows = new Uint32Array(1024);
  keys: Uint32Array;
  hashes = new Uint32Array(1024);
  readonly part: number;
  readonly v6: boolean;
  readonly width: number;

  constructor(part: number, v6: boolean, width: number) {
    this.part = part;
    this.v6 = v6;
    this.width = width;
    this.keys = new Uint32Array(1024 * width);
  }

  push(row: number, kb: Uint32Array, off: number, h: number): void {
    const m = this.m;
    if (m === this.rows.length) {
      const rows = new Uint32Array(2 * m);
      rows.set(this.rows);
      this.rows = rows;
      const hashes = new Uint32Array(2 * m);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const keys = new Uint32Array(2 * m * this.width);
      keys.set(this.keys);
      this.keys = keys;
    }
    const W = this.width;
    for (let i = 0; i < W; i++) this.keys[m * W + i] = kb[off + i]!;
    this.hashes[m] = h;
    this.rows[m] = row;
    this.m = m + 1;
  }

  /**
   * The staged rows with their counters from `c` (the batch they came from), as views of one ArrayBuffer
   * (one transfer per message); empties the outbox.
   */
  take(c: ColumnArrays, base: number): ForwardedRows {
    const m = this.m;
    const W = this.width;
    const rows = this.rows;
    const words = m * (W + 1) + ((m * (W + 1)) & 1); // u32 part, padded to 8 bytes
    const buf = new ArrayBuffer(words * 4 + m * 8 * 8);
    const keys = new Uint32Array(buf, 0, m * W);
    keys.set(this.keys.subarray(0, m * W));
    const hashes = new Uint32Array(buf, m * W * 4, m);
    hashes.set(this.hashes.subarray(0, m));
    let off = words * 4;
    const gather = (col: Float64Array | null): Float64Array => {
      const out = new Float64Array(buf, off, m);
      off += m * 8;
      if (col === null) for (let j = 0; j < m; j++) out[j] = base + rows[j]!;
      else for (let j = 0; j < m; j++) out[j] = col[rows[j]!]!;
      return out;
    };
    this.m = 0;
    let fix: FixColumns | null = null;
    for (let j = 0; j < m && fix === null; j++) {
      const r = rows[j]!;
      if ((c.flowsFix[r]! | c.inPacketsFix[r]! | c.inBytesFix[r]! | c.outPacketsFix[r]! | c.outBytesFix[r]!) !== 0) {
        const pick = (a: Uint32Array): Uint32Array => Uint32Array.from(rows.subarray(0, m), (i) => a[i]!);
        fix = {
          flowsFix: pick(c.flowsFix),
          inPacketsFix: pick(c.inPacketsFix),
          inBytesFix: pick(c.inBytesFix),
          outPacketsFix: pick(c.outPacketsFix),
          outBytesFix: pick(c.outBytesFix),
        };
      }
    }
    return {
      fix,
      part: this.part,
      v6: this.v6,
      m,
      keys,
      hashes,
      flows: gather(c.flows),
      inPackets: gather(c.inPackets),
      inBytes: gather(c.inBytes),
      outPackets: gather(c.outPackets),
      outBytes: gather(c.outBytes),
      first: gather(c.msecFirst),
      last: gather(c.msecLast),
      ords: gather(null),
    };
  }
}

/** Buffers of forwarded rows for a postMessage transfer list (the one buffer of all its arrays). */
export function forwardedTransferList(f: ForwardedRows): ArrayBuffer[] {
  return [
    ...new Set(
      [f.keys, f.hashes, f.flows, f.inPackets, f.inBytes, f.outPackets, f.outBytes, f.first, f.last, f.ords].map(
        (a) => a.buffer as ArrayBuffer,
      ),
    ),
  ];
}

/** Rows per block an ordinal can tell apart: ordinal = block sequence * ORDINAL_BLOCK + row. */
export const ORDINAL_BLOCK = 2 ** 24;

/** Key layout of one table: word offset per part, total width, the IPv6-bits word (-1 = none). */
interface Layout {
  readonly offsets: Int32Array;
  readonly width: number;
  readonly flagsWord: number;
  /** Addresses take 1 word (IPv4 only) instead of 4. */
  readonly compact: boolean;
}

function layoutOf(parts: readonly AggrPart[], compact: boolean): Layout {
  const offsets = new Int32Array(parts.length);
  let w = 0;
  let hasAddr = false;
  parts.forEach((p, i) => {
    offsets[i] = w;
    w += p.kind === "addr" ? (compact ? 1 : 4) : p.kind === "mac" ? 2 : 1;
    if (p.kind === "addr") hasAddr = true;
  });
  const flagsWord = hasAddr && !compact ? w++ : -1;
  return { offsets, width: Math.max(1, w), flagsWord, compact };
}

/**
 * Groups flows by an aggregation key. Flows whose address keys are all IPv4 go to a table with compact keys
 * (one word per address: `-A srcip,dstip` is a 2-word key); the others to a table with full IPv6 keys.
 * Group ids: t4 entries first (0 .. t4.count), then t6 entries.
 */
export class Aggregator {
  readonly spec: AggregationSpec;
  readonly budget: MemoryBudget;
  readonly t4: KeyTable;
  readonly t6: KeyTable | null;
  private readonly l4: Layout;
  private readonly l6: Layout;
  /** v6Flags bits of the address columns in the key. */
  private readonly addrBits: number;
  private readonly keys4: Uint32Array;
  private readonly keys6: Uint32Array;
  private readonly rows4: Uint32Array;
  private readonly rows6: Uint32Array;
  private readonly idx: Int32Array;
  private readonly allRows: Uint32Array;
  private readonly reps4: RowStore | null;
  private readonly reps6: RowStore | null;
  private readonly one: Uint32Array;
  /** This aggregator keeps only the groups whose key hash falls in partition `partIndex` of `partCount`. */
  private partIndex = 0;
  private partCount = 1;
  /** Partition q holds the hashes whose high 16 bits are below bounds[q] (and not below bounds[q - 1]). */
  private bounds: Uint32Array = new Uint32Array([65536]);
  /** Forwarding: staged rows of the other partitions per [partition * 2 + (IPv6 ? 1 : 0)], else empty. */
  private outboxes: (Outbox | null)[] = [];
  private forwarded: ForwardedRows[] = [];
  /** Partitioned: ordinal of each entry's first flow (`ordinalBase` + its row). */
  private ords4: Float64Array = new Float64Array(0);
  private ords6: Float64Array = new Float64Array(0);
  private readonly keep: Uint32Array;
  private readonly keepHashes: Uint32Array;
  /** Partitioned: the ordinal of row 0 of the rows passed to the next `add` (block sequence * ORDINAL_BLOCK). */
  ordinalBase = 0;

  constructor(spec: AggregationSpec, budget: MemoryBudget = new MemoryBudget()) {
    this.spec = spec;
    this.budget = budget;
    const addrParts = spec.parts.filter((p) => p.kind === "addr");
    if (addrParts.length > 8) throw new StatsError("ERR_STATS_BAD_SPEC", "aggregation: too many address keys");
    this.addrBits = addrParts.reduce((bits, p) => bits | (1 << (COLUMN[p.column] as { v6bit: number }).v6bit), 0);
    this.l4 = layoutOf(spec.parts, true);
    this.l6 = layoutOf(spec.parts, false);
    const name = spec.keepFirst ? "-a" : `-A ${spec.text}`;
    this.t4 = new KeyTable(this.l4.width, budget, name, 4096);
    this.t6 = addrParts.length > 0 ? new KeyTable(this.l6.width, budget, `${name} (IPv6)`, 256) : null;
    this.keys4 = new Uint32Array(CHUNK * this.l4.width);
    this.keys6 = new Uint32Array(this.t6 ? CHUNK * this.l6.width : 0);
    this.rows4 = new Uint32Array(CHUNK);
    this.rows6 = new Uint32Array(CHUNK);
    this.idx = new Int32Array(CHUNK);
    this.allRows = new Uint32Array(CHUNK);
    this.reps4 = spec.keepFirst ? new RowStore(budget, "-a first records") : null;
    this.reps6 = spec.keepFirst ? new RowStore(budget, "-a first records (IPv6)") : null;
    this.one = new Uint32Array(1);
    this.keep = new Uint32Array(CHUNK);
    this.keepHashes = new Uint32Array(CHUNK);
  }

  /**
   * Makes this aggregator one of `count` hash partitions (index 0..count-1): `add` keeps only the rows whose
   * group falls in partition `index` and records the ordinal of each group's first flow, so that `fromParts`
   * can restore first-seen order. Rows of the other partitions are dropped (every thread sees every row), or
   * with `forward` staged for `takeForwarded` (one thread reads, the others get their rows by `addForwarded`).
   * `share0`: the fraction of the hash space of partition 0 (the others share the rest equally), so that the
   * reading thread can do less aggregation. Not for -a or -b/-B. Call before the first `add`.
   */
  partition(index: number, count: number, opts: { forward?: boolean; share0?: number } = {}): void {
    if (this.spec.keepFirst || this.spec.bidir !== 0) throw new RangeError("aggregation: -a/-b/-B do not partition");
    if (!(Number.isInteger(count) && count >= 1 && index >= 0 && index < count && count <= 256))
      throw new RangeError(`aggregation: bad partition ${index} of ${count}`);
    this.partIndex = index;
    this.partCount = count;
    this.bounds = partitionBounds(count, opts.share0 ?? 1 / count);
    this.outboxes = [];
    if (opts.forward) {
      for (let q = 0; q < count; q++) {
        this.outboxes.push(q === index ? null : new Outbox(q, false, this.l4.width));
        this.outboxes.push(q === index || !this.t6 ? null : new Outbox(q, true, this.l6.width));
      }
    }
  }

  /** Forwarding: the rows of other partitions staged by the `add` calls since the last take. */
  takeForwarded(): ForwardedRows[] {
    const f = this.forwarded;
    this.forwarded = [];
    return f;
  }

  /** Adds rows another partition's `add` forwarded to this one (see partition). */
  addForwarded(f: ForwardedRows): void {
    const t = f.v6 ? this.t6 : this.t4;
    if (t === null || f.part !== this.partIndex) throw new RangeError("aggregation: forwarded rows of another table");
    const W = t.width;
    const rows = this.allRows;
    for (let j = 0; j < CHUNK; j++) rows[j] = j;
    for (let start = 0; start < f.m; start += CHUNK) {
      const m = Math.min(CHUNK, f.m - start);
      const end = start + m;
      const before = t.count;
      t.lookupN(f.keys.subarray(start * W, end * W), m, this.idx, f.hashes.subarray(start, end));
      t.accumulate(
        this.idx,
        rows,
        m,
        f.flows.subarray(start, end),
        f.inPackets.subarray(start, end),
        f.inBytes.subarray(start, end),
        f.outPackets.subarray(start, end),
        f.outBytes.subarray(start, end),
        f.first.subarray(start, end),
        f.last.subarray(start, end),
        f.fix === null
          ? null
          : {
              flowsFix: f.fix.flowsFix.subarray(start, end),
              inPacketsFix: f.fix.inPacketsFix.subarray(start, end),
              inBytesFix: f.fix.inBytesFix.subarray(start, end),
              outPacketsFix: f.fix.outPacketsFix.subarray(start, end),
              outBytesFix: f.fix.outBytesFix.subarray(start, end),
            },
      );
      if (t.count > before) this.recordOrdinals(t, before, rows, m, f.ords.subarray(start, end));
    }
  }

  /** Number of aggregated records so far. */
  get size(): number {
    return this.t4.count + (this.t6 ? this.t6.count : 0);
  }

  /**
   * Sets aside room for `rows` groups when that bound is known (the rows to scan): see KeyTable.reserve. The
   * IPv4 table only; the IPv6 one (usually far fewer groups) grows as needed.
   */
  reserve(rows: number): void {
    this.t4.reserve(rows);
  }

  memoryBytes(): number {
    return (
      this.t4.memoryBytes() +
      (this.t6 ? this.t6.memoryBytes() : 0) +
      (this.reps4 ? this.reps4.memoryBytes() : 0) +
      (this.reps6 ? this.reps6.memoryBytes() : 0)
    );
  }

  /**
   * Merges rows `sel[0..n)` of `batch` (all rows 0..n-1 when `sel` is null).
   * @throws StatsError ERR_STATS_MEMORY past the memory budget.
   */
  add(batch: RecordBatch, sel: Uint32Array | null, n: number): void {
    const c = batch.cols;
    if (this.partCount > 1 && batch.length > ORDINAL_BLOCK) throw new RangeError("aggregation: block too large");
    for (let start = 0; start < n; start += CHUNK) {
      const m = Math.min(CHUNK, n - start);
      let rows: Uint32Array;
      if (sel) {
        rows = sel.subarray(start, start + m);
      } else {
        rows = this.allRows;
        for (let j = 0; j < m; j++) rows[j] = start + j;
      }
      if (this.spec.bidir !== 0) {
        this.addBidir(c, rows, m);
        continue;
      }
      if (!this.t6) {
        this.addRows(batch, rows, m, this.t4, this.l4, this.keys4, this.reps4);
        continue;
      }
      const split = splitByFamily(c.v6Flags, this.addrBits, rows, m, this.rows4, this.rows6);
      const m4 = split & 0xffff;
      const m6 = split >>> 16;
      if (m4 > 0) this.addRows(batch, this.rows4, m4, this.t4, this.l4, this.keys4, this.reps4);
      if (m6 > 0) this.addRows(batch, this.rows6, m6, this.t6, this.l6, this.keys6, this.reps6);
    }
    // forwarding: the other partitions' rows of this batch, with their counters while the batch is valid
    for (const ob of this.outboxes) if (ob !== null && ob.m > 0) this.forwarded.push(ob.take(c, this.ordinalBase));
  }

  /** -b/-B: one row at a time (find forward, else find reverse, else insert forward). */
  private addBidir(c: ColumnArrays, rows: Uint32Array, m: number): void {
    const one = this.one;
    const guess = this.spec.bidir === 2;
    for (let j = 0; j < m; j++) {
      const r = rows[j]!;
      one[0] = r;
      const v6 = (c.v6Flags[r]! & this.addrBits) !== 0;
      const t = v6 ? this.t6! : this.t4;
      const l = v6 ? this.l6 : this.l4;
      const kb = v6 ? this.keys6 : this.keys4;
      this.buildKeys(c, one, 1, l, kb);
      let crossed = false;
      if (guess) {
        const p = c.proto[r]!;
        const sp = c.srcPort[r]!;
        const dp = c.dstPort[r]!;
        // nfdump NeedSwapGeneric: the side on the lower port class (< 1024, < 32768, < 49152) is the server
        if (
          (p === 6 || p === 17) &&
          ((sp < 1024 && dp >= 1024) || (sp < 32768 && dp >= 32768) || (sp < 49152 && dp >= 49152))
        ) {
          reverseKey(kb, l);
          crossed = true;
        }
      }
      let e = t.find(kb, 0);
      if (e < 0) {
        reverseKey(kb, l);
        e = t.find(kb, 0);
        if (e >= 0) {
          crossed = !crossed;
        } else {
          reverseKey(kb, l);
          e = t.findOrInsert(kb, 0);
        }
      }
      addOneRow(t.acc, t.ensureOut(), e, c, r, crossed);
    }
  }

  private addRows(
    batch: RecordBatch,
    rows: Uint32Array,
    m: number,
    t: KeyTable,
    l: Layout,
    kb: Uint32Array,
    reps: RowStore | null,
  ): void {
    const c = batch.cols;
    this.buildKeys(c, rows, m, l, kb);
    if (this.partCount > 1) {
      const fwd = this.outboxes.length > 0 ? this.outboxes : null;
      m = keepPartition(kb, l.width, rows, m, this.keep, this.keepHashes, this.partIndex, this.bounds, fwd, l.compact);
      rows = this.keep;
      if (m === 0) return;
    }
    const before = t.count;
    t.lookupN(kb, m, this.idx, this.partCount > 1 ? this.keepHashes : null);
    t.accumulate(
      this.idx,
      rows,
      m,
      c.flows,
      c.inPackets,
      c.inBytes,
      c.outPackets,
      c.outBytes,
      c.msecFirst,
      c.msecLast,
      c,
    );
    if (this.partCount > 1 && t.count > before) this.recordOrdinals(t, before, rows, m, null);
    if (reps && t.count > before) {
      // new entries were numbered in row order: the first row mapping to entry `next` is its first flow
      let next = before;
      const idx = this.idx;
      const one = this.one;
      for (let j = 0; j < m && next < t.count; j++) {
        if (idx[j] === next) {
          one[0] = rows[j]!;
          reps.append(batch, one, 1);
          next++;
        }
      }
    }
  }

  /**
   * Partitioned: the ordinals of the entries `before .. t.count` created by the last lookup of `rows`
   * (`ordinalBase` + row, or `given[j]` for row j).
   */
  private recordOrdinals(t: KeyTable, before: number, rows: Uint32Array, m: number, given: Float64Array | null): void {
    const v6 = t !== this.t4;
    let ords = v6 ? this.ords6 : this.ords4;
    if (ords.length < t.count) {
      // as long as the table's entry arrays: pages past `count` stay untouched (not resident)
      const n = Math.max(t.count, t.capacity);
      this.budget.charge((n - ords.length) * 8, `${t.name} (order)`, t.count);
      const grown = new Float64Array(n);
      grown.set(ords);
      ords = grown;
      if (v6) this.ords6 = ords;
      else this.ords4 = ords;
    }
    // new entries were numbered in row order: the first row mapping to entry `next` is its first flow
    let next = before;
    const idx = this.idx;
    const base = this.ordinalBase;
    for (let j = 0; j < m && next < t.count; j++) {
      if (idx[j] === next) {
        ords[next] = given !== null ? given[j]! : base + rows[j]!;
        next++;
      }
    }
  }

  /**
   * The partition's groups for `fromParts`: all of them (views of the tables, no copy), or only `ids`
   * (ascending group ids, e.g. this partition's top N: with ties broken by first-seen order the global top N
   * is among the partitions' top N).
   */
  exportPart(ids?: Uint32Array): AggregatorPart {
    const c4 = this.t4.count;
    if (!ids) {
      return {
        text: this.spec.text,
        t4: tableView(this.t4, c4),
        t6: this.t6 ? tableView(this.t6, this.t6.count) : null,
        ords4: this.ords4.subarray(0, c4),
        ords6: this.ords6.subarray(0, this.t6 ? this.t6.count : 0),
      };
    }
    let n4 = 0;
    while (n4 < ids.length && ids[n4]! < c4) n4++;
    const g4 = gatherEntries(this.t4, this.ords4, ids.subarray(0, n4), 0);
    const g6 = this.t6 ? gatherEntries(this.t6, this.ords6, ids.subarray(n4), c4) : null;
    return {
      text: this.spec.text,
      t4: g4.state,
      t6: g6 ? g6.state : null,
      ords4: g4.ords,
      ords6: g6 ? g6.ords : new Float64Array(0),
    };
  }

  /**
   * A read-only aggregator holding the union of disjoint partitions (exportPart of each), groups in
   * first-seen order per table: what one aggregator fed every row would hold, for entryOrder / writeEntry.
   */
  static fromParts(spec: AggregationSpec, budget: MemoryBudget, parts: readonly AggregatorPart[]): Aggregator {
    const a = new Aggregator(spec, budget);
    for (const p of parts) {
      if (p.text !== spec.text) throw new RangeError(`aggregation: cannot merge '${p.text}' into '${spec.text}'`);
    }
    const merged4 = mergeByOrdinal(
      parts.map((p) => p.t4),
      parts.map((p) => p.ords4),
    );
    a.t4.dispose();
    (a as { t4: KeyTable }).t4 = KeyTable.fromEntries(merged4, budget, a.t4.name);
    if (a.t6) {
      const merged6 = mergeByOrdinal(
        parts.map((p) => p.t6!),
        parts.map((p) => p.ords6),
      );
      a.t6.dispose();
      (a as { t6: KeyTable }).t6 = KeyTable.fromEntries(merged6, budget, a.t6.name);
    }
    return a;
  }

  private buildKeys(c: ColumnArrays, rows: Uint32Array, m: number, l: Layout, kb: Uint32Array): void {
    const W = l.width;
    const fw = l.flagsWord;
    if (fw >= 0) for (let j = 0; j < m; j++) kb[j * W + fw] = 0;
    let addrIndex = 0;
    for (let p = 0; p < this.spec.parts.length; p++) {
      const part = this.spec.parts[p]!;
      const o = l.offsets[p]!;
      switch (part.kind) {
        case "scalar":
          buildScalarPart(c[part.column] as Uint8Array | Uint16Array | Uint32Array, rows, m, kb, W, o);
          break;
        case "mac":
          buildMacPart(c[part.column] as Float64Array, rows, m, kb, W, o);
          break;
        case "addr": {
          const col = part.column as "srcAddr";
          const maskCol = part.maskColumn ? c[part.maskColumn] : null;
          if (l.compact) {
            buildAddr4Part(c[col], rows, m, kb, W, o, part.v4Mask, maskCol);
          } else {
            const bit = 1 << (COLUMN[col] as { v6bit: number }).v6bit;
            buildAddrPart(
              c[col],
              c[`${col}6`],
              c.v6Flags,
              bit,
              rows,
              m,
              kb,
              W,
              o,
              fw,
              1 << addrIndex,
              part.v4Mask,
              part.v6Prefix,
              maskCol,
            );
          }
          addrIndex++;
          break;
        }
      }
    }
  }

  /** Merges another aggregator of the same spec (a worker's partial result, live or posted). */
  merge(other: Aggregator | AggregatorState): void {
    const s = other instanceof Aggregator ? other.exportState() : other;
    if (s.text !== this.spec.text)
      throw new RangeError(`aggregation: cannot merge '${s.text}' into '${this.spec.text}'`);
    this.mergeTable(this.t4, s.t4, this.reps4, s.reps4);
    if (this.t6 && s.t6) this.mergeTable(this.t6, s.t6, this.reps6, s.reps6);
  }

  private mergeTable(t: KeyTable, o: KeyTableState, reps: RowStore | null, oreps: readonly ColumnArrays[]): void {
    const W = t.width;
    for (let e = 0; e < o.count; e++) {
      const before = t.count;
      const d = t.findOrInsert(o.keys, e * W);
      if (d >= before && reps) {
        const chunk = oreps[e >>> ROW_CHUNK_BITS];
        if (chunk) {
          this.one[0] = e & (ROW_CHUNK - 1);
          reps.appendCols(chunk, this.one, 1);
        }
      }
      t.addEntry(d, o.acc, e, o.accOut, o.accFix);
    }
  }

  /** The partial state as plain typed arrays (see `aggregatorTransferList`). */
  exportState(): AggregatorState {
    return {
      text: this.spec.text,
      t4: this.t4.exportState(),
      t6: this.t6 ? this.t6.exportState() : null,
      reps4: this.reps4 ? this.reps4.chunks.map((b) => b.cols) : [],
      reps6: this.reps6 ? this.reps6.chunks.map((b) => b.cols) : [],
    };
  }

  /**
   * Group ids in output order: insertion order (IPv4 groups, then IPv6 groups) without `order`; else by the
   * order's value (ties: that insertion order), the best `n` by heap when n > 0.
   */
  entryOrder(order?: OrderDef, ascending?: boolean, n = 0): Uint32Array {
    const c4 = this.t4.count;
    const count = this.size;
    if (order && n > 0 && n < count) {
      // the best n by a heap, values computed on the fly (no arrays of all groups)
      const t4 = this.t4;
      const t6 = this.t6;
      const value = (id: number): number =>
        id < c4 ? entryOrderValue(t4, id, order) : entryOrderValue(t6!, id - c4, order);
      return selectTopOf(count, value, n, ascending ?? order.ascending);
    }
    if (!order && n > 0 && n < count) return Uint32Array.from({ length: n }, (_, i) => i);
    const ids = new Uint32Array(count);
    for (let i = 0; i < count; i++) ids[i] = i;
    if (!order) return ids;
    const values = new Float64Array(count);
    fillOrderValues(this.t4, order, values, 0);
    if (this.t6) fillOrderValues(this.t6, order, values, c4);
    return selectTop(ids, values, n, ascending ?? order.ascending, (a, b) => a - b);
  }

  /** Writes group `id` as a new row of `dst`; returns the row or -1 when `dst` is full. */
  writeEntry(id: number, dst: RecordBatch): number {
    const row = dst.addRow();
    if (row < 0) return -1;
    const c = dst.cols;
    const c4 = this.t4.count;
    const v6 = id >= c4;
    const t = v6 ? this.t6! : this.t4;
    const e = v6 ? id - c4 : id;
    const l = v6 ? this.l6 : this.l4;
    const reps = v6 ? this.reps6 : this.reps4;
    if (reps) {
      reps.copyTo(e, dst, row);
    } else {
      const keys = t.keys;
      const base = e * l.width;
      const flags = l.flagsWord >= 0 ? keys[base + l.flagsWord]! : 0;
      let addrIndex = 0;
      for (let p = 0; p < this.spec.parts.length; p++) {
        const part = this.spec.parts[p]!;
        const o = base + l.offsets[p]!;
        switch (part.kind) {
          case "scalar":
            (c[part.column] as Uint32Array)[row] = keys[o]!;
            break;
          case "mac":
            (c[part.column] as Float64Array)[row] = keys[o]! * 4294967296 + keys[o + 1]!;
            break;
          case "addr": {
            const col = part.column as "srcAddr";
            const bit = 1 << (COLUMN[col] as { v6bit: number }).v6bit;
            if (l.compact) {
              c[col][row] = keys[o]!;
            } else if ((flags & (1 << addrIndex)) !== 0) {
              const w6 = c[`${col}6`];
              for (let w = 0; w < 4; w++) w6[row * 4 + w] = keys[o + w]!;
              c.v6Flags[row] = c.v6Flags[row]! | bit;
            } else {
              c[col][row] = keys[o + 3]!;
            }
            addrIndex++;
            break;
          }
        }
      }
    }
    const a = e * ACC_STRIDE;
    const acc = t.acc;
    c.flows[row] = acc[a + A_FLOWS]!;
    c.inPackets[row] = acc[a + A_IN_PACKETS]!;
    c.inBytes[row] = acc[a + A_IN_BYTES]!;
    c.outPackets[row] = t.outPackets(e);
    c.outBytes[row] = t.outBytes(e);
    c.msecFirst[row] = acc[a + A_FIRST]!;
    c.msecLast[row] = acc[a + A_LAST]!;
    if (t.accFix !== null) {
      // sums past 2^53: exact values (record/u64.ts)
      storeSum(c.flows, c.flowsFix, row, c.flows[row], t.fixOf(e, 0));
      storeSum(c.inPackets, c.inPacketsFix, row, c.inPackets[row], t.fixOf(e, 1));
      storeSum(c.inBytes, c.inBytesFix, row, c.inBytes[row], t.fixOf(e, 2));
      storeSum(c.outPackets, c.outPacketsFix, row, c.outPackets[row], t.fixOf(e, 3));
      storeSum(c.outBytes, c.outBytesFix, row, c.outBytes[row], t.fixOf(e, 4));
    }
    return row;
  }

  /** The aggregated records in output order (see entryOrder) as RecordBatches of up to OUTPUT_BATCH_ROWS rows. */
  *toBatches(order?: OrderDef, ascending?: boolean, n = 0, batchRows = OUTPUT_BATCH_ROWS): Generator<RecordBatch> {
    const ids = this.entryOrder(order, ascending, n);
    let out = newBatch(batchRows, ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (out.full) {
        yield out;
        out = newBatch(batchRows, ids.length - i);
      }
      this.writeEntry(ids[i]!, out);
    }
    if (out.length > 0) yield out;
  }

  dispose(): void {
    this.t4.dispose();
    if (this.t6) this.t6.dispose();
    if (this.reps4) this.reps4.dispose();
    if (this.reps6) this.reps6.dispose();
  }
}

/** The first `n` entries of `t` as a state of views (no copy). */
function tableView(t: KeyTable, n: number): KeyTableState {
  return {
    width: t.width,
    count: n,
    keys: t.keys.subarray(0, n * t.width),
    hashes: t.hashes.subarray(0, n),
    acc: t.acc.subarray(0, n * ACC_STRIDE),
    accOut: t.accOut ? t.accOut.subarray(0, n * OUT_STRIDE) : null,
    accFix: t.accFix ? t.accFix.subarray(0, n * FIX_STRIDE) : null,
  };
}

/** Copies entries `ids[k] - off` (ascending) of `t` and their ordinals. */
function gatherEntries(
  t: KeyTable,
  ords: Float64Array,
  ids: Uint32Array,
  off: number,
): { state: KeyTableState; ords: Float64Array } {
  const n = ids.length;
  const w = t.width;
  const keys = new Uint32Array(n * w);
  const hashes = new Uint32Array(w > 2 ? n : 0);
  const acc = new Float64Array(n * ACC_STRIDE);
  const accOut = t.accOut ? new Float64Array(n * OUT_STRIDE) : null;
  const accFix = t.accFix ? new Float64Array(n * FIX_STRIDE) : null;
  const o = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = ids[i]! - off;
    keys.set(t.keys.subarray(e * w, (e + 1) * w), i * w);
    if (w > 2) hashes[i] = t.hashes[e]!;
    acc.set(t.acc.subarray(e * ACC_STRIDE, (e + 1) * ACC_STRIDE), i * ACC_STRIDE);
    if (accOut) accOut.set(t.accOut!.subarray(e * OUT_STRIDE, (e + 1) * OUT_STRIDE), i * OUT_STRIDE);
    if (accFix) accFix.set(t.accFix!.subarray(e * FIX_STRIDE, (e + 1) * FIX_STRIDE), i * FIX_STRIDE);
    o[i] = ords[e]!;
  }
  return { state: { width: w, count: n, keys, hashes, acc, accOut, accFix }, ords: o };
}

/** Merges states whose entries are in ascending ordinal order into one state in ascending ordinal order. */
function mergeByOrdinal(states: readonly KeyTableState[], ords: readonly Float64Array[]): KeyTableState {
  const w = states[0]!.width;
  let n = 0;
  for (const s of states) n += s.count;
  const keys = new Uint32Array(n * w);
  const hashes = new Uint32Array(w > 2 ? n : 0);
  const acc = new Float64Array(n * ACC_STRIDE);
  const accOut = states.some((s) => s.accOut !== null) ? new Float64Array(n * OUT_STRIDE) : null;
  const accFix = states.some((s) => s.accFix !== null) ? new Float64Array(n * FIX_STRIDE) : null;
  const pos = new Int32Array(states.length);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestOrd = Infinity;
    for (let p = 0; p < states.length; p++) {
      const e = pos[p]!;
      if (e < states[p]!.count && ords[p]![e]! < bestOrd) {
        bestOrd = ords[p]![e]!;
        best = p;
      }
    }
    const s = states[best]!;
    const e = pos[best]!++;
    for (let k = 0; k < w; k++) keys[i * w + k] = s.keys[e * w + k]!;
    if (w > 2) hashes[i] = s.hashes[e]!;
    for (let k = 0; k < ACC_STRIDE; k++) acc[i * ACC_STRIDE + k] = s.acc[e * ACC_STRIDE + k]!;
    if (accOut && s.accOut) {
      accOut[i * OUT_STRIDE] = s.accOut[e * OUT_STRIDE]!;
      accOut[i * OUT_STRIDE + 1] = s.accOut[e * OUT_STRIDE + 1]!;
    }
    if (accFix && s.accFix)
      for (let k = 0; k < FIX_STRIDE; k++) accFix[i * FIX_STRIDE + k] = s.accFix[e * FIX_STRIDE + k]!;
  }
  return { width: w, count: n, keys, hashes, acc, accOut, accFix };
}

/**
 * Keeps the keys (width `W`, in `kb`) of partition `index` of `count`, compacting them in place, their rows
 * into `out` and their hashes (the table's) into `hashes`; returns how many. The partition comes from the hash's high bits, the slot from its low ones.
 */
function keepPartition(
  kb: Uint32Array,
  W: number,
  rows: Uint32Array,
  m: number,
  out: Uint32Array,
  hashes: Uint32Array,
  index: number,
  bounds: Uint32Array,
  outboxes: readonly (Outbox | null)[] | null,
  compact: boolean,
): number {
  let k = 0;
  for (let j = 0; j < m; j++) {
    const h = W === 1 ? hashWord(kb[j]!) : W === 2 ? hash2(kb[2 * j]!, kb[2 * j + 1]!) : hashWords(kb, j * W, W);
    const x = h >>> 16;
    let q = 0;
    while (x >= bounds[q]!) q++;
    if (q !== index) {
      if (outboxes !== null) outboxes[2 * q + (compact ? 0 : 1)]!.push(rows[j]!, kb, j * W, h);
      continue;
    }
    if (k !== j) for (let i = 0; i < W; i++) kb[k * W + i] = kb[j * W + i]!;
    hashes[k] = h;
    out[k++] = rows[j]!;
  }
  return k;
}

/** Upper bounds (exclusive) of the high 16 hash bits of each partition; partition 0 gets `share0`. */
function partitionBounds(count: number, share0: number): Uint32Array {
  const b = new Uint32Array(count);
  const first = count === 1 ? 65536 : Math.max(1, Math.min(65535, Math.round(share0 * 65536)));
  for (let q = 0; q < count; q++)
    b[q] = q === count - 1 ? 65536 : first + Math.round(((65536 - first) * q) / (count - 1));
  return b;
}

/** Swaps the source and destination parts (addresses, ports, their IPv6 bits) of a 5-tuple key in place. */
function reverseKey(kb: Uint32Array, l: Layout): void {
  const aw = l.compact ? 1 : 4;
  const o0 = l.offsets[0]!;
  const o1 = l.offsets[1]!;
  for (let i = 0; i < aw; i++) {
    const x = kb[o0 + i]!;
    kb[o0 + i] = kb[o1 + i]!;
    kb[o1 + i] = x;
  }
  const p2 = l.offsets[2]!;
  const p3 = l.offsets[3]!;
  const x = kb[p2]!;
  kb[p2] = kb[p3]!;
  kb[p3] = x;
  if (l.flagsWord >= 0) {
    const f = kb[l.flagsWord]!;
    kb[l.flagsWord] = (f & ~3) | ((f & 1) << 1) | ((f >>> 1) & 1);
  }
}

/** Adds one row's counters to entry `e` (accumulators and out counters); `crossed` swaps in and out. */
function addOneRow(
  acc: Float64Array,
  out: Float64Array,
  e: number,
  c: ColumnArrays,
  r: number,
  crossed: boolean,
): void {
  const a = e * ACC_STRIDE;
  const o = e * OUT_STRIDE;
  const f = c.flows[r]!;
  acc[a + A_FLOWS] = acc[a + A_FLOWS]! + (f === 0 ? 1 : f);
  const inP = c.inPackets[r]!;
  const inB = c.inBytes[r]!;
  const outP = c.outPackets[r]!;
  const outB = c.outBytes[r]!;
  acc[a + A_IN_PACKETS] = acc[a + A_IN_PACKETS]! + (crossed ? outP : inP);
  acc[a + A_IN_BYTES] = acc[a + A_IN_BYTES]! + (crossed ? outB : inB);
  out[o] = out[o]! + (crossed ? inP : outP);
  out[o + 1] = out[o + 1]! + (crossed ? inB : outB);
  if (c.msecFirst[r]! < acc[a + A_FIRST]!) acc[a + A_FIRST] = c.msecFirst[r]!;
  if (c.msecLast[r]! > acc[a + A_LAST]!) acc[a + A_LAST] = c.msecLast[r]!;
}

function fillOrderValues(t: KeyTable, order: OrderDef, out: Float64Array, off: number): void {
  for (let e = 0; e < t.count; e++) out[off + e] = entryOrderValue(t, e, order);
}

/** The value `order` sorts group e of table t by. */
function entryOrderValue(t: KeyTable, e: number, order: OrderDef): number {
  const acc = t.acc;
  const a = e * ACC_STRIDE;
  return orderValue(
    order,
    acc[a + A_FLOWS]!,
    acc[a + A_IN_PACKETS]!,
    acc[a + A_IN_BYTES]!,
    t.outPackets(e),
    t.outBytes(e),
    acc[a + A_FIRST]!,
    acc[a + A_LAST]!,
    t.accFix,
    e * FIX_STRIDE,
  );
}

/** Splits rows into those whose key addresses are all IPv4 (r4) and the others (r6); returns m4 | m6 << 16. */
function splitByFamily(
  v6Flags: Uint8Array,
  bits: number,
  rows: Uint32Array,
  m: number,
  r4: Uint32Array,
  r6: Uint32Array,
): number {
  let m4 = 0;
  let m6 = 0;
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    if ((v6Flags[r]! & bits) === 0) r4[m4++] = r;
    else r6[m6++] = r;
  }
  return m4 | (m6 << 16);
}

function newBatch(rows: number, left: number): RecordBatch {
  return new RecordBatch(Math.max(1, Math.min(rows, left)));
}

/** Buffers of a partition (exportPart) for a postMessage transfer list (distinct buffers, each once). */
export function partTransferList(p: AggregatorPart): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>([
    ...stateBuffers(p.t4),
    p.ords4.buffer as ArrayBuffer,
    p.ords6.buffer as ArrayBuffer,
  ]);
  if (p.t6) for (const b of stateBuffers(p.t6)) out.add(b);
  return [...out];
}

/** Buffers of an aggregator state for a postMessage transfer list. */
export function aggregatorTransferList(s: AggregatorState): ArrayBuffer[] {
  const out = stateBuffers(s.t4);
  if (s.t6) out.push(...stateBuffers(s.t6));
  for (const cols of [...s.reps4, ...s.reps6]) {
    for (const a of Object.values(cols) as ArrayBufferView[]) out.push(a.buffer as ArrayBuffer);
  }
  return out;
}

// ── hot loops ─────────────────────────────────────────────────────────────────────────────────────────────

function buildScalarPart(
  a: Uint8Array | Uint16Array | Uint32Array,
  rows: Uint32Array,
  m: number,
  kb: Uint32Array,
  W: number,
  o: number,
): void {
  for (let j = 0; j < m; j++) kb[j * W + o] = a[rows[j]!]!;
}

function buildAddr4Part(
  v4: Uint32Array,
  rows: Uint32Array,
  m: number,
  kb: Uint32Array,
  W: number,
  o: number,
  v4Mask: number,
  maskCol: Uint8Array | null,
): void {
  if (maskCol === null) {
    for (let j = 0; j < m; j++) kb[j * W + o] = (v4[rows[j]!]! & v4Mask) >>> 0;
  } else {
    for (let j = 0; j < m; j++) {
      const r = rows[j]!;
      kb[j * W + o] = (v4[r]! & maskV4(maskCol[r]!)) >>> 0;
    }
  }
}

function buildMacPart(a: Float64Array, rows: Uint32Array, m: number, kb: Uint32Array, W: number, o: number): void {
  for (let j = 0; j < m; j++) {
    const v = a[rows[j]!]!;
    kb[j * W + o] = Math.floor(v / 4294967296);
    kb[j * W + o + 1] = v >>> 0;
  }
}

/** u32 mask of word `w` (0..3) of an IPv6 prefix of `bits`. */
function v6WordMask(bits: number, w: number): number {
  const b = bits - w * 32;
  return b >= 32 ? 0xffffffff : b <= 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
}

function buildAddrPart(
  v4: Uint32Array,
  v6w: Uint32Array,
  v6Flags: Uint8Array,
  bit: number,
  rows: Uint32Array,
  m: number,
  kb: Uint32Array,
  W: number,
  o: number,
  fw: number,
  keyBit: number,
  v4Mask: number,
  v6Prefix: number,
  maskCol: Uint8Array | null,
): void {
  const m0 = v6WordMask(v6Prefix, 0);
  const m1 = v6WordMask(v6Prefix, 1);
  const m2 = v6WordMask(v6Prefix, 2);
  const m3 = v6WordMask(v6Prefix, 3);
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    const d = j * W + o;
    if ((v6Flags[r]! & bit) === 0) {
      kb[d] = 0;
      kb[d + 1] = 0;
      kb[d + 2] = 0;
      const mk = maskCol === null ? v4Mask : maskV4(maskCol[r]!);
      kb[d + 3] = (v4[r]! & mk) >>> 0;
    } else {
      const s = r * 4;
      if (maskCol === null) {
        kb[d] = (v6w[s]! & m0) >>> 0;
        kb[d + 1] = (v6w[s + 1]! & m1) >>> 0;
        kb[d + 2] = (v6w[s + 2]! & m2) >>> 0;
        kb[d + 3] = (v6w[s + 3]! & m3) >>> 0;
      } else {
        const bits = maskCol[r]!;
        for (let w = 0; w < 4; w++) kb[d + w] = (v6w[s + w]! & v6WordMask(bits, w)) >>> 0;
      }
      kb[j * W + fw] = kb[j * W + fw]! | keyBit;
    }
  }
}

/** The state type of the key table, re-exported for workers. */
export type { KeyTableState };
