// SPDX-License-Identifier: BSD-3-Clause
// Where tspcapd's flows go. Both outputs are FlowSinks: the flow cache appends rows to `batch` and calls
// `flush()` when it is full.
//
//   FileOutput    tsflow files laid out and rotated like tscapd's (-l/-w, -t, -S, -Z, -z): written as
//                 DIR/tscapd.current.<pid>.<n>, block by block, then footer, fsync and rename to
//                 DIR/<subdirs>/tscapd.YYYYMMDDhhmm at the slot's end; the slots follow the packet clock, so a
//                 capture file read at any speed gives the files it would have given live. Leftovers of a killed
//                 run are recovered at start (as tscapd does).
//   ExportOutput  NetFlow v5 / v9 / IPFIX datagrams to a collector (-H host/port, -v 5|9|10), encoded by
//                 tsreplay's FlowEncoder.

import { createSocket, type Socket } from "node:dgram";
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CURRENT_PREFIX, recoverLeftovers } from "../capd/leftovers.js";
import { RecordBatch } from "../record/batch.js";
import { FlowEncoder, type ExportProtocol } from "../replay/encode.js";
import { FlowFileWriter, flowFilePath, slotStart, totalsText, type CodecName, type FileStats } from "../store/index.js";
import type { Logger } from "../util/log.js";
import type { FlowSink } from "./flow-cache.js";

const BATCH_ROWS = 16384;

export interface FileOutputOptions {
  readonly dir: string;
  /** rotation interval, s */
  readonly interval: number;
  readonly subdirLayout: number;
  readonly zoneInName: boolean;
  readonly codec: CodecName;
  readonly ident: string;
  readonly creator: string;
}

export class FileOutput implements FlowSink {
  batch: RecordBatch;
  private readonly o: FileOutputOptions;
  private readonly dir: string;
  private readonly log: Logger;
  private writer: FlowFileWriter | null = null;
  private slotMs = 0;
  private seq = 0;
  /** final paths of the files written so far */
  readonly written: string[] = [];
  /** totals of every file closed */
  readonly totals = { flows: 0, packets: 0, bytes: 0 };

  constructor(o: FileOutputOptions, log: Logger) {
    this.o = o;
    this.dir = resolve(o.dir);
    this.log = log;
    this.batch = new RecordBatch(BATCH_ROWS);
  }

  /** Creates the directory and recovers leftovers. @throws Error when the directory cannot be created. */
  start(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      if (!statSync(this.dir).isDirectory()) throw new Error("not a directory");
    } catch (err) {
      throw new Error(`cannot create flow directory ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    recoverLeftovers(this.dir, this.o, this.log);
  }

  /** The packet clock moved to `nowMs`: opens the first file, or rotates when a new slot began. */
  tick(nowMs: number): void {
    if (this.writer === null) {
      this.open(nowMs);
      return;
    }
    if (nowMs >= this.slotMs + this.o.interval * 1000) {
      this.closeFile();
      this.open(nowMs);
    }
  }

  private open(nowMs: number): void {
    const path = join(this.dir, `${CURRENT_PREFIX}${process.pid}.${this.seq++}`);
    // created = packet time, so a recovered leftover is named after the slot its packets belong to
    this.writer = FlowFileWriter.open(path, {
      ident: this.o.ident,
      codec: this.o.codec,
      creator: this.o.creator,
      created: nowMs,
    });
    this.slotMs = slotStart(nowMs, this.o.interval);
  }

  /**
   * Live capture: writes the flows expired so far as a (small) block, so a kill -9 or power cut loses only the
   * flows of the last second and those still in the cache.
   */
  flushPartial(): void {
    if (this.batch.length > 0) this.flush();
  }

  flush(): void {
    const b = this.batch;
    if (b.length === 0) return;
    if (this.writer === null) this.open(b.cols.msecLast[0]!);
    this.writer!.appendBatchSync(b);
    b.reset();
  }

  private closeFile(): void {
    const w = this.writer;
    if (w === null) return;
    this.flush();
    this.writer = null;
    if (w.rows === 0) w.setStats({ msecFirst: this.slotMs, msecLast: this.slotMs });
    const stats: FileStats = w.currentStats();
    const target = flowFilePath(this.dir, this.slotMs, {
      interval: this.o.interval,
      zone: "local",
      appendZone: this.o.zoneInName,
      subdirLevel: this.o.subdirLayout,
    });
    mkdirSync(join(target, ".."), { recursive: true });
    const path = w.closeSync({ finalPath: target, ifExists: "suffix" });
    this.written.push(path);
    this.totals.flows += stats.totalFlows;
    this.totals.packets += stats.totalPackets;
    this.totals.bytes += stats.totalBytes;
    const t = totalsText(stats);
    this.log.info(`Ident: '${this.o.ident}' Flows: ${t.flows}, Packets: ${t.packets}, Bytes: ${t.bytes} → ${path}`);
  }

  /** Writes what is left and closes the last file (a run without packets writes none). */
  close(): void {
    if (this.writer === null && this.batch.length > 0) this.open(this.batch.cols.msecLast[0]!);
    this.closeFile();
  }
}

/** `host/port` or `host` (port 9995), `[v6]/port` accepted. */
export function parseExportTarget(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^/]+))(?:\/(\d{1,5}))?$/.exec(text);
  if (!m) throw new Error(`-H: want host/port, got ${text}`);
  const port = m[3] === undefined ? 9995 : Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`-H: bad port in ${text}`);
  return { host: m[1] ?? m[2]!, port };
}

export class ExportOutput implements FlowSink {
  batch: RecordBatch;
  private readonly socket: Socket;
  private readonly encoder: FlowEncoder;
  private readonly target: { host: string; port: number };
  private pending = 0;
  private drained: (() => void) | null = null;
  private error: Error | null = null;
  datagrams = 0;

  constructor(target: { host: string; port: number }, protocol: ExportProtocol) {
    this.target = target;
    this.batch = new RecordBatch(BATCH_ROWS);
    this.socket = createSocket(target.host.includes(":") ? "udp6" : "udp4");
    this.socket.on("error", (err) => {
      this.error ??= err;
    });
    this.encoder = new FlowEncoder({ protocol }, (d) => {
      this.send(d);
    });
  }

  private send(d: Uint8Array): void {
    this.datagrams++;
    this.pending++;
    // the encoder reuses its buffer: the socket gets a copy
    this.socket.send(Buffer.from(d), this.target.port, this.target.host, (err) => {
      if (err) this.error ??= err;
      if (--this.pending === 0 && this.drained) this.drained();
    });
  }

  get stats(): { flows: number; datagrams: number; skippedV6: number } {
    return this.encoder.stats;
  }

  flush(): void {
    const b = this.batch;
    this.encoder.addRows(b, undefined, b.length, 0);
    this.encoder.flush();
    b.reset();
  }

  /** Datagrams handed to the socket and not yet sent. */
  get backlog(): number {
    return this.pending;
  }

  /** Sends what is left and closes the socket. @throws the first send error. */
  async close(): Promise<void> {
    this.flush();
    if (this.pending > 0) await new Promise<void>((r) => (this.drained = r));
    this.socket.close();
    if (this.error) throw this.error;
  }
}
