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

/** The optional groups a row needs. */
function groupsOf(c: ColumnArrays, row: number, v6: boolean): number {
  let g = 0;
  if (c.inSrcMac[row] || c.outDstMac[row] || c.inDstMac[row] || c.outSrcMac[row]) g |= G_MAC;
  if (c.srcVlan[row] || c.dstVlan[row]) g |= G_VLAN;
  if (c.mpls1[row]) g |= G_MPLS;
  const bgp6 = (c.v6Flags[row]! & BGP6) !== 0;
  if (bgp6 === v6) {
    if (v6) {
      const w = row * 4;
      if (c.bgpNextHop6[w] || c.bgpNextHop6[w + 1] || c.bgpNextHop6[w + 2] || c.bgpNextHop6[w + 3]) g |= G_BGPNH;
    } else if (c.bgpNextHop[row]) g |= G_BGPNH;
  }
  if (c.direction[row] || c.dstTos[row] || c.fwdStatus[row] || c.nextAs[row] || c.prevAs[row]) g |= G_MISC;
  if (c.outPackets[row] || c.outBytes[row]) g |= G_OUT;
  return g;
}

interface Template {
  readonly id: number;
  readonly fields: Field[];
  readonly recordLength: number;
  /** The template record (id, count, then id/length pairs). */
  readonly record: Uint8Array;
  readonly perPacket: number;
  /** Writes one row as a data record of this template (compiled once per template). */
  readonly write: RecordWriter;
  /** v9: offsets in the record of the first and last switched times (written when the datagram is built). */
  readonly firstAt: number;
  readonly lastAt: number;
}

interface Pending {
  readonly template: Template;
  readonly data: Uint8Array;
  readonly view: DataView;
  count: number;
  minFirst: number;
  maxLast: number;
  /** Each record's first and last (ms since the epoch); v5/v9 make them relative when the datagram is built. */
  readonly times: Float64Array;
}

interface Source {
  readonly id: number;
  /** v9: datagrams sent; IPFIX and v5: data records sent. */
  sequence: number;
  datagrams: number;
  /** ms since the epoch the exporter "booted" (v5/v9 uptime base), fixed until a time does not fit. */
  boot: number;
  lastTemplatesAt: number;
  /** Template ids this source has announced. */
  readonly announced: Set<number>;
  readonly pending: Map<number, Pending>;
  /** v5: the one pending buffer. */
  v5?: Pending;
}

const MAX_DATAGRAM = 1400;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;
const V5_HEADER = 24;
const V5_RECORD = 48;
const BOOT_MARGIN_MS = 3 * 86_400_000;
const TWO32 = 0x100000000;
const SLAB_BYTES = 1 << 20;

export class FlowEncoder {
  readonly stats: EncoderStats = { flows: 0, datagrams: 0, bytes: 0, skippedV6: 0 };
  private readonly templates = new Map<number, Template>();
  private readonly sources = new Map<number, Source>();
  private readonly everyPackets: number;
  private readonly options: EncoderOptions;
  private readonly emit: (datagram: Uint8Array) => void;
  private slab = new Uint8Array(0);
  private slabUsed = 0;

  constructor(options: EncoderOptions, emit: (datagram: Uint8Array) => void) {
    this.options = options;
    this.emit = emit;
    this.everyPackets = options.templateEveryPackets ?? 64;
    if (!Number.isInteger(this.everyPackets) || this.everyPackets < 1)
      throw new RangeError(`template refresh must be a positive number of packets, not ${this.everyPackets}`);
    const rpp = options.recordsPerPacket;
    if (rpp !== undefined && (!Number.isInteger(rpp) || rpp < 1 || rpp > (options.protocol === "v5" ? 30 : 1000)))
      throw new RangeError(`records per packet out of range: ${rpp}`);
  }

  /** Encodes one row of `batch` for source `sourceId` (v9 source id, IPFIX domain, v5 engine type << 8 | id). */
  add(batch: RecordBatch, row: number, sourceId: number): void {
    const c = batch.cols;
    const src = this.source(sourceId);
    const v6 = (c.v6Flags[row]! & (SRC6 | DST6)) !== 0;
    if (this.options.protocol === "v5") {
      if (v6) {
        this.stats.skippedV6++;
        return;
      }
      const p = (src.v5 ??= newPending(V5_TEMPLATE, this.options.recordsPerPacket ?? 30));
      writeV5Record(p.view, p.count * V5_RECORD, c, row);
      this.track(p, c, row);
      if (p.count === V5_TEMPLATE.perPacket || p.count * V5_RECORD >= p.data.length) this.sendV5(src, p);
      return;
    }
    const id = 256 + (groupsOf(c, row, v6) << 1) + (v6 ? 1 : 0);
    let p = src.pending.get(id);
    if (p === undefined) {
      const t = this.template(id);
      p = newPending(t, t.perPacket);
      src.pending.set(id, p);
    }
    const t = p.template;
    t.write(p.view, p.count * t.recordLength, c, row);
    this.track(p, c, row);
    if (p.count === t.perPacket) this.sendData(src, p);
  }

  /** Sends every partially filled datagram (of one source, or of all). */
  flush(sourceId?: number): void {
    const list = sourceId === undefined ? [...this.sources.values()] : [this.sources.get(sourceId)].filter((s) => s);
    for (const src of list as Source[]) {
      if (src.v5 && src.v5.count > 0) this.sendV5(src, src.v5);
      for (const p of src.pending.values()) if (p.count > 0) this.sendData(src, p);
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
        pending: new Map(),
      };
      this.sources.set(id, s);
    }
    return s;
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
        write: compileWriter(fields),
        firstAt: at(22),
        lastAt: at(21),
      };
      this.templates.set(id, t);
    }
    return t;
  }

  private track(p: Pending, c: ColumnArrays, row: number): void {
    p.count++;
    const first = c.msecFirst[row]!;
    const last = c.msecLast[row]!;
    p.times[2 * p.count - 2] = first;
    p.times[2 * p.count - 1] = last;
    if (first < p.minFirst) p.minFirst = first;
    if (last > p.maxLast) p.maxLast = last;
  }

  /** The export time (s) of a datagram and its sysUptime base, rebooting the exporter when times do not fit. */
  private clockFor(src: Source, p: Pending): { exportSecs: number; boot: number } {
    const maxLast = p.maxLast > 0 ? p.maxLast : 0;
    const minFirst = Math.min(p.minFirst, maxLast);
    const exportSecs = Math.ceil(maxLast / 1000);
    if (Number.isNaN(src.boot) || minFirst < src.boot || exportSecs * 1000 - src.boot >= TWO32)
      src.boot = Math.max(0, minFirst - BOOT_MARGIN_MS);
    return { exportSecs, boot: src.boot };
  }

  private templatesDue(src: Source): boolean {
    if (src.datagrams % this.everyPackets === 0) return true;
    const clock = this.options.clock;
    const every = this.options.templateEveryMs;
    return clock !== undefined && every !== undefined && clock() - src.lastTemplatesAt >= every;
  }

  private sendData(src: Source, p: Pending): void {
    const ipfix = this.options.protocol === "ipfix";
    const t = p.template;
    const refresh = this.templatesDue(src);
    const tpl: Template[] = [];
    if (refresh) {
      for (const id of src.announced) if (id !== t.id) tpl.push(this.templates.get(id)!);
      if (this.options.clock) src.lastTemplatesAt = this.options.clock();
    }
    if (refresh || !src.announced.has(t.id)) tpl.push(t);
    src.announced.add(t.id);
    const tplBytes = tpl.length ? 4 + tpl.reduce((s, x) => s + x.record.length, 0) : 0;
    const dataBytes = p.count * t.recordLength;
    const pad = (4 - (dataBytes % 4)) % 4;
    const hdr = ipfix ? IPFIX_HEADER : V9_HEADER;
    const out = this.take(hdr + tplBytes + 4 + dataBytes + pad);
    const v = new DataView(out.buffer, out.byteOffset, out.length);
    const { exportSecs, boot } = this.clockFor(src, p);
    if (ipfix) {
      v.setUint16(0, 10);
      v.setUint16(2, out.length);
      v.setUint32(4, exportSecs >>> 0);
      v.setUint32(8, src.sequence >>> 0);
      v.setUint32(12, src.id >>> 0);
      src.sequence += p.count;
    } else {
      v.setUint16(0, 9);
      v.setUint16(2, p.count + tpl.length);
      v.setUint32(4, (exportSecs * 1000 - boot) >>> 0);
      v.setUint32(8, exportSecs >>> 0);
      v.setUint32(12, src.sequence >>> 0);
      v.setUint32(16, src.id >>> 0);
      src.sequence++;
      // rebase the absolute times kept aside onto this datagram's boot
      for (let r = 0; r < p.count; r++) {
        const base = r * t.recordLength;
        p.view.setUint32(base + t.firstAt, clampU32(p.times[2 * r]! - boot));
        p.view.setUint32(base + t.lastAt, clampU32(p.times[2 * r + 1]! - boot));
      }
    }
    let o = hdr;
    if (tplBytes) {
      v.setUint16(o, ipfix ? 2 : 0);
      v.setUint16(o + 2, tplBytes);
      o += 4;
      for (const x of tpl) {
        out.set(x.record, o);
        o += x.record.length;
      }
    }
    v.setUint16(o, t.id);
    v.setUint16(o + 2, 4 + dataBytes + pad);
    out.set(dataBytes === p.data.length ? p.data : p.data.subarray(0, dataBytes), o + 4);
    this.finish(src, p, out);
  }

  private sendV5(src: Source, p: Pending): void {
    const out = this.take(V5_HEADER + p.count * V5_RECORD);
    const v = new DataView(out.buffer, out.byteOffset, out.length);
    const { exportSecs, boot } = this.clockFor(src, p);
    v.setUint16(0, 5);
    v.setUint16(2, p.count);
    v.setUint32(4, (exportSecs * 1000 - boot) >>> 0);
    v.setUint32(8, exportSecs >>> 0);
    v.setUint32(16, src.sequence >>> 0);
    out[20] = (src.id >>> 8) & 0xff;
    out[21] = src.id & 0xff;
    out.set(p.data.subarray(0, p.count * V5_RECORD), V5_HEADER);
    for (let r = 0; r < p.count; r++) {
      const o = V5_HEADER + r * V5_RECORD;
      v.setUint32(o + 24, clampU32(p.times[2 * r]! - boot));
      v.setUint32(o + 28, clampU32(p.times[2 * r + 1]! - boot));
    }
    src.sequence += p.count;
    this.finish(src, p, out);
  }

  /**
   * A zeroed datagram buffer: a slice of a slab, since allocating each datagram its own ArrayBuffer took a good
   * share of the encoder's time. Slabs are never reused, so an emitted datagram stays valid as long as it is held.
   */
  private take(length: number): Uint8Array {
    if (this.slabUsed + length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, length));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    this.slabUsed += length;
    return out;
  }

  private finish(src: Source, p: Pending, out: Uint8Array): void {
    this.stats.flows += p.count;
    this.stats.datagrams++;
    this.stats.bytes += out.length;
    src.datagrams++;
    p.count = 0;
    p.minFirst = Infinity;
    p.maxLast = -Infinity;
    this.emit(out);
  }
}

const V5_TEMPLATE: Template = {
  id: 0,
  fields: [],
  recordLength: V5_RECORD,
  record: new Uint8Array(0),
  perPacket: 30,
  write: () => undefined,
  firstAt: 24,
  lastAt: 28,
};

/** A datagram's worth of `records` data records being filled. */
function newPending(template: Template, records: number): Pending {
  const data = new Uint8Array(template.recordLength * records);
  return {
    template,
    data,
    view: new DataView(data.buffer),
    count: 0,
    minFirst: Infinity,
    maxLast: -Infinity,
    times: new Float64Array(2 * records),
  };
}

function clampU32(v: number): number {
  return v < 0 ? 0 : v >= TWO32 ? TWO32 - 1 : v;
}

type RecordWriter = (v: DataView, o: number, c: ColumnArrays, row: number) => void;

// The record writer of a template is generated once as straight-line code: one DataView store per field at
// a constant offset, each column read by its name. A loop over the field list with a switch on the field kind
// and a lookup of the column per field took most of the encoder's time. Only column names from the fixed
// field table above are spliced into the code.
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** Counters with an exact companion column (record/u64.ts). */
const EXACT: ReadonlySet<string> = new Set<string>(EXACT_COUNTERS);

function compileWriter(fields: readonly Field[]): RecordWriter {
  const lines: string[] = [];
  let o = 0;
  for (const x of fields) {
    if (!SAFE_NAME.test(x.col)) throw new Error(`replay: unsafe column name ${x.col}`);
    const at = o === 0 ? "o" : `o + ${o}`;
    const col = `c.${x.col}`;
    switch (x.kind) {
      case K.U:
        if (x.ie === 11)
          // ICMP type and code travel in the destination port (type << 8 | code), as v5 and Cisco's v9 send
          // them: nfdump aggregates an icmpTypeCode element's flows under port 0.0
          lines.push(
            `{ let val = ${col}[row]; const p = c.proto[row];`,
            `  if ((p === 1 || p === 58) && (c.icmpType[row] || c.icmpCode[row])) val = (c.icmpType[row] << 8) | c.icmpCode[row];`,
            `  ${uintStore(at, x.len, "val")} }`,
          );
        else if (x.len === 8 && EXACT.has(x.col))
          // a u64 counter from 2^53 up: the double plus its fix column (record/u64.ts), carried into the low word
          lines.push(
            `{ const val = ${col}[row];`,
            `  if (val < 9007199254740992) { ${uintStore(at, 8, "val")} }`,
            `  else { let hi = Math.floor(val / ${TWO32}); let lo = (val - hi * ${TWO32}) + (${col}Fix[row] | 0);`,
            `    if (lo < 0) { lo += ${TWO32}; hi -= 1; } else if (lo >= ${TWO32}) { lo -= ${TWO32}; hi += 1; }`,
            `    v.setUint32(${at}, hi >>> 0); v.setUint32(${at} + 4, lo >>> 0); } }`,
          );
        else lines.push(`{ const val = ${col}[row]; ${uintStore(at, x.len, "val")} }`);
        break;
      case K.V4:
        lines.push(`v.setUint32(${at}, ${col}[row]);`);
        break;
      case K.V6:
        lines.push(
          `{ const w = row * 4; v.setUint32(${at}, ${col}[w]); v.setUint32(o + ${o + 4}, ${col}[w + 1]);`,
          `  v.setUint32(o + ${o + 8}, ${col}[w + 2]); v.setUint32(o + ${o + 12}, ${col}[w + 3]); }`,
        );
        break;
      case K.MAC:
        lines.push(
          `{ const m = ${col}[row]; v.setUint16(${at}, Math.floor(m / ${TWO32})); v.setUint32(o + ${o + 2}, m % ${TWO32}); }`,
        );
        break;
      case K.ABS:
        lines.push(`{ const val = ${col}[row]; ${uintStore(at, 8, "val")} }`);
        break;
      case K.REL:
        lines.push(`v.setUint32(${at}, 0);`); // relative to the boot time the datagram picks: written when it is built
        break;
    }
    o += x.len;
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function("clampU32", `return function writeRecord(v, o, c, row) {\n${lines.join("\n")}\n};`) as (
    clamp: typeof clampU32,
  ) => RecordWriter;
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
      return `v.setUint32(${at}, Math.floor(${val} / ${TWO32}) >>> 0); v.setUint32(${at} + 4, (${val} % ${TWO32}) >>> 0);`;
  }
}

function writeV5Record(v: DataView, o: number, c: ColumnArrays, row: number): void {
  v.setUint32(o, c.srcAddr[row]!);
  v.setUint32(o + 4, c.dstAddr[row]!);
  v.setUint32(o + 8, (c.v6Flags[row]! & HOP6) === 0 ? c.nextHop[row]! : 0);
  v.setUint16(o + 12, Math.min(c.input[row]!, 0xffff));
  v.setUint16(o + 14, Math.min(c.output[row]!, 0xffff));
  v.setUint32(o + 16, clampU32(c.inPackets[row]!));
  v.setUint32(o + 20, clampU32(c.inBytes[row]!));
  // 24, 28: first and last, relative to the datagram's boot (written when it is sent)
  v.setUint16(o + 32, c.srcPort[row]!);
  const p = c.proto[row]!;
  const icmp = p === 1 ? (c.icmpType[row]! << 8) | c.icmpCode[row]! : 0;
  v.setUint16(o + 34, icmp || c.dstPort[row]!);
  v.setUint8(o + 36, 0);
  v.setUint8(o + 37, c.tcpFlags[row]!);
  v.setUint8(o + 38, p);
  v.setUint8(o + 39, c.srcTos[row]!);
  const sas = c.srcAs[row]!;
  const das = c.dstAs[row]!;
  v.setUint16(o + 40, sas > 0xffff ? 23456 : sas); // AS_TRANS for 4-byte AS numbers
  v.setUint16(o + 42, das > 0xffff ? 23456 : das);
  v.setUint8(o + 44, c.srcMask[row]!);
  v.setUint8(o + 45, c.dstMask[row]!);
  v.setUint16(o + 46, 0);
}
