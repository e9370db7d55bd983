// SPDX-License-Identifier: BSD-3-Clause
// The automatic output format of `-A` aggregation (nfdump 1.7.1 nflowcache.c): `%ts %td ` + one ` <token>`
// per aggregation key + `  %pkt %byt %bps %bpp %fl` (two blanks, as 1.7.1 prints it). Masked keys (`srcip4/24`) print with the address token.

import { FormatError } from "./errors.js";

/** -A key → fmt token (1.7.1 aggregationTable). */
export const AGGREGATION_TOKENS: ReadonlyMap<string, string> = new Map([
  ["proto", "%pr"],
  ["srcport", "%sp"],
  ["dstport", "%dp"],
  ["tos", "%tos"],
  ["srctos", "%stos"],
  ["dsttos", "%dtos"],
  ["srcip", "%sa"],
  ["dstip", "%da"],
  ["srcip4", "%sa"],
  ["dstip4", "%da"],
  ["srcip6", "%sa"],
  ["dstip6", "%da"],
  ["srcnet", "%sn"],
  ["dstnet", "%dn"],
  ["srcmask", "%smk"],
  ["dstmask", "%dmk"],
  ["srcvlan", "%svln"],
  ["dstvlan", "%dvln"],
  ["srcas", "%sas"],
  ["dstas", "%das"],
  ["nextas", "%nas"],
  ["prevas", "%pas"],
  ["inif", "%in"],
  ["outif", "%out"],
  ["next", "%nh"],
  ["bgpnext", "%nhb"],
  ["router", "%ra"],
  ["insrcmac", "%ismc"],
  ["outdstmac", "%odmc"],
  ["indstmac", "%idmc"],
  ["outsrcmac", "%osmc"],
  ["mpls1", "%mpls1"],
  ["mpls2", "%mpls2"],
  ["mpls3", "%mpls3"],
  ["mpls4", "%mpls4"],
  ["mpls5", "%mpls5"],
  ["mpls6", "%mpls6"],
  ["mpls7", "%mpls7"],
  ["mpls8", "%mpls8"],
  ["mpls9", "%mpls9"],
  ["mpls10", "%mpls10"],
  ["odid", "%odid"],
  ["opid", "%opid"],
  ["xsrcip", "%xsa"],
  ["xdstip", "%xda"],
  ["xsrcport", "%xsp"],
  ["xdstport", "%xdp"],
]);

/**
 * The fmt string nfdump uses for `-A key1,key2,…` when no -o is given.
 * @throws FormatError ERR_FORMAT_AGGREGATION for an unknown key.
 */
export function aggregateFormat(keys: readonly string[]): string {
  let f = "%ts %td ";
  for (const raw of keys) {
    const key = raw
      .trim()
      .toLowerCase()
      .replace(/\/\d+$/, "");
    const token = AGGREGATION_TOKENS.get(key);
    if (!token) throw new FormatError("ERR_FORMAT_AGGREGATION", `aggregation: unknown key '${raw}'`);
    f += ` ${token}`;
  }
  return `${f}  %pkt %byt %bps %bpp %fl`;
}
