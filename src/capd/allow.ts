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
  private readonly prefixes: Prefix[];
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
