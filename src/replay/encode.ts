// SPDX-License-Identifier: BSD-3-Clause
// Encodes flow records (rows of a RecordBatch) as NetFlow v5, NetFlow v9 or IPFIX export datagrams.
//
// Each source (one per original exporter) has its own source id / observation domain / engine id, its own
// sequence numbers and its own templates. v9 and IPFIX records use one template per record shape: a base of
// addresses, ports (ICMP type/code in the destination port), protocol, flags, ToS, counters, times, AS, interfaces, masks, next hop,
// IPv4 or IPv6, plus optional groups (MACs, VLANs, MPLS labels, BGP next hop, direction/forwarding status/
// adjacent AS, out counters) present only when the record has a value there. Template id = 256 + 2·groups + v6,
// so plain IPv4 and IPv6 flows use templates 256 and 257. Templates go out before their first data record and
// again every `templateEveryPackets` datagrams of that source (and every `templateEveryMs` when a clock is given).
// v5 cannot carry IPv6: such records are counted in `stats.skippedV6`, not sent.
//
// Rows come a batch at a time (`addRows`): the template of every row is picked in one pass over the batch's
// columns, each row is appended (its number) to the datagram of its source and template, and a full datagram is
// written at once from the columns into the output's slab by the template's generated writer (one call per
// datagram). Rows still waiting when the batch ends are encoded into their datagram's staging buffer, since the
// batch's columns change on the next call.

import type { RecordBatch } from "../record/batch.js";
import { V6_BIT, type ColumnArrays } from "../record/schema.js";
import { EXACT_COUNTERS } from "../record/u64.js";

export type ExportProtocol = "v5" | "v9" | "ipfix";

export interface EncoderOptions {
  readonly protocol: ExportProtocol;
  /** Data records per datagram (default: as many as fit in 1,400 bytes; v5 at most 30). */
  readonly recordsPerPacket?: number;
  /** Resend a source's templates every this many of its datagrams (default 64). */
  readonly templateEveryPackets?: number;
  /** Also resend them when this many ms passed on `clock` since the last time (off without a clock). */
  readonly templateEveryMs?: number;
  readonly clock?: () => number;
}

export interface EncoderStats {
  flows: number;
  datagrams: number;
  bytes: number;
  /** IPv6 records that v5 cannot carry. */
  skippedV6: number;
}

// How a template field is written.
const K = {
  U: 0, // unsigned column value, `len` bytes big-endian (f64 counters exact up to 2^53)
  V4: 1, // IPv4 address column
  V6: 2, // IPv6 address column (the `<name>6` words)
  MAC: 3, // 48-bit MAC held in an f64
  REL: 4, // v9 time: ms since the exporter's boot (u32)
  ABS: 5, // IPFIX time: ms since the epoch (u64)
} as const;
type K = (typeof K)[keyof typeof K];

interface Field {
  readonly ie: number;
  readonly len: number;
  readonly kind: K;
  readonly col: keyof ColumnArrays;
}

const f = (ie: number, len: number, kind: K, col: keyof ColumnArrays): Field => ({ ie, len, kind, col });

const G_MAC = 1;
const G_VLAN = 2;
const G_MPLS = 4;
const G_BGPNH = 8;
const G_MISC = 16;
const G_OUT = 32;

// V6_BIT holds each address column's mask in v6Flags (not a bit number)
const SRC6 = V6_BIT.srcAddr;
const DST6 = V6_BIT.dstAddr;
const HOP6 = V6_BIT.nextHop;
const BGP6 = V6_BIT.bgpNextHop;

function templateFields(protocol: "v9" | "ipfix", v6: boolean, groups: number): Field[] {
  const t = protocol === "ipfix" ? K.ABS : K.REL;
  const tl = protocol === "ipfix" ? 8 : 4;
  const fields: Field[] = v6
    ? [f(27, 16, K.V6, "srcAddr6"), f(28, 16, K.V6, "dstAddr6"), f(62, 16, K.V6, "nextHop6")]
    : [f(8, 4, K.V4, "srcAddr"), f(12, 4, K.V4, "dstAddr"), f(15, 4, K.V4, "nextHop")];
  fields.push(
    f(10, 4, K.U, "input"),
    f(14, 4, K.U, "output"),
    f(2, 8, K.U, "inPackets"),
    f(1, 8, K.U, "inBytes"),
    f(protocol === "ipfix" ? 152 : 22, tl, t, "msecFirst"),
    f(protocol === "ipfix" ? 153 : 21, tl, t, "msecLast"),
    f(7, 2, K.U, "srcPort"),
    f(11, 2, K.U, "dstPort"),
    f(6, 1, K.U, "tcpFlags"),
    f(4, 1, K.U, "proto"),
    f(5, 1, K.U, "srcTos"),
    f(16, 4, K.U, "srcAs"),
    f(17, 4, K.U, "dstAs"),
    f(v6 ? 29 : 9, 1, K.U, "srcMask"),
    f(v6 ? 30 : 13, 1, K.U, "dstMask"),
  );
  if (groups & G_MAC)
    fields.push(
      f(56, 6, K.MAC, "inSrcMac"),
      f(57, 6, K.MAC, "outDstMac"),
      f(80, 6, K.MAC, "inDstMac"),
      f(81, 6, K.MAC, "outSrcMac"),
    );
  if (groups & G_VLAN) fields.push(f(58, 2, K.U, "srcVlan"), f(59, 2, K.U, "dstVlan"));
  if (groups & G_MPLS) for (let l = 1; l <= 10; l++) fields.push(f(69 + l, 3, K.U, `mpls${l}` as keyof ColumnArrays));
  if (groups & G_BGPNH) fields.push(v6 ? f(63, 16, K.V6, "bgpNextHop6") : f(18, 4, K.V4, "bgpNextHop"));
  if (groups & G_MISC)
    fields.push(
      f(61, 1, K.U, "direction"),
      f(55, 1, K.U, "dstTos"),
      f(89, 1, K.U, "fwdStatus"),
      f(128, 4, K.U, "nextAs"),
      f(129, 4, K.U, "prevAs"),
    );
  if (groups & G_OUT) fields.push(f(24, 8, K.U, "outPackets"), f(23, 8, K.U, "outBytes"));
  return fields;
}

/**
 * The stream of each row: (optional groups << 1) | IPv6, i.e. template id - 256 (v9, IPFIX), in `out[0..count)`.
 * Column-wise over the batch: every column is read once into a local, then one loop over the rows.
 */
function streamsOf(c: ColumnArrays, rows: Uint32Array | undefined, count: number, out: Uint8Array): void {
  const v6Flags = c.v6Flags;
  const mac1 = c.inSrcMac;
  const mac2 = c.outDstMac;
  const mac3 = c.inDstMac;
  const mac4 = c.outSrcMac;
  const vlan1 = c.srcVlan;
  const vlan2 = c.dstVlan;
  const mpls1 = c.mpls1;
  const bgp = c.bgpNextHop;
  const bgp6 = c.bgpNextHop6;
  const direction = c.direction;
  const dstTos = c.dstTos;
  const fwdStatus = c.fwdStatus;
  const nextAs = c.nextAs;
  const prevAs = c.prevAs;
  const outPackets = c.outPackets;
  const outBytes = c.outBytes;
  for (let k = 0; k < count; k++) {
    const row = rows === undefined ? k : rows[k]!;
    const flags = v6Flags[row]!;
    const v6 = (flags & (SRC6 | DST6)) !== 0;
    let g = 0;
    if (mac1[row] || mac2[row] || mac3[row] || mac4[row]) g |= G_MAC;
    if (vlan1[row] || vlan2[row]) g |= G_VLAN;
    if (mpls1[row]) g |= G_MPLS;
    // a BGP next hop of the other family than the addresses is not sent
    if (((flags & BGP6) !== 0) === v6) {
      if (v6) {
        const w = row * 4;
        if (bgp6[w] || bgp6[w + 1] || bgp6[w + 2] || bgp6[w + 3]) g |= G_BGPNH;
      } else if (bgp[row]) g |= G_BGPNH;
    }
    if (direction[row] || dstTos[row] || fwdStatus[row] || nextAs[row] || prevAs[row]) g |= G_MISC;
    if (outPackets[row] || outBytes[row]) g |= G_OUT;
    out[k] = (g << 1) | (v6 ? 1 : 0);
  }
}

interface Template {
  readonly id: number;
  readonly fields: Field[];
  readonly recordLength: number;
  /** The template record (id, count, then id/length pairs). */
  readonly record: Uint8Array;
  readonly perPacket: number;
  /** Writes rows as data records of this template (compiled once per template). */
  readonly writeRows: RowsWriter;
  /** v5/v9: offsets in the record of the first and last switched times (relative to the datagram's boot). */
  readonly firstAt: number;
  readonly lastAt: number;
}

/**
 * The records a datagram of one source and template is being filled with: rows of the current batch (their
 * numbers only: they are written straight from the columns when the datagram is built) after records staged
 * from earlier batches (whose columns are gone: written into `staged` when their batch ended, v5/v9 times kept
 * aside to be made relative when the datagram picks its boot time).
 */
interface Pending {
  readonly template: Template;
  readonly perPacket: number;
  readonly rows: Uint32Array;
  n: number;
  readonly staged: Uint8Array;
  readonly stagedView: DataView;
  stagedCount: number;
  /** Each staged record's first and last (ms since the epoch). */
  readonly stagedTimes: Float64Array;
  stagedMin: number;
  stagedMax: number;
  /** on the encoder's list of pendings with rows of the current batch */
  listed: boolean;
}

interface Source {
  readonly id: number;
  /** v9: datagrams sent; IPFIX and v5: data records sent. */
  sequence: number;
  datagrams: number;
  /** ms since the epoch the exporter "booted" (v5/v9 uptime base), fixed until a time does not fit. */
  boot: number;
  lastTemplatesAt: number;
  /** Template ids this source has announced, in order. */
  readonly announced: Set<number>;
  /** v9/IPFIX: pending datagram by stream (template id - 256) */
  readonly streams: (Pending | undefined)[];
  /** the same, in order of creation (flush order) */
  readonly pendingList: Pending[];
  /** v5: the one pending datagram. */
  v5: Pending | undefined;
}

/**
 * Where the encoder builds finished datagrams: it asks for room, writes the datagram there, then commits it.
 * The bytes of a reservation are not promised to be zero.
 */
export interface DatagramOutput {
  /** Room for a datagram of `length` bytes: its offset in `buffer` (which this call may replace). */
  reserve(length: number): number;
  readonly buffer: Uint8Array;
  readonly view: DataView;
  /** The datagram of `length` bytes at `offset` of `buffer` is complete. */
  commit(offset: number, length: number): void;
}

/**
 * Datagrams built in 1 MB slabs: allocating each datagram its own ArrayBuffer took a good share of the encoder's
 * time. A full slab is never written again, so a datagram stays valid while it is held.
 */
export abstract class SlabDatagrams implements DatagramOutput {
  buffer = new Uint8Array(0);
  view = new DataView(this.buffer.buffer);
  private used = 0;

  reserve(length: number): number {
    if (this.used + length > this.buffer.length) {
      this.buffer = new Uint8Array(Math.max(SLAB_BYTES, length));
      this.view = new DataView(this.buffer.buffer);
      this.used = 0;
    }
    const at = this.used;
    this.used += length;
    return at;
  }

  abstract commit(offset: number, length: number): void;
}

/** Slab datagrams handed to a callback as views. */
class SlabOutput extends SlabDatagrams {
  private readonly emit: (datagram: Uint8Array) => void;

  constructor(emit: (datagram: Uint8Array) => void) {
    super();
    this.emit = emit;
  }

  commit(offset: number, length: number): void {
    this.emit(this.buffer.subarray(offset, offset + length));
  }
}

const MAX_DATAGRAM = 1400;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;
const V5_HEADER = 24;
const V5_RECORD = 48;
const BOOT_MARGIN_MS = 3 * 86_400_000;
const TWO32 = 0x100000000;
const SLAB_BYTES = 1 << 20;
/** streams per source: (6 optional groups << 1) | IPv6 */
const STREAMS = 128;

export class FlowEncoder {
  readonly stats: EncoderStats = { flows: 0, datagrams: 0, bytes: 0, skippedV6: 0 };
  private readonly templates = new Map<number, Template>();
  private readonly sources = new Map<number, Source>();
  private readonly everyPackets: number;
  private readonly options: EncoderOptions;
  private readonly out: DatagramOutput;
  private readonly v5: boolean;
  private readonly ipfix: boolean;
  /** the columns of the batch being added (the rows of pendings point into them) */
  private cols: ColumnArrays | undefined = undefined;
  /** pendings holding rows of the current batch */
  private readonly listed: Pending[] = [];
  private streamOf = new Uint8Array(0);
  private readonly oneRow = new Uint32Array(1);

  /** `out`: a callback that gets each datagram (a view of a slab, valid as long as it is held), or an output. */
  constructor(options: EncoderOptions, out: ((datagram: Uint8Array) => void) | DatagramOutput) {
    this.options = options;
    this.out = typeof out === "function" ? new SlabOutput(out) : out;
    this.v5 = options.protocol === "v5";
    this.ipfix = options.protocol === "ipfix";
    this.everyPackets = options.templateEveryPackets ?? 64;
    if (!Number.isInteger(this.everyPackets) || this.everyPackets < 1)
      throw new RangeError(`template refresh must be a positive number of packets, not ${this.everyPackets}`);
    const rpp = options.recordsPerPacket;
    if (rpp !== undefined && (!Number.isInteger(rpp) || rpp < 1 || rpp > (options.protocol === "v5" ? 30 : 1000)))
      throw new RangeError(`records per packet out of range: ${rpp}`);
  }

  /** Encodes one row of `batch` for source `sourceId` (v9 source id, IPFIX domain, v5 engine type << 8 | id). */
  add(batch: RecordBatch, row: number, sourceId: number): void {
    this.oneRow[0] = row;
    this.addRows(batch, this.oneRow, 1, sourceId);
  }

  /**
   * Encodes rows `rows[0..count)` of `batch` (rows 0..count-1 when `rows` is undefined), in order, each for its
   * source: `sources[k]` for rows[k], or one source id for all. Datagrams that fill up go out at once; the rest
   * wait for more rows of their source and template (or `flush`).
   */
  addRows(batch: RecordBatch, rows: Uint32Array | undefined, count: number, sources: Uint32Array | number): void {
    const c = batch.cols;
    this.cols = c;
    const one = typeof sources === "number";
    let src = this.source(one ? sources : count > 0 ? sources[0]! : 0);
    let sid = src.id;
    if (this.v5) {
      const v6Flags = c.v6Flags;
      for (let k = 0; k < count; k++) {
        const row = rows === undefined ? k : rows[k]!;
        // (sources come into being in order of their first row, sent or not: the order `flush` follows)
        if (!one && sources[k] !== sid) {
          sid = sources[k]!;
          src = this.source(sid);
        }
        if ((v6Flags[row]! & (SRC6 | DST6)) !== 0) {
          this.stats.skippedV6++;
          continue;
        }
        const p = (src.v5 ??= newPending(V5_TEMPLATE, this.options.recordsPerPacket ?? 30));
        this.append(src, p, row);
      }
    } else {
      if (this.streamOf.length < count) this.streamOf = new Uint8Array(Math.max(count, 1024));
      const streamOf = this.streamOf;
      streamsOf(c, rows, count, streamOf);
      for (let k = 0; k < count; k++) {
        if (!one && sources[k] !== sid) {
          sid = sources[k]!;
          src = this.source(sid);
        }
        const s = streamOf[k]!;
        const p = src.streams[s] ?? this.stream(src, s);
        this.append(src, p, rows === undefined ? k : rows[k]!);
      }
    }
    // the batch's columns change after this call: its rows still waiting are written out now
    const listed = this.listed;
    for (let i = 0; i < listed.length; i++) {
      const p = listed[i]!;
      if (p.n > 0) this.stage(p, c);
      p.listed = false;
    }
    listed.length = 0;
    this.cols = undefined;
  }

  private append(src: Source, p: Pending, row: number): void {
    p.rows[p.n++] = row;
    if (!p.listed) {
      p.listed = true;
      this.listed.push(p);
    }
    if (p.stagedCount + p.n === p.perPacket) {
      if (this.v5) this.sendV5(src, p);
      else this.sendData(src, p);
    }
  }

  /** Sends every partially filled datagram (of one source, or of all). */
  flush(sourceId?: number): void {
    const list = sourceId === undefined ? [...this.sources.values()] : [this.sources.get(sourceId)].filter((s) => s);
    for (const src of list as Source[]) {
      if (src.v5 && src.v5.stagedCount > 0) this.sendV5(src, src.v5);
      for (const p of src.pendingList) if (p.stagedCount > 0) this.sendData(src, p);
    }
  }

  private source(id: number): Source {
    let s = this.sources.get(id);
    if (s === undefined) {
      s = {
        id,
        sequence: 0,
        datagrams: 0,
        boot: NaN,
        lastTemplatesAt: -Infinity,
        announced: new Set(),
        streams: new Array<Pending | undefined>(STREAMS).fill(undefined),
        pendingList: [],
        v5: undefined,
      };
      this.sources.set(id, s);
    }
    return s;
  }

  private stream(src: Source, s: number): Pending {
    const t = this.template(256 + s);
    const p = newPending(t, t.perPacket);
    src.streams[s] = p;
    src.pendingList.push(p);
    return p;
  }

  private template(id: number): Template {
    let t = this.templates.get(id);
    if (t === undefined) {
      const protocol = this.options.protocol as "v9" | "ipfix";
      const fields = templateFields(protocol, (id & 1) === 1, (id - 256) >> 1);
      const recordLength = fields.reduce((s, x) => s + x.len, 0);
      const record = new Uint8Array(4 + 4 * fields.length);
      const v = new DataView(record.buffer);
      v.setUint16(0, id);
      v.setUint16(2, fields.length);
      fields.forEach((x, i) => {
        v.setUint16(4 + 4 * i, x.ie);
        v.setUint16(6 + 4 * i, x.len);
      });
      const fit = Math.max(1, Math.floor((MAX_DATAGRAM - V9_HEADER - 4) / recordLength));
      const at = (ie: number): number => {
        let o = 0;
        for (const x of fields) {
          if (x.ie === ie) return o;
          o += x.len;
        }
        return -1;
      };
      t = {
        id,
        fields,
        recordLength,
        record,
        perPacket: this.options.recordsPerPacket ?? fit,
        writeRows: compileWriter(fields, recordLength),
        firstAt: at(22),
        lastAt: at(21),
      };
      this.templates.set(id, t);
    }
    return t;
  }

  /** Writes the pending rows of the batch ending now into the staged records. */
  private stage(p: Pending, c: ColumnArrays): void {
    const t = p.template;
    t.writeRows(p.stagedView, p.stagedCount * t.recordLength, c, p.rows, p.n, 0);
    const first = c.msecFirst;
    const last = c.msecLast;
    const times = p.stagedTimes;
    let min = p.stagedMin;
    let max = p.stagedMax;
    for (let i = 0, k = 2 * p.stagedCount; i < p.n; i++, k += 2) {
      const row = p.rows[i]!;
      const f = first[row]!;
      const l = last[row]!;
      times[k] = f;
      times[k + 1] = l;
      if (f < min) min = f;
      if (l > max) max = l;
    }
    p.stagedMin = min;
    p.stagedMax = max;
    p.stagedCount += p.n;
    p.n = 0;
  }

  /**
   * The export time (s) of a datagram of pending `p`; sets the source's sysUptime base (`boot`), rebooting the
   * exporter when the datagram's times do not fit.
   */
  private exportSecs(src: Source, p: Pending): number {
    let minFirst = p.stagedMin;
    let maxLast = p.stagedMax;
    if (p.n > 0) {
      const c = this.cols!;
      const first = c.msecFirst;
      const last = c.msecLast;
      for (let i = 0; i < p.n; i++) {
        const row = p.rows[i]!;
        const f = first[row]!;
        const l = last[row]!;
        if (f < minFirst) minFirst = f;
        if (l > maxLast) maxLast = l;
      }
    }
    if (!(maxLast > 0)) maxLast = 0;
    if (minFirst > maxLast) minFirst = maxLast;
    const exportSecs = Math.ceil(maxLast / 1000);
    if (Number.isNaN(src.boot) || minFirst < src.boot || exportSecs * 1000 - src.boot >= TWO32)
      src.boot = Math.max(0, minFirst - BOOT_MARGIN_MS);
    return exportSecs;
  }

  private templatesDue(src: Source): boolean {
    if (src.datagrams % this.everyPackets === 0) return true;
    const clock = this.options.clock;
    const every = this.options.templateEveryMs;
    return clock !== undefined && every !== undefined && clock() - src.lastTemplatesAt >= every;
  }

  private sendData(src: Source, p: Pending): void {
    const ipfix = this.ipfix;
    const t = p.template;
    const count = p.stagedCount + p.n;
    const refresh = this.templatesDue(src);
    if (refresh && this.options.clock) src.lastTemplatesAt = this.options.clock();
    // templates: on a refresh every one the source announced (this one last), else this one when it is new
    const announce = refresh || !src.announced.has(t.id);
    let tplBytes = 0;
    if (announce) {
      tplBytes = 4 + t.record.length;
      if (refresh) for (const id of src.announced) if (id !== t.id) tplBytes += this.templates.get(id)!.record.length;
    }
    const dataBytes = count * t.recordLength;
    const pad = (4 - (dataBytes % 4)) % 4;
    const hdr = ipfix ? IPFIX_HEADER : V9_HEADER;
    const length = hdr + tplBytes + 4 + dataBytes + pad;
    const exportSecs = this.exportSecs(src, p);
    const boot = src.boot;
    const out = this.out;
    const at = out.reserve(length);
    const buf = out.buffer;
    const v = out.view;
    if (ipfix) {
      v.setUint16(at, 10);
      v.setUint16(at + 2, length);
      v.setUint32(at + 4, exportSecs >>> 0);
      v.setUint32(at + 8, src.sequence >>> 0);
      v.setUint32(at + 12, src.id >>> 0);
      src.sequence += count;
    } else {
      v.setUint16(at, 9);
      v.setUint16(
        at + 2,
        count + (announce ? (refresh ? src.announced.size + (src.announced.has(t.id) ? 0 : 1) : 1) : 0),
      );
      v.setUint32(at + 4, (exportSecs * 1000 - boot) >>> 0);
      v.setUint32(at + 8, exportSecs >>> 0);
      v.setUint32(at + 12, src.sequence >>> 0);
      v.setUint32(at + 16, src.id >>> 0);
      src.sequence++;
    }
    let o = at + hdr;
    if (announce) {
      v.setUint16(o, ipfix ? 2 : 0);
      v.setUint16(o + 2, tplBytes);
      o += 4;
      if (refresh)
        for (const id of src.announced) {
          if (id === t.id) continue;
          const r = this.templates.get(id)!.record;
          buf.set(r, o);
          o += r.length;
        }
      buf.set(t.record, o);
      o += t.record.length;
      src.announced.add(t.id);
    }
    v.setUint16(o, t.id);
    v.setUint16(o + 2, 4 + dataBytes + pad);
    o += 4;
    const rec = t.recordLength;
    if (p.stagedCount > 0) {
      buf.set(p.staged.subarray(0, p.stagedCount * rec), o);
      if (!ipfix) rebaseStagedTimes(v, o, rec, t.firstAt, t.lastAt, p, boot);
      o += p.stagedCount * rec;
    }
    if (p.n > 0) t.writeRows(v, o, this.cols!, p.rows, p.n, boot);
    o += p.n * rec;
    for (let i = 0; i < pad; i++) buf[o + i] = 0;
    this.finish(src, p, count, at, length);
  }

  private sendV5(src: Source, p: Pending): void {
    const count = p.stagedCount + p.n;
    const length = V5_HEADER + count * V5_RECORD;
    const exportSecs = this.exportSecs(src, p);
    const boot = src.boot;
    const out = this.out;
    const at = out.reserve(length);
    const buf = out.buffer;
    const v = out.view;
    v.setUint16(at, 5);
    v.setUint16(at + 2, count);
    v.setUint32(at + 4, (exportSecs * 1000 - boot) >>> 0);
    v.setUint32(at + 8, exportSecs >>> 0);
    v.setUint32(at + 12, 0);
    v.setUint32(at + 16, src.sequence >>> 0);
    buf[at + 20] = (src.id >>> 8) & 0xff;
    buf[at + 21] = src.id & 0xff;
    v.setUint16(at + 22, 0);
    let o = at + V5_HEADER;
    if (p.stagedCount > 0) {
      buf.set(p.staged.subarray(0, p.stagedCount * V5_RECORD), o);
      rebaseStagedTimes(v, o, V5_RECORD, 24, 28, p, boot);
      o += p.stagedCount * V5_RECORD;
    }
    if (p.n > 0) writeV5Rows(v, o, this.cols!, p.rows, p.n, boot);
    src.sequence += count;
    this.finish(src, p, count, at, length);
  }

  private finish(src: Source, p: Pending, count: number, at: number, length: number): void {
    this.stats.flows += count;
    this.stats.datagrams++;
    this.stats.bytes += length;
    src.datagrams++;
    p.n = 0;
    p.stagedCount = 0;
    p.stagedMin = Infinity;
    p.stagedMax = -Infinity;
    this.out.commit(at, length);
  }
}

const V5_TEMPLATE: Template = {
  id: 0,
  fields: [],
  recordLength: V5_RECORD,
  record: new Uint8Array(0),
  perPacket: 30,
  writeRows: writeV5Rows,
  firstAt: 24,
  lastAt: 28,
};

/**
 * The staged records' first/last times (at byte offsets firstAt/lastAt of each `rec`-byte record from `o`),
 * relative to this datagram's boot (v5 and v9 uptime fields).
 */
function rebaseStagedTimes(
  v: DataView,
  o: number,
  rec: number,
  firstAt: number,
  lastAt: number,
  p: Pending,
  boot: number,
): void {
  const times = p.stagedTimes;
  for (let r = 0, q = o; r < p.stagedCount; r++, q += rec) {
    v.setUint32(q + firstAt, clampU32(times[2 * r]! - boot));
    v.setUint32(q + lastAt, clampU32(times[2 * r + 1]! - boot));
  }
}

/** A datagram's worth of `records` data records being collected. */
function newPending(template: Template, records: number): Pending {
  const staged = new Uint8Array(template.recordLength * records);
  return {
    template,
    perPacket: records,
    rows: new Uint32Array(records),
    n: 0,
    staged,
    stagedView: new DataView(staged.buffer),
    stagedCount: 0,
    stagedTimes: new Float64Array(2 * records),
    stagedMin: Infinity,
    stagedMax: -Infinity,
    listed: false,
  };
}

function clampU32(v: number): number {
  return v < 0 ? 0 : v >= TWO32 ? TWO32 - 1 : v;
}

/**
 * Writes rows[0..n) of the columns as consecutive data records from byte `o` of `v`; v5/v9 times relative to
 * `boot` (ms since the epoch).
 */
type RowsWriter = (v: DataView, o: number, c: ColumnArrays, rows: Uint32Array, n: number, boot: number) => void;

// The record writer of a template is generated once as straight-line code inside a loop over the rows: one
// DataView store per field at a constant offset from the record's start, each column read into a local first.
// A loop over the field list with a switch on the field kind and a lookup of the column per field took most of
// the encoder's time. Only column names from the fixed field table above are spliced into the code.
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** Counters with an exact companion column (record/u64.ts). */
const EXACT: ReadonlySet<string> = new Set<string>(EXACT_COUNTERS);

function compileWriter(fields: readonly Field[], recordLength: number): RowsWriter {
  const lines: string[] = [];
  const used = new Set<string>();
  const col = (name: string): string => {
    if (!SAFE_NAME.test(name)) throw new Error(`replay: unsafe column name ${name}`);
    used.add(name);
    return `${name}C`;
  };
  let o = 0;
  for (const x of fields) {
    const at = o === 0 ? "o" : `o + ${o}`;
    const c = col(x.col);
    switch (x.kind) {
      case K.U:
        if (x.ie === 11) {
          // ICMP type and code travel in the destination port (type << 8 | code), as v5 and Cisco's v9 send
          // them: nfdump aggregates an icmpTypeCode element's flows under port 0.0
          const [p, t, k] = [col("proto"), col("icmpType"), col("icmpCode")];
          lines.push(
            `{ let val = ${c}[row]; const p = ${p}[row];`,
            `  if ((p === 1 || p === 58) && (${t}[row] || ${k}[row])) val = (${t}[row] << 8) | ${k}[row];`,
            `  ${uintStore(at, x.len, "val")} }`,
          );
        } else if (x.len === 8 && EXACT.has(x.col)) {
          // a u64 counter from 2^53 up: the double plus its fix column (record/u64.ts), carried into the low word
          const fix = col(`${x.col}Fix`);
          lines.push(
            `{ const val = ${c}[row];`,
            `  if (val < 9007199254740992) { ${uintStore(at, 8, "val")} }`,
            `  else { let hi = Math.floor(val / ${TWO32}); let lo = (val - hi * ${TWO32}) + (${fix}[row] | 0);`,
            `    if (lo < 0) { lo += ${TWO32}; hi -= 1; } else if (lo >= ${TWO32}) { lo -= ${TWO32}; hi += 1; }`,
            `    v.setUint32(${at}, hi >>> 0); v.setUint32(${at} + 4, lo >>> 0); } }`,
          );
        } else lines.push(`{ const val = ${c}[row]; ${uintStore(at, x.len, "val")} }`);
        break;
      case K.V4:
        lines.push(`v.setUint32(${at}, ${c}[row]);`);
        break;
      case K.V6:
        lines.push(
          `{ const w = row * 4; v.setUint32(${at}, ${c}[w]); v.setUint32(o + ${o + 4}, ${c}[w + 1]);`,
          `  v.setUint32(o + ${o + 8}, ${c}[w + 2]); v.setUint32(o + ${o + 12}, ${c}[w + 3]); }`,
        );
        break;
      case K.MAC:
        lines.push(
          `{ const m = ${c}[row]; const hi = Math.floor(m / ${TWO32}); v.setUint16(${at}, hi); v.setUint32(o + ${o + 2}, m - hi * ${TWO32}); }`,
        );
        break;
      case K.ABS:
        lines.push(`{ const val = ${c}[row]; ${uintStore(at, 8, "val")} }`);
        break;
      case K.REL:
        lines.push(`v.setUint32(${at}, clampU32(${c}[row] - boot));`);
        break;
    }
    o += x.len;
  }
  const decl = [...used].map((name) => `const ${name}C = c.${name};`);
  const src = [
    `return function writeRows(v, o, c, rows, n, boot) {`,
    ...decl,
    `for (let i = 0; i < n; i++, o += ${recordLength}) {`,
    `const row = rows[i];`,
    ...lines,
    `}`,
    `};`,
  ].join("\n");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function("clampU32", src) as (clamp: typeof clampU32) => RowsWriter;
  return make(clampU32);
}

/** Code storing the unsigned `val` big-endian in `len` bytes at `at` (8 bytes: exact up to 2^53). */
function uintStore(at: string, len: number, val: string): string {
  switch (len) {
    case 1:
      return `v.setUint8(${at}, ${val});`;
    case 2:
      return `v.setUint16(${at}, ${val});`;
    case 3:
      return `v.setUint8(${at}, (${val} >>> 16) & 0xff); v.setUint16(${at} + 1, ${val} & 0xffff);`;
    case 4:
      return `v.setUint32(${at}, ${val} >>> 0 === ${val} ? ${val} : clampU32(${val}));`;
    default:
      // (val - hi * 2^32 is val % 2^32 without a floating-point remainder, exact for every double)
      return `{ const hi = Math.floor(${val} / ${TWO32}); v.setUint32(${at}, hi >>> 0); v.setUint32(${at} + 4, (${val} - hi * ${TWO32}) >>> 0); }`;
  }
}

function writeV5Rows(v: DataView, o: number, c: ColumnArrays, rows: Uint32Array, n: number, boot: number): void {
  const { srcAddr, dstAddr, nextHop, v6Flags, input, output, inPackets, inBytes, msecFirst, msecLast } = c;
  const { srcPort, dstPort, proto, icmpType, icmpCode, tcpFlags, srcTos, srcAs, dstAs, srcMask, dstMask } = c;
  for (let i = 0; i < n; i++, o += V5_RECORD) {
    const row = rows[i]!;
    v.setUint32(o, srcAddr[row]!);
    v.setUint32(o + 4, dstAddr[row]!);
    v.setUint32(o + 8, (v6Flags[row]! & HOP6) === 0 ? nextHop[row]! : 0);
    v.setUint16(o + 12, Math.min(input[row]!, 0xffff));
    v.setUint16(o + 14, Math.min(output[row]!, 0xffff));
    v.setUint32(o + 16, clampU32(inPackets[row]!));
    v.setUint32(o + 20, clampU32(inBytes[row]!));
    v.setUint32(o + 24, clampU32(msecFirst[row]! - boot));
    v.setUint32(o + 28, clampU32(msecLast[row]! - boot));
    v.setUint16(o + 32, srcPort[row]!);
    const p = proto[row]!;
    const icmp = p === 1 ? (icmpType[row]! << 8) | icmpCode[row]! : 0;
    v.setUint16(o + 34, icmp || dstPort[row]!);
    v.setUint8(o + 36, 0);
    v.setUint8(o + 37, tcpFlags[row]!);
    v.setUint8(o + 38, p);
    v.setUint8(o + 39, srcTos[row]!);
    const sas = srcAs[row]!;
    const das = dstAs[row]!;
    v.setUint16(o + 40, sas > 0xffff ? 23456 : sas); // AS_TRANS for 4-byte AS numbers
    v.setUint16(o + 42, das > 0xffff ? 23456 : das);
    v.setUint8(o + 44, srcMask[row]!);
    v.setUint8(o + 45, dstMask[row]!);
    v.setUint16(o + 46, 0);
  }
}
