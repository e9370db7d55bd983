#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tspcapd: packets to flows, nfpcapd's and softflowd's job. Capture files (-r, pcap/pcapng, gzip too) or a live
// interface (-i, libpcap through native/pcap.c) → decodePacket → FlowCache (packet clock) → tsflow files (-l/-w,
// rotated like tscapd) or NetFlow/IPFIX export (-H).
//
// Exit codes: 0 done, 1 bad command line, 2 damaged input (reported with the file offset; the flows before the
// damage are written) or a resource failure (directory, disk, interface).

import { spawn } from "node:child_process";
import { CommanderError } from "commander";
import { EXIT, VERSION } from "../cli/common.js";
import { removePidFile, writePidFile } from "../capd/pidfile.js";
import { loadLz4BackEnds } from "../store/lz4/index.js";
import { Logger } from "../util/log.js";
import { CaptureParser, readCaptureFile } from "./capture-file.js";
import { FlowCache, type FlowSink } from "./flow-cache.js";
import { openLiveCapture, compileFilter, type LivePacketHandler, type PacketFilter } from "./live.js";
import { buildProgram, parsePcapdOptions, type PcapdOptions } from "./options.js";
import { ExportOutput, FileOutput } from "./output.js";
import { decodePacket, FragmentTable, linkTypeKnown, PacketInfo, PKT } from "./packet.js";

/** Packet counts by outcome, as nfpcapd's summary line. */
export interface PacketCounters {
  processed: number;
  /** not IP */
  skipped: number;
  /** captured bytes end inside a needed header */
  short: number;
  malformed: number;
  /** unknown link type */
  unknown: number;
  /** dropped by the filter expression */
  filtered: number;
}

/**
 * The packet path shared by files and live capture: decode, advance the packet clock (expiry and rotation once
 * per second of packet time), account.
 */
export class PacketPath {
  readonly counters: PacketCounters = { processed: 0, skipped: 0, short: 0, malformed: 0, unknown: 0, filtered: 0 };
  readonly cache: FlowCache;
  private readonly info = new PacketInfo();
  private readonly frags = new FragmentTable();
  private readonly onTick: (nowMs: number) => void;
  private nextTick = -Infinity;
  filter: PacketFilter | null = null;
  readonly handler: LivePacketHandler;

  constructor(cache: FlowCache, onTick: (nowMs: number) => void) {
    this.cache = cache;
    this.onTick = onTick;
    this.handler = (buf, view, off, caplen, wire, timeMs, link) => {
      this.packet(buf, view, off, caplen, wire, timeMs, link);
    };
  }

  packet(
    buf: Uint8Array,
    view: DataView,
    off: number,
    caplen: number,
    wire: number,
    timeMs: number,
    link: number,
  ): void {
    const c = this.counters;
    c.processed++;
    if (this.filter !== null && !this.filter.matches(buf, off, caplen, wire)) {
      c.filtered++;
      return;
    }
    const st = decodePacket(buf, view, off, caplen, link, this.info, this.frags);
    if (st !== PKT.OK) {
      if (st === PKT.NOT_IP) c.skipped++;
      else if (st === PKT.SHORT) c.short++;
      else if (st === PKT.MALFORMED) c.malformed++;
      else c.unknown++;
      return;
    }
    const t = timeMs === 0 ? this.cache.now : timeMs;
    if (t >= this.nextTick) this.tick(t);
    this.cache.add(this.info, t);
  }

  /** The packet clock reached `nowMs`: rotation first (expired flows then go to the slot they ended in), expiry. */
  tick(nowMs: number): void {
    this.nextTick = nowMs - (nowMs % 1000) + 1000;
    this.onTick(nowMs);
    this.cache.advance(nowMs);
  }
}

function summary(c: PacketCounters): string {
  return (
    `Processed: ${c.processed}, skipped: ${c.skipped}, short caplen: ${c.short}, malformed: ${c.malformed}, ` +
    `unknown: ${c.unknown}${c.filtered > 0 ? `, filtered: ${c.filtered}` : ""}`
  );
}

async function readFiles(o: PcapdOptions, path: PacketPath, log: Logger, between: () => void): Promise<boolean> {
  let damaged = false;
  for (const file of o.files) {
    let warnedLink = -1;
    let filterLink = -1;
    const parser = new CaptureParser((buf, view, off, caplen, wire, timeMs, link) => {
      if (o.filter !== "" && filterLink !== link) {
        // compiled per link type (pcapng interfaces may differ)
        path.filter?.close();
        path.filter = compileFilter(o.filter, link, 262144);
        filterLink = link;
      }
      if (link !== warnedLink && !linkTypeKnown(link)) {
        warnedLink = link;
        log.error(
          `${file}: packet ${parser.packets}: link type ${link} is not supported; its packets are counted as unknown`,
        );
        damaged = true;
      }
      path.packet(buf, view, off, caplen, wire, timeMs, link);
    });
    try {
      await readCaptureFile(file, parser, between);
    } catch (err) {
      log.error(`${file}: ${(err as Error).message}`);
      damaged = true;
      continue;
    }
    if (parser.damage !== null) {
      damaged = true;
      log.error(
        `${file}: offset ${parser.damage.offset}: ${parser.damage.message}; the rest of the file is skipped, ` +
          `the flows of its first ${parser.packets} packets are kept`,
      );
    }
  }
  return damaged;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  let o: PcapdOptions;
  try {
    o = parsePcapdOptions(program, argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    process.stderr.write(`tspcapd: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  if (o.filter !== "" && o.iface === undefined) {
    // a syntax error is a usage error, found before any file is read (live capture compiles it when opening)
    try {
      compileFilter(o.filter, 1, 262144).close();
    } catch (err) {
      process.stderr.write(`tspcapd: ${(err as Error).message}\n`);
      return EXIT.USAGE;
    }
  }
  if (o.daemon) {
    if (o.iface === undefined) {
      process.stderr.write(
        "tspcapd: -D runs live capture (-i) in the background; capture files are read in the foreground\n",
      );
      return EXIT.USAGE;
    }
    const args = process.argv.slice(1).filter((a) => a !== "-D" && a !== "--daemon");
    spawn(process.execPath, args, { detached: true, stdio: "ignore" }).unref();
    return EXIT.OK;
  }
  const log = new Logger({ level: o.verbose > 0 ? "debug" : "info" });

  let files: FileOutput | null = null;
  let exporter: ExportOutput | null = null;
  let sink: FlowSink;
  if (o.flowdir !== undefined) {
    files = new FileOutput(
      {
        dir: o.flowdir,
        interval: o.interval,
        subdirLayout: o.subdirLayout,
        zoneInName: o.zoneInName,
        codec: o.codec,
        ident: o.ident,
        creator: `tspcapd ${VERSION}`,
      },
      log,
    );
    try {
      files.start();
    } catch (err) {
      log.error((err as Error).message);
      return EXIT.DATA;
    }
    sink = files;
  } else {
    exporter = new ExportOutput(o.host!, o.protocol);
    sink = exporter;
  }
  if (o.pidFile !== undefined) {
    try {
      writePidFile(o.pidFile);
    } catch (err) {
      log.error((err as Error).message);
      return EXIT.USAGE;
    }
  }
  const cache = new FlowCache({ capacity: o.cacheSize, activeMs: o.activeMs, inactiveMs: o.inactiveMs }, sink);
  const path = new PacketPath(cache, (now) => {
    files?.tick(now);
  });

  let code: number = EXIT.OK;
  try {
    if (o.iface !== undefined) {
      code = await captureLive(o, path, log, () => {
        files?.flushPartial();
      });
    } else {
      if (await readFiles(o, path, log, () => undefined)) code = EXIT.DATA;
    }
    cache.flushAll();
    if (files !== null) files.close();
    if (exporter !== null) await exporter.close();
  } catch (err) {
    log.error((err as Error).message);
    code = EXIT.DATA;
  }
  const k = cache.counters;
  log.info(summary(path.counters));
  log.info(
    `Flows: ${k.flows}, Packets: ${k.packets}, Bytes: ${k.bytes}; expired: ${k.inactiveExpired} inactive, ` +
      `${k.activeExpired} active, ${k.finExpired} FIN/RST, ${k.earlyExpired} early (cache full, -B ${o.cacheSize})` +
      (exporter !== null ? `; exported in ${exporter.stats.datagrams} datagrams` : ""),
  );
  if (exporter !== null && exporter.stats.skippedV6 > 0)
    log.warn(`${exporter.stats.skippedV6} IPv6 flows not exported: NetFlow v5 cannot carry them`);
  if (o.pidFile !== undefined) removePidFile(o.pidFile);
  return code;
}

/** -i: live capture until TERM/INT; returns the exit code. */
async function captureLive(o: PcapdOptions, path: PacketPath, log: Logger, onSecond: () => void): Promise<number> {
  const live = openLiveCapture(o.iface!, { snaplen: o.snaplen, promisc: o.promisc, filter: o.filter });
  loadLz4BackEnds(); // before -u/-g: the installation may be unreadable afterwards
  if (o.group !== undefined) process.setgid!(o.group);
  if (o.user !== undefined) process.setuid!(o.user);
  log.info(`capturing on ${o.iface!} (link type ${live.link})`);
  // the safety net for bugs: a packet that makes the decoder throw is counted and logged, capture goes on
  let crashes = 0;
  const handler: typeof path.handler = (buf, view, off, caplen, wire, timeMs, link) => {
    try {
      path.packet(buf, view, off, caplen, wire, timeMs, link);
    } catch (err) {
      crashes++;
      log.limited(
        "error",
        "packet-bug",
        `packet ${path.counters.processed} failed: ${(err as Error).stack ?? String(err)}`,
      );
    }
  };
  let lastFlush = Date.now();
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      clearInterval(timer);
      try {
        live.poll(handler);
        if (crashes > 0) log.warn(`${crashes} packets made the decoder fail (a bug; they were skipped)`);
        const [received, dropped, ifDropped] = live.stats();
        log.info(
          `${o.iface!}: libpcap received ${received}, dropped ${dropped} (buffer full), ${ifDropped} by the interface`,
        );
      } catch (err) {
        log.warn(`${o.iface!}: ${(err as Error).message}`);
      }
      live.close();
      resolve(EXIT.OK);
    };
    const timer = setInterval(() => {
      try {
        live.poll(handler);
      } catch (err) {
        log.error(`${o.iface!}: ${(err as Error).message}`);
        clearInterval(timer);
        live.close();
        resolve(EXIT.DATA);
        return;
      }
      // idle traffic: the wall clock drives expiry and rotation; expired flows reach the disk within a second
      const now = Date.now();
      if (now >= lastFlush + 1000) {
        if (now > path.cache.now) path.tick(now);
        onSecond();
        lastFlush = now;
      }
    }, 20);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tspcapd: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = EXIT.DATA;
  },
);
