// SPDX-License-Identifier: BSD-3-Clause
// `-R host[/port]` (up to 8): every received datagram is re-sent unchanged to each repeater, as nfcapd does.

import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { UsageError } from "../util/errors.js";

export interface RepeatTarget {
  readonly host: string;
  readonly port: number;
}

export const MAX_REPEATERS = 8;
/** how long close() waits for repeats still on their way */
const CLOSE_WAIT_MS = 1000;

/** Parses `host[/port]` (default port 9995; `/` because IPv6 addresses contain colons). */
export function parseRepeatTarget(text: string): RepeatTarget {
  const slash = text.lastIndexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const port = slash < 0 ? 9995 : Number(text.slice(slash + 1));
  if (host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`-R: bad repeater ${text} (want host[/port])`);
  }
  return { host, port };
}

export class Repeater {
  private readonly v4: Socket | undefined;
  private readonly v6: Socket | undefined;
  sent = 0;
  errors = 0;
  /** sends whose callback has not run yet */
  private pending = 0;
  private closing = false;
  private closed = false;

  private readonly targets: readonly RepeatTarget[];

  constructor(targets: readonly RepeatTarget[]) {
    this.targets = targets;
    if (targets.length > MAX_REPEATERS) throw new UsageError(`-R: at most ${MAX_REPEATERS} repeaters`);
    const onError = (): void => {
      this.errors++;
    };
    this.v4 = targets.some((t) => !isIPv6(t.host)) ? createSocket("udp4").on("error", onError) : undefined;
    this.v6 = targets.some((t) => isIPv6(t.host)) ? createSocket("udp6").on("error", onError) : undefined;
  }

  get active(): boolean {
    return this.targets.length > 0;
  }

  repeat(datagram: Uint8Array): void {
    for (const t of this.targets) {
      const sock = isIPv6(t.host) ? this.v6 : this.v4;
      if (sock === undefined) continue;
      this.pending++;
      sock.send(datagram, t.port, t.host, (err) => {
        if (err) this.errors++;
        else this.sent++;
        if (--this.pending === 0 && this.closing) this.closeNow();
      });
    }
  }

  /**
   * Closes the sockets once the repeats still on their way (address lookup, socket queue) have gone out — at
   * most CLOSE_WAIT_MS later: closing at once dropped the last datagrams received before a TERM.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.pending === 0) this.closeNow();
    else
      setTimeout(() => {
        this.closeNow();
      }, CLOSE_WAIT_MS).unref();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.v4?.close();
    this.v6?.close();
  }
}
