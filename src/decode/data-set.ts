// SPDX-License-Identifier: BSD-3-Clause
// Data sets of NetFlow v9 and IPFIX: records → batch rows through the template's DecodePlan, then the
// per-record finisher (times, sampling and counter scaling, ICMP, exporter columns). Options data records
// update the exporter's samplers and system init time. Shared by netflow-v9.ts and ipfix.ts.

import type { RecordBatch } from "../record/batch.js";
import { V6_BIT, type ColumnArrays } from "../record/schema.js";
import { exactOf, storeExact, TWO53 } from "../record/u64.js";
import { fieldSpec, FieldKind, Slot, slotBit } from "./fields.js";
import type { BatchSink, DecodeContext, DecoderState, ExporterState } from "./state.js";
import { saneRate, SamplingSource } from "./state.js";
import { type DecodePlan, PlanFlag, VARIABLE_LENGTH } from "./templates.js";

const B_FIRST_UP = slotBit(Slot.FIRST_UP);
const B_LAST_UP = slotBit(Slot.LAST_UP);
const B_FIRST_ABS = slotBit(Slot.FIRST_ABS);
const B_LAST_ABS = slotBit(Slot.LAST_ABS);
const B_FIRST_DELTA = slotBit(Slot.FIRST_DELTA);
const B_LAST_DELTA = slotBit(Slot.LAST_DELTA);
const B_SYSINIT = slotBit(Slot.SYSINIT);
const B_DURATION = slotBit(Slot.DURATION);
const B_SAMPLER_ID = slotBit(Slot.SAMPLER_ID);
const B_INTERVAL = slotBit(Slot.INTERVAL);
const B_SPACE = slotBit(Slot.SPACE);
const EXPORTER_V6_BIT = V6_BIT.exporterAddr;
const TIME_BITS = B_FIRST_UP | B_LAST_UP | B_FIRST_ABS | B_LAST_ABS | B_FIRST_DELTA | B_LAST_DELTA | B_DURATION;

/** Writes the per-exporter columns of a fresh row (fields of the record may override some of them). */
export function writeExporterColumns(c: RecordBatch["cols"], row: number, e: ExporterState, ctx: DecodeContext): void {
  c.msecReceived[row] = ctx.receivedMs;
  if (e.addrIsV6) {
    const w = c.exporterAddr6;
    const r4 = row * 4;
    w[r4] = e.addrV6[0]!;
    w[r4 + 1] = e.addrV6[1]!;
    w[r4 + 2] = e.addrV6[2]!;
    w[r4 + 3] = e.addrV6[3]!;
    c.v6Flags[row] = c.v6Flags[row]! | EXPORTER_V6_BIT;
  } else {
    c.exporterAddr[row] = e.addrV4;
  }
  c.exporterId[row] = e.id;
  // rows start zeroed: skip the writes that would store 0
  if (e.domain !== 0) c.observationDomain[row] = e.domain;
  if (e.engineType !== 0) c.engineType[row] = e.engineType;
  if (e.engineId !== 0) c.engineId[row] = e.engineId;
  c.nfVersion[row] = ctx.nfVersion;
  c.flows[row] = 1;
}

/**
 * Scales a sampled record's packet and byte counters by the interval. Fast path: every product below 2^53; a
 * larger one is computed exactly (integer rates) and saturates at 2^64 − 1 (record/u64.ts).
 */
export function scaleCounters(c: ColumnArrays, row: number, iv: number): void {
  const p = c.inPackets[row]! * iv;
  const b = c.inBytes[row]! * iv;
  const op = c.outPackets[row]! * iv;
  const ob = c.outBytes[row]! * iv;
  if (p < TWO53 && b < TWO53 && op < TWO53 && ob < TWO53) {
    c.inPackets[row] = p;
    c.inBytes[row] = b;
    c.outPackets[row] = op;
    c.outBytes[row] = ob;
    return;
  }
  scaleExact(c.inPackets, c.inPacketsFix, row, iv);
  scaleExact(c.inBytes, c.inBytesFix, row, iv);
  scaleExact(c.outPackets, c.outPacketsFix, row, iv);
  scaleExact(c.outBytes, c.outBytesFix, row, iv);
}

/** The rare path of scaleCounters: one counter times the interval, exact for an integer interval. */
function scaleExact(v: Float64Array, fix: Uint32Array, row: number, iv: number): void {
  const x = exactOf(v[row]!, fix[row]! | 0);
  if (Number.isInteger(iv)) storeExact(v, fix, row, x * BigInt(iv));
  else storeExact(v, fix, row, BigInt(Math.floor(Math.min(Number(x) * iv, 2 ** 64))));
}

/** Resolves a sampling interval and its source, given what the record announced (out = [interval, source]). */
export function resolveSampling(
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
  sc: Float64Array,
  out: Float64Array,
): void {
  const rate = state.samplingRate;
  if (rate < 0) {
    out[0] = -rate;
    out[1] = SamplingSource.OVERRIDE;
    return;
  }
  const m = plan.slotMask;
  if ((m & B_SAMPLER_ID) !== 0) {
    const s = e.sampler(sc[Slot.SAMPLER_ID]!);
    if (s && s.interval > 0) {
      out[0] = s.interval;
      out[1] = SamplingSource.OPTIONS;
      return;
    }
  }
  if ((m & B_INTERVAL) !== 0) {
    let iv = sc[Slot.INTERVAL]!;
    // PSAMP systematic count-based sampling: select `interval` packets out of every interval + space.
    if ((m & B_SPACE) !== 0 && iv > 0) iv = (iv + sc[Slot.SPACE]!) / iv;
    if (saneRate(iv)) {
      out[0] = iv;
      out[1] = SamplingSource.DATA;
      return;
    }
    if (iv > 0) e.ratesRejected++;
  }
  const std = e.sampler(-1);
  if (std && std.interval > 0) {
    out[0] = std.interval;
    out[1] = SamplingSource.OPTIONS;
    return;
  }
  if (rate > 0) {
    out[0] = rate;
    out[1] = SamplingSource.DEFAULT;
    return;
  }
  out[0] = 1;
  out[1] = SamplingSource.NONE;
}

/** [interval, source] of the record being finished; set per set by decodeDataRecords when constant. */
const samplingOut = new Float64Array(2);

/**
 * Completes a data record: times, sampling + counter scaling, ICMP type/code, record count. The generic form:
 * decodeDataRecords runs the finisher generated for the template's shape (compileFinisher), which must equal this
 * (test/unit/decode/finisher.test.ts). The caller resolves a set's sampling into samplingOut when the template
 * announces none (setConstants).
 */
export function finishRecord(
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
  ctx: DecodeContext,
  c: RecordBatch["cols"],
  row: number,
  sc: Float64Array,
): void {
  const m = plan.slotMask;
  const exportMs = ctx.exportSecs * 1000;
  if ((m & TIME_BITS) !== 0) {
    let first = -1;
    let last = -1;
    if ((m & (B_FIRST_UP | B_LAST_UP)) !== 0) {
      // sysUpTime-relative: base = systemInitTime (record, then options), else the v9 header's boot time.
      // No correction against the header's sysUptime: softflowd sends one that would make every flow look
      // wrapped, and nfdump and tshark both take the values as sent.
      let base: number;
      if ((m & B_SYSINIT) !== 0) base = sc[Slot.SYSINIT]!;
      else if (e.sysInitMs >= 0) base = e.sysInitMs;
      else if (ctx.sysUptimeMs >= 0) base = exportMs - ctx.sysUptimeMs;
      else {
        // IPFIX without systemInitTime: anchor the flow end at the export time (nfdump 1.7.1 stores 0 here,
        // which loses the flow's place in time; the duration stays exact either way).
        base = exportMs - ((m & B_LAST_UP) !== 0 ? sc[Slot.LAST_UP]! : sc[Slot.FIRST_UP]!);
      }
      const fu = (m & B_FIRST_UP) !== 0 ? sc[Slot.FIRST_UP]! : -1;
      const lu = (m & B_LAST_UP) !== 0 ? sc[Slot.LAST_UP]! : -1;
      // Both zero: not set (nfdump stores 0, tshark shows the epoch).
      if (fu > 0 || lu > 0) {
        if (fu >= 0) first = base + fu;
        if (lu >= 0) last = base + lu;
        // Uptime wrapped between flow start and end (nfdump's rule): the start is from before the wrap.
        if (fu > lu && lu >= 0) first -= 4294967296;
      }
    }
    if ((m & B_FIRST_ABS) !== 0) first = sc[Slot.FIRST_ABS]!;
    else if (first < 0 && (m & B_FIRST_DELTA) !== 0) first = exportMs - Math.floor(sc[Slot.FIRST_DELTA]! / 1000);
    if ((m & B_LAST_ABS) !== 0) last = sc[Slot.LAST_ABS]!;
    else if (last < 0 && (m & B_LAST_DELTA) !== 0) last = exportMs - Math.floor(sc[Slot.LAST_DELTA]! / 1000);
    if ((m & B_DURATION) !== 0) {
      if (first >= 0 && last < 0) last = first + sc[Slot.DURATION]!;
      else if (last >= 0 && first < 0) first = last - sc[Slot.DURATION]!;
    }
    // Only one end known: a zero-length flow at that time; none: 0, as nfdump stores it.
    if (first < 0) first = last >= 0 ? last : 0;
    if (last < 0) last = first;
    c.msecFirst[row] = first;
    c.msecLast[row] = last;
  }
  // No time element at all (e.g. NAT event records): 0 as in nfdump; msecReceived still dates the record.

  // Sampling: per set when the template announces nothing itself (the caller resolved it once).
  if ((m & (B_SAMPLER_ID | B_INTERVAL)) !== 0) {
    resolveSampling(state, e, plan, sc, samplingOut);
    const src = samplingOut[1]!;
    e.flowsBySource[src] = e.flowsBySource[src]! + 1;
  }
  const iv = samplingOut[0]!;
  c.samplingInterval[row] = iv;
  c.samplingSource[row] = samplingOut[1]!;
  if (iv > 1) scaleCounters(c, row, iv);

  fixIcmp(c, row, (plan.flags & PlanFlag.ICMP) !== 0);
  // nfcapd's elements: genericFlow, the address element by family, the template's groups, the exporter's
  const f6 = c.v6Flags[row]!;
  c.elements[row] =
    (plan.elements |
      EL_GENERIC |
      ((f6 & SRC_V6_BIT) !== 0 ? EL_IPV6 : EL_IPV4) |
      ((f6 & EXPORTER_V6_BIT) !== 0 ? EL_RECV6 : EL_RECV4)) >>>
    0;
}

/**
 * A record finisher specialised to one template shape: finishRecord's work with the branches on the template's
 * slot bits and flags decided when it is generated, and the per-set values (export time, uptime base, sampling)
 * read from `k` (setConstants) instead of recomputed per record. Equal to finishRecord by construction; a unit
 * test compares the two on random templates and records.
 */
export type RecordFinisher = (
  c: RecordBatch["cols"],
  row: number,
  sc: Float64Array,
  k: Float64Array,
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
) => void;

/** Indexes of the per-set constants in the array a RecordFinisher reads. */
const K_EXPORT_MS = 0;
/** uptime base: systemInitTime of the exporter, else export time − header sysUptime; NaN: anchor per record */
const K_BASE = 1;
const K_INTERVAL = 2;
const K_SOURCE = 3;
/** plan.elements | genericFlow */
const K_ELEMENTS = 4;

/** Fills the per-set constants of `plan`'s finisher (k: Float64Array(5)). */
export function setConstants(
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
  ctx: DecodeContext,
  k: Float64Array,
): void {
  const exportMs = ctx.exportSecs * 1000;
  k[K_EXPORT_MS] = exportMs;
  k[K_BASE] = e.sysInitMs >= 0 ? e.sysInitMs : ctx.sysUptimeMs >= 0 ? exportMs - ctx.sysUptimeMs : Number.NaN;
  if ((plan.slotMask & (B_SAMPLER_ID | B_INTERVAL)) === 0) {
    resolveSampling(state, e, plan, state.scratch, samplingOut);
    k[K_INTERVAL] = samplingOut[0]!;
    k[K_SOURCE] = samplingOut[1]!;
  }
  k[K_ELEMENTS] = (plan.elements | EL_GENERIC) >>> 0;
}

/** Finishers by template shape (slot bits and ICMP flag): a few dozen at most, bounded anyway. */
const FINISHERS = new Map<number, RecordFinisher>();
const FINISHERS_MAX = 512;

/** The finisher of a template shape, generated on first use. */
export function finisherFor(slotMask: number, flags: number): RecordFinisher {
  const key = slotMask * 2 + ((flags & PlanFlag.ICMP) !== 0 ? 1 : 0);
  let f = FINISHERS.get(key);
  if (f === undefined) {
    f = compileFinisher(slotMask, flags);
    if (FINISHERS.size >= FINISHERS_MAX) FINISHERS.clear();
    FINISHERS.set(key, f);
  }
  return f;
}

/** Generates the finisher of a template shape (numeric literals only are spliced into the source). */
export function compileFinisher(slotMask: number, flags: number): RecordFinisher {
  const m = slotMask;
  const has = (b: number): boolean => (m & b) !== 0;
  const L: string[] = [];
  if (has(TIME_BITS)) {
    L.push("let first = -1;", "let last = -1;");
    if (has(B_FIRST_UP | B_LAST_UP)) {
      const anchor = has(B_LAST_UP) ? `sc[${Slot.LAST_UP}]` : `sc[${Slot.FIRST_UP}]`;
      if (has(B_SYSINIT)) L.push(`const base = sc[${Slot.SYSINIT}];`);
      else L.push(`let base = k[${K_BASE}];`, `if (base !== base) base = k[${K_EXPORT_MS}] - ${anchor};`);
      L.push(
        `const fu = ${has(B_FIRST_UP) ? `sc[${Slot.FIRST_UP}]` : "-1"};`,
        `const lu = ${has(B_LAST_UP) ? `sc[${Slot.LAST_UP}]` : "-1"};`,
        "if (fu > 0 || lu > 0) {",
        "  if (fu >= 0) first = base + fu;",
        "  if (lu >= 0) last = base + lu;",
        "  if (fu > lu && lu >= 0) first -= 4294967296;",
        "}",
      );
    }
    if (has(B_FIRST_ABS)) L.push(`first = sc[${Slot.FIRST_ABS}];`);
    else if (has(B_FIRST_DELTA))
      L.push(`if (first < 0) first = k[${K_EXPORT_MS}] - Math.floor(sc[${Slot.FIRST_DELTA}] / 1000);`);
    if (has(B_LAST_ABS)) L.push(`last = sc[${Slot.LAST_ABS}];`);
    else if (has(B_LAST_DELTA))
      L.push(`if (last < 0) last = k[${K_EXPORT_MS}] - Math.floor(sc[${Slot.LAST_DELTA}] / 1000);`);
    if (has(B_DURATION))
      L.push(
        `if (first >= 0 && last < 0) last = first + sc[${Slot.DURATION}];`,
        `else if (last >= 0 && first < 0) first = last - sc[${Slot.DURATION}];`,
      );
    L.push(
      "if (first < 0) first = last >= 0 ? last : 0;",
      "if (last < 0) last = first;",
      "c.msecFirst[row] = first;",
      "c.msecLast[row] = last;",
    );
  }
  if (has(B_SAMPLER_ID | B_INTERVAL))
    L.push(
      "resolveSampling(state, e, plan, sc, out);",
      "const iv = out[0];",
      "c.samplingSource[row] = out[1];",
      "e.flowsBySource[out[1]]++;",
    );
  else L.push(`const iv = k[${K_INTERVAL}];`, `c.samplingSource[row] = k[${K_SOURCE}];`);
  L.push(
    "c.samplingInterval[row] = iv;",
    "if (iv > 1) scaleCounters(c, row, iv);",
    "const p = c.proto[row];",
    "if (p === 1 || p === 58) {",
    (flags & PlanFlag.ICMP) !== 0
      ? "  c.dstPort[row] = (c.icmpType[row] << 8) | c.icmpCode[row];"
      : "  const dp = c.dstPort[row]; c.icmpType[row] = dp >>> 8; c.icmpCode[row] = dp & 0xff;",
    "}",
    "const f6 = c.v6Flags[row];",
    `c.elements[row] = (k[${K_ELEMENTS}] | ((f6 & ${SRC_V6_BIT}) !== 0 ? ${EL_IPV6} : ${EL_IPV4}) | ` +
      `((f6 & ${EXPORTER_V6_BIT}) !== 0 ? ${EL_RECV6} : ${EL_RECV4})) >>> 0;`,
  );
  const body = `"use strict";\nreturn function finishRecord(c, row, sc, k, state, e, plan) {\n  ${L.join("\n  ")}\n};`;
  // Generated once per template shape from numeric literals only.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function("resolveSampling", "out", "scaleCounters", body) as (
    r: typeof resolveSampling,
    out: Float64Array,
    s: typeof scaleCounters,
  ) => RecordFinisher;
  return make(resolveSampling, samplingOut, scaleCounters);
}

/** nfdump V3 element bits (bit k = element id k). */
export const EL_GENERIC = 1 << 1;
export const EL_IPV4 = 1 << 2;
export const EL_IPV6 = 1 << 3;
export const EL_MISC = 1 << 4;
export const EL_AS = 1 << 7;
export const EL_NEXTHOP4 = 1 << 10;
export const EL_RECV4 = 1 << 12;
export const EL_RECV6 = 1 << 13;
const SRC_V6_BIT = V6_BIT.srcAddr;

/**
 * ICMP: nfdump keeps type*256+code in the destination port of ICMP flows. When the template has ICMP
 * elements they decide (as in nfdump: the ASA puts an ICMP id in the ports); otherwise the exporter put
 * type/code in the destination port (the v5 convention) and icmpType/icmpCode are derived from it.
 */
export function fixIcmp(c: RecordBatch["cols"], row: number, hasIcmpFields: boolean): void {
  const p = c.proto[row]!;
  if (p !== 1 && p !== 58) return;
  if (hasIcmpFields) {
    c.dstPort[row] = (c.icmpType[row]! << 8) | c.icmpCode[row]!;
  } else {
    const dp = c.dstPort[row]!;
    c.icmpType[row] = dp >>> 8;
    c.icmpCode[row] = dp & 0xff;
  }
}

/** The per-set constants of decodeDataRecords' finisher (setConstants). */
const setK = new Float64Array(5);

/** Outcome of decodeDataRecords. */
export const DataResult = { OK: 0, TRUNCATED: 1, BAD_TEMPLATE: 2 } as const;

/**
 * Decodes the data records in buf[start, end) with `plan` into the sink. Trailing bytes shorter than one
 * record are padding. Returns a DataResult; `ctx.records` counts the rows added.
 */
export function decodeDataRecords(
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
  view: DataView,
  buf: Uint8Array,
  start: number,
  end: number,
  sink: BatchSink,
): number {
  const read = plan.read;
  const min = plan.minLength;
  // A template whose records take no bytes would loop for ever: refuse it.
  if (read === null || min === 0) return DataResult.BAD_TEMPLATE;
  const ctx = state.ctx;
  const sc = state.scratch;
  const finish = finisherFor(plan.slotMask, plan.flags);
  const k = setK;
  setConstants(state, e, plan, ctx, k);
  let batch = sink.batch;
  let c = state.columns.of(batch);
  let o = start;
  const before = ctx.records;
  let result: number = DataResult.OK;
  while (o + min <= end) {
    let row = batch.addRow();
    if (row < 0) {
      sink.flush();
      batch = sink.batch;
      c = state.columns.of(batch);
      row = batch.addRow();
      if (row < 0) break; // a sink that cannot take rows: stop quietly
    }
    writeExporterColumns(c, row, e, ctx);
    const next = read(view, buf, o, end, batch, c, row, sc);
    if (next < 0) {
      batch.dropLastRow();
      result = DataResult.TRUNCATED;
      break;
    }
    finish(c, row, sc, k, state, e, plan);
    ctx.records++;
    o = next;
  }
  // flows by sampling source: per record in the finisher when the template announces sampling, else per set
  if ((plan.slotMask & (B_SAMPLER_ID | B_INTERVAL)) === 0) {
    const src = k[K_SOURCE]!;
    e.flowsBySource[src] = e.flowsBySource[src]! + ctx.records - before;
  }
  return result;
}

/**
 * Decodes the options data records in buf[start, end): samplers (ids 48/302 with interval 34/50/305/306 and
 * algorithm 35/49/304) and systemInitTimeMilliseconds (160). Returns the number of records seen.
 */
export function decodeOptionsRecords(
  state: DecoderState,
  e: ExporterState,
  plan: DecodePlan,
  view: DataView,
  buf: Uint8Array,
  start: number,
  end: number,
): number {
  const f = plan.fields;
  const n = f.id.length;
  const min = plan.minLength;
  if (min === 0) return 0;
  const scopeFields = plan.scopeCount;
  // Padding after the last record is zeros: anything else means these bytes were not written with this template
  // (two senders sharing an exporter key and a template id, one of them as a data template). Rates read from
  // such a set would be garbage, so the whole set is ignored and counted.
  const fixed = plan.fixedLength;
  if (fixed > 0) {
    for (let k = end - ((end - start) % fixed); k < end; k++) {
      if (buf[k] !== 0) {
        e.optionsMismatch++;
        return 0;
      }
    }
  }
  let o = start;
  let count = 0;
  while (o + min <= end) {
    let samplerId = -1;
    let interval = 0;
    let space = -1;
    let algorithm = 0;
    let sysInit = -1;
    let ok = true;
    for (let i = 0; i < n; i++) {
      let len = f.length[i]!;
      if (len === VARIABLE_LENGTH) {
        if (o >= end) {
          ok = false;
          break;
        }
        len = buf[o++]!;
        if (len === 255) {
          if (o + 2 > end) {
            ok = false;
            break;
          }
          len = view.getUint16(o);
          o += 2;
        }
      }
      if (o + len > end) {
        ok = false;
        break;
      }
      // v9 scope fields are a namespace of their own (1 System … 5 Template): not information elements.
      if (len > 0 && len <= 8 && f.enterprise[i] === 0 && (i >= scopeFields || e.nfVersion !== 9)) {
        const spec = fieldSpec(0, f.id[i]!);
        if (spec?.kind === FieldKind.SLOT) {
          const v = readUint(view, buf, o, len);
          const sl = spec.slot ?? -1;
          if (sl === Slot.SAMPLER_ID) samplerId = v;
          else if (sl === Slot.INTERVAL) interval = v;
          else if (sl === Slot.SPACE) space = v;
          else if (sl === Slot.ALGORITHM) algorithm = v;
          else if (sl === Slot.SYSINIT) sysInit = v;
        }
      }
      o += len;
    }
    if (!ok) break;
    count++;
    if (space >= 0 && interval > 0) interval = (interval + space) / interval;
    if (interval > 0 && !saneRate(interval)) {
      e.ratesRejected++;
      state.onSampling?.(e, samplerId, interval, plan.templateId, false);
    } else if (interval > 0 && (e.samplers.size < state.maxSamplers || e.samplers.has(samplerId))) {
      const s = e.samplers.get(samplerId);
      const changed = s === undefined || s.interval !== interval || s.plan !== plan;
      if (s) {
        s.interval = interval;
        s.algorithm = algorithm;
        s.templateId = plan.templateId;
        s.plan = plan;
      } else {
        e.samplers.set(samplerId, { interval, algorithm, templateId: plan.templateId, plan });
      }
      if (changed) state.onSampling?.(e, samplerId, interval, plan.templateId, true);
    }
    if (sysInit >= 0) e.sysInitMs = sysInit;
  }
  e.optionRecords += count;
  return count;
}

/** Reads an unsigned big-endian integer of 1..8 bytes. */
export function readUint(view: DataView, buf: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 1:
      return buf[o]!;
    case 2:
      return view.getUint16(o);
    case 4:
      return view.getUint32(o);
    default: {
      let v = 0;
      for (let k = 0; k < len; k++) v = v * 256 + buf[o + k]!;
      return v;
    }
  }
}
