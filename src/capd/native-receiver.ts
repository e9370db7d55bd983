// SPDX-License-Identifier: BSD-3-Clause
// The native receive path (native/recv.c): the sockets belong to a pthread that takes datagrams with recvmmsg,
// up to 64 per system call, and writes each allowed one straight into the receive ring — no Buffer, rinfo,
// string or JS call per datagram. The main thread only binds, reads counters, and relays two events from the
// thread: "the decode thread sleeps and there is work" (Atomics.notify, which only JS can do) and "the ring
// was full" (the rate-limited log line).
//
// Not used with -R (the repeater sends from JS) or -J (multicast membership): receivers.ts picks JsReceiver.

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { getSystemErrorMap, getSystemErrorName } from "node:util";
import type { Logger } from "../util/log.js";
import type { ExporterFilter } from "./allow.js";
import { EVENT_WAKE, type RecvAddon, type RecvHandle } from "./native.js";
import type { CollectorOptions } from "./options.js";
import {
  bindFailed,
  checkGrant,
  DEFAULT_RECV_BUFFER,
  queueFullMessage,
  socketTypes,
  type PacketReceiver,
} from "./receiver.js";
import { wakeConsumer, type RingBuffers } from "./ring.js";

const EAFNOSUPPORT = "EAFNOSUPPORT";

export class NativeReceiver implements PacketReceiver {
  readonly native = true;
  private readonly options: CollectorOptions;
  private readonly log: Logger;
  private readonly addon: RecvAddon;
  private readonly handle: RecvHandle;
  private readonly counts = new Float64Array(5);
  private sockets = 0;
  private closed = false;

  constructor(options: CollectorOptions, log: Logger, ring: RingBuffers, filter: ExporterFilter, addon: RecvAddon) {
    this.options = options;
    this.log = log;
    this.addon = addon;
    const control = new Int32Array(ring.control);
    const lists = filter.encode();
    this.handle = addon.create(control, new Int32Array(ring.data), lists.allow, lists.sources, (event) => {
      wakeConsumer(control);
      if (event !== EVENT_WAKE) log.error(queueFullMessage(event));
    });
  }

  private stat(i: number): number {
    this.addon.stats(this.handle, this.counts);
    return this.counts[i]!;
  }
  get datagrams(): number {
    return this.stat(0);
  }
  get queueDropped(): number {
    return this.stat(1);
  }
  get notAllowed(): number {
    return this.stat(2);
  }

  /** recvmmsg calls that returned datagrams, and consumer wake-ups relayed (logged at stop with -v) */
  get batches(): number {
    return this.stat(3);
  }
  get wakes(): number {
    return this.stat(4);
  }

  get port(): number {
    return this.sockets > 0 ? this.addon.address(this.handle, 0)[1] : 0;
  }

  async bind(): Promise<void> {
    const { bind, port, socketBuffer } = this.options;
    const types = socketTypes(this.options);
    for (const type of types) {
      const family = type === "udp6" ? 6 : 4;
      const address = bind ?? (family === 6 ? "::" : "0.0.0.0");
      // node:dgram resolves a host name for -b the same way (dns.lookup in the socket's family)
      let ip = address;
      if (isIP(address) === 0) {
        try {
          ip = (await lookup(address, { family })).address;
        } catch (err) {
          this.close();
          throw bindFailed(address, port, (err as Error).message);
        }
      }
      const err = this.addon.bind(this.handle, family, ip, port, family === 6 && types.length > 1);
      if (err < 0) {
        const code = getSystemErrorName(err);
        // a host without IPv6 still serves IPv4 when no family was asked for
        if (family === 6 && types.length > 1 && code === EAFNOSUPPORT) continue;
        this.close();
        // node:dgram's wording: "bind EADDRINUSE 127.0.0.1:9995"
        throw bindFailed(address, port, `bind ${code} ${ip}${port > 0 ? `:${port}` : ""}`);
      }
      const socket = this.sockets++;
      const want = socketBuffer ?? DEFAULT_RECV_BUFFER;
      const set = this.addon.setRecvBuffer(this.handle, socket, want);
      if (set < 0 && socketBuffer !== undefined) {
        const [code, text] = getSystemErrorMap().get(set) ?? [String(set), ""];
        this.log.warn(
          `-B ${socketBuffer}: Could not get or set buffer size: uv_recv_buffer_size returned ${code} (${text})`,
        );
      }
      checkGrant(this.log, socketBuffer, want, this.addon.recvBuffer(this.handle, socket));
    }
    this.addon.start(this.handle);
  }

  announce(): void {
    for (let i = 0; i < this.sockets; i++) {
      const [address, port] = this.addon.address(this.handle, i);
      this.log.info(`listening on ${address}:${port}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
    const n = this.datagrams;
    this.log.debug(
      `receiver: ${n} datagrams in ${this.batches} recvmmsg batches, ${this.wakes} decode-thread wake-ups`,
    );
  }
}
