// SPDX-License-Identifier: BSD-3-Clause
// TemplateCache and DecodePlan: NetFlow v9 / IPFIX templates, each compiled once (nfdump's "sequencer").
//
// A data template becomes one specialised record reader, generated once per template with `new Function`:
// straight-line code `c.srcPort[row] = view.getUint16(o + 4); …` with constant offsets up to the first
// variable-length field, then a running offset with a bounds check per field. Only numeric literals and
// schema column names (checked against /^[A-Za-z0-9]+$/) are spliced into the source — never packet bytes.
// Values the record finisher needs (times, sampling) go to scratch slots (fields.ts Slot); elements with no
// column are appended raw to the batch's extra heap.
//
// The cache is keyed (exporter key, template id); the exporter key already contains the exporter address,
// the protocol and the source id / observation domain. It is bounded in entries and bytes per exporter and over
// all exporters: adding past an exporter's bound evicts its least recently refreshed template; past the bound
// over all exporters, a table above the average size gives up its own oldest, a smaller one takes the place of
// the largest table's oldest. Template spam from many domains thus cannot grow memory, nor push out the few
// templates of an exporter that sends data.

import type { RecordBatch } from "../record/batch.js";
import { V6_BIT, COLUMN, type AddrColumnName } from "../record/schema.js";
import { EXACT_COUNTERS } from "../record/u64.js";
import { FieldKind, fieldSpec, Slot, slotBit } from "./fields.js";

/** Length value that marks an IPFIX variable-length field in a template. */
export const VARIABLE_LENGTH = 0xffff;

/**
 * A generated record reader: decodes the record at `o` into `row`; returns the offset after it, or -1 when a
 * variable-length field runs past `end` (the caller drops the row). The caller guarantees `o + minLength <= end`.
 */
export type RecordReader = (
  view: DataView,
  buf: Uint8Array,
  o: number,
  end: number,
  batch: RecordBatch,
  c: RecordBatch["cols"],
  row: number,
  sc: Float64Array,
) => number;

/** Plan flags. */
export const PlanFlag = {
  /** The template carries ICMP type/code elements (32, 139, 176..179). */
  ICMP: 1,
  /** The template carries a deltaFlowCount (3); the finisher keeps it instead of writing 1. */
  FLOWS: 2,
} as const;

export interface TemplateFieldList {
  readonly enterprise: Uint32Array;
  readonly id: Uint16Array;
  readonly length: Uint16Array;
}

/** A compiled template. Immutable once built; replaced as a whole when the exporter redefines the id. */
export class DecodePlan {
  readonly templateId: number;
  /** Options template (v9 flowset 1 / IPFIX set 3). */
  readonly options: boolean;
  /** Number of scope fields (options templates; the first `scopeCount` fields). */
  readonly scopeCount: number;
  readonly fields: TemplateFieldList;
  /** Minimum bytes of one record (fixed lengths + 1 per variable-length field). */
  readonly minLength: number;
  /** Record length when the template has no variable-length field, else -1. */
  readonly fixedLength: number;
  /** Slot presence bits (fields.ts slotBit). */
  readonly slotMask: number;
  /**
   * The nfdump V3 elements (bit k = element id k) a record of this template carries, as nfcapd 1.7 adds them:
   * one per template field group; genericFlow and the family-dependent address and exporter elements are
   * added per record by the finisher.
   */
  readonly elements: number;
  readonly flags: number;
  /** Generated reader, built on first use (templates that never see data cost no compilation). */
  private reader: RecordReader | null = null;
  /** Accounting size in bytes (for the per-exporter bound). */
  readonly bytes: number;
  /** When the exporter last sent this template (ms). */
  lastSeenMs: number;

  constructor(templateId: number, options: boolean, scopeCount: number, fields: TemplateFieldList, nowMs: number) {
    this.templateId = templateId;
    this.options = options;
    this.scopeCount = scopeCount;
    this.fields = fields;
    let min = 0;
    let varlen = false;
    let mask = 0;
    let flags = 0;
    let elements = 0;
    const n = fields.id.length;
    for (let i = 0; i < n; i++) {
      const len = fields.length[i]!;
      // fields kept raw (extra heap) that nfcapd stores in an element of its own (NBAR, NSEL ids, ACLs, user)
      if (fields.enterprise[i] === 0) elements |= RAW_ELEMENTS.get(fields.id[i]!) ?? 0;
      if (len === VARIABLE_LENGTH) {
        varlen = true;
        min += 1;
        continue;
      }
      min += len;
      const spec = fieldSpec(fields.enterprise[i]!, fields.id[i]!);
      if (spec?.kind === FieldKind.SLOT && spec.slot !== undefined && slotUsable(spec.conv, len))
        mask |= slotBit(spec.slot);
      if (spec?.column !== undefined) elements |= elementOf(spec.column, spec.kind === FieldKind.ADDR6);
      if (spec && fields.enterprise[i] === 0) {
        const id = fields.id[i]!;
        if (id === 32 || id === 139 || (id >= 176 && id <= 179)) flags |= PlanFlag.ICMP;
        if (id === 3) flags |= PlanFlag.FLOWS;
      }
    }
    this.minLength = min;
    this.fixedLength = varlen ? -1 : min;
    this.slotMask = mask;
    this.flags = flags;
    this.elements = elements >>> 0;
    this.bytes = 96 + n * 8;
    this.lastSeenMs = nowMs;
  }

  /** The record reader of a data template (null for options templates). */
  get read(): RecordReader | null {
    if (this.options) return null;
    this.reader ??= cachedReader(this.fields);
    return this.reader;
  }

  /** True when `other` describes the same fields (a refresh, not a replacement). */
  sameAs(options: boolean, scopeCount: number, fields: TemplateFieldList): boolean {
    if (options !== this.options || scopeCount !== this.scopeCount) return false;
    const a = this.fields;
    const n = a.id.length;
    if (fields.id.length !== n) return false;
    for (let i = 0; i < n; i++) {
      if (a.id[i] !== fields.id[i] || a.length[i] !== fields.length[i] || a.enterprise[i] !== fields.enterprise[i])
        return false;
    }
    return true;
  }
}

/** nfdump V3 element ids of the columns a template field can feed (0: part of genericFlow, or none). */
const ELEMENT_OF_COLUMN: ReadonlyMap<string, number> = new Map([
  ...["input", "output", "srcMask", "dstMask", "direction", "dstTos", "biflowDirection", "flowEndReason"].map(
    (c) => [c, 4] as const,
  ),
  ...["flows", "outPackets", "outBytes"].map((c) => [c, 5] as const),
  ...["srcVlan", "dstVlan"].map((c) => [c, 6] as const),
  ...["srcAs", "dstAs"].map((c) => [c, 7] as const),
  ...["mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9", "mpls10"].map(
    (c) => [c, 14] as const,
  ),
  ...["inSrcMac", "outDstMac", "inDstMac", "outSrcMac"].map((c) => [c, 15] as const),
  // nextAs/prevAs (128/129): nfcapd 1.7.1 does not store them, so no asAdjacent (16) element
  // vrf is element 36, beyond the mask's 32 bits: bit 31 stands for it
  ...["ingressVrf", "egressVrf"].map((c) => [c, 31] as const),
  // the event time (323) alone adds no element: nfcapd keeps it for nselCommon or natCommon, whichever the
  // template has (an IPFIX NAT event record has no nselCommon)
  ...["fwEvent", "fwXEvent"].map((c) => [c, 19] as const),
  ...["xlateSrcPort", "xlateDstPort"].map((c) => [c, 22] as const),
  ...["natEvent", "natPoolId"].map((c) => [c, 25] as const),
  ...["pbStart", "pbEnd", "pbStep", "pbSize"].map((c) => [c, 26] as const),
]);

/** The element bit a template field adds (addresses: by family). */
/**
 * nfcapd's element of fields tsflow keeps raw (their bytes are printed from the extra heap): applicationId (95) →
 * nbarApp (27); connection id (148) → nselCommon (19); Cisco ingress/egress ACL ids (33000/33001) → nselAcl (23);
 * Cisco user name (40000) → nselUser (24).
 */
const RAW_ELEMENTS: ReadonlyMap<number, number> = new Map([
  [95, (1 << 27) >>> 0],
  [148, 1 << 19],
  [33000, 1 << 23],
  [33001, 1 << 23],
  [40000, 1 << 24],
]);

function elementOf(column: string, v6: boolean): number {
  switch (column) {
    case "bgpNextHop":
      return v6 ? 1 << 9 : 1 << 8;
    case "nextHop":
      return v6 ? 1 << 11 : 1 << 10;
    case "xlateSrcAddr":
    case "xlateDstAddr":
      return v6 ? 1 << 21 : 1 << 20;
    default: {
      const k = ELEMENT_OF_COLUMN.get(column);
      return k === undefined ? 0 : (1 << k) >>> 0;
    }
  }
}

function slotUsable(conv: string | undefined, len: number): boolean {
  if (len === 0 || len > 8) return false;
  return conv !== "ntp" || len === 8;
}

const SAFE_NAME = /^[A-Za-z0-9]+$/;

function rdExpr(len: number, x: string): string {
  switch (len) {
    case 1:
      return `buf[${x}]`;
    case 2:
      return `view.getUint16(${x})`;
    case 3:
      return `((buf[${x}] << 16) | view.getUint16(${x} + 1))`;
    case 4:
      return `view.getUint32(${x})`;
    default:
      return `(${rdExpr(len - 4, x)} * 4294967296 + view.getUint32(${x} + ${len - 4}))`;
  }
}

/** Low 32 bits of an unsigned field (for u8/u16/u32 columns; typed-array stores truncate further). */
function rdLow32(len: number, x: string): string {
  return len <= 4 ? rdExpr(len, x) : `view.getUint32(${x} + ${len - 4})`;
}

/**
 * Counters keep the last element written, as nfdump and tshark do: a Barracuda template sends octetTotalCount
 * (85) and then octetDeltaCount (1), and both show the delta.
 */
const LAST_WINS: ReadonlySet<string> = new Set(["inBytes", "inPackets", "outBytes", "outPackets", "flows"]);

/** Counters with an exact companion column (record/u64.ts). */
const EXACT: ReadonlySet<string> = new Set<string>(EXACT_COUNTERS);

/**
 * Emits the statement storing one fixed-length field at offset expression `x`, or "" to skip it. `fed` holds the
 * integer columns earlier fields of the template write: a later field feeding one of them writes only while the
 * column is still 0 (Cisco NBAR templates carry L4_SRC_PORT 7 and tcpSourcePort 182 / udpSourcePort 180, the
 * ones that do not apply zero: the first meaningful value wins, a later zero never erases it). Counters excepted.
 */
function emitField(
  enterprise: number,
  id: number,
  len: number,
  x: string,
  both: Set<string>,
  fed: Set<string>,
): string {
  if (len === 0) return "";
  const raw = `batch.addExtra(${enterprise}, ${id}, buf, ${x}, ${len});`;
  const spec = fieldSpec(enterprise, id);
  if (!spec) return raw;
  const column = spec.column;
  if (column !== undefined && !SAFE_NAME.test(column)) throw new Error(`decode: unsafe column name ${column}`);
  switch (spec.kind) {
    case FieldKind.SKIP:
      return "";
    case FieldKind.INT: {
      if (len > 8 || column === undefined) return raw;
      const type = COLUMN[column].type;
      if (EXACT.has(column)) {
        // u64 counters: a value from 2^53 up also sets the column's exact fix (record/u64.ts); a later field
        // feeding the same counter (last wins) clears a fix an earlier 7- or 8-byte one may have set
        const clear = fed.has(`${column}:big`) ? ` c.${column}Fix[row] = 0;` : "";
        if (len <= 6) return `c.${column}[row] = ${rdExpr(len, x)};${clear}`;
        fed.add(`${column}:big`);
        return (
          `{ const h = ${rdExpr(len - 4, x)}, l = view.getUint32(${x} + ${len - 4}); const v = h * 4294967296 + l; ` +
          `c.${column}[row] = v;${clear} if (h >= 2097152) { const vh = Math.floor(v / 4294967296); ` +
          `c.${column}Fix[row] = (h - vh) * 4294967296 + (l - (v - vh * 4294967296)); } }`
        );
      }
      const value = type === "f64" ? rdExpr(len, x) : rdLow32(len, x);
      if (fed.has(column)) return `if (c.${column}[row] === 0) c.${column}[row] = ${value};`;
      if (!LAST_WINS.has(column)) fed.add(column);
      return `c.${column}[row] = ${value};`;
    }
    case FieldKind.FIRST_BYTE:
      return column === undefined ? raw : `c.${column}[row] = buf[${x}];`;
    case FieldKind.ADDR4: {
      if (len !== 4 || column === undefined) return raw;
      const bit = V6_BIT[column as AddrColumnName];
      if (both.has(column)) {
        return `{ const v = view.getUint32(${x}); if (v !== 0) { c.${column}[row] = v; c.v6Flags[row] &= ${~bit & 0xff}; } }`;
      }
      return `c.${column}[row] = view.getUint32(${x});`;
    }
    case FieldKind.ADDR6: {
      if (len !== 16 || column === undefined) return raw;
      const bit = V6_BIT[column as AddrColumnName];
      const w = [0, 4, 8, 12].map((k) => `view.getUint32(${x} + ${k})`);
      const body =
        `const w = c.${column}6, r4 = row * 4; w[r4] = w0; w[r4 + 1] = w1; w[r4 + 2] = w2; w[r4 + 3] = w3; ` +
        `c.${column}[row] = 0; c.v6Flags[row] |= ${bit};`;
      const reads = `const w0 = ${w[0]!}, w1 = ${w[1]!}, w2 = ${w[2]!}, w3 = ${w[3]!};`;
      // A template with both an IPv4 and an IPv6 element for one column: IPv6 wins (as in nfdump) unless it is
      // the unspecified address and the IPv4 element carried a real address.
      if (both.has(column)) return `{ ${reads} if ((w0 | w1 | w2 | w3) !== 0 || c.${column}[row] === 0) { ${body} } }`;
      return `{ ${reads} ${body} }`;
    }
    case FieldKind.MAC:
      if (len !== 6 || column === undefined) return raw;
      return `c.${column}[row] = view.getUint16(${x}) * 4294967296 + view.getUint32(${x} + 2);`;
    case FieldKind.MPLS:
      if (len !== 3 || column === undefined) return raw;
      return `c.${column}[row] = ${rdExpr(3, x)};`;
    case FieldKind.ICMP_TYPECODE:
      if (len !== 2) return raw;
      // As nfdump: a non-zero icmpTypeCode is also the destination port (type*256+code), whatever the
      // protocol field says (softflowd's IPFIX ICMP template has no protocolIdentifier at all).
      return `{ const v = view.getUint16(${x}); c.icmpType[row] = v >>> 8; c.icmpCode[row] = v & 255; if (v !== 0) c.dstPort[row] = v; }`;
    case FieldKind.SLOT: {
      const s = spec.slot ?? Slot.ALGORITHM;
      if (!slotUsable(spec.conv, len)) return raw;
      switch (spec.conv ?? "int") {
        case "sec":
          return `sc[${s}] = ${rdExpr(len, x)} * 1000;`;
        case "us":
          return `sc[${s}] = ${rdExpr(len, x)} / 1000;`;
        case "ntp":
          // NTP 64-bit: seconds since 1900 + binary fraction → ms since 1970 (fraction truncated to ms).
          return `sc[${s}] = (view.getUint32(${x}) - 2208988800) * 1000 + Math.floor(view.getUint32(${x} + 4) / 4294967.296);`;
        case "int":
          return `sc[${s}] = ${rdExpr(len, x)};`;
      }
    }
  }
}

/**
 * Readers by template signature, shared by all exporters (many routers send identical templates) and bounded
 * (oldest dropped first), so template spam costs at most one compilation per distinct layout it sends.
 */
const READER_CACHE = new Map<string, RecordReader>();
const READER_CACHE_MAX = 2048;

function cachedReader(fields: TemplateFieldList): RecordReader {
  let key = "";
  const n = fields.id.length;
  for (let i = 0; i < n; i++) key += `${fields.enterprise[i]!}:${fields.id[i]!}:${fields.length[i]!},`;
  let r = READER_CACHE.get(key);
  if (!r) {
    r = compileReader(fields);
    if (READER_CACHE.size >= READER_CACHE_MAX) {
      const first = READER_CACHE.keys().next();
      if (!first.done) READER_CACHE.delete(first.value);
    }
    READER_CACHE.set(key, r);
  }
  return r;
}

/** Builds the record reader of a data template. */
export function compileReader(fields: TemplateFieldList): RecordReader {
  const n = fields.id.length;
  // Columns fed by both an IPv4 and an IPv6 element in this template.
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (let i = 0; i < n; i++) {
    const spec = fieldSpec(fields.enterprise[i]!, fields.id[i]!);
    if (spec?.column === undefined) continue;
    if (spec.kind === FieldKind.ADDR4 && fields.length[i] === 4) v4.add(spec.column);
    if (spec.kind === FieldKind.ADDR6 && fields.length[i] === 16) v6.add(spec.column);
  }
  const both = new Set([...v4].filter((x) => v6.has(x)));
  const fed = new Set<string>();
  const lines: string[] = ["let q = o;", "let L = 0;"];
  let fixed = 0;
  let dynamic = false;
  for (let i = 0; i < n; i++) {
    const ent = fields.enterprise[i]!;
    const id = fields.id[i]!;
    const len = fields.length[i]!;
    if (len === VARIABLE_LENGTH) {
      if (!dynamic) {
        lines.push(`q = o + ${fixed};`);
        dynamic = true;
      }
      lines.push(
        "if (q >= end) return -1;",
        "L = buf[q++];",
        "if (L === 255) { if (q + 2 > end) return -1; L = view.getUint16(q); q += 2; }",
        "if (q + L > end) return -1;",
      );
      const spec = fieldSpec(ent, id);
      if (spec?.kind !== FieldKind.SKIP) lines.push(`if (L > 0) batch.addExtra(${ent}, ${id}, buf, q, L);`);
      lines.push("q += L;");
      continue;
    }
    if (dynamic) {
      if (len === 0) continue;
      lines.push(`if (q + ${len} > end) return -1;`);
      const s = emitField(ent, id, len, "q", both, fed);
      if (s) lines.push(s);
      lines.push(`q += ${len};`);
    } else {
      const s = emitField(ent, id, len, fixed === 0 ? "o" : `o + ${fixed}`, both, fed);
      if (s) lines.push(s);
      fixed += len;
    }
  }
  lines.push(dynamic ? "return q;" : `return o + ${fixed};`);
  const body = `"use strict";\nreturn function readRecord(view, buf, o, end, batch, c, row, sc) {\n  ${lines.join("\n  ")}\n};`;
  // Generated once per template from numeric literals and schema column names only (see header comment).
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(body) as () => RecordReader;
  return make();
}

// ── cache ──────────────────────────────────────────────────────────────────────────────────────────────

export interface TemplateLimits {
  /** Templates (data + options) per exporter. */
  readonly maxTemplates: number;
  /** Accounted bytes per exporter. */
  readonly maxBytes: number;
  /** Templates of all exporters together (default 32768). */
  readonly maxTotalTemplates?: number;
  /** Accounted bytes of all exporters together (default 32 MiB). */
  readonly maxTotalBytes?: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  maxTemplates: 1024,
  maxBytes: 1024 * 1024,
  maxTotalTemplates: 32768,
  maxTotalBytes: 32 * 1024 * 1024,
};

/** The templates of one exporter (one protocol, address and source id / observation domain). */
export class ExporterTemplates {
  readonly key: string;
  /** In least recently defined or refreshed order (a refresh moves the plan to the end). */
  readonly plans = new Map<number, DecodePlan>();
  bytes = 0;
  added = 0;
  refreshed = 0;
  replaced = 0;
  withdrawn = 0;
  evicted = 0;
  private readonly limits: TemplateLimits;
  private readonly cache: TemplateCache | null;

  constructor(key: string, limits: TemplateLimits, cache: TemplateCache | null = null) {
    this.key = key;
    this.limits = limits;
    this.cache = cache;
  }

  private changed(plansDelta: number, bytesDelta: number): void {
    this.cache?.changed(this, plansDelta, bytesDelta);
  }

  get(templateId: number): DecodePlan | undefined {
    return this.plans.get(templateId);
  }

  /**
   * Adds or refreshes a template. Returns the plan in the cache (the existing one on refresh).
   * Evicts least recently refreshed templates while a bound would be exceeded.
   */
  define(
    templateId: number,
    options: boolean,
    scopeCount: number,
    fields: TemplateFieldList,
    nowMs: number,
  ): DecodePlan {
    const old = this.plans.get(templateId);
    if (old?.sameAs(options, scopeCount, fields)) {
      old.lastSeenMs = nowMs;
      this.refreshed++;
      // to the end of the map: its order stays least recently refreshed first
      this.plans.delete(templateId);
      this.plans.set(templateId, old);
      return old;
    }
    const plan = new DecodePlan(templateId, options, scopeCount, fields, nowMs);
    if (old) {
      this.bytes -= old.bytes;
      this.plans.delete(templateId);
      this.changed(-1, -old.bytes);
      this.replaced++;
    } else {
      this.added++;
    }
    while (
      this.plans.size > 0 &&
      (this.plans.size + 1 > this.limits.maxTemplates || this.bytes + plan.bytes > this.limits.maxBytes)
    ) {
      this.evictOldest();
    }
    // the bound over all exporters: a table above the average gives up its own oldest template, a smaller one
    // (an exporter with a few templates while others spray many) takes the place of the largest table's oldest
    this.cache?.makeRoom(this, plan.bytes);
    this.plans.set(templateId, plan);
    this.bytes += plan.bytes;
    this.changed(1, plan.bytes);
    return plan;
  }

  /** IPFIX template withdrawal of one id; returns true when it existed. */
  withdraw(templateId: number): boolean {
    const old = this.plans.get(templateId);
    if (!old) return false;
    this.plans.delete(templateId);
    this.bytes -= old.bytes;
    this.withdrawn++;
    this.changed(-1, -old.bytes);
    return true;
  }

  /** IPFIX "withdraw all" (set 2 or 3 with template id 2 / 3): all data or all options templates. */
  withdrawAll(options: boolean): number {
    let k = 0;
    let b = 0;
    for (const [id, plan] of this.plans) {
      if (plan.options === options) {
        this.plans.delete(id);
        this.bytes -= plan.bytes;
        b += plan.bytes;
        k++;
      }
    }
    this.withdrawn += k;
    if (k > 0) this.changed(-k, -b);
    return k;
  }

  /** Evicts the least recently defined or refreshed template (the first in the map). */
  evictOldest(): void {
    const first = this.plans.entries().next();
    if (first.done === true) return;
    const [id, plan] = first.value;
    this.plans.delete(id);
    this.bytes -= plan.bytes;
    this.evicted++;
    this.changed(-1, -plan.bytes);
  }
}

/** Serialised form (JSON) of the cache: tscapd persists it in the flow directory and reloads it at start. */
export interface SerializedTemplates {
  readonly format: "tsflow-templates";
  readonly version: 1;
  readonly exporters: readonly {
    readonly key: string;
    readonly templates: readonly {
      readonly id: number;
      readonly options: boolean;
      readonly scopeCount: number;
      /** [enterprise, element id, length] per field. */
      readonly fields: readonly (readonly [number, number, number])[];
      readonly lastSeenMs: number;
    }[];
  }[];
}

/** All templates, keyed (exporter key, template id), bounded per exporter and over all exporters. */
export class TemplateCache {
  readonly limits: TemplateLimits;
  readonly maxTotalTemplates: number;
  readonly maxTotalBytes: number;
  /**
   * Bumped whenever a template is added, replaced, withdrawn or evicted (not on refresh): tscapd persists the
   * cache when this differs from the value at its last save.
   */
  generation = 0;
  /** Templates and accounted bytes of all exporters. */
  totalTemplates = 0;
  totalBytes = 0;
  /** Templates evicted by the bound over all exporters. */
  globalEvicted = 0;
  /** Exporter keys whose templates changed (or that were dropped) since takeDirty(). */
  private dirty = new Set<string>();
  private readonly exporters = new Map<string, ExporterTemplates>();
  /** The table that last gave up templates for a smaller one (reused while it stays above the average). */
  private largest: ExporterTemplates | null = null;

  constructor(limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS) {
    this.limits = limits;
    this.maxTotalTemplates = limits.maxTotalTemplates ?? DEFAULT_TEMPLATE_LIMITS.maxTotalTemplates!;
    this.maxTotalBytes = limits.maxTotalBytes ?? DEFAULT_TEMPLATE_LIMITS.maxTotalBytes!;
  }

  /** The template table of an exporter, created on first use. */
  forExporter(key: string): ExporterTemplates {
    let t = this.exporters.get(key);
    if (!t) {
      t = new ExporterTemplates(key, this.limits, this);
      this.exporters.set(key, t);
    }
    return t;
  }

  get(key: string, templateId: number): DecodePlan | undefined {
    return this.exporters.get(key)?.get(templateId);
  }

  /** Forgets an exporter's templates (exporter evicted from the exporter table). */
  dropExporter(key: string): void {
    const t = this.exporters.get(key);
    if (!t) return;
    this.exporters.delete(key);
    this.totalTemplates -= t.plans.size;
    this.totalBytes -= t.bytes;
    if (this.largest === t) this.largest = null;
    if (t.plans.size > 0) {
      this.dirty.add(key);
      this.generation++;
    }
  }

  get size(): number {
    return this.totalTemplates;
  }

  /** The table of an exporter, or undefined. */
  table(key: string): ExporterTemplates | undefined {
    return this.exporters.get(key);
  }

  /** Keys changed since the last call (their templates, or their absence, need saving). */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  /** True when some exporter's change has not been taken by takeDirty() yet. */
  get savePending(): boolean {
    return this.dirty.size > 0;
  }

  /** Marks a key as still to be saved (a save that ran out of budget). */
  markDirty(key: string): void {
    this.dirty.add(key);
  }

  /** Called by a table when templates came or went. */
  changed(t: ExporterTemplates, plansDelta: number, bytesDelta: number): void {
    this.totalTemplates += plansDelta;
    this.totalBytes += bytesDelta;
    this.dirty.add(t.key);
    this.generation++;
  }

  /** Evicts templates until `bytes` more (one template) fit in the bound over all exporters. */
  makeRoom(t: ExporterTemplates, bytes: number): void {
    while (this.totalTemplates + 1 > this.maxTotalTemplates || this.totalBytes + bytes > this.maxTotalBytes) {
      if (this.totalTemplates === 0) return;
      // a table at or above the average share gives up its own oldest
      if (t.plans.size > 0 && t.bytes * this.exporters.size >= this.totalBytes) {
        t.evictOldest();
        this.globalEvicted++;
        continue;
      }
      let v = this.largest;
      if (v === null || v.plans.size === 0 || v.bytes * this.exporters.size < this.totalBytes) {
        v = null;
        for (const x of this.exporters.values()) if (v === null || x.bytes > v.bytes) v = x;
        this.largest = v;
      }
      if (v === null || v.plans.size === 0) return;
      v.evictOldest();
      this.globalEvicted++;
    }
  }

  /** One exporter's templates as the JSON text of a SerializedTemplates exporter entry, or null when none. */
  fragment(key: string): string | null {
    const t = this.exporters.get(key);
    if (!t || t.plans.size === 0) return null;
    return JSON.stringify(serializeTable(t));
  }

  serialize(): SerializedTemplates {
    return {
      format: "tsflow-templates",
      version: 1,
      exporters: [...this.exporters.values()].map(serializeTable),
    };
  }

  /**
   * Loads templates from `serialize()` output (replacing same ids). Malformed entries are skipped; returns the
   * number of templates loaded.
   */
  load(data: unknown): number {
    let loaded = 0;
    if (!isObject(data) || data["format"] !== "tsflow-templates" || data["version"] !== 1) return 0;
    const exporters = data["exporters"];
    if (!Array.isArray(exporters)) return 0;
    for (const e of exporters as unknown[]) {
      if (!isObject(e) || typeof e["key"] !== "string" || !Array.isArray(e["templates"])) continue;
      const table = this.forExporter(e["key"]);
      for (const t of e["templates"] as unknown[]) {
        if (!isObject(t)) continue;
        const id = t["id"];
        const fields = t["fields"];
        const scope = t["scopeCount"];
        if (typeof id !== "number" || !Number.isInteger(id) || id < 256 || id > 0xffff) continue;
        if (!Array.isArray(fields) || fields.length === 0 || fields.length > 0xffff) continue;
        if (typeof scope !== "number" || !Number.isInteger(scope) || scope < 0 || scope > fields.length) continue;
        const list = fieldList(fields.length);
        let ok = true;
        (fields as unknown[]).forEach((f, i) => {
          if (
            !Array.isArray(f) ||
            f.length !== 3 ||
            !f.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0)
          ) {
            ok = false;
            return;
          }
          const [ent, fid, len] = f as [number, number, number];
          if (ent > 0xffffffff || fid > 0xffff || len > 0xffff) ok = false;
          list.enterprise[i] = ent;
          list.id[i] = fid;
          list.length[i] = len;
        });
        if (!ok) continue;
        const seen = typeof t["lastSeenMs"] === "number" ? t["lastSeenMs"] : 0;
        table.define(id, t["options"] === true, scope, list, seen);
        loaded++;
      }
    }
    return loaded;
  }
}

function serializeTable(t: ExporterTemplates): SerializedTemplates["exporters"][number] {
  return {
    key: t.key,
    templates: [...t.plans.values()].map((p) => ({
      id: p.templateId,
      options: p.options,
      scopeCount: p.scopeCount,
      fields: Array.from(p.fields.id, (id, i) => [p.fields.enterprise[i]!, id, p.fields.length[i]!] as const),
      lastSeenMs: p.lastSeenMs,
    })),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Allocates a field list of `n` fields. */
export function fieldList(n: number): TemplateFieldList {
  return { enterprise: new Uint32Array(n), id: new Uint16Array(n), length: new Uint16Array(n) };
}
