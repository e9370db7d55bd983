// SPDX-License-Identifier: BSD-3-Clause
// Exporter allow-lists (`--allow CIDR…`, and the addresses of `-n ident,IP,dir`): IPv4 and IPv6 prefixes,
// matched against the sender address of every datagram before anything is decoded.

import { maskV4, parseIPv4, parseIPv6 } from "../record/ip.js";
import { UsageError } from "../util/errors.js";

export interface Prefix {
  readonly v6: boolean;
  /** IPv4: [network]; IPv6: four words. */
  readonly words: Uint32Array;
  readonly length: number;
}

/** Parses `A`, `A/len` (IPv4 or IPv6). Throws UsageError naming the text. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    const length = lenText === undefined ? 32 : Number(lenText);
    if (!/^\d+$/.test(lenText ?? "32") || length > 32) throw new UsageError(`bad IPv4 prefix length in ${text}`);
    return { v6: false, words: Uint32Array.of((v4 & maskV4(length)) >>> 0), length };
  }
  const words = new Uint32Array(4);
  if (!parseIPv6(addr, words)) throw new UsageError(`not an IP address or prefix: ${text}`);
  const length = lenText === undefined ? 128 : Number(lenText);
  if (!/^\d+$/.test(lenText ?? "128") || length > 128) throw new UsageError(`bad IPv6 prefix length in ${text}`);
  for (let k = 0; k < 4; k++) words[k] = (words[k]! & maskV4(Math.max(0, Math.min(32, length - 32 * k)))) >>> 0;
  return { v6: true, words, length };
}

/** Does an address (IPv4 u32, or IPv6 words) fall in the prefix? */
export function prefixContains(p: Prefix, v6: boolean, v4: number, words?: ArrayLike<number>): boolean {
  if (p.v6 !== v6) return false;
  if (!v6) return (v4 & maskV4(p.length)) >>> 0 === p.words[0];
  for (let k = 0; k < 4; k++) {
    const m = maskV4(Math.max(0, Math.min(32, p.length - 32 * k)));
    if ((words![k]! & m) >>> 0 !== p.words[k]) return false;
  }
  return true;
}

export class AllowList {
  readonly prefixes: readonly Prefix[];
  constructor(texts: readonly string[]) {
    this.prefixes = texts.map(parsePrefix);
  }
  get empty(): boolean {
    return this.prefixes.length === 0;
  }
  /** True when the list is empty (allow all) or some prefix holds the address. */
  allows(v6: boolean, v4: number, words?: ArrayLike<number>): boolean {
    if (this.prefixes.length === 0) return true;
    for (const p of this.prefixes) if (prefixContains(p, v6, v4, words)) return true;
    return false;
  }
}

/**
 * Which senders the receiving thread lets into the receive ring: the `--allow` list, and with `-n` sources the
 * union of their prefixes (a sender no source claims would be dropped by the collector anyway). The same rule
 * as the collector's (collector.ts): an IPv4-mapped IPv6 sender (`::ffff:a.b.c.d`) is matched as IPv4.
 */
export class ExporterFilter {
  readonly allow: AllowList;
  readonly sources: AllowList;
  private readonly words = new Uint32Array(4);

  constructor(allow: readonly string[], sourcePrefixes: readonly string[]) {
    this.allow = new AllowList(allow);
    this.sources = new AllowList(sourcePrefixes);
  }

  /** The filter for a collector's options: -n sources' prefixes unless -M or a catch-all -l source. */
  static forOptions(options: {
    readonly allow: readonly string[];
    readonly sources: readonly { readonly prefixes: readonly string[] }[];
    readonly dynamicDir: string | undefined;
  }): ExporterFilter {
    const catchAll = options.dynamicDir !== undefined || options.sources.some((s) => s.prefixes.length === 0);
    return new ExporterFilter(options.allow, catchAll ? [] : options.sources.flatMap((s) => s.prefixes));
  }

  /** True when every sender passes. */
  get open(): boolean {
    return this.allow.empty && this.sources.empty;
  }

  /** Does a sender address, as the socket reports it, pass? */
  allows(address: string): boolean {
    if (this.open) return true;
    const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
    const v4 = parseIPv4(plain);
    const v6 = v4 < 0;
    if (v6 && !parseIPv6(plain, this.words)) return false;
    return this.allow.allows(v6, v4, this.words) && this.sources.allows(v6, v4, this.words);
  }

  /** The lists for the native receiver: 18 bytes per prefix (IPv6 flag, length, 16 address bytes). */
  encode(): { allow: Uint8Array; sources: Uint8Array } {
    return { allow: encodePrefixes(this.allow.prefixes), sources: encodePrefixes(this.sources.prefixes) };
  }
}

function encodePrefixes(prefixes: readonly Prefix[]): Uint8Array {
  const out = new Uint8Array(18 * prefixes.length);
  const view = new DataView(out.buffer);
  prefixes.forEach((p, i) => {
    out[18 * i] = p.v6 ? 1 : 0;
    out[18 * i + 1] = p.length;
    for (let k = 0; k < p.words.length; k++) view.setUint32(18 * i + 2 + 4 * k, p.words[k]!);
  });
  return out;
}
