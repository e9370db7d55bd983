// SPDX-License-Identifier: BSD-3-Clause
// The collector: allow-list → source routing → decoder → RecordBatch → FlowFileWriter, with clock-aligned
// rotation, template persistence and recovery of files left by a killed collector. It runs on the decode thread
// (ingest-worker.ts), fed in arrival order from the receive ring (receiver.ts owns the sockets and -R). The
// receivers already keep senders outside the allow-list out of the ring; the check here stays for the
// Collector used on its own, and costs a string compare per datagram (the last-exporter fast path).
//
//   receive(datagram, address, port, time) ──▶ allow-list ──▶ route to a Source (-l / -n / -M)
//                   ──▶ decodeDatagram(state, source.sink)  [the only try/catch per packet]
//   source.sink.flush() ──▶ writer thread (encode, compress, write in block order)
//   slot end ──▶ every source: last batch, footer + fsync + rename to tscapd.YYYYMMDDhhmm, next .current file
//
// Receiving never waits for the disk: batches are handed to the writer and decoding goes on; the writer's
// in-flight blocks are bounded (what cannot be queued is counted as dropped, never buffered without bound).

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  decodeDatagram,
  DecodeStatus,
  DECODE_STATUS_NAME,
  DecoderState,
  type BatchSink,
  type ExporterCounters,
} from "../decode/index.js";
import { RecordBatch } from "../record/batch.js";
import { parseIPv4, parseIPv6 } from "../record/ip.js";
import { flowFilePath, slotStart, strftime, totalsText, type ExporterStats, type Zone } from "../store/index.js";
import { expireDirectory, readLimits } from "../store/expire.js";
import type { Logger } from "../util/log.js";
import type { MonitorFeed } from "../monitor/feed.js";
import { AllowList } from "./allow.js";
import { Launcher } from "./launcher.js";
import { CURRENT_PREFIX, recoverLeftovers } from "./leftovers.js";
import type { CollectorOptions, SourceSpec } from "./options.js";
import { WriterThread } from "./writer-thread.js";

/** Rows per batch = rows per file block. */
const BATCH_ROWS = 16384;
/** Blocks a source may have queued at the writer before new batches are dropped (memory bound). */
const MAX_BLOCKS_IN_FLIGHT = 24;
/**
 * Blocks queued at the writer (all sources) from which the decode thread stops taking datagrams from the
 * receive ring until one is written: under overload the loss then happens in the ring, before any decoding
 * (a dropped raw datagram costs ring bytes and no CPU; a dropped block had been decoded).
 */
const BACKLOG_BLOCKS = 8;
/**
 * A partial batch is handed to the writer once it has waited this long for more rows (checked every
 * FLUSH_TICK_MS, so its oldest row is written within about FLUSH_TICK_MS + FLUSH_MS): a kill -9 or power cut
 * then loses at most about a second of flows, whatever the rate. Full batches are handed over at once as before.
 */
const FLUSH_TICK_MS = 250;
const FLUSH_MS = 750;
/** The template file at most (characters of JSON), and the new text serialised per save (every 2 s). */
const TEMPLATE_FILE_MAX = 8 * 1024 * 1024;
const TEMPLATE_SAVE_BUDGET = 1024 * 1024;
/** Dynamic sources (-M) at most, as nfcapd's dyn_max_sources. */
const MAX_DYNAMIC_SOURCES = 1024;

export interface CollectorCounters {
  datagrams: number;
  notAllowed: number;
  badPackets: number;
  crashes: number;
  flowsStored: number;
  flowsDropped: number;
  filesWritten: number;
  /** exporters evicted from the full exporter table (least recently seen first), and those in it now */
  exportersEvicted?: number;
  exporters?: number;
  /** bytes of data sets held for their template (all exporters), and sets dropped by the bound over all */
  heldBytes?: number;
  heldDroppedTotal?: number;
}

/** A fatal resource failure (bind, directory, disk): the daemon logs it and exits 2. */
export class FatalError extends Error {}

/** One slot's open file: the writer, its blocks in flight, and the exporter counters at the slot's start. */
class SlotFile {
  /** handle on the writer thread */
  readonly file: number;
  readonly path: string;
  readonly slotMs: number;
  rows = 0;
  /** exporter keys seen in this slot → their counters when the slot began (null: first seen in this slot) */
  readonly exporters: Map<string, ExporterCounters | null>;

  constructor(file: number, path: string, slotMs: number, exporters: Map<string, ExporterCounters | null>) {
    this.file = file;
    this.path = path;
    this.slotMs = slotMs;
    this.exporters = exporters;
  }
}

class Source {
  readonly ident: string;
  readonly dir: string;
  readonly allow: AllowList;
  file: SlotFile | null = null;
  readonly sink: BatchSink;
  private readonly collector: Collector;
  private seq = 0;
  /** the batch being filled when it first held rows at a flush tick, and when (flushIfStale) */
  private staleBatch: RecordBatch | null = null;
  private staleSinceMs = 0;

  constructor(spec: SourceSpec, collector: Collector) {
    this.ident = spec.ident;
    this.dir = resolve(spec.dir);
    this.allow = new AllowList(spec.prefixes);
    this.collector = collector;
    this.sink = {
      batch: new RecordBatch(BATCH_ROWS),
      flush: () => {
        this.handOver();
      },
    };
  }

  /** Opens the `.current` file of the slot holding `nowMs`; returns the file it replaces (to be closed). */
  open(nowMs: number): SlotFile | null {
    const old = this.file;
    this.handOver(); // rows received so far belong to the old slot
    const path = join(this.dir, `${CURRENT_PREFIX}${process.pid}.${this.seq++}`);
    const writer = this.collector.writer.open(path, {
      ident: this.ident,
      codec: this.collector.options.codec,
      creator: this.collector.creator,
      created: nowMs,
    });
    // the new slot's baseline: every exporter this source has seen, with its counters as they stand now
    const baseline = new Map<string, ExporterCounters | null>();
    if (old)
      for (const key of old.exporters.keys())
        baseline.set(key, this.collector.state.exporters.get(key)?.counters() ?? null);
    this.file = new SlotFile(writer, path, slotStart(nowMs, this.collector.options.interval), baseline);
    return old;
  }

  /** Hands the current batch to the writer and starts a fresh one. */
  handOver(): void {
    const batch = this.sink.batch;
    if (batch.length === 0) return;
    const file = this.file;
    const c = this.collector;
    if (file === null || c.writer.blocksInFlight(file.file) >= MAX_BLOCKS_IN_FLIGHT) {
      c.counters.flowsDropped += batch.length;
      c.log.limited(
        "error",
        `drop:${this.ident}`,
        `${this.ident}: writer ${file ? "behind" : "closed"}, ${batch.length} flows dropped`,
      );
      batch.reset();
      return;
    }
    c.monitor?.feed(this, batch, this.ident); // --monitor: the rows not fed yet, before the buffers move
    // the batch's buffers move to the writer thread; decoding goes on in a fresh batch
    c.writer.append(file.file, batch);
    file.rows += batch.length;
    this.sink.batch = c.writer.takeBatch(BATCH_ROWS);
  }

  /**
   * Hands a partial batch over when it has held rows for FLUSH_MS (timer on the decode thread); a batch the
   * writer has no room for waits for the next tick rather than being dropped.
   */
  flushIfStale(nowMs: number): void {
    const batch = this.sink.batch;
    if (batch.length === 0) {
      this.staleBatch = null;
      return;
    }
    if (batch !== this.staleBatch) {
      this.staleBatch = batch;
      this.staleSinceMs = nowMs;
      return;
    }
    const file = this.file;
    if (nowMs - this.staleSinceMs < FLUSH_MS || file === null) return;
    if (this.collector.writer.blocksInFlight(file.file) >= MAX_BLOCKS_IN_FLIGHT) return;
    this.handOver();
    this.staleBatch = null;
  }

  /** Closes a slot's file: footer with the slot's exporter counters, fsync, rename, -x. */
  async close(file: SlotFile): Promise<string> {
    const c = this.collector;
    const exporters: (Partial<ExporterStats> & { address: string })[] = [];
    for (const [key, base] of file.exporters) {
      const now = c.state.exporters.get(key)?.counters();
      if (!now) continue;
      const d = (a: number, b: number | undefined): number => a - (b ?? 0);
      exporters.push({
        address: now.address,
        id: now.id,
        domain: now.domain,
        version: now.nfVersion,
        packets: d(now.packets, base?.packets),
        flows: d(now.records, base?.records),
        sequenceErrors: d(now.sequenceErrors, base?.sequenceErrors),
        templateMisses: d(now.templateMisses, base?.templateMisses),
        badPackets: d(sumMalformed(now), base ? sumMalformed(base) : 0),
        samplingInterval: now.samplers.find((s) => s.id === -1)?.rate ?? now.samplers[0]?.rate ?? 0,
        extra: samplingExtra(now, base ?? undefined),
      });
    }
    const opts = c.options;
    const zone: Zone = "local";
    const target = flowFilePath(this.dir, file.slotMs, {
      interval: opts.interval,
      zone,
      appendZone: opts.zoneInName,
      subdirLevel: opts.subdirLayout,
    });
    try {
      mkdirSync(join(target, ".."), { recursive: true });
    } catch {
      // reported by the rename on the writer thread
    }
    const { path, stats } = await c.writer.close(file.file, target, exporters, file.slotMs);
    c.counters.filesWritten++;
    let seqErr = 0;
    let bad = 0;
    for (const e of stats.exporters) {
      seqErr += e.sequenceErrors;
      bad += e.badPackets;
    }
    const t = totalsText(stats);
    c.log.info(
      `Ident: '${this.ident}' Flows: ${t.flows}, Packets: ${t.packets}, Bytes: ${t.bytes}, ` +
        `Sequence Errors: ${seqErr}, Bad Packets: ${bad}`,
    );
    // table pressure since the last rotation: exporters evicted (a spray of addresses or source ids), and held
    // data sets dropped by the bound over all exporters
    const st = c.state;
    if (st.exportersEvicted > c.logged.evicted) {
      c.log.warn(
        `exporter table full (${st.maxExporters}): ${st.exportersEvicted - c.logged.evicted} exporters evicted, least recently seen first`,
      );
      c.logged.evicted = st.exportersEvicted;
    }
    if (st.heldDroppedGlobal > c.logged.heldDropped) {
      c.log.warn(
        `held data sets: ${st.heldDroppedGlobal - c.logged.heldDropped} dropped by the ${st.maxHeldBytesTotal}-byte bound over all exporters`,
      );
      c.logged.heldDropped = st.heldDroppedGlobal;
    }
    if (opts.expire) {
      try {
        const r = expireDirectory(this.dir, readLimits(this.dir));
        if (r.deleted > 0) c.log.info(`expired ${r.deleted} files (${r.freed} bytes) in ${this.dir}`);
      } catch (err) {
        c.log.limited("warn", "expire", `expire ${this.dir}: ${(err as Error).message}`);
      }
    }
    c.launcher?.launch({
      file: path,
      dir: this.dir,
      time: strftime(opts.interval < 60 ? "%Y%m%d%H%M%S" : "%Y%m%d%H%M", file.slotMs, zone),
      unix: file.slotMs / 1000,
      ident: this.ident,
    });
    return path;
  }

  /** Records that an exporter sent to this source in the current slot. */
  seen(key: string): void {
    const f = this.file;
    if (f !== null && !f.exporters.has(key)) f.exporters.set(key, null);
  }
}

function sumMalformed(c: ExporterCounters): number {
  let n = 0;
  for (const v of Object.values(c.malformed)) n += v;
  return n;
}

export class Collector {
  readonly options: CollectorOptions;
  readonly log: Logger;
  readonly state: DecoderState;
  /** decoder table counters as of the last rotation log */
  readonly logged = { evicted: 0, heldDropped: 0 };
  readonly counters: CollectorCounters = {
    datagrams: 0,
    notAllowed: 0,
    badPackets: 0,
    crashes: 0,
    flowsStored: 0,
    flowsDropped: 0,
    filesWritten: 0,
  };
  readonly creator: string;
  readonly launcher: Launcher | null;
  readonly writer: WriterThread;
  private readonly sources: Source[] = [];
  private readonly dynamic = new Map<string, Source>();
  private readonly allow: AllowList;
  private readonly templatesFile: string;
  private savedTemplates = "";
  private savedGeneration = -1;
  private templateTraffic = false;
  /** the template file's write in progress */
  private templateWrite: Promise<void> | null = null;
  private rotateTimer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private rotating: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly onFatal: (msg: string) => void;
  /** --monitor: rows go to the monitor thread (set by the decode thread) */
  monitor: MonitorFeed | null = null;
  /** Called when the writer has written a block (the decode thread resumes when it was held back). */
  onWriterProgress: () => void = () => undefined;
  /** last sender address → source (the last-exporter fast path) */
  private lastAddress = "";
  private lastPlain = "";
  private lastSource: Source | null = null;
  private lastAllowed = false;

  constructor(options: CollectorOptions, log: Logger, creator: string, onFatal: (msg: string) => void) {
    this.options = options;
    this.log = log;
    this.creator = creator;
    this.onFatal = onFatal;
    this.state = new DecoderState({ samplingRate: options.sampling === 1 ? 0 : options.sampling });
    this.state.onSampling = (e, id, rate, tid, ok) => {
      const who = `${e.address}/${e.domain} sampler ${id < 0 ? "(exporter-wide)" : id}`;
      if (ok) this.log.info(`${who}: sampling rate ${rate} from options template ${tid}`);
      else
        this.log.limited(
          "warn",
          `rate:${e.key}`,
          `${who}: sampling rate ${rate} from options template ${tid} ignored (outside 1..10000000)`,
        );
    };
    this.allow = new AllowList(options.allow);
    this.writer = new WriterThread(options.clickhouse?.spoolDir);
    this.writer.onWritten = (_file, rows) => {
      this.counters.flowsStored += rows;
      this.onWriterProgress();
    };
    this.writer.onError = (_file, message) => {
      this.fatal(message);
    };
    this.launcher = options.command
      ? new Launcher(options.command, {
          onError: (m) => {
            log.limited("warn", "launcher", m);
          },
        })
      : null;
    for (const spec of options.sources) this.sources.push(new Source(spec, this));
    const firstDir = options.sources[0]?.dir ?? options.dynamicDir ?? ".";
    this.templatesFile = resolve(options.templatesFile ?? join(firstDir, ".tscapd-templates.json"));
  }

  /** True while the writer has BACKLOG_BLOCKS or more blocks queued: decoding should wait for it. */
  get backlogged(): boolean {
    return this.writer.queued >= BACKLOG_BLOCKS;
  }

  fatal(msg: string): void {
    this.onFatal(msg);
  }

  /** Creates directories, recovers leftovers, loads templates, opens the first files. */
  start(): void {
    const dirs = [
      ...this.sources.map((s) => s.dir),
      ...(this.options.dynamicDir ? [resolve(this.options.dynamicDir)] : []),
    ];
    for (const dir of dirs) {
      try {
        mkdirSync(dir, { recursive: true });
        if (!statSync(dir).isDirectory()) throw new Error("not a directory");
      } catch (err) {
        throw new FatalError(`cannot create flow directory ${dir}: ${(err as Error).message}`);
      }
      this.recoverLeftovers(dir);
    }
    this.loadTemplates();
    const now = Date.now();
    for (const s of this.sources) s.open(now);
    this.scheduleRotation();
    this.saveTimer = setInterval(() => {
      this.saveTemplates();
    }, 2000);
    this.saveTimer.unref();
    this.flushTimer = setInterval(() => {
      if (this.stopping) return;
      const t = Date.now();
      for (const src of this.sources) {
        this.monitor?.feed(src, src.sink.batch, src.ident); // monitors see rows within a tick of their arrival
        src.flushIfStale(t);
      }
    }, FLUSH_TICK_MS);
    this.flushTimer.unref();
  }

  /** Files `tscapd.current.<pid>.<n>` of dead collectors: rebuild the footer and give them their slot name. */
  private recoverLeftovers(dir: string): void {
    recoverLeftovers(dir, this.options, this.log);
  }

  private loadTemplates(): void {
    if (!existsSync(this.templatesFile)) return;
    try {
      const text = readFileSync(this.templatesFile, "utf8");
      const n = this.state.loadState(JSON.parse(text));
      this.savedTemplates = text;
      this.log.info(`loaded ${n} templates from ${this.templatesFile}`);
    } catch (err) {
      this.log.warn(`ignoring template file ${this.templatesFile}: ${(err as Error).message}`);
    }
  }

  /**
   * Writes the template cache when it changed: incrementally (only changed exporters are serialised again, at
   * most TEMPLATE_SAVE_BUDGET per call), bounded (TEMPLATE_FILE_MAX; exporters that send data first), and
   * written by the libuv pool (tmp file + rename, so a crash never leaves half a file) rather than on this
   * thread. `sync` (at stop) writes before returning.
   */
  saveTemplates(sync = false): void {
    const generation = this.state.templates.generation;
    if (!this.templateTraffic && generation === this.savedGeneration) return;
    if (this.templateWrite !== null && !sync) return; // the next tick saves what changed meanwhile
    this.templateTraffic = false;
    this.savedGeneration = generation;
    const text = this.state.saveStateText(TEMPLATE_FILE_MAX, sync ? TEMPLATE_FILE_MAX : TEMPLATE_SAVE_BUDGET);
    // what did not fit in the budget is saved at the next tick
    if (this.state.templates.savePending) this.savedGeneration = -1;
    if (text === this.savedTemplates) return;
    const tmp = `${this.templatesFile}.tmp.${process.pid}`;
    const fail = (err: unknown): void => {
      this.log.limited(
        "error",
        "templates",
        `cannot save templates to ${this.templatesFile}: ${(err as Error).message}`,
      );
    };
    if (sync) {
      try {
        writeFileSync(tmp, text);
        renameSync(tmp, this.templatesFile);
        this.savedTemplates = text;
      } catch (err) {
        fail(err);
      }
      return;
    }
    this.templateWrite = writeFile(tmp, text)
      .then(() => rename(tmp, this.templatesFile))
      .then(
        () => {
          this.savedTemplates = text;
        },
        (err: unknown) => {
          this.savedGeneration = -1;
          fail(err);
        },
      )
      .finally(() => {
        this.templateWrite = null;
      });
  }

  /**
   * One datagram from `address` (as the socket reports it, `::ffff:` prefix and all), received at `nowMs`. The
   * bytes are only read during the call (held data sets are copied).
   */
  receive(msg: Uint8Array, rawAddress: string, port: number, nowMs: number): void {
    this.counters.datagrams++;
    let source: Source | null;
    if (rawAddress === this.lastAddress) {
      if (!this.lastAllowed) {
        this.counters.notAllowed++;
        return;
      }
      source = this.lastSource;
    } else {
      const allowed = this.checkAllowed(rawAddress);
      source = allowed ? this.route(rawAddress) : null;
      this.lastAddress = rawAddress;
      this.lastPlain = rawAddress.startsWith("::ffff:") ? rawAddress.slice(7) : rawAddress;
      this.lastAllowed = allowed && source !== null;
      this.lastSource = source;
      if (!this.lastAllowed) {
        this.counters.notAllowed++;
        return;
      }
    }
    if (source === null || source.file === null) {
      this.counters.flowsDropped++;
      return;
    }
    const address = this.lastPlain;
    let status: DecodeStatus;
    try {
      status = decodeDatagram(msg, { address, port }, nowMs, this.state, source.sink);
    } catch (err) {
      // the safety net for decoder bugs: count, log (rate-limited), keep running
      this.counters.crashes++;
      this.counters.badPackets++;
      this.log.limited(
        "error",
        "decoder-bug",
        `decoder failed on a datagram from ${address}: ${(err as Error).stack ?? String(err)}`,
      );
      return;
    }
    const e = this.state.currentExporter();
    if (e !== null) {
      source.seen(e.key);
    }
    if (status !== DecodeStatus.OK && status !== DecodeStatus.NO_TEMPLATE) {
      this.counters.badPackets++;
      this.log.limited(
        "warn",
        `bad:${address}`,
        `${DECODE_STATUS_NAME[status] ?? status}: ${this.state.diag.toError().message}`,
      );
    }
  }

  private checkAllowed(address: string): boolean {
    if (this.allow.empty) return true;
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    const v4 = parseIPv4(plain);
    if (v4 >= 0) return this.allow.allows(false, v4);
    const words = new Uint32Array(4);
    return parseIPv6(plain, words) && this.allow.allows(true, 0, words);
  }

  /** The source for a sender: -n by prefix, -M by address, else the single -l source. */
  private route(address: string): Source | null {
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    if (this.options.dynamicDir !== undefined) {
      let s = this.dynamic.get(plain);
      if (s === undefined) {
        if (this.dynamic.size >= MAX_DYNAMIC_SOURCES) return null;
        const name = plain.replace(/[.:]/g, "-");
        s = new Source({ ident: name, prefixes: [], dir: join(this.options.dynamicDir, name) }, this);
        try {
          mkdirSync(s.dir, { recursive: true });
          s.open(Date.now());
        } catch (err) {
          this.log.limited("error", "dynamic", `cannot start source for ${plain}: ${(err as Error).message}`);
          return null;
        }
        this.dynamic.set(plain, s);
        this.sources.push(s);
      }
      return s;
    }
    if (this.sources.length === 1 && this.sources[0]!.allow.empty) return this.sources[0]!;
    const v4 = parseIPv4(plain);
    const words = new Uint32Array(4);
    const v6 = v4 < 0 && parseIPv6(plain, words);
    for (const s of this.sources) {
      if (s.allow.empty || (v4 >= 0 ? s.allow.allows(false, v4) : v6 && s.allow.allows(true, 0, words))) return s;
    }
    return null; // -n sources: unlisted exporters are dropped (and counted)
  }

  private scheduleRotation(): void {
    const intervalMs = this.options.interval * 1000;
    const now = Date.now();
    const next = slotStart(now, this.options.interval) + intervalMs;
    this.rotateTimer = setTimeout(
      () => {
        this.rotating = this.rotating.then(() => this.rotate());
        this.scheduleRotation();
      },
      next - now + 5,
    );
  }

  /** Slot end: close every source's file and open the next one. Receiving goes on meanwhile. */
  private async rotate(): Promise<void> {
    if (this.stopping) return;
    const now = Date.now();
    const closing: Promise<unknown>[] = [];
    for (const s of this.sources) {
      const old = s.open(now);
      if (old === null) continue;
      closing.push(
        s.close(old).catch((err: unknown) => {
          this.fatal(`${s.ident}: ${(err as Error).message}`);
        }),
      );
    }
    await Promise.all(closing);
    this.saveTemplates();
  }

  /** TERM/INT: stop receiving, flush, close and rename every file, save templates. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.rotateTimer) clearTimeout(this.rotateTimer);
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.rotating;
    await Promise.all(
      this.sources.map(async (s) => {
        s.handOver();
        const file = s.file;
        s.file = null;
        if (file) await s.close(file);
      }),
    );
    this.templateTraffic = true;
    if (this.templateWrite) await this.templateWrite;
    this.saveTemplates(true);
    if (this.writer.fastBlocks > 0)
      this.log.info(
        `writer: ${this.writer.fastBlocks} blocks stored without LZ4 and address sets while the writer was behind`,
      );
    if (this.counters.flowsDropped > 0) this.log.warn(`${this.counters.flowsDropped} flows dropped (writer behind)`);
    if (this.launcher) await this.launcher.idle();
    await this.writer.terminate();
  }

  /** Snapshot for metrics and logs. */
  sample(): { counters: CollectorCounters; exporters: ExporterCounters[] } {
    const s = this.state;
    return {
      counters: {
        ...this.counters,
        exportersEvicted: s.exportersEvicted,
        exporters: s.exporters.size,
        heldBytes: s.heldBytesTotal,
        heldDroppedTotal: s.heldDroppedGlobal,
      },
      exporters: s.exporterCounters(),
    };
  }
}

/**
 * Sampling and decoding counters of an exporter for the file footer's extra fields (tsdump -E prints them):
 * flows by the source of the rate applied (unscaled = no rate known), refused rates, options sets that did not
 * fit their template, IPFIX length overruns, and the rate and options template of each sampler at file close.
 */
function samplingExtra(now: ExporterCounters, base: ExporterCounters | undefined): Record<string, number> {
  const x: Record<string, number> = {};
  const names = [
    "flowsUnscaled",
    "flowsRateHeader",
    "flowsRateOptions",
    "flowsRateData",
    "flowsRateDefault",
    "flowsRateOverride",
  ];
  names.forEach((name, i) => {
    const v = now.flowsBySource[i]! - (base?.flowsBySource[i] ?? 0);
    if (v > 0) x[name] = v;
  });
  const more: [string, number][] = [
    ["ratesRejected", now.ratesRejected - (base?.ratesRejected ?? 0)],
    ["optionsMismatch", now.optionsMismatch - (base?.optionsMismatch ?? 0)],
    ["lengthOverruns", now.lengthOverruns - (base?.lengthOverruns ?? 0)],
  ];
  for (const [k, v] of more) if (v > 0) x[k] = v;
  for (const s of now.samplers) {
    x[`sampler${s.id}.rate`] = s.rate;
    x[`sampler${s.id}.template`] = s.templateId;
  }
  return x;
}
