// SPDX-License-Identifier: BSD-3-Clause
// Decoder state: the bounded exporter table, per-exporter counters, sampling, held data sets, sFlow counters.
//
// One DecoderState per collector. Exporters are keyed (protocol family, sender address, source id /
// observation domain / engine / sFlow agent+sub-agent); each gets a small collector-assigned `id` (nfdump's
// SysID) written into the exporterId column. Everything here is bounded: the exporter table (a full table
// evicts its least recently seen exporter, one-datagram exporters first, so a new exporter is never locked
// out), templates (TemplateCache), held data sets (count, bytes, age) and stored sFlow counter samples.

import type { RecordBatch } from "../record/batch.js";
import { parseIPv4, parseIPv6 } from "../record/ip.js";
import { DECODE_STATUS_COUNT, DecodeDiagnostics } from "./errors.js";
import { ColumnViewCache } from "./columns.js";
import { SLOT_COUNT } from "./fields.js";
import {
  type DecodePlan,
  DEFAULT_TEMPLATE_LIMITS,
  type ExporterTemplates,
  type SerializedTemplates,
  TemplateCache,
  type TemplateLimits,
} from "./templates.js";

/** Where decoded rows go. When `batch` is full the decoder calls `flush()`, which must hand the batch over and
 * put an empty one in `batch` (decoding then continues in the same datagram). */
export interface BatchSink {
  batch: RecordBatch;
  flush(): void;
}

export interface DatagramSource {
  readonly address: string;
  readonly port: number;
}

export interface DecoderOptions {
  /** nfcapd -s: > 0 default sampling interval when none is announced; < 0 override every announced one. */
  readonly samplingRate?: number;
  readonly maxExporters?: number;
  readonly templateLimits?: TemplateLimits;
  readonly maxHeldSets?: number;
  readonly maxHeldBytes?: number;
  /** Bytes of held data sets of all exporters together (a spray of exporters each under its own bound). */
  readonly maxHeldBytesTotal?: number;
  readonly heldMaxAgeMs?: number;
  /** sFlow counter samples kept per exporter (one per data source). */
  readonly maxCounterSamples?: number;
  /** Samplers (options records) kept per exporter. */
  readonly maxSamplers?: number;
}

/** Sampling sources (the samplingSource column). */
export const SamplingSource = { NONE: 0, HEADER: 1, OPTIONS: 2, DATA: 3, DEFAULT: 4, OVERRIDE: 5 } as const;

/**
 * Sampling rates outside [1, MAX_SAMPLING_RATE] are ignored and counted (ratesRejected): nfcapd's -s takes the
 * same range, and a larger "rate" is a value that did not come from a sampling element (e.g. a data record read
 * with an options template of the same id from another sender).
 */
export const MAX_SAMPLING_RATE = 10_000_000;

/** True for a usable sampling rate (1..MAX_SAMPLING_RATE). */
export function saneRate(rate: number): boolean {
  return rate >= 1 && rate <= MAX_SAMPLING_RATE;
}

export interface SamplerInfo {
  interval: number;
  algorithm: number;
  /** The options template whose data announced it: the sampler lives only as long as that template. */
  templateId: number;
  /** That template's plan when the rate was announced (a replaced or withdrawn template drops the sampler). */
  plan: DecodePlan | null;
}

/** A sampler as reports show it. */
export interface SamplerReport {
  /** sampler / selector id, -1 for the exporter-wide one (options record without an id) */
  readonly id: number;
  readonly rate: number;
  readonly algorithm: number;
  /** the options template that announced it */
  readonly templateId: number;
}

/** A data set whose template was unknown when it arrived (copied; decoded when the template arrives). */
export interface HeldSet {
  readonly templateId: number;
  readonly bytes: Uint8Array;
  readonly receivedMs: number;
  readonly exportSecs: number;
  readonly sysUptimeMs: number;
}

/** An sFlow counter sample as tsdump can show it (plain data; the latest per data source is kept). */
export interface SflowCounterSample {
  sourceId: number;
  sequence: number;
  receivedMs: number;
  /** Generic interface counters (record 0:1), or null when the sample had none. */
  generic: {
    ifIndex: number;
    ifType: number;
    ifSpeed: number;
    ifDirection: number;
    ifStatus: number;
    ifInOctets: number;
    ifInUcastPkts: number;
    ifInMulticastPkts: number;
    ifInBroadcastPkts: number;
    ifInDiscards: number;
    ifInErrors: number;
    ifInUnknownProtos: number;
    ifOutOctets: number;
    ifOutUcastPkts: number;
    ifOutMulticastPkts: number;
    ifOutBroadcastPkts: number;
    ifOutDiscards: number;
    ifOutErrors: number;
    ifPromiscuousMode: number;
  } | null;
  /** Ethernet interface counters (record 0:2), or null. */
  ethernet: {
    alignmentErrors: number;
    fcsErrors: number;
    singleCollisionFrames: number;
    multipleCollisionFrames: number;
    sqeTestErrors: number;
    deferredTransmissions: number;
    lateCollisions: number;
    excessiveCollisions: number;
    internalMacTransmitErrors: number;
    carrierSenseErrors: number;
    frameTooLongs: number;
    internalMacReceiveErrors: number;
    symbolErrors: number;
  } | null;
}

/** Per-exporter state and counters. */
export class ExporterState {
  /** Collector-assigned id (nfdump SysID), 1.. */
  readonly id: number;
  readonly key: string;
  /** Export protocol: 1, 5, 7, 9, 10 or 133 (sFlow v5). */
  readonly nfVersion: number;
  /** Key namespace: 5 for v1/v5/v7, else nfVersion. */
  readonly family: number;
  /** Sender address as given by the socket. */
  readonly address: string;
  /** Source id (v9), observation domain (IPFIX), engineType<<8|engineId (v1/v5/v7), sub-agent id (sFlow). */
  readonly domain: number;
  /** exporterAddr column value: IPv4 u32 (v6 = false) or four words. */
  addrV4 = 0;
  addrIsV6 = false;
  readonly addrV6 = new Uint32Array(4);
  engineType = 0;
  engineId = 0;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Seen again since the exporter table's eviction hand last passed it (second chance). */
  referenced = false;

  // counters
  packets = 0;
  records = 0;
  sequenceErrors = 0;
  /** Data sets that arrived without a known template. */
  templateMisses = 0;
  /** Records decoded late from held data sets. */
  heldDecoded = 0;
  /** Held data sets dropped (bounds or age). */
  heldDropped = 0;
  /** Malformed packets by DecodeStatus. */
  readonly malformed = new Uint32Array(DECODE_STATUS_COUNT);
  optionRecords = 0;
  /** IPFIX messages whose last set ran past the message length into trailing datagram bytes (decoded anyway). */
  lengthOverruns = 0;
  /** Flows stored, by SamplingSource of the rate applied (index NONE: stored unscaled, no rate known). */
  readonly flowsBySource = new Float64Array(6);
  /** Announced sampling rates outside 1..MAX_SAMPLING_RATE, ignored. */
  ratesRejected = 0;
  /** Options data sets whose bytes do not fit their options template (non-zero bytes after the last record). */
  optionsMismatch = 0;

  // sequence tracking (-1 = nothing seen yet)
  nextSequence = -1;

  // v9 / IPFIX
  readonly templates: ExporterTemplates | null;
  /**
   * Samplers announced in options data, by sampler id; -1 holds the exporter-wide one (no id). Read them through
   * sampler(), which drops one whose options template was replaced, withdrawn or evicted since.
   */
  readonly samplers = new Map<number, SamplerInfo>();
  /** systemInitTimeMilliseconds announced in options data, or -1. */
  sysInitMs = -1;
  readonly held: HeldSet[] = [];
  heldBytes = 0;

  // sFlow
  readonly counterSamples = new Map<number, SflowCounterSample>();
  /** sFlow per sub-agent sequence tracking. */
  sflowSequence = -1;

  constructor(
    id: number,
    key: string,
    nfVersion: number,
    address: string,
    domain: number,
    templates: ExporterTemplates | null,
    nowMs: number,
  ) {
    this.id = id;
    this.key = key;
    this.nfVersion = nfVersion;
    this.family = nfVersion === 1 || nfVersion === 5 || nfVersion === 7 ? 5 : nfVersion;
    this.address = address;
    this.domain = domain;
    this.templates = templates;
    this.firstSeenMs = nowMs;
    this.lastSeenMs = nowMs;
    setExporterAddress(this, address);
  }

  /** The live sampler `id` (-1: exporter-wide), or undefined; forgets it when its options template changed. */
  sampler(id: number): SamplerInfo | undefined {
    const s = this.samplers.get(id);
    if (s === undefined) return undefined;
    if (s.plan !== null && this.templates !== null && this.templates.get(s.templateId) === s.plan) return s;
    this.samplers.delete(id);
    return undefined;
  }

  /** The live samplers, sorted by id. */
  samplerReport(): SamplerReport[] {
    const out: SamplerReport[] = [];
    for (const id of [...this.samplers.keys()].sort((a, b) => a - b)) {
      const s = this.sampler(id);
      if (s) out.push({ id, rate: s.interval, algorithm: s.algorithm, templateId: s.templateId });
    }
    return out;
  }

  /** Plain snapshot of the counters (logs, file footer, metrics). */
  counters(): ExporterCounters {
    const malformed: Record<string, number> = {};
    this.malformed.forEach((n, i) => {
      if (n > 0 && i > 0) malformed[String(i)] = n;
    });
    return {
      id: this.id,
      address: this.address,
      nfVersion: this.nfVersion,
      domain: this.domain,
      packets: this.packets,
      records: this.records,
      sequenceErrors: this.sequenceErrors,
      templateMisses: this.templateMisses,
      heldDecoded: this.heldDecoded,
      heldDropped: this.heldDropped,
      optionRecords: this.optionRecords,
      lengthOverruns: this.lengthOverruns,
      flowsBySource: Array.from(this.flowsBySource),
      ratesRejected: this.ratesRejected,
      optionsMismatch: this.optionsMismatch,
      samplers: this.samplerReport(),
      templates: this.templates?.plans.size ?? 0,
      malformed,
    };
  }
}

/** Serialised decoder state (DecoderState.saveState). */
export interface SavedDecoderState {
  readonly format: "tsflow-decoder-state";
  readonly version: 1;
  readonly templates: SerializedTemplates;
  readonly exporters: readonly {
    readonly key: string;
    /** [sampler id (-1 = exporter-wide), interval, algorithm, options template id] */
    readonly samplers: readonly (readonly [number, number, number, number])[];
    readonly sysInitMs: number;
  }[];
}

export interface ExporterCounters {
  readonly id: number;
  readonly address: string;
  readonly nfVersion: number;
  readonly domain: number;
  readonly packets: number;
  readonly records: number;
  readonly sequenceErrors: number;
  readonly templateMisses: number;
  readonly heldDecoded: number;
  readonly heldDropped: number;
  readonly optionRecords: number;
  readonly lengthOverruns: number;
  /** flows stored by SamplingSource of the rate applied ([0]: unscaled, no rate known) */
  readonly flowsBySource: readonly number[];
  readonly ratesRejected: number;
  readonly optionsMismatch: number;
  readonly samplers: readonly SamplerReport[];
  readonly templates: number;
  /** Counts by DecodeStatus number (only non-zero ones). */
  readonly malformed: Readonly<Record<string, number>>;
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

function setExporterAddress(e: ExporterState, address: string): void {
  const mapped = V4_MAPPED.exec(address);
  const v4 = parseIPv4(mapped ? mapped[1]! : address);
  if (v4 >= 0) {
    e.addrV4 = v4;
    e.addrIsV6 = false;
    return;
  }
  if (parseIPv6(address, e.addrV6, 0)) e.addrIsV6 = true;
}

/** Header values of the datagram being decoded (reused). */
export class DecodeContext {
  receivedMs = 0;
  /** Export time in seconds (v5/v9 unix_secs, IPFIX export time). */
  exportSecs = 0;
  /** v5 nsecs / 1e6 (ms part of the export time). */
  exportMsPart = 0;
  /** v1/v5/v7/v9 header sysUptime in ms; -1 for IPFIX. */
  sysUptimeMs = -1;
  nfVersion = 0;
  /** Records appended for this datagram. */
  records = 0;
}

export class DecoderState {
  readonly templates: TemplateCache;
  readonly samplingRate: number;
  readonly maxExporters: number;
  readonly maxHeldSets: number;
  readonly maxHeldBytes: number;
  readonly maxHeldBytesTotal: number;
  readonly heldMaxAgeMs: number;
  /** Bytes of held data sets of all exporters (bounded by maxHeldBytesTotal). */
  heldBytesTotal = 0;
  /** Held data sets dropped to keep heldBytesTotal within its bound (the largest holder's oldest first). */
  heldDroppedGlobal = 0;
  /** Exporters holding data sets (the candidates when the global bound evicts). */
  readonly holders = new Set<ExporterState>();
  readonly maxCounterSamples: number;
  readonly maxSamplers: number;
  readonly exporters = new Map<string, ExporterState>();
  /** Exporters evicted to make room for a new one (the table was full). */
  exportersEvicted = 0;
  /** Datagrams whose version we do not decode (no exporter is created for them). */
  unknownVersion = 0;
  readonly diag = new DecodeDiagnostics();
  /** Record scratch (fields.ts Slot). */
  readonly scratch = new Float64Array(SLOT_COUNT);
  readonly ctx = new DecodeContext();
  /** Fast-property views of the sink's batch columns (see columns.ts). */
  readonly columns = new ColumnViewCache();
  /** The exporter of the datagram being decoded (null before the header is read). */
  current: ExporterState | null = null;
  /**
   * Called when options data announce a new or changed sampling rate (accepted) or one outside
   * 1..MAX_SAMPLING_RATE (rejected), for the collector's log. Must not throw.
   */
  onSampling:
    ((e: ExporterState, samplerId: number, rate: number, templateId: number, accepted: boolean) => void) | null = null;
  /** Options state loaded by loadState(), applied when its exporter first sends (at most maxExporters). */
  private readonly pendingOptions = new Map<string, { samplers: [number, SamplerInfo][]; sysInitMs: number }>();
  private nextId = 1;
  private readonly freeIds: number[] = [];
  private lastExporter: ExporterState | null = null;
  /** saveStateText's per-exporter template fragments (JSON text) */
  private readonly fragments = new Map<string, string>();

  constructor(options: DecoderOptions = {}) {
    this.templates = new TemplateCache(options.templateLimits ?? DEFAULT_TEMPLATE_LIMITS);
    this.samplingRate = options.samplingRate ?? 0;
    this.maxExporters = options.maxExporters ?? 4096;
    this.maxHeldSets = options.maxHeldSets ?? 64;
    this.maxHeldBytes = options.maxHeldBytes ?? 256 * 1024;
    this.maxHeldBytesTotal = options.maxHeldBytesTotal ?? 16 * 1024 * 1024;
    this.heldMaxAgeMs = options.heldMaxAgeMs ?? 120_000;
    this.maxCounterSamples = options.maxCounterSamples ?? 1024;
    this.maxSamplers = options.maxSamplers ?? 256;
  }

  /**
   * The exporter for (protocol, address, domain), created on first use. A full table evicts one exporter to make
   * room (evictOne), so this never refuses a new exporter; the null return is kept for the decoders' contract.
   */
  exporter(nfVersion: number, address: string, domain: number, nowMs: number): ExporterState | null {
    // v1/v5/v7 share one namespace, as do v9 and IPFIX never (their template ids are separate).
    const family = nfVersion === 1 || nfVersion === 5 || nfVersion === 7 ? 5 : nfVersion;
    // Fast path: the same exporter as the previous datagram (no key string built).
    const last = this.lastExporter;
    if (last !== null && last.family === family && last.domain === domain && last.address === address) {
      last.lastSeenMs = nowMs;
      last.referenced = true;
      this.current = last;
      return last;
    }
    const key = `${family}|${address}|${domain}`;
    let e = this.exporters.get(key);
    if (!e) {
      while (this.exporters.size >= this.maxExporters) this.evictOne();
      const id = this.freeIds.pop() ?? this.nextId++;
      const templates = family === 9 || family === 10 ? this.templates.forExporter(key) : null;
      e = new ExporterState(id, key, nfVersion, address, domain, templates, nowMs);
      const saved = this.pendingOptions.get(key);
      if (saved) {
        this.pendingOptions.delete(key);
        // a persisted rate comes back only with the options template that announced it
        for (const [sid, info] of saved.samplers) {
          const plan = templates?.get(info.templateId);
          if (plan?.options === true && e.samplers.size < this.maxSamplers) {
            info.plan = plan;
            e.samplers.set(sid, info);
          }
        }
        e.sysInitMs = saved.sysInitMs;
      }
      if (family === 9) {
        // nfdump derives engine type/id of v9 exporters from the source id (not for IPFIX domains).
        e.engineType = (domain >>> 8) & 0xff;
        e.engineId = domain & 0xff;
      }
      this.exporters.set(key, e);
    } else e.referenced = true;
    e.lastSeenMs = nowMs;
    this.current = e;
    this.lastExporter = e;
    return e;
  }

  /**
   * Evicts one exporter (CLOCK, an approximation of least recently seen): the map's insertion order is the
   * queue; an exporter seen since the hand last passed it is moved to the back once, the first one not seen is
   * evicted. Exporters that sent a single datagram (a spray of addresses / source ids) thus go before any that
   * keep sending, and the cost per eviction is amortised O(1).
   */
  private evictOne(): void {
    let passes = this.exporters.size;
    for (const e of this.exporters.values()) {
      if (e.referenced && passes-- > 0) {
        e.referenced = false;
        this.exporters.delete(e.key);
        this.exporters.set(e.key, e); // to the back; Map iteration visits it again after the others
        continue;
      }
      this.exporters.delete(e.key);
      this.templates.dropExporter(e.key);
      this.dropHeld(e);
      this.freeIds.push(e.id);
      if (this.lastExporter === e) this.lastExporter = null;
      if (this.current === e) this.current = null;
      this.exportersEvicted++;
      return;
    }
  }

  /** Forgets every held set of an exporter (evicted). */
  private dropHeld(e: ExporterState): void {
    this.heldBytesTotal -= e.heldBytes;
    e.heldDropped += e.held.length;
    e.held.length = 0;
    e.heldBytes = 0;
    this.holders.delete(e);
  }

  /** The exporter of the datagram just decoded, or null (bad header, unknown version, table full). */
  currentExporter(): ExporterState | null {
    return this.current;
  }

  /**
   * Everything a restarted collector needs to decode at once: the templates plus, per exporter, the samplers
   * and systemInitTime announced in options data. JSON-serialisable.
   */
  saveState(): SavedDecoderState {
    const exporters: SavedDecoderState["exporters"][number][] = [];
    for (const e of this.exporters.values()) {
      const samplers = e.samplerReport();
      if (samplers.length === 0 && e.sysInitMs < 0) continue;
      exporters.push({
        key: e.key,
        samplers: samplers.map((s) => [s.id, s.rate, s.algorithm, s.templateId] as const),
        sysInitMs: e.sysInitMs,
      });
    }
    return { format: "tsflow-decoder-state", version: 1, templates: this.templates.serialize(), exporters };
  }

  /**
   * `saveState()` as JSON text of at most about `maxChars`, built incrementally: each exporter's templates are
   * kept as a text fragment, and only exporters whose templates changed since the last call are serialised
   * again, at most `budgetChars` of new text per call (the rest waits for the next call; its older fragment is
   * used meanwhile). Exporters that decoded the most records go first, so under template spam the file keeps the
   * exporters that send data and stays bounded.
   */
  saveStateText(maxChars: number, budgetChars = maxChars): string {
    const dirty = this.templates.takeDirty();
    const order = [...this.exporters.values()].sort((a, b) => b.records - a.records);
    let spent = 0;
    const refresh = (key: string): void => {
      if (!dirty.delete(key)) return;
      if (spent > budgetChars) {
        this.templates.markDirty(key);
        return;
      }
      const f = this.templates.fragment(key);
      if (f === null) this.fragments.delete(key);
      else {
        this.fragments.set(key, f);
        spent += f.length;
      }
    };
    for (const e of order) refresh(e.key);
    // loaded tables of exporters not seen since the restart, and dropped exporters
    for (const key of [...dirty]) refresh(key);
    for (const key of this.fragments.keys()) if (this.templates.table(key) === undefined) this.fragments.delete(key);
    const parts: string[] = [];
    let size = 200;
    const included = new Set<string>();
    const add = (key: string): void => {
      const f = this.fragments.get(key);
      if (f === undefined || included.has(key) || size + f.length + 1 > maxChars) return;
      parts.push(f);
      included.add(key);
      size += f.length + 1;
    };
    for (const e of order) add(e.key);
    for (const key of this.fragments.keys()) add(key);
    const options: SavedDecoderState["exporters"][number][] = [];
    for (const e of order) {
      const samplers = e.samplerReport();
      if (samplers.length === 0 && e.sysInitMs < 0) continue;
      const o = {
        key: e.key,
        samplers: samplers.map((s) => [s.id, s.rate, s.algorithm, s.templateId] as const),
        sysInitMs: e.sysInitMs,
      };
      const n = 40 + e.key.length + 30 * o.samplers.length;
      if (size + n > maxChars) break;
      size += n;
      options.push(o);
    }
    return (
      `{"format":"tsflow-decoder-state","version":1,"templates":{"format":"tsflow-templates","version":1,` +
      `"exporters":[${parts.join(",")}]},"exporters":${JSON.stringify(options)}}`
    );
  }

  /** Loads `saveState()` output (malformed parts are skipped); returns the number of templates loaded. */
  loadState(data: unknown): number {
    if (typeof data !== "object" || data === null) return 0;
    const d = data as Record<string, unknown>;
    if (d["format"] !== "tsflow-decoder-state" || d["version"] !== 1) return 0;
    const n = this.templates.load(d["templates"]);
    const exporters = d["exporters"];
    if (Array.isArray(exporters)) {
      for (const x of exporters as unknown[]) {
        if (typeof x !== "object" || x === null) continue;
        const r = x as Record<string, unknown>;
        const key = r["key"];
        const samplers = r["samplers"];
        if (typeof key !== "string" || !Array.isArray(samplers)) continue;
        const list: [number, SamplerInfo][] = [];
        for (const s of (samplers as unknown[]).slice(0, this.maxSamplers)) {
          // entries without their options template id (older files) are dropped: the rate cannot be bound
          if (!Array.isArray(s) || s.length !== 4 || !s.every((v) => typeof v === "number" && Number.isFinite(v)))
            continue;
          const [id, interval, algorithm, templateId] = s as [number, number, number, number];
          if (saneRate(interval) && Number.isInteger(templateId) && templateId >= 256 && templateId <= 0xffff)
            list.push([id, { interval, algorithm, templateId, plan: null }]);
        }
        const init = typeof r["sysInitMs"] === "number" ? r["sysInitMs"] : -1;
        if (this.pendingOptions.size < this.maxExporters)
          this.pendingOptions.set(key, { samplers: list, sysInitMs: init });
      }
    }
    return n;
  }

  /** Counter snapshots of all exporters. */
  exporterCounters(): ExporterCounters[] {
    return [...this.exporters.values()].map((e) => e.counters());
  }

  /** Latest sFlow counter samples of every exporter (plain data for tsdump / metrics). */
  sflowCounters(): { exporter: string; agentDomain: number; samples: SflowCounterSample[] }[] {
    const out: { exporter: string; agentDomain: number; samples: SflowCounterSample[] }[] = [];
    for (const e of this.exporters.values()) {
      if (e.counterSamples.size > 0)
        out.push({ exporter: e.address, agentDomain: e.domain, samples: [...e.counterSamples.values()] });
    }
    return out;
  }
}
