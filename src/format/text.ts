// SPDX-License-Identifier: BSD-3-Clause
// Text pieces shared by every output format, each matching what nfdump 1.7.1 prints byte for byte:
// scaled numbers (`2.1 M`, SI factors, `-N` = plain), durations (`    HH:MM:SS.mmm`, `Nd HH:MM:SS.mmm`), local
// date/time with milliseconds, protocol names (nfdump's 138-entry table), TCP flags (`...AP.SF`), IPv4/IPv6
// text (glibc inet_ntop rules) and the 16-character condensed IPv6 form of the column formats.
//
// Strings only at the edge: small strings are cached (flags, protocol names, octets, dates by
// second); nothing here allocates per call except the returned string.

import { formatIPv4 } from "../record/ip.js";
import { exactOf, TWO53, u64Text } from "../record/u64.js";

// ── numbers ──────────────────────────────────────────────────────────────────────────────────────────

const _1M = 1000.0 * 1000.0;
const _1G = 1000.0 * 1000.0 * 1000.0;
const _1T = 1000.0 * 1000.0 * 1000.0 * 1000.0;

/**
 * printf("%.1f", x) for x ≥ 0, glibc style: the exact binary value rounded to nearest, ties to even.
 * JavaScript's toFixed also rounds the exact value but breaks ties upwards; a tie at one decimal is possible
 * only when x is an odd multiple of 1/4 (x·4 odd integer), so that case is handled explicitly.
 */
export function fixed1(x: number): string {
  const q = x * 4;
  if (Number.isInteger(q) && q % 2 === 1 && q < 2 ** 52) {
    const t = x * 10; // exact: m/4 * 10 = 2.5m
    const lo = Math.floor(t);
    const k = lo % 2 === 0 ? lo : lo + 1;
    return (k / 10).toFixed(1);
  }
  // toFixed turns to exponent notation from 1e21; printf prints the double's exact digits (it is an integer)
  return x < 1e21 ? x.toFixed(1) : `${BigInt(x).toString()}.0`;
}

/**
 * nfdump's format_number(): values below 1,000,000 as integers, else `x.y M`, `x.y G`, `x.y T` (SI factors).
 * `fixed` = FIXED_WIDTH (`%5.1f M`, `%4.0f`); `plain` (-N) prints the integer as is.
 */
export function formatNumber(n: number, plain: boolean, fixed: boolean): string {
  if (plain) return intString(n);
  if (n >= _1T) return fixed ? `${fixed1(n / _1T).padStart(5)} T` : `${fixed1(n / _1T)} T`;
  if (n >= _1G) return fixed ? `${fixed1(n / _1G).padStart(5)} G` : `${fixed1(n / _1G)} G`;
  if (n >= _1M) return fixed ? `${fixed1(n / _1M).padStart(5)} M` : `${fixed1(n / _1M)} M`;
  const s = intString(n);
  return fixed && s.length < 4 ? s.padStart(4) : s;
}

// The tables of this module are built on first use: every tsdump run evaluates the module (the summary), most
// print no row.
let SMALL_INT: readonly string[] | undefined;

/** 2^53: from here on String() of a double may round its digits (and from 1e21 print an exponent). */
const EXACT_MAX = 2 ** 53;
const U64 = 1n << 64n;

/**
 * Decimal text of a non-negative integer held in a double (cached below 1024). From 2^53 on: the double's exact
 * digits, wrapped to 64 bits as nfdump's uint64 counters and sums are (never `1.8e+21` or rounded digits).
 */
export function intString(n: number): string {
  return n < 1024 && n >= 0 && Number.isInteger(n)
    ? (SMALL_INT ??= Array.from({ length: 1024 }, (_, i) => String(i)))[n]!
    : Math.abs(n) >= EXACT_MAX && Number.isFinite(n)
      ? bigIntString(n)
      : Number.isInteger(n)
        ? String(n)
        : String(Math.trunc(n));
}

/**
 * Exact decimal text of a u64 counter at row `i`: the double below 2^53, else the double plus its fix column
 * (record/u64.ts), wrapped to 64 bits as nfdump prints.
 */
export function counterText(v: Float64Array, fix: Uint32Array, i: number): string {
  const d = v[i]!;
  return d < TWO53 || !Number.isFinite(d) ? intString(d) : u64Text(exactOf(d, fix[i]! | 0));
}

/** Exact decimal text of a sum held as a double plus an integer error term (record/u64.ts ExactSum). */
export function sumText(s: number, e: number): string {
  return e === 0 || !Number.isFinite(s) ? intString(s) : u64Text(exactOf(s, e));
}

/** A sum as nfdump's uint64 holds it (exact value with its fix, wrapped to 64 bits), as a double (non-finite kept). */
export function wrapped(v: number, fix: number): number {
  return (v < TWO53 && fix === 0) || !Number.isFinite(v) ? v : Number(exactOf(v, fix) % U64);
}

/** 8 × bytes as nfdump computes it for bps: in u64 arithmetic (exact value with its fix, wrapped to 64 bits). */
export function bits(bytes: number, fix: number): number {
  return bytes < 2 ** 50 ? bytes * 8 : Number((exactOf(bytes, fix) * 8n) % U64);
}

/** Bytes per packet as nfdump computes it (u64 division of the exact values, then 32 bits). */
export function bytesPerPacket(bytes: number, bytesFix: number, packets: number, packetsFix: number): number {
  if (packets === 0) return 0;
  if (bytes < TWO53 && packets < TWO53) return Math.floor(bytes / packets) % 4294967296;
  const p = exactOf(packets, packetsFix) % U64;
  return p === 0n ? 0 : Number(((exactOf(bytes, bytesFix) % U64) / p) % 4294967296n);
}

function bigIntString(n: number): string {
  const v = BigInt(Math.trunc(n));
  return (((v % U64) + U64) % U64).toString();
}

/** C's uint64 conversion of a non-negative double (truncation), as nfdump's rate computations do. */
export function truncU64(x: number): number {
  return x > 0 && Number.isFinite(x) ? Math.floor(x) : 0;
}

/** printf("%.3f", ms / 1000) for an integer number of milliseconds (exact, sign kept). */
export function msToSeconds3(ms: number): string {
  const neg = ms < 0;
  const a = Math.abs(Math.round(ms));
  const s = `${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, "0")}`;
  return neg ? `-${s}` : s;
}

// ── durations ────────────────────────────────────────────────────────────────────────────────────────

/**
 * nfdump's duration in seconds: `(msecLast - msecFirst) / 1000.0` computed on uint64, so a negative span
 * (exporters with broken clocks) wraps to about 1.8e16 s, which nfdump then prints as such.
 */
export function durationSeconds(ms: number): number {
  return (ms < 0 ? 2 ** 64 + ms : ms) / 1000.0;
}

/** C's (int) conversion of a double on x86: out-of-range and NaN give INT_MIN. */
function cint(x: number): number {
  return x >= -2147483648 && x < 2147483648 ? Math.trunc(x) : -2147483648;
}

function cd02(n: number): string {
  return n < 0 ? String(n) : pad2(n);
}

/** nfdump's DurationString(): `    HH:MM:SS.mmm` below a day, `%2dd HH:MM:SS.mmm` from one day on (16 chars). */
export function durationString(ms: number): string {
  const duration = durationSeconds(ms);
  const days = cint(duration / 86400);
  let sum = Math.imul(86400, days);
  const hours = cint((duration - sum) / 3600);
  sum = (sum + Math.imul(3600, hours)) | 0;
  const min = cint((duration - sum) / 60);
  const sec = duration - sum - Math.imul(60, min);
  const tail = `${cd02(hours)}:${cd02(min)}:${sec.toFixed(3).padStart(6, "0")}`;
  return days === 0 ? `    ${tail}` : `${String(days).padStart(2)}d ${tail}`;
}

/** `-N` form of a duration: printf("%16.3f"). */
export function durationPlain(ms: number): string {
  return durationSeconds(ms).toFixed(3).padStart(16);
}

function pad2(n: number): string {
  return n < 10 && n >= 0 ? `0${n}` : String(n);
}

// ── time ─────────────────────────────────────────────────────────────────────────────────────────────

const DATE = new Date(0);
const DT_SLOTS = 64;
const dtKey = new Float64Array(DT_SLOTS).fill(NaN);
const dtVal: string[] = new Array<string>(DT_SLOTS).fill("");
const dtKeyT = new Float64Array(DT_SLOTS).fill(NaN);
const dtValT: string[] = new Array<string>(DT_SLOTS).fill("");

/** Largest |ms| a Date holds (±100,000,000 days). */
const DATE_MAX_MS = 8.64e15;

/**
 * A time beyond Date's range (a corrupt or hostile 64-bit timestamp, up to 2^64 − 1 ms): the proleptic
 * Gregorian calendar by arithmetic (days → civil date), in the zone's offset at the range's end, so the year
 * prints as nfdump's strftime prints it instead of NaN.
 */
function buildFarDate(sec: number, sep: string): string {
  if (!Number.isFinite(sec)) return `????-??-??${sep}??:??:??`;
  DATE.setTime(sec > 0 ? DATE_MAX_MS : -DATE_MAX_MS);
  const local = sec - DATE.getTimezoneOffset() * 60;
  const days = Math.floor(local / 86400);
  const tod = local - days * 86400;
  // civil_from_days (H. Hinnant): exact in doubles far beyond 2^64 ms
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hh = Math.floor(tod / 3600);
  const mm = Math.floor((tod % 3600) / 60);
  return `${y}-${pad2(m)}-${pad2(d)}${sep}${pad2(hh)}:${pad2(mm)}:${pad2(tod % 60)}`;
}

function buildDate(sec: number, sep: string): string {
  if (!(Math.abs(sec * 1000) <= DATE_MAX_MS)) return buildFarDate(sec, sep);
  DATE.setTime(sec * 1000);
  const y = DATE.getFullYear();
  return `${y < 1000 ? String(y).padStart(4, "0") : y}-${pad2(DATE.getMonth() + 1)}-${pad2(DATE.getDate())}${sep}${pad2(
    DATE.getHours(),
  )}:${pad2(DATE.getMinutes())}:${pad2(DATE.getSeconds())}`;
}

/** strftime("%Y-%m-%d %H:%M:%S", localtime(sec)) for whole seconds since the epoch (cached by second). */
export function localDateTime(sec: number): string {
  const slot = sec & (DT_SLOTS - 1);
  if (dtKey[slot] === sec) return dtVal[slot]!;
  const s = buildDate(sec, " ");
  dtKey[slot] = sec;
  dtVal[slot] = s;
  return s;
}

/** The same with a `T` between date and time (nfdump's JSON). */
export function localDateTimeT(sec: number): string {
  const slot = sec & (DT_SLOTS - 1);
  if (dtKeyT[slot] === sec) return dtValT[slot]!;
  const s = buildDate(sec, "T");
  dtKeyT[slot] = sec;
  dtValT[slot] = s;
  return s;
}

/** C's `msec / 1000` for a uint64 millisecond time held in a double. */
export function secOf(msec: number): number {
  return Math.floor(msec / 1000);
}

let MS3: readonly string[] | undefined;
const ms3 = (): readonly string[] => (MS3 ??= Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0")));

/** Three-digit millisecond part `msec % 1000`. */
export function msPart(msec: number): string {
  return ms3()[((msec % 1000) + 1000) % 1000]!;
}

/** `YYYY-MM-DD hh:mm:ss.mmm` in local time (nfdump %ts / %te / %tr). */
export function localTimeMs(msec: number): string {
  return `${localDateTime(secOf(msec))}.${msPart(msec)}`;
}

// ── protocol, flags ──────────────────────────────────────────────────────────────────────────────────

/** nfdump's protocol table (output_util.c protoList): index = protocol number; numbers ≥ 138 print as numbers. */
// prettier-ignore
export const PROTO_NAMES: readonly string[] = [
  "0", "ICMP", "IGMP", "GGP", "IPIP", "ST", "TCP", "CBT", "EGP", "IGP", "BBN", "NVPII", "PUP", "ARGUS", "ENCOM", "XNET",
  "CHAOS", "UDP", "MUX", "DCN", "HMP", "PRM", "XNS", "Trnk1", "Trnk2", "Leaf1", "Leaf2", "RDP", "IRTP", "ISO-4", "NETBK",
  "MFESP", "MEINP", "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR", "TP++", "IL", "IPv6", "SDRP", "Rte6", "Frag6", "IDRP",
  "RSVP", "GRE", "MHRP", "BNA", "ESP", "AH", "INLSP", "SWIPE", "NARP", "MOBIL", "TLSP", "SKIP", "ICMP6", "NOHE6", "OPTS6",
  "HOST", "CFTP", "NET", "SATNT", "KLAN", "RVD", "IPPC", "FS", "SATM", "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP",
  "BSATM", "SUNND", "WBMON", "WBEXP", "ISOIP", "VMTP", "SVMTP", "VINES", "TTP", "NSIGP", "DGP", "TCF", "EIGRP", "OSPF",
  "S-RPC", "LARP", "MTP", "AX.25", "OS", "MICP", "SCCSP", "ETHIP", "ENCAP", "99", "GMTP", "IFMP", "PNNI", "PIM", "ARIS",
  "SCPS", "QNX", "A/N", "IPcmp", "SNP", "CpqPP", "IPXIP", "VRRP", "PGM", "0hop", "L2TP", "DDX", "IATP", "STP", "SRP",
  "UTI", "SMP", "SM", "PTP", "ISIS4", "FIRE", "CRTP", "CRUDP", "128", "IPLT", "SPS", "PIPE", "SCTP", "FC", "134", "MHEAD",
  "UDP-L", "MPLS",
];

let PROTO_PLAIN: readonly string[] | undefined;
let PROTO_TEXT: readonly string[] | undefined;

/** nfdump's ProtoString(): the name, or the number as `%-5i` for numbers ≥ 138 and with -N. */
export function protoString(proto: number, plain: boolean): string {
  const num = (PROTO_PLAIN ??= Array.from({ length: 256 }, (_, i) => String(i).padEnd(5)));
  return plain ? num[proto & 0xff]! : (PROTO_TEXT ??= num.map((t, i) => PROTO_NAMES[i] ?? t))[proto & 0xff]!;
}

let FLAGS: readonly string[] | undefined;
const flagTable = (): readonly string[] =>
  Array.from({ length: 256 }, (_, f) => {
    const chars = "CEUAPRSF";
    let s = "";
    for (let b = 0; b < 8; b++) s += f & (128 >> b) ? chars[b]! : ".";
    return s;
  });

/** TCP flags as nfdump prints them: `CEUAPRSF` positions, `.` when clear (e.g. `...AP.SF`). */
export function flagsString(flags: number): string {
  return (FLAGS ??= flagTable())[flags & 0xff]!;
}

// ── addresses ────────────────────────────────────────────────────────────────────────────────────────

export { formatIPv4 };

// built on the first IPv6 address printed (65536 strings: not worth it for runs that print none)
let HEX4: readonly string[] = [];
function hex4(): readonly string[] {
  if (HEX4.length === 0) HEX4 = Array.from({ length: 0x10000 }, (_, i) => i.toString(16));
  return HEX4;
}

/**
 * The groups inet_ntop writes as `::` among eight 16-bit groups: the first longest run of ≥ 2 zero groups, as
 * base · 16 + length, or -1 when there is none.
 */
export function zeroRun(g: ArrayLike<number>): number {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  return bestBase >= 0 && bestLen >= 2 ? bestBase * 16 + bestLen : -1;
}

/**
 * IPv6 text exactly as glibc inet_ntop prints it: lowercase, the first longest run of ≥ 2 zero groups as
 * `::`, `::a.b.c.d` for IPv4-compatible and `::ffff:a.b.c.d` for IPv4-mapped addresses.
 */
export function formatIPv6(words: ArrayLike<number>, off: number): string {
  const w0 = words[off]! >>> 0;
  const w1 = words[off + 1]! >>> 0;
  const w2 = words[off + 2]! >>> 0;
  const w3 = words[off + 3]! >>> 0;
  const g0 = w0 >>> 16,
    g1 = w0 & 0xffff,
    g2 = w1 >>> 16,
    g3 = w1 & 0xffff;
  const g4 = w2 >>> 16,
    g5 = w2 & 0xffff,
    g6 = w3 >>> 16,
    g7 = w3 & 0xffff;
  const g = [g0, g1, g2, g3, g4, g5, g6, g7];
  const run = zeroRun(g);
  const bestBase = run < 0 ? -1 : run >> 4;
  const bestLen = run & 15;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && g5 === 0xffff))) {
      s += formatIPv4(w3);
      break;
    }
    s += hex4()[g[i]!]!;
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ":";
  return s;
}

/** nfdump's CondenseV6(): strings longer than 16 become first 7 chars + `..` + last 7 chars. */
export function condenseV6(s: string): string {
  return s.length <= 16 ? s : `${s.slice(0, 7)}..${s.slice(s.length - 7)}`;
}

let HEX2: readonly string[] = [];

/** A 48-bit MAC held in a double as `aa:bb:cc:dd:ee:ff`. */
export function macString(v: number): string {
  const hi = Math.floor(v / 4294967296) & 0xffff;
  const lo = v >>> 0;
  if (HEX2.length === 0) HEX2 = Array.from({ length: 256 }, (_, i) => (i < 16 ? "0" : "") + i.toString(16));
  return `${HEX2[hi >>> 8]!}:${HEX2[hi & 0xff]!}:${HEX2[lo >>> 24]!}:${HEX2[(lo >>> 16) & 0xff]!}:${HEX2[(lo >>> 8) & 0xff]!}:${HEX2[lo & 0xff]!}`;
}

/** An MPLS column value (label<<4 | exp<<1 | bos) as `label-exp-bos`; `width` right-aligns the label (%8u). */
export function mplsString(v: number, width: number): string {
  const label = String(v >>> 4);
  return `${width > 0 ? label.padStart(width) : label}-${(v & 0xf) >>> 1}-${v & 1}`;
}

/** The masked network of an IPv4 address (nfdump `0xffffffff << (32 - mask)` on a 64-bit long). */
export function maskV4Net(addr: number, mask: number): number {
  if (mask <= 0) return 0; // 0xffffffffL << 32 on a 64-bit long clears all 32 address bits
  if (mask >= 32) return addr >>> 0;
  return (addr & (0xffffffff << (32 - mask))) >>> 0;
}

/** Keeps the top `bits` (0..32) of a u32. */
function topBits(v: number, bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? v >>> 0 : (v & (0xffffffff << (32 - bits))) >>> 0;
}

/**
 * nfdump's IPv6 network of an address (ApplyNetMaskBits / inet6_ntop_mask, 64-bit halves): mask > 64 keeps
 * the upper half and the top mask-64 bits of the lower one; otherwise the lower half is cleared and the top
 * `mask` bits of the upper half are kept — mask 0 shifts a 64-bit value by 64, a no-op on x86, so the upper
 * half stays whole. Writes four words into `out`.
 */
export function maskV6Net(words: ArrayLike<number>, off: number, mask: number, out: Uint32Array): Uint32Array {
  if (mask > 64) {
    out[0] = words[off]! >>> 0;
    out[1] = words[off + 1]! >>> 0;
    out[2] = topBits(words[off + 2]!, mask - 64);
    out[3] = topBits(words[off + 3]!, mask - 96);
  } else {
    const m = mask === 0 ? 64 : mask;
    out[0] = topBits(words[off]!, m);
    out[1] = topBits(words[off + 1]!, m - 32);
    out[2] = 0;
    out[3] = 0;
  }
  return out;
}

// ── padded small-number caches (ports, counters, widths used by the column formats) ──────────────────

const PAD_CACHE_SIZE = 65536;
const padCaches = new Map<number, string[]>();

/** intString(n) right-aligned in `width` (printf "%<width>u"); cached for n < 65536. */
export function padNum(n: number, width: number): string {
  if (n >= 0 && n < PAD_CACHE_SIZE && (n | 0) === n) {
    let cache = padCaches.get(width);
    if (cache === undefined) {
      cache = new Array<string>(PAD_CACHE_SIZE).fill("");
      padCaches.set(width, cache);
    }
    const s = cache[n]!;
    if (s !== "") return s;
    return (cache[n] = String(n).padStart(width));
  }
  return intString(n).padStart(width);
}

let LEFT5: string[] | undefined;

/** A port left-aligned in 5 (printf "%-5i"), cached. */
export function port5(p: number): string {
  const cache = (LEFT5 ??= new Array<string>(PAD_CACHE_SIZE).fill(""));
  const s = cache[p]!;
  if (s !== "") return s;
  return (cache[p] = String(p).padEnd(5));
}

let COUNT8: string[] | undefined;

/** formatNumber(n, plain, FIXED_WIDTH) right-aligned in 8 (the %pkt/%byt/%bps columns); cached for n < 65536. */
export function counter8(n: number, plain: boolean): string {
  if (n < PAD_CACHE_SIZE && n >= 0 && (n | 0) === n) {
    const cache = (COUNT8 ??= new Array<string>(PAD_CACHE_SIZE).fill(""));
    const s = cache[n]!;
    if (s !== "") return s;
    return (cache[n] = String(n).padStart(8));
  }
  return formatNumber(n, plain, true).padStart(8);
}

let D2t: readonly string[] | undefined;

/** durationString() with an integer fast path for 0 ≤ ms < 1 day. */
export function durationFast(ms: number): string {
  if (ms >= 0 && ms < 86_400_000 && (ms | 0) === ms) {
    const sec = (ms / 1000) | 0;
    const D2 = (D2t ??= Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0")));
    return `    ${D2[(sec / 3600) | 0]!}:${D2[((sec / 60) | 0) % 60]!}:${D2[sec % 60]!}.${ms3()[ms % 1000]!}`;
  }
  return durationString(ms);
}
