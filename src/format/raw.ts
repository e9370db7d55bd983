// SPDX-License-Identifier: BSD-3-Clause
// `-o raw`: nfdump 1.7.1's multi-line record dump (output_raw.c), one block per record, one line per field,
// grouped by the V3 extension the field lives in. Extension presence follows the same rules as JSON (json.ts):
// always for generic flow, addresses, misc and AS routing, otherwise when a value of the group is non-zero.
// `Elements` lists the extension ids and `size` the V3 record size nfdump would have stored (nfxV3.h sizes).
//
// Known difference: `RecordCount` is the number of the record in this output, nfdump prints its position in
// the file (equal for unfiltered listings).

import { rawElementOf, type RecordBatch } from "../record/batch.js";
import { V6_BIT } from "../record/schema.js";
import { FW_EVENT, NAT_EVENT, xeventText } from "./fmt.js";
import { aclText, beUint, userText } from "./json.js";
import { writeAsciiTo, type Output } from "./out.js";
import { ViewCache } from "./view.js";
import {
  counterText,
  flagsString,
  formatIPv4,
  formatIPv6,
  intString,
  localTimeMs,
  macString,
  maskV4Net,
  maskV6Net,
  msPart,
  protoString,
  secOf,
} from "./text.js";

const r = (label: string, value: string): string => `  ${label} =${value}\n`;
const w = (v: number | string, width: number): string => (typeof v === "number" ? intString(v) : v).padStart(width);
const ad = (s: string): string => `  ${s.padStart(16)}`;
const hex2 = (v: number): string => (v & 0xff).toString(16).padStart(2, "0");

/** V3 extension ids and their stored sizes in bytes (4-byte element header included). */
const EXT = {
  generic: [1, 52],
  ipv4: [2, 12],
  ipv6: [3, 36],
  misc: [4, 20],
  cnt: [5, 28],
  vlan: [6, 12],
  as: [7, 12],
  bgp4: [8, 8],
  bgp6: [9, 20],
  nh4: [10, 8],
  nh6: [11, 20],
  ra4: [12, 8],
  ra6: [13, 20],
  mpls: [14, 44],
  mac: [15, 36],
  asAdj: [16, 12],
  vrf: [36, 12],
} as const;

/** V3 sizes (with the 4-byte element header) of nselCommon … natPortBlock (elements 19–26) as nfcapd 1.7.1 writes them. */
const NAT_SIZES = [20, 12, 36, 8, 28, 72, 20, 12] as const;

function versionText(v: number): string {
  if (v === 133) return "SFLOW v5";
  if (v === 0) return "NETFLOW v0";
  return `NETFLOW v${v}`;
}

/**
 * nfdump's NBAR application id text (stringsEXnbarApp): `%2u..%u` classification engine id and selector, or
 * `%2u..%u..%u` with the private enterprise number when the engine id is 20 (no application names are known).
 */
function nbarText(b: Uint8Array): string {
  let selector = 0;
  const pen = b[0] === 20;
  for (let k = pen ? 5 : 1; k < b.length; k++) selector = ((selector << 8) | b[k]!) >>> 0;
  const head = String(b[0] ?? 0).padStart(2);
  if (!pen) return `${head}..${selector}`;
  const num = (((b[1] ?? 0) << 24) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 8) | (b[4] ?? 0)) >>> 0;
  return `${head}..${num}..${selector}`;
}

/** A time of `-o raw`: nfdump 1.7.1 prints `<unknown>` for second 0 (a record without that time). */
function rawTime(ms: number): string {
  const sec = secOf(ms);
  return sec === 0 ? `<unknown>.${msPart(ms)}` : localTimeMs(ms);
}

export class RawFormatter {
  private count = 0;
  private readonly views = new ViewCache();
  private readonly longV6: boolean;
  private readonly tmp = new Uint32Array(4);

  constructor(longV6 = false) {
    this.longV6 = longV6;
  }

  prolog(): void {
    // no header
  }

  epilog(): void {
    // nothing
  }

  record(batch: RecordBatch, i: number, out: Output): void {
    const c = this.views.of(batch).cols;
    const f6 = c.v6Flags[i]!;
    const v6 = (f6 & V6_BIT.srcAddr) !== 0;
    const proto = c.proto[i]!;
    const ids: number[] = [];
    let size = 12;
    const add = (e: readonly [number, number]): void => {
      ids.push(e[0]);
      size += e[1];
    };
    // the record's nfdump elements when it knows them (tscapd and nfcapd files); else inferred from the values
    const el = c.elements[i]!;
    const known = el !== 0;
    const bit = (k: number): boolean => (el & ((1 << k) >>> 0)) !== 0;
    add(EXT.generic);
    add(v6 ? EXT.ipv6 : EXT.ipv4);
    const hasMisc = known ? bit(4) : true;
    if (hasMisc) add(EXT.misc);
    const hasCnt = known ? bit(5) : c.outPackets[i]! !== 0 || c.outBytes[i]! !== 0 || c.flows[i]! > 1;
    if (hasCnt) add(EXT.cnt);
    const hasVlan = known ? bit(6) : c.srcVlan[i]! !== 0 || c.dstVlan[i]! !== 0;
    if (hasVlan) add(EXT.vlan);
    // nfcapd stores AS routing for v1/v5/v7 records only when an AS is set; v9/IPFIX templates always carry it
    const hasAs = known
      ? bit(7)
      : c.nfVersion[i]! >= 9 || c.nfVersion[i]! === 0 || c.srcAs[i]! !== 0 || c.dstAs[i]! !== 0;
    if (hasAs) add(EXT.as);
    const bgp6 = (f6 & V6_BIT.bgpNextHop) !== 0;
    // a template may carry both families of a next hop: nfdump lists (and prints) each
    const hasBgp4 = known ? bit(8) : !bgp6 && c.bgpNextHop[i]! !== 0;
    const hasBgp6 = known ? bit(9) : bgp6;
    if (hasBgp4) add(EXT.bgp4);
    if (hasBgp6) add(EXT.bgp6);
    const nh6 = (f6 & V6_BIT.nextHop) !== 0;
    const hasNh4 = known ? bit(10) : !nh6 && c.nextHop[i]! !== 0;
    const hasNh6 = known ? bit(11) : nh6;
    if (hasNh4) add(EXT.nh4);
    if (hasNh6) add(EXT.nh6);
    const ra6 = (f6 & V6_BIT.exporterAddr) !== 0;
    add(ra6 ? EXT.ra6 : EXT.ra4);
    const mpls = [c.mpls1, c.mpls2, c.mpls3, c.mpls4, c.mpls5, c.mpls6, c.mpls7, c.mpls8, c.mpls9, c.mpls10];
    let hasMpls = false;
    for (const m of mpls) if (m[i]! !== 0) hasMpls = true;
    if (known) hasMpls = bit(14);
    if (hasMpls) add(EXT.mpls);
    const hasMac = known
      ? bit(15)
      : c.inSrcMac[i]! !== 0 || c.outDstMac[i]! !== 0 || c.inDstMac[i]! !== 0 || c.outSrcMac[i]! !== 0;
    if (hasMac) add(EXT.mac);
    const hasAdj = known ? bit(16) : c.nextAs[i]! !== 0 || c.prevAs[i]! !== 0;
    if (hasAdj) add(EXT.asAdj);
    // NBAR application id (element 27): its bytes are the row's raw applicationId (95) element
    const nbar = known && bit(27) ? rawElementOf(batch, i, 0, 95) : undefined;
    if (nbar) add([27, 4 + ((nbar.length + 3) & ~3)]);
    // element 36 does not fit the 32-bit mask: bit 31 stands for it (see the schema's `elements`)
    const hasVrf = known ? bit(31) : c.ingressVrf[i]! !== 0 || c.egressVrf[i]! !== 0;
    if (hasVrf) add(EXT.vrf);
    if (known) {
      // NSEL/NAT elements (19–26) are listed (their fields are not printed here)
      for (let k = 19; k <= 26; k++) if (bit(k)) add([k, NAT_SIZES[k - 19]!]);
      ids.sort((a, b) => a - b);
    }

    const sampled = c.samplingInterval[i]! > 1;
    // nfcapd flags a record with nselCommon as an event (flag 1): "EVENT" instead of the version
    const event = known && bit(19);
    let s = "\nFlow Record: \n";
    s += r("RecordCount ", w(++this.count, 18));
    s += r(
      "Flags       ",
      `              0x${hex2((sampled ? 4 : 0) | (event ? 1 : 0))} ${event ? "EVENT" : versionText(c.nfVersion[i]!)}, ${sampled ? "Sampled" : "Unsampled"}`,
    );
    s += r("Elements    ", `${w(ids.length, 18)}: ${ids.join(" ")} `);
    s += r("size        ", w(size, 18));
    s += r("engine type ", w(c.engineType[i]!, 18));
    s += r("engine ID   ", w(c.engineId[i]!, 18));
    s += r("export sysid", w(c.exporterId[i]!, 18));
    const t = (ms: number): string => `${w(ms, 18)} [${rawTime(ms)}]`;
    s += r("first       ", t(c.msecFirst[i]!));
    s += r("last        ", t(c.msecLast[i]!));
    const rcv = c.msecReceived[i]!;
    // (no receive time: nfdump prints "0" for its date)
    s += r("received at ", rcv === 0 ? `${w(0, 18)} [0.000]` : t(rcv));
    s += r("proto       ", `${w(proto, 18)} ${protoString(proto, false)}`);
    s += r("tcp flags   ", `              0x${hex2(c.tcpFlags[i]!)} ${flagsString(c.tcpFlags[i]!)}`);
    if (proto === 1 || proto === 58) {
      const dp = c.dstPort[i]!;
      const it = c.icmpType[i]! || dp >>> 8;
      const ic = c.icmpType[i]! ? c.icmpCode[i]! : dp & 0xff;
      s += r("ICMP        ", `${w(it, 16)}.${String(ic).padEnd(2)} type.code`);
    } else {
      s += r("src port    ", w(c.srcPort[i]!, 18));
      s += r("dst port    ", w(c.dstPort[i]!, 18));
      s += r("src tos     ", w(c.srcTos[i]!, 18));
    }
    s += r("in packets  ", w(counterText(c.inPackets, c.inPacketsFix, i), 18));
    s += r("in bytes    ", w(counterText(c.inBytes, c.inBytesFix, i), 18));
    const sm = c.srcMask[i]!;
    const dm = c.dstMask[i]!;
    let snet: string;
    let dnet: string;
    if (v6) {
      s += r("src addr    ", ad(formatIPv6(c.srcAddr6, i * 4)));
      s += r("dst addr    ", ad(formatIPv6(c.dstAddr6, i * 4)));
      snet = sm ? this.net6(c.srcAddr6, i * 4, sm) : "";
      dnet = dm ? this.net6(c.dstAddr6, i * 4, dm) : "";
    } else {
      s += r("src addr    ", ad(formatIPv4(c.srcAddr[i]!)));
      s += r("dst addr    ", ad(formatIPv4(c.dstAddr[i]!)));
      snet = sm ? formatIPv4(maskV4Net(c.srcAddr[i]!, sm)) : "";
      dnet = dm ? formatIPv4(maskV4Net(c.dstAddr[i]!, dm)) : "";
    }
    if (hasMisc) {
      s += r("input       ", w(c.input[i]!, 18));
      s += r("output      ", w(c.output[i]!, 18));
      s += r("src mask    ", `${w(sm, 18)} ${snet}/${sm}`);
      s += r("dst mask    ", `${w(dm, 18)} ${dnet}/${dm}`);
      s += r("fwd status  ", w(c.fwdStatus[i]!, 18));
      s += r("dst tos     ", w(c.srcTos[i]!, 18)); // 1.7.1 prints the src tos here (sic)
      s += r("direction   ", w(c.direction[i]!, 18));
      s += r("biFlow Dir  ", `              0x${hex2(c.biflowDirection[i]!)} `);
      s += r("end reason  ", `              0x${hex2(c.flowEndReason[i]!)} `);
    }
    if (hasCnt) {
      s += r("out packets ", w(counterText(c.outPackets, c.outPacketsFix, i), 18));
      s += r("out bytes   ", w(counterText(c.outBytes, c.outBytesFix, i), 18));
      s += r("aggr flows  ", w(c.flows[i]! || 1, 18));
    }
    if (hasVlan) {
      s += r("src vlan    ", w(c.srcVlan[i]!, 18));
      s += r("dst vlan    ", w(c.dstVlan[i]!, 18));
    }
    if (hasAs) {
      s += r("src as      ", w(c.srcAs[i]!, 18));
      s += r("dst as      ", w(c.dstAs[i]!, 18));
    }
    const lv = this.longV6;
    const a6 = (words: Uint32Array): string => (lv ? ad(formatIPv6(words, i * 4)) : ad(formatIPv6(words, i * 4)));
    if (hasBgp4) s += r("bgp next hop", ad(formatIPv4(c.bgpNextHop[i]!)));
    if (hasBgp6) s += r("bgp next hop", a6(c.bgpNextHop6));
    if (hasNh4) s += r("ip next hop ", ad(formatIPv4(c.nextHop[i]!)));
    if (hasNh6) s += r("ip next hop ", a6(c.nextHop6));
    s += r("ip exporter ", ra6 ? a6(c.exporterAddr6) : ad(formatIPv4(c.exporterAddr[i]!)));
    if (hasMpls) {
      for (let k = 0; k < 10; k++) {
        const v = mpls[k]![i]!;
        if (v === 0) continue; // nfdump lists the labels present only
        s += `  MPLS Lbl ${String(k + 1).padStart(2)}  =      ${intString(v >>> 4).padStart(8)}-${(v & 0xf) >>> 1}-${v & 1}\n`;
      }
    }
    if (hasMac) {
      s += r("in src mac  ", ` ${macString(c.inSrcMac[i]!)}`);
      s += r("out dst mac ", ` ${macString(c.outDstMac[i]!)}`);
      s += r("in dst mac  ", ` ${macString(c.inDstMac[i]!)}`);
      s += r("out src mac ", ` ${macString(c.outSrcMac[i]!)}`);
    }
    if (hasAdj) {
      s += r("bgp next as ", w(c.nextAs[i]!, 18));
      s += r("bgp prev as ", w(c.prevAs[i]!, 18));
    }
    if (known) s += this.nsel(batch, c, i, el, t);
    if (nbar) s += r("app ID      ", `             ${nbarText(nbar)}: <no info>`);
    if (hasVrf) {
      s += r("ingress VRF ", w(c.ingressVrf[i]!, 18));
      s += r("egress VRF  ", w(c.egressVrf[i]!, 18));
    }
    writeAsciiTo(out, s);
  }

  /** The NSEL/NAT lines of elements 19–26 (nfdump 1.7.1 output_raw.c), for the elements the record has. */
  private nsel(
    batch: RecordBatch,
    c: ReturnType<ViewCache["of"]>["cols"],
    i: number,
    el: number,
    t: (ms: number) => string,
  ): string {
    const bit = (k: number): boolean => (el & ((1 << k) >>> 0)) !== 0;
    let s = "";
    if (bit(19)) {
      const id = rawElementOf(batch, i, 0, 148);
      const ev = c.fwEvent[i]!;
      const x = c.fwXEvent[i]!;
      s += r("connect ID  ", w(id ? beUint(id) : 0, 18));
      s += r("fw event    ", `${w(ev, 18)}: ${FW_EVENT[ev] ?? "UNKNOWN"}`);
      s += r("fw ext event", `${w(x, 18)}: ${xeventText(x)}`);
      s += r("Event time  ", t(c.msecEvent[i]!));
    }
    if (bit(20) || bit(21)) {
      const x6 = (c.v6Flags[i]! & V6_BIT.xlateSrcAddr) !== 0;
      s += r("src xlt ip  ", ad(x6 ? formatIPv6(c.xlateSrcAddr6, i * 4) : formatIPv4(c.xlateSrcAddr[i]!)));
      s += r("dst xlt ip  ", ad(x6 ? formatIPv6(c.xlateDstAddr6, i * 4) : formatIPv4(c.xlateDstAddr[i]!)));
    }
    if (bit(22)) {
      s += r("src xlt port", w(c.xlateSrcPort[i]!, 18));
      s += r("dst xlt port", w(c.xlateDstPort[i]!, 18));
    }
    if (bit(23)) {
      s += r("Ingress ACL ", `       ${aclText(rawElementOf(batch, i, 0, 33000))}`);
      s += r("Egress ACL  ", `       ${aclText(rawElementOf(batch, i, 0, 33001))}`);
    }
    if (bit(24)) {
      const user = rawElementOf(batch, i, 0, 40000);
      s += r("username    ", `       ${user ? userText(user) : ""}`);
    }
    if (bit(25)) {
      const ev = c.natEvent[i]!;
      s += r("nat event   ", `${w(ev, 18)}: ${NAT_EVENT[ev] ?? "INVALID"}`);
      s += r("Event time  ", t(c.msecEvent[i]!));
    }
    if (bit(26)) {
      s += r("pblock start", w(c.pbStart[i]!, 18));
      s += r("pblock end  ", w(c.pbEnd[i]!, 18));
      s += r("pblock step ", w(c.pbStep[i]!, 18));
      s += r("pblock size ", w(c.pbSize[i]!, 18));
    }
    return s;
  }

  private net6(words: Uint32Array, off: number, mask: number): string {
    return formatIPv6(maskV6Net(words, off, mask, this.tmp), 0);
  }
}
