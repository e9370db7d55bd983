// SPDX-License-Identifier: BSD-3-Clause
// Template sets, options template sets and data sets of NetFlow v9 (RFC 3954) and IPFIX (RFC 7011), and the
// held data sets whose template had not arrived yet. netflow-v9.ts and ipfix.ts parse the headers and walk
// the sets; the work per set is here.
//
//   v9 template record        templateId u16 | fieldCount u16 | (type u16, length u16) × fieldCount
//   v9 options template       templateId u16 | scopeLength u16 | optionLength u16 | (type, length) × …
//   IPFIX template record     templateId u16 | fieldCount u16 | (E|id u16, length u16 [, PEN u32]) × fieldCount
//   IPFIX options template    templateId u16 | fieldCount u16 | scopeFieldCount u16 | fields as above
//   IPFIX withdrawal          templateId u16 | fieldCount = 0   (templateId 2 / 3 = all data / all options)

import { DataResult, decodeDataRecords, decodeOptionsRecords } from "./data-set.js";
import { DecodeStatus } from "./errors.js";
import type { BatchSink, DecoderState, ExporterState, HeldSet } from "./state.js";
import { fieldList, type TemplateFieldList } from "./templates.js";

/**
 * Fields per template we accept. Real templates have well under 100; the bound keeps a hostile template from
 * costing a huge generated reader.
 */
export const MAX_TEMPLATE_FIELDS = 512;

/**
 * Per set of the datagram being decoded (by index): 1 when the first pass (templates and options data) decoded
 * it. A set takes at least 4 bytes, so a datagram has at most 16384.
 */
export const firstPass = new Uint8Array(16384);

/**
 * Pass 1 over set `i` (id at buf[o], body up to end) of a v9 (`ipfix` false) or IPFIX message: templates, options
 * templates, and the data sets whose template is an options template or still unknown (held), so that a sampler
 * or systemInitTime announced anywhere in the message applies to all of its flows. Marks in firstPass what it
 * decoded; passTwo decodes the rest.
 */
export function passOne(
  state: DecoderState,
  e: ExporterState,
  ipfix: boolean,
  view: DataView,
  buf: Uint8Array,
  o: number,
  end: number,
  i: number,
  sink: BatchSink,
): DecodeStatus {
  const id = view.getUint16(o);
  firstPass[i] = 0;
  // template set ids: IPFIX 2 and 3 (options), v9 0 and 1
  if (id === (ipfix ? 2 : 0)) return parseTemplateSet(state, e, ipfix, false, view, buf, o + 4, end, sink);
  if (id === (ipfix ? 3 : 1)) return parseTemplateSet(state, e, ipfix, true, view, buf, o + 4, end, sink);
  if (id < 256) {
    return fail(state, e, DecodeStatus.BAD_SET_ID, -1, o, ipfix ? "reserved set id" : "reserved flowset id", id);
  }
  const plan = e.templates?.get(id);
  if (plan !== undefined && !plan.options) return DecodeStatus.OK;
  firstPass[i] = 1;
  return decodeDataSet(state, e, id, view, buf, o + 4, end, sink);
}

/** Pass 2: the data sets in buf[first, stop) that passOne left; the first status that is not OK, else OK. */
export function passTwo(
  state: DecoderState,
  e: ExporterState,
  view: DataView,
  buf: Uint8Array,
  first: number,
  stop: number,
  sink: BatchSink,
): DecodeStatus {
  let status: DecodeStatus = DecodeStatus.OK;
  let o = first;
  let i = 0;
  while (o < stop) {
    const id = view.getUint16(o);
    const end = o + view.getUint16(o + 2);
    if (id >= 256 && firstPass[i] === 0) {
      const s = decodeDataSet(state, e, id, view, buf, o + 4, end, sink);
      if (s !== DecodeStatus.OK && status === DecodeStatus.OK) status = s;
    }
    o = end;
    i++;
  }
  return status;
}

/** Reports a problem into the state's diagnostics and the exporter's counter; returns the status. */
export function fail(
  state: DecoderState,
  e: ExporterState | null,
  status: DecodeStatus,
  templateId: number,
  offset: number,
  detail: string,
  a = -1,
  b = -1,
): DecodeStatus {
  const d = state.diag;
  d.status = status;
  d.templateId = templateId;
  d.offset = offset;
  d.detail = detail;
  d.a = a;
  d.b = b;
  if (e) {
    d.exporter = e.address;
    d.domainId = e.domain;
    e.malformed[status] = e.malformed[status]! + 1;
  }
  return status;
}

/**
 * Parses a template set (v9 flowset 0 / IPFIX set 2) or options template set (v9 flowset 1 / IPFIX set 3)
 * in buf[start, end) and defines the templates; then decodes held data sets of the defined ids.
 */
export function parseTemplateSet(
  state: DecoderState,
  e: ExporterState,
  ipfix: boolean,
  options: boolean,
  view: DataView,
  _buf: Uint8Array,
  start: number,
  end: number,
  sink: BatchSink,
): DecodeStatus {
  const table = e.templates;
  if (!table) return DecodeStatus.OK;
  const hdr = options ? 6 : 4;
  let o = start;
  let status: DecodeStatus = DecodeStatus.OK;
  // Anything shorter than a template header at the end is padding (a withdrawal is 4 bytes, also in set 3).
  while (o + 4 <= end) {
    if (o + hdr > end && !(ipfix && view.getUint16(o + 2) === 0)) break;
    const templateId = view.getUint16(o);
    const nowMs = state.ctx.receivedMs;
    let count: number;
    let scopeCount: number;
    if (!ipfix && options) {
      const scopeLen = view.getUint16(o + 2);
      const optLen = view.getUint16(o + 4);
      if (templateId === 0 && scopeLen === 0 && optLen === 0) break; // zero padding
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0)
        return fail(state, e, DecodeStatus.BAD_TEMPLATE, templateId, o, "options template lengths not a multiple of 4");
      scopeCount = scopeLen / 4;
      count = scopeCount + optLen / 4;
    } else {
      count = view.getUint16(o + 2);
      scopeCount = options && count > 0 ? view.getUint16(o + 4) : 0;
    }
    if (ipfix && count === 0) {
      // Withdrawal (RFC 7011 §8.1): template id + field count 0, 4 bytes in both set kinds.
      if ((templateId === 2 && !options) || (templateId === 3 && options)) table.withdrawAll(options);
      else if (templateId >= 256) table.withdraw(templateId);
      o += 4;
      continue;
    }
    if (templateId === 0 && count === 0) break; // zero padding (v9)
    if (templateId < 256) return fail(state, e, DecodeStatus.BAD_TEMPLATE, templateId, o, "template id below 256");
    if (count === 0 || count > MAX_TEMPLATE_FIELDS || scopeCount > count || (ipfix && options && scopeCount === 0)) {
      return fail(state, e, DecodeStatus.BAD_TEMPLATE, templateId, o, "bad field count", count, scopeCount);
    }
    o += hdr;
    const fields: TemplateFieldList = fieldList(count);
    for (let i = 0; i < count; i++) {
      if (o + 4 > end)
        return fail(state, e, DecodeStatus.BAD_TEMPLATE, templateId, o, "template field runs past the set", o + 4, end);
      let id = view.getUint16(o);
      const len = view.getUint16(o + 2);
      o += 4;
      let pen = 0;
      if (ipfix && id & 0x8000) {
        if (o + 4 > end)
          return fail(
            state,
            e,
            DecodeStatus.BAD_TEMPLATE,
            templateId,
            o,
            "enterprise number runs past the set",
            o + 4,
            end,
          );
        pen = view.getUint32(o);
        o += 4;
        id &= 0x7fff;
      }
      // Length 65535 in v9 (H3C/HPE NetStream string fields): not in RFC 3954, decoded as IPFIX variable-length
      // fields (1-byte length, or 255 + 2-byte length), as nfdump and tshark do.
      fields.enterprise[i] = pen;
      fields.id[i] = id;
      fields.length[i] = len;
    }
    table.define(templateId, options, scopeCount, fields, nowMs);
    if (e.held.length > 0) {
      const s = releaseHeld(state, e, templateId, sink);
      if (s !== DecodeStatus.OK) status = s;
    }
  }
  return status;
}

/**
 * Decodes a data set (set id >= 256) in buf[start, end); a set whose template is unknown is held (copied,
 * bounded) and decoded when the template arrives.
 */
export function decodeDataSet(
  state: DecoderState,
  e: ExporterState,
  setId: number,
  view: DataView,
  buf: Uint8Array,
  start: number,
  end: number,
  sink: BatchSink,
): DecodeStatus {
  const plan = e.templates?.get(setId);
  if (!plan) {
    e.templateMisses++;
    holdSet(state, e, setId, buf, start, end);
    state.diag.status = DecodeStatus.NO_TEMPLATE;
    state.diag.templateId = setId;
    state.diag.offset = start;
    return DecodeStatus.NO_TEMPLATE;
  }
  if (plan.options) {
    decodeOptionsRecords(state, e, plan, view, buf, start, end);
    return DecodeStatus.OK;
  }
  const r = decodeDataRecords(state, e, plan, view, buf, start, end, sink);
  if (r === DataResult.TRUNCATED)
    return fail(state, e, DecodeStatus.TRUNCATED, setId, start, "variable-length field runs past the set");
  if (r === DataResult.BAD_TEMPLATE)
    return fail(state, e, DecodeStatus.BAD_TEMPLATE, setId, start, "template records have no length");
  return DecodeStatus.OK;
}

function holdSet(
  state: DecoderState,
  e: ExporterState,
  templateId: number,
  buf: Uint8Array,
  start: number,
  end: number,
): void {
  const len = end - start;
  if (len <= 0) return;
  expireHeld(state, e);
  if (len > state.maxHeldBytes || state.maxHeldSets === 0) {
    e.heldDropped++;
    return;
  }
  while (e.held.length > 0 && (e.held.length >= state.maxHeldSets || e.heldBytes + len > state.maxHeldBytes)) {
    dropOldestHeld(state, e);
  }
  // the bound over all exporters: the largest holder gives up its oldest sets (a spray of exporters or domains
  // each within its own bound cannot grow memory, nor crowd out an exporter that holds little)
  while (state.heldBytesTotal + len > state.maxHeldBytesTotal) {
    let largest: ExporterState | null = null;
    for (const h of state.holders) if (largest === null || h.heldBytes > largest.heldBytes) largest = h;
    if (largest === null) break;
    dropOldestHeld(state, largest);
    state.heldDroppedGlobal++;
  }
  if (state.heldBytesTotal + len > state.maxHeldBytesTotal) {
    e.heldDropped++;
    return;
  }
  const ctx = state.ctx;
  e.held.push({
    templateId,
    bytes: buf.slice(start, end),
    receivedMs: ctx.receivedMs,
    exportSecs: ctx.exportSecs,
    sysUptimeMs: ctx.sysUptimeMs,
  });
  e.heldBytes += len;
  state.heldBytesTotal += len;
  state.holders.add(e);
}

/** Drops an exporter's oldest held set (it holds at least one). */
function dropOldestHeld(state: DecoderState, e: ExporterState): void {
  const old = e.held.shift()!;
  e.heldBytes -= old.bytes.length;
  state.heldBytesTotal -= old.bytes.length;
  e.heldDropped++;
  if (e.held.length === 0) state.holders.delete(e);
}

/** Drops held sets older than the age bound. */
export function expireHeld(state: DecoderState, e: ExporterState): void {
  const now = state.ctx.receivedMs;
  while (e.held.length > 0 && now - e.held[0]!.receivedMs > state.heldMaxAgeMs) dropOldestHeld(state, e);
}

/** Decodes the held sets of `templateId` with the header values they arrived with. */
function releaseHeld(state: DecoderState, e: ExporterState, templateId: number, sink: BatchSink): DecodeStatus {
  expireHeld(state, e);
  const plan = e.templates?.get(templateId);
  if (!plan) return DecodeStatus.OK;
  const ctx = state.ctx;
  const saveReceived = ctx.receivedMs;
  const saveExport = ctx.exportSecs;
  const saveUptime = ctx.sysUptimeMs;
  let status: DecodeStatus = DecodeStatus.OK;
  let k = 0;
  while (k < e.held.length) {
    const h: HeldSet = e.held[k]!;
    if (h.templateId !== templateId) {
      k++;
      continue;
    }
    e.held.splice(k, 1);
    e.heldBytes -= h.bytes.length;
    state.heldBytesTotal -= h.bytes.length;
    if (e.held.length === 0) state.holders.delete(e);
    ctx.receivedMs = h.receivedMs;
    ctx.exportSecs = h.exportSecs;
    ctx.sysUptimeMs = h.sysUptimeMs;
    const before = ctx.records;
    const view = new DataView(h.bytes.buffer, h.bytes.byteOffset, h.bytes.byteLength);
    if (plan.options) decodeOptionsRecords(state, e, plan, view, h.bytes, 0, h.bytes.length);
    else if (decodeDataRecords(state, e, plan, view, h.bytes, 0, h.bytes.length, sink) !== DataResult.OK) {
      status = fail(state, e, DecodeStatus.TRUNCATED, templateId, 0, "held data set does not fit its template");
    }
    e.heldDecoded += ctx.records - before;
  }
  ctx.receivedMs = saveReceived;
  ctx.exportSecs = saveExport;
  ctx.sysUptimeMs = saveUptime;
  return status;
}
