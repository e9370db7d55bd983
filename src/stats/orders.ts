// SPDX-License-Identifier: BSD-3-Clause
// Print orders of -s (…/order) and -O, with nfdump 1.7.1's semantics (src/nfdump/nfstat.c order_mode[],
// nflowcache.c order_mode[]):
//   flows             aggregated flow count; shows the IN packets/bytes (nfdump's `flows` is an IN order!)
//   packets bytes …   IN + OUT;  ipkg ibyte ipps ibps ibpp: IN only;  opkg obyte …: OUT only
//   pps = 1000 * packets / (last - first ms), bps = 8000 * bytes / (last - first ms), 0 for a zero duration;
//   bpp = bytes / packets (0 without packets) — all truncated to integers as nfdump's uint64 arithmetic.
//   tstart tend (ascending) and duration: -O only.
// Counter orders sort descending; `:a` (master) or the tstart/tend defaults sort ascending.

import { exactOf, TWO53 } from "../record/u64.js";
import { didYouMean, StatsError } from "./errors.js";

export const IN = 0;
export const OUT = 1;
export const INOUT = 2;
export type InOut = typeof IN | typeof OUT | typeof INOUT;

export type Metric = "flows" | "packets" | "bytes" | "pps" | "bps" | "bpp" | "tstart" | "tend" | "duration";

export interface OrderDef {
  /** The canonical (nfdump 1.7.1) name. */
  readonly name: string;
  /** Position in nfdump's order table: tables for several orders print in this order. */
  readonly index: number;
  readonly metric: Metric;
  readonly inout: InOut;
  readonly ascending: boolean;
  /** True for orders only `-O` / `-s record` accept. */
  readonly recordOnly: boolean;
}

const o = (
  name: string,
  index: number,
  metric: Metric,
  inout: InOut,
  ascending = false,
  recordOnly = false,
): OrderDef => ({
  name,
  index,
  metric,
  inout,
  ascending,
  recordOnly,
});

export const ORDERS: readonly OrderDef[] = [
  o("flows", 1, "flows", IN),
  o("packets", 2, "packets", INOUT),
  o("ipkg", 3, "packets", IN),
  o("opkg", 4, "packets", OUT),
  o("bytes", 5, "bytes", INOUT),
  o("ibyte", 6, "bytes", IN),
  o("obyte", 7, "bytes", OUT),
  o("pps", 8, "pps", INOUT),
  o("ipps", 9, "pps", IN),
  o("opps", 10, "pps", OUT),
  o("bps", 11, "bps", INOUT),
  o("ibps", 12, "bps", IN),
  o("obps", 13, "bps", OUT),
  o("bpp", 14, "bpp", INOUT),
  o("ibpp", 15, "bpp", IN),
  o("obpp", 16, "bpp", OUT),
  o("tstart", 17, "tstart", IN, true, true),
  o("tend", 18, "tend", IN, true, true),
  o("duration", 19, "duration", IN, false, true),
];

/** Later (1.7.5+/master) spellings accepted as aliases. */
const ALIASES: Readonly<Record<string, string>> = {
  ipackets: "ipkg",
  opackets: "opkg",
  ibytes: "ibyte",
  obytes: "obyte",
};

const BY_NAME = new Map(ORDERS.map((d) => [d.name, d]));

/**
 * Resolves an order name (case-insensitive, 1.7.1 and master spellings).
 * @throws StatsError ERR_STATS_UNKNOWN_ORDER with a "did you mean" hint.
 */
export function findOrder(name: string, forRecords: boolean): OrderDef {
  const lower = name.toLowerCase();
  const d = BY_NAME.get(ALIASES[lower] ?? lower);
  if (d && (forRecords || !d.recordOnly)) return d;
  const names = ORDERS.filter((x) => forRecords || !x.recordOnly).map((x) => x.name);
  if (forRecords) names.push(...Object.keys(ALIASES));
  throw new StatsError(
    "ERR_STATS_UNKNOWN_ORDER",
    `statistics: unknown order '${name}'${didYouMean(name, names)}; valid orders: ${names.join(" ")}`,
  );
}

const TWO64 = 2 ** 64;
/** From this many bytes on, 8000 × bytes passes 2^64 (bps wraps in nfdump's uint64). */
const BPS_EXACT = TWO64 / 8000;
const U64_MASK = (1n << 64n) - 1n;

/**
 * The value an entry is ordered by (nfdump's integer arithmetic; times in ms). `flows` etc. are the already
 * summed counters of one entry; `fix` (optional) holds their exact error terms (record/u64.ts) at
 * `fix[at + k]`, k = flows, inPackets, inBytes, outPackets, outBytes, for sums past 2^53.
 *
 * nfdump computes these in uint64: sums wrap at 2^64, and so do 1000 × packets (pps) and 8000 × bytes (bps). While
 * the counters add up to less than 2^53 (and 8000 × bytes stays below 2^64) doubles give the same integers; past that the
 * rare exact path wraps as nfdump does, so the order is the one of the values printed. (Two wrapped values
 * that differ only below a double's precision sort as equal.)
 */
export function orderValue(
  d: OrderDef,
  flows: number,
  inPackets: number,
  inBytes: number,
  outPackets: number,
  outBytes: number,
  first: number,
  last: number,
  fix: ArrayLike<number> | null = null,
  at = 0,
): number {
  const packets = d.inout === IN ? inPackets : d.inout === OUT ? outPackets : inPackets + outPackets;
  const bytes = d.inout === IN ? inBytes : d.inout === OUT ? outBytes : inBytes + outBytes;
  // (the rare path is a separate call: no closure or BigInt here keeps this function small and inlined)
  if (packets + bytes + flows >= TWO53 || (bytes >= BPS_EXACT && d.metric === "bps"))
    return orderValueU64(d, flows, inPackets, inBytes, outPackets, outBytes, first, last, fix, at);
  switch (d.metric) {
    case "flows":
      return flows;
    case "packets":
      return packets;
    case "bytes":
      return bytes;
    case "pps": {
      const ms = last - first;
      return ms > 0 ? Math.floor((1000 * packets) / ms) : 0;
    }
    case "bps": {
      const ms = last - first;
      return ms > 0 ? Math.floor((8000 * bytes) / ms) : 0;
    }
    case "bpp":
      return packets > 0 ? Math.floor(bytes / packets) : 0;
    case "tstart":
      return first;
    case "tend":
      return last;
    case "duration":
      return last - first;
  }
}

/** orderValue's exact path: nfdump's uint64 arithmetic on the exact counters (BigInt, never per row in bulk). */
function orderValueU64(
  d: OrderDef,
  flowsD: number,
  inPacketsD: number,
  inBytesD: number,
  outPacketsD: number,
  outBytesD: number,
  first: number,
  last: number,
  fix: ArrayLike<number> | null,
  at: number,
): number {
  const flows = exactOf(flowsD, fix === null ? 0 : fix[at]!);
  const inPackets = exactOf(inPacketsD, fix === null ? 0 : fix[at + 1]!);
  const inBytes = exactOf(inBytesD, fix === null ? 0 : fix[at + 2]!);
  const outPackets = exactOf(outPacketsD, fix === null ? 0 : fix[at + 3]!);
  const outBytes = exactOf(outBytesD, fix === null ? 0 : fix[at + 4]!);
  const packets = (d.inout === IN ? inPackets : d.inout === OUT ? outPackets : inPackets + outPackets) & U64_MASK;
  const bytes = (d.inout === IN ? inBytes : d.inout === OUT ? outBytes : inBytes + outBytes) & U64_MASK;
  const ms = Math.trunc(last - first);
  switch (d.metric) {
    case "flows":
      return Number(flows & U64_MASK);
    case "packets":
      return Number(packets);
    case "bytes":
      return Number(bytes);
    case "pps":
      return ms > 0 ? Number(((1000n * packets) & U64_MASK) / BigInt(ms)) : 0;
    case "bps":
      return ms > 0 ? Number(((8000n * bytes) & U64_MASK) / BigInt(ms)) : 0;
    case "bpp":
      return packets > 0n ? Number(bytes / packets) : 0;
    case "tstart":
      return first;
    case "tend":
      return last;
    case "duration":
      return last - first;
  }
}

/** Parses `-O order[:a|:d]` for record sorting (plain listing, -A, -a, -s record). */
export function parseRecordOrder(text: string): { order: OrderDef; ascending: boolean } {
  const [name = "", dir] = text.split(":");
  const order = findOrder(name, true);
  return { order, ascending: parseDirection(dir, order.ascending, text) };
}

export function parseDirection(dir: string | undefined, dflt: boolean, text: string): boolean {
  if (dir === undefined) return dflt;
  if (dir === "a") return true;
  if (dir === "d") return false;
  throw new StatsError("ERR_STATS_BAD_SPEC", `statistics: bad direction ':${dir}' in '${text}' (use :a or :d)`);
}
