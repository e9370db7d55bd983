// SPDX-License-Identifier: BSD-3-Clause
// Passes over the raw tree: resolve each primitive to schema columns (with nfdump's direction rules),
// check values and ranges (errors carry the value's location), then fold constants.
//
// Semantics follow nfdump 1.7.1 (src/lib/grammar.y, nftree.c): unqualified address/port/AS/mask/VLAN
// primitives match either side; `flags` implies `proto tcp`; missing fields compare as zero (our columns
// are zero when the exporter did not send the field); ICMP type/code imply proto icmp or icmp6.

import type { AddrColumnName } from "../record/schema.js";
import { maskV4, parseIPv4, parseIPv6, parseMac } from "../record/ip.js";
import type {
  CmpOp,
  FilterNode,
  NumColumn,
  Prefix4,
  Prefix6,
  RawExpr,
  RawNum,
  RawPrim,
  RawValue,
  RawWord,
  Span,
} from "./ast.js";
import { FilterSyntaxError, FilterUnsupportedError, locationOf } from "./errors.js";
import { ASA_EVENTS, FWD_STATUS, NAT_EVENTS, PROTOCOLS } from "./names.js";
import { editDistance } from "./parse.js";

const TRUE: FilterNode = { t: "const", v: true };
const FALSE: FilterNode = { t: "const", v: false };

type Side = "src" | "dst";

interface Pair<T> {
  readonly src: T;
  readonly dst: T;
}

const ADDR: Pair<AddrColumnName> = { src: "srcAddr", dst: "dstAddr" };
const NAT_ADDR: Pair<AddrColumnName> = { src: "xlateSrcAddr", dst: "xlateDstAddr" };
const PORT: Pair<NumColumn> = { src: "srcPort", dst: "dstPort" };
const NAT_PORT: Pair<NumColumn> = { src: "xlateSrcPort", dst: "xlateDstPort" };
const AS: Pair<NumColumn> = { src: "srcAs", dst: "dstAs" };
const MASK: Pair<NumColumn> = { src: "srcMask", dst: "dstMask" };
const VLAN: Pair<NumColumn> = { src: "srcVlan", dst: "dstVlan" };
const TOS: Pair<NumColumn> = { src: "srcTos", dst: "dstTos" };

const MPLS_COLS: readonly NumColumn[] = [
  "mpls1",
  "mpls2",
  "mpls3",
  "mpls4",
  "mpls5",
  "mpls6",
  "mpls7",
  "mpls8",
  "mpls9",
  "mpls10",
];

/** Resolves and checks a raw tree; `text` is the filter text the spans refer to. */
export function resolveFilter(tree: RawExpr, text: string): FilterNode {
  return foldConstants(new Resolver(text).expr(tree, false));
}

class Resolver {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  fail(at: Span, message: string, suggestion?: string): never {
    throw new FilterSyntaxError("ERR_FILTER_VALUE", message, this.text, locationOf(this.text, at[0], at[1]), {
      suggestion,
    });
  }

  /** `negated`: an odd number of `not`s encloses this node (nfdump's per-block invert bit). */
  expr(e: RawExpr, negated: boolean): FilterNode {
    switch (e.type) {
      case "and":
        return { t: "and", a: [this.expr(e.left, negated), this.expr(e.right, negated)] };
      case "or":
        return { t: "or", a: [this.expr(e.left, negated), this.expr(e.right, negated)] };
      case "not":
        return { t: "not", a: this.expr(e.expr, !negated) };
      case "prim":
        return this.prim(e, negated);
    }
  }

  // ── value helpers ────────────────────────────────────────────────────────────────────────────────
  num(v: RawValue | null, p: RawPrim, max: number, what: string): number {
    if (v === null || v.kind !== "num") return this.fail(v?.at ?? p.at, `${what}: number expected`);
    if (!Number.isFinite(v.v) || v.v > max) this.fail(v.at, `${what} ${v.text} out of range 0..${max}`);
    return v.v;
  }

  word(v: RawValue | null, p: RawPrim, what: string): RawWord {
    if (v === null || v.kind !== "word") return this.fail(v?.at ?? p.at, `${what} expected`);
    return v;
  }

  cmp(p: RawPrim): CmpOp {
    return p.cmp ?? "eq";
  }

  dir(p: RawPrim, allowed: readonly string[]): string {
    const d = p.dir?.s ?? "";
    if (!allowed.includes(d)) {
      const at: Span = p.dir ? [p.dir.at[0], p.dir.at[0] + d.length] : p.at;
      this.fail(at, d === "" ? `${p.prim}: a direction is required` : `direction "${d}" is not allowed with ${p.prim}`);
    }
    return d;
  }

  /** src / dst / src or dst (default) / src and dst. */
  sides<T>(
    p: RawPrim,
    pair: Pair<T>,
    make: (col: T, side: Side) => FilterNode,
    extra: readonly string[] = [],
  ): FilterNode {
    const d = this.dir(p, ["", "src", "dst", "src or dst", "src and dst", ...extra]);
    switch (d) {
      case "src":
        return make(pair.src, "src");
      case "dst":
        return make(pair.dst, "dst");
      case "src and dst":
        return { t: "and", a: [make(pair.src, "src"), make(pair.dst, "dst")] };
      default:
        return { t: "or", a: [make(pair.src, "src"), make(pair.dst, "dst")] };
    }
  }

  address(w: RawWord): { v6: false; v4: number } | { v6: true; words: number[] } {
    const v4 = parseIPv4(w.s);
    if (v4 >= 0) return { v6: false, v4 };
    const words = new Uint32Array(4);
    if (w.s.includes(":") && parseIPv6(w.s, words)) return { v6: true, words: [...words] };
    if (/^[0-9.]+$/.test(w.s)) this.fail(w.at, `cannot parse ip address "${w.s}"`);
    return this.fail(w.at, `cannot parse ip address "${w.s}" (host names are not resolved)`);
  }

  /** A single address or prefix as a node over one column. */
  addrNode(col: AddrColumnName, addr: ReturnType<Resolver["address"]>, len: number): FilterNode {
    if (!addr.v6) {
      const mask = maskV4(len);
      return { t: "prefix4", col, net: (addr.v4 & mask) >>> 0, mask };
    }
    return { t: "prefix6", col, words: maskWords(addr.words, len), len };
  }

  prefix(v: RawValue | null, p: RawPrim): { addr: ReturnType<Resolver["address"]>; len: number; mask: number | null } {
    if (v === null || v.kind !== "prefix") return this.fail(v?.at ?? p.at, "address/prefix expected");
    const addr = this.address(v.addr);
    if (v.len !== null) {
      const bits = addr.v6 ? 128 : 32;
      if (v.len.v > bits) this.fail(v.len.at, `too many netbits for this ip address: /${v.len.text} (max ${bits})`);
      return { addr, len: v.len.v, mask: null };
    }
    const m = v.mask!;
    if (addr.v6) this.fail(v.at, "ip netmask syntax valid only for ipv4");
    const mask = parseIPv4(m.s);
    if (mask < 0) this.fail(m.at, `invalid netmask "${m.s}" for ipv4 address`);
    return { addr, len: -1, mask };
  }

  ipList(v: RawValue | null, p: RawPrim): { v4: Prefix4[]; v6: Prefix6[] } {
    if (v === null || v.kind !== "list") return this.fail(v?.at ?? p.at, "address list expected");
    const v4: Prefix4[] = [];
    const v6: Prefix6[] = [];
    for (const item of v.items) {
      let w: RawWord;
      let lenNum: RawNum | null = null;
      if (item.kind === "word") w = item;
      else if (item.kind === "prefix") {
        w = item.addr;
        lenNum = item.len;
      } else return this.fail(item.at, "address expected");
      const a = this.address(w);
      const bits = a.v6 ? 128 : 32;
      const len = lenNum === null ? bits : lenNum.v;
      if (lenNum !== null && len > bits)
        this.fail(lenNum.at, `too many netbits for this ip address: /${lenNum.text} (max ${bits})`);
      if (a.v6) v6.push({ words: maskWords(a.words, len), len });
      else v4.push({ net: (a.v4 & maskV4(len)) >>> 0, len });
    }
    return { v4, v6 };
  }

  numList(v: RawValue | null, p: RawPrim, max: number, what: string): number[] {
    if (v === null || v.kind !== "list") return this.fail(v?.at ?? p.at, `${what} list expected`);
    const out = new Set<number>();
    for (const item of v.items) {
      if (item.kind !== "num") return this.fail(item.at, `${what}: number expected`);
      if (item.v > max) this.fail(item.at, `${what} ${item.text} out of range 0..${max}`);
      out.add(item.v);
    }
    return [...out].sort((a, b) => a - b);
  }

  cmpNode(col: NumColumn, op: CmpOp, v: number): FilterNode {
    return { t: "cmp", col, op, v };
  }

  // ── primitives ───────────────────────────────────────────────────────────────────────────────────
  prim(p: RawPrim, negated: boolean): FilterNode {
    const v = p.value;
    const noDir = (): void => void this.dir(p, [""]);
    switch (p.prim) {
      case "any":
        return TRUE;
      case "ident": {
        const w = this.word(v, p, "ident string");
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(w.s)) this.fail(w.at, `illegal ident string "${w.s}"`);
        return { t: "ident", value: w.s };
      }
      case "family":
        return { t: "family", col: "srcAddr", v6: this.word(v, p, "family").s === "v6" };
      case "proto": {
        if (v?.kind === "num") return this.cmpNode("proto", "eq", this.num(v, p, 255, "protocol number"));
        const w = this.word(v, p, "protocol");
        const n = PROTOCOLS.get(w.s.toLowerCase());
        if (n === undefined) {
          const near = closest(w.s.toLowerCase(), [...PROTOCOLS.keys()]);
          this.fail(
            w.at,
            `unknown protocol "${w.s}" (e.g. tcp, udp, icmp, icmp6, gre, esp, ah, sctp, or a number 0..255)`,
            near && `proto ${near}`,
          );
        }
        return this.cmpNode("proto", "eq", n);
      }
      case "flagsnum": {
        const n = this.num(v, p, 63, "flags");
        return { t: "and", a: [this.cmpNode("proto", "eq", 6), this.cmpNode("tcpFlags", this.cmp(p), n)] };
      }
      case "flags": {
        const w = this.word(v, p, "tcp flags");
        if (w.s.length > 7) this.fail(w.at, `too many flags "${w.s}"`);
        let mask = 0;
        for (const ch of w.s.toUpperCase()) {
          const bit = "FSRPAUEC".indexOf(ch);
          if (ch === "X") mask |= 63;
          else if (bit < 0)
            this.fail(w.at, `unknown tcp flag "${ch}" in "${w.s}" (flags are F S R P A U E C, X = FSRPAU)`);
          else mask |= 1 << bit;
        }
        // master: `flags =STR` is an exact match of the whole flags byte
        const test: FilterNode =
          p.cmp === "eq" ? this.cmpNode("tcpFlags", "eq", mask) : { t: "flags", mask, any: negated };
        return { t: "and", a: [this.cmpNode("proto", "eq", 6), test] };
      }
      case "packets":
      case "bytes": {
        const d = this.dir(p, ["", "in", "out"]);
        const n = this.num(v, p, Number.MAX_VALUE, p.prim);
        const col: NumColumn =
          p.prim === "packets" ? (d === "out" ? "outPackets" : "inPackets") : d === "out" ? "outBytes" : "inBytes";
        return this.cmpNode(col, this.cmp(p), n);
      }
      case "flows":
        return this.cmpNode("flows", this.cmp(p), this.num(v, p, Number.MAX_VALUE, "flows"));
      case "duration":
      case "pps":
      case "bps":
      case "bpp":
        return { t: "fn", fn: p.prim, op: this.cmp(p), v: this.num(v, p, Number.MAX_VALUE, p.prim) };
      case "nfversion":
        return this.cmpNode("nfVersion", this.cmp(p), this.num(v, p, 255, "netflow version"));
      case "tos": {
        const n = this.num(v, p, 255, "tos");
        // nfdump: an unqualified tos is the source tos
        if (p.dir === null) return this.cmpNode("srcTos", this.cmp(p), n);
        return this.sides(p, TOS, (col) => this.cmpNode(col, this.cmp(p), n));
      }
      case "ip":
      case "nip": {
        const a = this.address(this.word(v, p, "ip address"));
        const pair = p.prim === "ip" ? ADDR : NAT_ADDR;
        return this.sides(p, pair, (col) => this.addrNode(col, a, a.v6 ? 128 : 32));
      }
      case "iplist":
      case "niplist": {
        const l = this.ipList(v, p);
        const pair = p.prim === "iplist" ? ADDR : NAT_ADDR;
        return this.sides(p, pair, (col) => ({ t: "list", col, v4: l.v4, v6: l.v6 }));
      }
      case "net":
      case "nnet": {
        const pr = this.prefix(v, p);
        const pair = p.prim === "net" ? ADDR : NAT_ADDR;
        return this.sides(p, pair, (col) => {
          if (pr.mask === null) return this.addrNode(col, pr.addr, pr.len);
          const a = pr.addr as { v4: number };
          return { t: "prefix4", col, net: (a.v4 & pr.mask) >>> 0, mask: pr.mask };
        });
      }
      case "nextip":
      case "bgpnextip":
      case "routerip": {
        noDir();
        const a = this.address(this.word(v, p, "ip address"));
        const col: AddrColumnName =
          p.prim === "nextip" ? "nextHop" : p.prim === "bgpnextip" ? "bgpNextHop" : "exporterAddr";
        return this.addrNode(col, a, a.v6 ? 128 : 32);
      }
      case "nextiplist": {
        noDir();
        const l = this.ipList(v, p);
        return { t: "list", col: "nextHop", v4: l.v4, v6: l.v6 };
      }
      case "port":
      case "nport": {
        const n = this.num(v, p, 65535, "port");
        return this.sides(p, p.prim === "port" ? PORT : NAT_PORT, (col) => this.cmpNode(col, this.cmp(p), n));
      }
      case "portlist": {
        const values = this.numList(v, p, 65535, "port");
        return this.sides(p, PORT, (col) => ({ t: "set", col, values }));
      }
      case "as": {
        const n = this.num(v, p, 0xffffffff, "as number");
        const d = p.dir?.s;
        if (d === "prev") return this.cmpNode("prevAs", this.cmp(p), n);
        if (d === "next") return this.cmpNode("nextAs", this.cmp(p), n);
        return this.sides(p, AS, (col) => this.cmpNode(col, this.cmp(p), n), ["prev", "next"]);
      }
      case "aslist": {
        const values = this.numList(v, p, 0xffffffff, "as number");
        return this.sides(p, AS, (col) => ({ t: "set", col, values }));
      }
      case "mask": {
        const n = this.num(v, p, 255, "mask");
        return this.sides(p, MASK, (col) => this.cmpNode(col, "eq", n));
      }
      case "vlan": {
        const n = this.num(v, p, 65535, "vlan");
        return this.sides(p, VLAN, (col) => this.cmpNode(col, "eq", n));
      }
      case "if": {
        const n = this.num(v, p, 0xffffffff, "interface");
        const d = this.dir(p, ["", "in", "out"]);
        if (d === "in") return this.cmpNode("input", "eq", n);
        if (d === "out") return this.cmpNode("output", "eq", n);
        return { t: "or", a: [this.cmpNode("input", "eq", n), this.cmpNode("output", "eq", n)] };
      }
      case "mac": {
        const w = this.word(v, p, "mac address");
        const mac = /^[0-9a-fA-F:]+$/.test(w.s) ? parseMac(w.s) : -1;
        if (mac <= 0) this.fail(w.at, `invalid mac address "${w.s}"`);
        const d = this.dir(p, ["", "in", "out", "src", "dst", "in src", "in dst", "out src", "out dst"]);
        const cols: Record<string, NumColumn[]> = {
          "": ["inSrcMac", "inDstMac", "outSrcMac", "outDstMac"],
          in: ["inSrcMac", "inDstMac"],
          out: ["outSrcMac", "outDstMac"],
          src: ["inSrcMac", "outSrcMac"],
          dst: ["inDstMac", "outDstMac"],
          "in src": ["inSrcMac"],
          "in dst": ["inDstMac"],
          "out src": ["outSrcMac"],
          "out dst": ["outDstMac"],
        };
        return { t: "or", a: cols[d]!.map((col) => this.cmpNode(col, "eq", mac)) };
      }
      case "mpls": {
        noDir();
        const sub = p.sub!;
        const s = sub.s.toLowerCase();
        const n = this.num(v, p, 0xffffff, "mpls value");
        if (s === "eos") return { t: "fn", fn: "mplsEos", op: this.cmp(p), v: n };
        const m = /^(label|exp)(\d+)$/.exec(s);
        if (!m) return this.fail(sub.at, `unknown mpls option "${sub.s}" (label1..label10, exp1..exp10, eos, any)`);
        const idx = Number(m[2]);
        if (idx < 1 || idx > 10) this.fail(sub.at, `mpls label out of range 1..10: "${sub.s}"`);
        const col = MPLS_COLS[idx - 1]!;
        if (m[1] === "label") return { t: "bits", col, shift: 4, mask: 0xfffff, op: this.cmp(p), v: n & 0xfffff };
        if (n > 7) this.fail(v!.at, `mpls exp value ${n} out of range 0..7`);
        return { t: "bits", col, shift: 1, mask: 7, op: this.cmp(p), v: n };
      }
      case "mplsany":
        return { t: "mplsAny", v: this.num(v, p, 0xfffff, "mpls label") };
      case "icmptype":
      case "icmpcode": {
        const n = this.num(v, p, 255, p.prim === "icmptype" ? "icmp type" : "icmp code");
        const isIcmp: FilterNode = { t: "or", a: [this.cmpNode("proto", "eq", 1), this.cmpNode("proto", "eq", 58)] };
        return { t: "and", a: [isIcmp, this.cmpNode(p.prim === "icmptype" ? "icmpType" : "icmpCode", "eq", n)] };
      }
      case "enginetype":
        return this.cmpNode("engineType", this.cmp(p), this.num(v, p, 255, "engine type"));
      case "engineid":
        return this.cmpNode("engineId", this.cmp(p), this.num(v, p, 255, "engine id"));
      case "sysid":
        return this.cmpNode("exporterId", this.cmp(p), this.num(v, p, 65535, "exporter id"));
      case "fwdstat": {
        if (v?.kind === "num") return this.cmpNode("fwdStatus", "eq", this.num(v, p, 255, "forwarding status"));
        const w = this.word(v, p, "forwarding status");
        const n = FWD_STATUS.get(w.s.toLowerCase());
        if (n === undefined) {
          const near = closest(w.s.toLowerCase(), [...FWD_STATUS.keys()]);
          this.fail(
            w.at,
            `unknown forwarding status "${w.s}" (e.g. Forw, Drop, Frag, Ukwn, or 0..255)`,
            near && `fwdstat ${near}`,
          );
        }
        return this.cmpNode("fwdStatus", "eq", n);
      }
      case "flowdir": {
        if (v?.kind === "num") return this.cmpNode("direction", "eq", this.num(v, p, 255, "flow direction"));
        return this.cmpNode("direction", "eq", this.word(v, p, "flow direction").s === "egress" ? 1 : 0);
      }
      case "odid":
        return this.cmpNode("observationDomain", this.cmp(p), this.num(v, p, 0xffffffff, "observation domain id"));
      case "vrf":
        return this.cmpNode(
          p.sub!.s === "egress" ? "egressVrf" : "ingressVrf",
          this.cmp(p),
          this.num(v, p, 0xffffffff, "vrf id"),
        );
      case "asaevent":
      case "natevent": {
        const col: NumColumn = p.prim === "asaevent" ? "fwEvent" : "natEvent";
        if (v?.kind === "num") return this.cmpNode(col, this.cmp(p), this.num(v, p, 255, "event id"));
        const w = this.word(v, p, "event");
        const table = p.prim === "asaevent" ? ASA_EVENTS : NAT_EVENTS;
        const s = w.s.toLowerCase();
        const hit = table.find(([name]) => s.startsWith(name.slice(0, Math.min(name.length, 6))) || s === name);
        if (hit === undefined)
          this.fail(
            w.at,
            `unknown ${p.prim === "asaevent" ? "asa" : "nat"} event "${w.s}" (${table.map((e) => e[0]).join(", ")})`,
          );
        return this.cmpNode(col, "eq", hit[1]);
      }
      case "asaxevent":
        return this.cmpNode("fwXEvent", this.cmp(p), this.num(v, p, 65535, "xevent id"));
      case "pblock": {
        const s = p.sub!.s;
        const col: NumColumn = s === "start" ? "pbStart" : s === "end" ? "pbEnd" : s === "step" ? "pbStep" : "pbSize";
        return this.cmpNode(col, this.cmp(p), this.num(v, p, 65536, "port"));
      }
      case "seen": {
        const w = this.word(v, p, "time");
        const ms = parseIsoTime(w.s);
        if (ms === undefined) this.fail(w.at, `invalid ISO8601 time string "${w.s}" (e.g. 2024-07-11T09:15:10.020)`);
        return this.cmpNode(p.sub!.s === "first" ? "msecFirst" : "msecLast", this.cmp(p), ms);
      }
      case "sampler":
        return this.cmpNode("samplingInterval", this.cmp(p), this.num(v, p, 0xffffffff, "sampling interval"));
      case "ttl":
        return this.cmpNode(p.sub!.s === "min" ? "ipMinTtl" : "ipMaxTtl", this.cmp(p), this.num(v, p, 255, "ttl"));
      case "unsupported": {
        const k = v?.kind === "word" ? v.s : p.prim;
        throw new FilterUnsupportedError(
          `"${k}" filters are not supported yet (tsflow does not store that field)`,
          this.text,
          locationOf(this.text, p.at[0], p.at[0] + Math.max(1, k.length)),
        );
      }
      default:
        return this.fail(p.at, `unknown primitive ${p.prim}`);
    }
  }
}

/** The candidate within a small edit distance of `word`, if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = word.length <= 3 ? 1 : 2;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= bestD && (best === undefined || d < bestD)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function maskWords(words: readonly number[], len: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, len - 32 * k));
    out.push((words[k]! & maskV4(bits)) >>> 0);
  }
  return out;
}

/** `2024-07-11T09:15:10.020`, truncated forms down to `2024`; local time (TZ), like nfdump. */
export function parseIsoTime(s: string): number | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?)?)?)?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  const month = (mo ?? 1) - 1;
  const day = d ?? 1;
  if (month > 11 || day < 1 || day > 31 || (h ?? 0) > 23 || (mi ?? 0) > 59 || (sec ?? 0) > 60) return undefined;
  const msText = m[7];
  const millis = msText === undefined ? 0 : Number(msText.padEnd(3, "0"));
  return new Date(y!, month, day, h ?? 0, mi ?? 0, sec ?? 0, millis).getTime();
}

// ── constant folding ──────────────────────────────────────────────────────────────────────────────

/** Flattens nested and/or, drops neutral constants, folds absorbing ones and double negation. */
export function foldConstants(n: FilterNode): FilterNode {
  switch (n.t) {
    case "and":
    case "or": {
      const absorbing = n.t === "or";
      const out: FilterNode[] = [];
      for (const child of n.a) {
        const f = foldConstants(child);
        if (f.t === "const") {
          if (f.v === absorbing) return f;
          continue;
        }
        if (f.t === n.t) out.push(...f.a);
        else out.push(f);
      }
      if (out.length === 0) return absorbing ? FALSE : TRUE;
      if (out.length === 1) return out[0]!;
      return { t: n.t, a: out };
    }
    case "not": {
      const f = foldConstants(n.a);
      if (f.t === "const") return f.v ? FALSE : TRUE;
      if (f.t === "not") return f.a;
      return { t: "not", a: f };
    }
    case "set":
      return n.values.length === 0 ? FALSE : n;
    case "list":
      return n.v4.length === 0 && n.v6.length === 0 ? FALSE : n;
    case "const":
    case "cmp":
    case "bits":
    case "flags":
    case "family":
    case "prefix4":
    case "prefix6":
    case "fn":
    case "mplsAny":
    case "ident":
      return n;
  }
}
