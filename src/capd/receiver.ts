// SPDX-License-Identifier: BSD-3-Clause
// The receiving thread's work: the UDP sockets, the -R repeater, the exporter allow-list, and one copy of each
// allowed datagram into the receive ring (ring.ts) for the decode thread. Two implementations share this
// contract: the native one (native-receiver.ts: a pthread doing recvmmsg, the default) and JsReceiver here
// (node:dgram on the main thread: the fallback, and the path for -R and -J). receivers.ts picks one.

import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "../util/log.js";
import type { ExporterFilter } from "./allow.js";
import { FatalError } from "./collector.js";
import type { CollectorOptions } from "./options.js";
import { Repeater } from "./repeater.js";
import { MAX_EXPORTER_IDS, RingProducer, type RingBuffers } from "./ring.js";

export const DEFAULT_RECV_BUFFER = 8 * 1024 * 1024;
export const DROP_LOG_MS = 10_000;

/** What the main thread (ingest-thread.ts) needs from a receiver. */
export interface PacketReceiver {
  /** the native recvmmsg thread (true) or node:dgram on the main thread */
  readonly native: boolean;
  /** datagrams received (all sockets, allowed or not) */
  readonly datagrams: number;
  /** datagrams not queued because the receive ring was full */
  readonly queueDropped: number;
  /** datagrams from senders outside the allow-list (never queued) */
  readonly notAllowed: number;
  /** The port actually bound (tests bind port 0). */
  readonly port: number;
  /** Binds every socket; datagrams queue in the ring from then on. Throws FatalError. */
  bind(): Promise<void>;
  /** Logs the bound addresses (once the collector is ready: scripts wait for this line). */
  announce(): void;
  /** Stops receiving (the ring keeps what was queued). */
  close(): void;
}

/** The sockets to open: dual stack (IPv6 only + IPv4) unless -b, -J, -4 or -6 says otherwise. */
export function socketTypes(options: CollectorOptions): ("udp4" | "udp6")[] {
  const { family, bind, multicast } = options;
  if (bind !== undefined) return [isIPv6(bind) ? "udp6" : "udp4"];
  if (multicast !== undefined) return [isIPv6(multicast) ? "udp6" : "udp4"];
  if (family === 4) return ["udp4"];
  if (family === 6) return ["udp6"];
  return ["udp6", "udp4"];
}

export const queueFullMessage = (dropped: number): string =>
  `receive queue full (decoder behind): ${dropped} datagrams dropped so far`;

export const bindFailed = (address: string | undefined, port: number, message: string): FatalError =>
  new FatalError(`cannot bind UDP ${address ?? "*"}:${port}: ${message}`);

/** Warns when -B was not granted in full (Linux reports twice the grant, which net.core.rmem_max caps). */
export function checkGrant(log: Logger, socketBuffer: number | undefined, want: number, got: number): void {
  if (socketBuffer !== undefined && got < want)
    log.warn(`-B ${socketBuffer}: the kernel granted ${got} bytes (net.core.rmem_max caps it)`);
}

/** node:dgram on the main thread: a Buffer, an rinfo and a callback per datagram. */
export class JsReceiver implements PacketReceiver {
  readonly native = false;
  private readonly options: CollectorOptions;
  private readonly log: Logger;
  private readonly repeater: Repeater;
  private readonly ring: RingProducer;
  private readonly filter: ExporterFilter;
  private readonly sockets: Socket[] = [];
  private dropLogged = 0;
  /** sender address → allowed (bounded; the last one is checked first) */
  private readonly verdicts = new Map<string, boolean>();
  private lastAddress = "";
  private lastAllowed = true;
  datagrams = 0;
  notAllowed = 0;

  constructor(options: CollectorOptions, log: Logger, ring: RingBuffers, filter: ExporterFilter) {
    this.options = options;
    this.log = log;
    this.repeater = new Repeater(options.repeaters);
    this.ring = new RingProducer(ring);
    this.filter = filter;
  }

  get queueDropped(): number {
    return this.ring.dropped;
  }

  get port(): number {
    return this.sockets[0]?.address().port ?? 0;
  }

  private allowed(address: string): boolean {
    if (address === this.lastAddress) return this.lastAllowed;
    let ok = this.verdicts.get(address);
    if (ok === undefined) {
      if (this.verdicts.size >= MAX_EXPORTER_IDS) this.verdicts.clear();
      ok = this.filter.allows(address);
      this.verdicts.set(address, ok);
    }
    this.lastAddress = address;
    this.lastAllowed = ok;
    return ok;
  }

  async bind(): Promise<void> {
    const { bind, port, socketBuffer, multicast } = this.options;
    const types = socketTypes(this.options);
    const ring = this.ring;
    const repeater = this.repeater;
    const open = this.filter.open;
    for (const type of types) {
      const sock = createSocket({
        type,
        reuseAddr: multicast !== undefined,
        ipv6Only: type === "udp6" && types.length > 1,
      });
      sock.on("message", (msg, rinfo) => {
        this.datagrams++;
        if (repeater.active) repeater.repeat(msg);
        if (!open && !this.allowed(rinfo.address)) {
          this.notAllowed++;
          return;
        }
        const now = Date.now();
        // a full ring costs only a counter per datagram; the log line comes at most every 10 s
        if (!ring.push(msg, rinfo.address, rinfo.port, now) && now - this.dropLogged >= DROP_LOG_MS) {
          this.dropLogged = now;
          this.log.error(queueFullMessage(ring.dropped));
        }
      });
      const address = bind ?? (multicast !== undefined ? undefined : type === "udp6" ? "::" : "0.0.0.0");
      try {
        await new Promise<void>((ok, fail) => {
          sock.once("error", fail);
          sock.bind({ port, ...(address !== undefined ? { address } : {}) }, () => {
            sock.off("error", fail);
            ok();
          });
        });
      } catch (err) {
        sock.close();
        // a host without IPv6 still serves IPv4 when no family was asked for
        if (type === "udp6" && types.length > 1 && (err as NodeJS.ErrnoException).code === "EAFNOSUPPORT") continue;
        this.close();
        throw bindFailed(address, port, (err as Error).message);
      }
      sock.on("error", (err) => {
        this.log.limited("error", "socket", `socket error: ${err.message}`);
      });
      // Without -B ask for 8 MiB: the kernel caps it at net.core.rmem_max, which is still more than the default
      // and absorbs bursts while the JIT warms up.
      const want = socketBuffer ?? DEFAULT_RECV_BUFFER;
      try {
        sock.setRecvBufferSize(want);
      } catch (err) {
        if (socketBuffer !== undefined) this.log.warn(`-B ${socketBuffer}: ${(err as Error).message}`);
      }
      checkGrant(this.log, socketBuffer, want, sock.getRecvBufferSize());
      if (multicast !== undefined) sock.addMembership(multicast);
      this.sockets.push(sock);
    }
  }

  announce(): void {
    for (const sock of this.sockets) {
      const a = sock.address();
      this.log.info(`listening on ${a.address}:${a.port}`);
    }
  }

  close(): void {
    for (const sock of this.sockets) sock.close();
    this.sockets.length = 0;
    this.repeater.close();
  }
}
