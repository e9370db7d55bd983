// SPDX-License-Identifier: BSD-3-Clause
// The receiving thread's work: the UDP sockets, the -R repeater, and one copy of each datagram into the
// receive ring (ring.ts) for the decode thread. Nothing else runs per datagram here, so the thread is back in
// recvmsg quickly and the kernel socket buffer does not overflow while the decoder or the writer is busy.

import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { Logger } from "../util/log.js";
import { FatalError } from "./collector.js";
import type { CollectorOptions } from "./options.js";
import { Repeater } from "./repeater.js";
import { RingProducer, type RingBuffers } from "./ring.js";

const DEFAULT_RECV_BUFFER = 8 * 1024 * 1024;
const DROP_LOG_MS = 10_000;

export class Receiver {
  private readonly options: CollectorOptions;
  private readonly log: Logger;
  private readonly repeater: Repeater;
  private readonly ring: RingProducer;
  private readonly sockets: Socket[] = [];
  private dropLogged = 0;
  /** datagrams received (all sockets) */
  datagrams = 0;

  constructor(options: CollectorOptions, log: Logger, ring: RingBuffers) {
    this.options = options;
    this.log = log;
    this.repeater = new Repeater(options.repeaters);
    this.ring = new RingProducer(ring);
  }

  /** datagrams not queued because the receive ring was full */
  get queueDropped(): number {
    return this.ring.dropped;
  }

  /** The port actually bound (tests bind port 0). */
  get port(): number {
    return this.sockets[0]?.address().port ?? 0;
  }

  async bind(): Promise<void> {
    const { family, bind, port, socketBuffer, multicast } = this.options;
    const types: ("udp4" | "udp6")[] = [];
    if (bind !== undefined) types.push(isIPv6(bind) ? "udp6" : "udp4");
    else if (multicast !== undefined) types.push(isIPv6(multicast) ? "udp6" : "udp4");
    else if (family === 4) types.push("udp4");
    else if (family === 6) types.push("udp6");
    else types.push("udp6", "udp4");
    const ring = this.ring;
    const repeater = this.repeater;
    for (const type of types) {
      const sock = createSocket({
        type,
        reuseAddr: multicast !== undefined,
        ipv6Only: type === "udp6" && types.length > 1,
      });
      sock.on("message", (msg, rinfo) => {
        this.datagrams++;
        if (repeater.active) repeater.repeat(msg);
        const now = Date.now();
        // a full ring costs only a counter per datagram; the log line comes at most every 10 s
        if (!ring.push(msg, rinfo.address, rinfo.port, now) && now - this.dropLogged >= DROP_LOG_MS) {
          this.dropLogged = now;
          this.log.error(`receive queue full (decoder behind): ${ring.dropped} datagrams dropped so far`);
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
        throw new FatalError(`cannot bind UDP ${address ?? "*"}:${port}: ${(err as Error).message}`);
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
      // Linux reports twice what was granted; the grant is capped at net.core.rmem_max
      const got = sock.getRecvBufferSize();
      if (socketBuffer !== undefined && got < want)
        this.log.warn(`-B ${socketBuffer}: the kernel granted ${got} bytes (net.core.rmem_max caps it)`);
      if (multicast !== undefined) sock.addMembership(multicast);
      this.sockets.push(sock);
    }
  }

  /** Logs the bound addresses (once the collector is ready: scripts wait for this line). */
  announce(): void {
    for (const sock of this.sockets) {
      const a = sock.address();
      this.log.info(`listening on ${a.address}:${a.port}`);
    }
  }

  /** Stops receiving (the ring keeps what was queued). */
  close(): void {
    for (const sock of this.sockets) sock.close();
    this.sockets.length = 0;
    this.repeater.close();
  }
}
