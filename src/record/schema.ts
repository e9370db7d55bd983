// SPDX-License-Identifier: BSD-3-Clause
// The flow record schema: every column tsflow stores, listed once.
//
// Decoders, the file writer and reader, the filter compiler, formatters and statistics are all driven by
// this table; adding a field means adding one row here (and, where a decoder feeds it, its element ids).
//
// Storage types (in memory and on disk, little-endian):
//   u8 u16 u32   unsigned integers                         → Uint8Array / Uint16Array / Uint32Array
//   f64          counters and millisecond times (exact to 2^53; never BigInt in loops)
//   mac          48-bit MAC address held exactly in a float64 (the 6 bytes as a big-endian integer)
//   addr         IPv4 or IPv6 address. Two physical columns plus one bit of the shared `v6Flags` column:
//                  <name>   Uint32Array(capacity)      the IPv4 address as a u32 (0 on IPv6 rows)
//                  <name>6  Uint32Array(capacity * 4)  the IPv6 address as four big-endian u32 words (0 on IPv4 rows)
//                  v6Flags  bit `v6bit` set when the row's address is IPv6
//                IPv4 filters and hashes touch only the u32 column; blocks without IPv6 never store <name>6.
//   The u64 counters (inPackets inBytes outPackets outBytes flows) are f64 plus a physical companion column
//   `<name>Fix` (u32) that makes values from 2^53 up exact (record/u64.ts).
//
// Names follow nfdump's V3 element fields. `json` is nfdump's JSON key (the IPv4 spelling for
// addresses; `json6` the IPv6 one), `csv` the header nfdump 1.7.5+ prints for the column's %token, `fmt` the
// nfdump %token, `filter` the filter keywords that test the column, `ie` the IPFIX/NetFlow v9 information
// element ids that feed it (IANA numbers; the decoder's fields.ts holds the per-id conversions).

import { EXACT_COUNTERS, fixName, type FixName } from "./u64.js";

export type StorageType = "u8" | "u16" | "u32" | "f64" | "mac" | "addr";

export interface ColumnDef {
  readonly name: string;
  readonly type: StorageType;
  readonly json: string;
  readonly json6?: string;
  readonly csv: string;
  readonly fmt: string;
  readonly filter: readonly string[];
  readonly ie: readonly number[];
  /** For addr columns: the bit of `v6Flags` that marks an IPv6 value. */
  readonly v6bit?: number;
  readonly doc: string;
}

const c = <const T extends ColumnDef>(d: T): T => d;

// prettier-ignore -- one row per column reads as a table
export const SCHEMA = [
  // ── time ──────────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "msecFirst",
    type: "f64",
    json: "first",
    csv: "firstSeen",
    fmt: "%ts",
    filter: ["first seen"],
    ie: [22, 150, 152, 154, 156],
    doc: "flow start, ms since the Unix epoch",
  }),
  c({
    name: "msecLast",
    type: "f64",
    json: "last",
    csv: "lastSeen",
    fmt: "%te",
    filter: ["last seen", "duration"],
    ie: [21, 151, 153, 155, 157],
    doc: "flow end, ms since the Unix epoch",
  }),
  c({
    name: "msecReceived",
    type: "f64",
    json: "received",
    csv: "received",
    fmt: "%tr",
    filter: [],
    ie: [],
    doc: "when the collector received the record, ms since the Unix epoch",
  }),
  // ── addresses and transport ─────────────────────────────────────────────────────────────────────────
  c({
    name: "srcAddr",
    type: "addr",
    v6bit: 0,
    json: "src4_addr",
    json6: "src6_addr",
    csv: "srcAddr",
    fmt: "%sa",
    filter: ["src ip", "src host", "src net"],
    ie: [8, 27],
    doc: "source address",
  }),
  c({
    name: "dstAddr",
    type: "addr",
    v6bit: 1,
    json: "dst4_addr",
    json6: "dst6_addr",
    csv: "dstAddr",
    fmt: "%da",
    filter: ["dst ip", "dst host", "dst net"],
    ie: [12, 28],
    doc: "destination address",
  }),
  c({
    name: "srcPort",
    type: "u16",
    json: "src_port",
    csv: "srcPort",
    fmt: "%sp",
    filter: ["src port"],
    ie: [7, 180, 182],
    doc: "source port",
  }),
  c({
    name: "dstPort",
    type: "u16",
    json: "dst_port",
    csv: "dstPort",
    fmt: "%dp",
    filter: ["dst port"],
    ie: [11, 181, 183],
    doc: "destination port (nfdump keeps ICMP type*256+code here for ICMP flows)",
  }),
  c({
    name: "proto",
    type: "u8",
    json: "proto",
    csv: "proto",
    fmt: "%pr",
    filter: ["proto"],
    ie: [4],
    doc: "IP protocol number",
  }),
  c({
    name: "tcpFlags",
    type: "u16",
    json: "tcp_flags",
    csv: "flags",
    fmt: "%flg",
    filter: ["flags"],
    ie: [6],
    doc: "OR of the TCP flags seen (tcpControlBits)",
  }),
  c({
    name: "srcTos",
    type: "u8",
    json: "src_tos",
    csv: "tos",
    fmt: "%tos",
    filter: ["src tos", "tos"],
    ie: [5],
    doc: "type of service at ingress",
  }),
  c({
    name: "dstTos",
    type: "u8",
    json: "dst_tos",
    csv: "dstTos",
    fmt: "%dtos",
    filter: ["dst tos"],
    ie: [55],
    doc: "type of service at egress",
  }),
  c({
    name: "fwdStatus",
    type: "u8",
    json: "fwd_status",
    csv: "fwdStatus",
    fmt: "%fwd",
    filter: ["fwdstat"],
    ie: [89],
    doc: "forwarding status",
  }),
  c({
    name: "direction",
    type: "u8",
    json: "direction",
    csv: "direction",
    fmt: "%dir",
    filter: ["flowdir"],
    ie: [61],
    doc: "flow direction: 0 ingress, 1 egress",
  }),
  c({
    name: "biflowDirection",
    type: "u8",
    json: "bi_direction",
    csv: "biDirection",
    fmt: "%bfd",
    filter: [],
    ie: [239],
    doc: "RFC 5103 biflow direction",
  }),
  c({
    name: "flowEndReason",
    type: "u8",
    json: "end_reason",
    csv: "endReason",
    fmt: "%end",
    filter: [],
    ie: [136],
    doc: "flow end reason",
  }),
  c({
    name: "icmpType",
    type: "u8",
    json: "icmp_type",
    csv: "icmpType",
    fmt: "%it",
    filter: ["icmp-type", "icmp type"],
    ie: [176, 178],
    doc: "ICMP type",
  }),
  c({
    name: "icmpCode",
    type: "u8",
    json: "icmp_code",
    csv: "icmpCode",
    fmt: "%ic",
    filter: ["icmp-code", "icmp code"],
    ie: [177, 179],
    doc: "ICMP code",
  }),
  c({
    name: "ipMinTtl",
    type: "u8",
    json: "ip_minttl",
    csv: "minTTL",
    fmt: "%minttl",
    filter: ["ttl"],
    ie: [52],
    doc: "minimum TTL seen",
  }),
  c({
    name: "ipMaxTtl",
    type: "u8",
    json: "ip_maxttl",
    csv: "maxTTL",
    fmt: "%maxttl",
    filter: ["ttl"],
    ie: [53],
    doc: "maximum TTL seen",
  }),
  // ── counters ────────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "inPackets",
    type: "f64",
    json: "in_packets",
    csv: "packets",
    fmt: "%ipkt",
    filter: ["packets"],
    ie: [2, 86],
    doc: "packets (sampled flows scaled at ingest)",
  }),
  c({
    name: "inBytes",
    type: "f64",
    json: "in_bytes",
    csv: "bytes",
    fmt: "%ibyt",
    filter: ["bytes"],
    ie: [1, 85],
    doc: "bytes (sampled flows scaled at ingest)",
  }),
  c({
    name: "outPackets",
    type: "f64",
    json: "out_packets",
    csv: "outPackets",
    fmt: "%opkt",
    filter: ["out packets"],
    ie: [24, 87],
    doc: "packets in the reverse or egress direction",
  }),
  c({
    name: "outBytes",
    type: "f64",
    json: "out_bytes",
    csv: "outBytes",
    fmt: "%obyt",
    filter: ["out bytes"],
    ie: [23, 88],
    doc: "bytes in the reverse or egress direction",
  }),
  c({
    name: "flows",
    type: "f64",
    json: "aggr_flows",
    csv: "flows",
    fmt: "%fl",
    filter: ["flows"],
    ie: [3],
    doc: "number of flows this record stands for (1 unless aggregated)",
  }),
  // ── routing ─────────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "srcAs",
    type: "u32",
    json: "src_as",
    csv: "srcAS",
    fmt: "%sas",
    filter: ["src as"],
    ie: [16],
    doc: "source AS",
  }),
  c({
    name: "dstAs",
    type: "u32",
    json: "dst_as",
    csv: "dstAS",
    fmt: "%das",
    filter: ["dst as"],
    ie: [17],
    doc: "destination AS",
  }),
  c({
    name: "nextAs",
    type: "u32",
    json: "next_as",
    csv: "nextAS",
    fmt: "%nas",
    filter: ["next as"],
    ie: [128],
    doc: "next adjacent AS",
  }),
  c({
    name: "prevAs",
    type: "u32",
    json: "prev_as",
    csv: "prevAS",
    fmt: "%pas",
    filter: ["prev as"],
    ie: [129],
    doc: "previous adjacent AS",
  }),
  c({
    name: "input",
    type: "u32",
    json: "input_snmp",
    csv: "input",
    fmt: "%in",
    filter: ["in if"],
    ie: [10, 252],
    doc: "ingress interface index",
  }),
  c({
    name: "output",
    type: "u32",
    json: "output_snmp",
    csv: "output",
    fmt: "%out",
    filter: ["out if"],
    ie: [14, 253],
    doc: "egress interface index",
  }),
  c({
    name: "srcMask",
    type: "u8",
    json: "src_mask",
    csv: "srcMask",
    fmt: "%smk",
    filter: ["src mask"],
    ie: [9, 29],
    doc: "source prefix length",
  }),
  c({
    name: "dstMask",
    type: "u8",
    json: "dst_mask",
    csv: "dstMask",
    fmt: "%dmk",
    filter: ["dst mask"],
    ie: [13, 30],
    doc: "destination prefix length",
  }),
  c({
    name: "nextHop",
    type: "addr",
    v6bit: 2,
    json: "ip4_next_hop",
    json6: "ip6_next_hop",
    csv: "nextIP",
    fmt: "%nh",
    filter: ["next ip"],
    ie: [15, 62],
    doc: "IP next hop",
  }),
  c({
    name: "bgpNextHop",
    type: "addr",
    v6bit: 3,
    json: "bgp4_next_hop",
    json6: "bgp6_next_hop",
    csv: "bgpNextIP",
    fmt: "%nhb",
    filter: ["bgp next ip"],
    ie: [18, 63],
    doc: "BGP next hop",
  }),
  c({
    name: "ingressVrf",
    type: "u32",
    json: "ingress_vrf",
    csv: "ingressVrf",
    fmt: "%ivrf",
    filter: ["ingress vrf"],
    ie: [234],
    doc: "ingress VRF id",
  }),
  c({
    name: "egressVrf",
    type: "u32",
    json: "egress_vrf",
    csv: "egressVrf",
    fmt: "%evrf",
    filter: ["egress vrf"],
    ie: [235],
    doc: "egress VRF id",
  }),
  // ── exporter ────────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "exporterAddr",
    type: "addr",
    v6bit: 4,
    json: "ip4_router",
    json6: "ip6_router",
    csv: "routerIP",
    fmt: "%ra",
    filter: ["router ip"],
    ie: [130, 131],
    doc: "address of the exporter that sent the record",
  }),
  c({
    name: "exporterId",
    type: "u32",
    json: "export_sysid",
    csv: "exporterID",
    fmt: "%exp",
    filter: ["exporter"],
    ie: [],
    doc: "collector-assigned exporter id (nfdump SysID), unique per (address, domain) within a file",
  }),
  c({
    name: "observationDomain",
    type: "u32",
    json: "observation_domain_id",
    csv: "obsDomainID",
    fmt: "%odid",
    filter: ["odid"],
    ie: [149],
    doc: "IPFIX observation domain / NetFlow v9 source id / sFlow source id",
  }),
  c({
    name: "engineType",
    type: "u8",
    json: "engine_type",
    csv: "engineType",
    fmt: "%eng",
    filter: ["engine-type", "engine type"],
    ie: [38],
    doc: "engine type (v5 header or element 38)",
  }),
  c({
    name: "engineId",
    type: "u8",
    json: "engine_id",
    csv: "engineID",
    fmt: "%eng",
    filter: ["engine-id", "engine id"],
    ie: [39],
    doc: "engine id (v5 header or element 39)",
  }),
  c({
    name: "nfVersion",
    type: "u8",
    json: "nf_version",
    csv: "nfVersion",
    fmt: "%nfv",
    filter: [],
    ie: [],
    doc: "export protocol: 1, 5, 7, 9, 10 (IPFIX) or 133 (sFlow v5)",
  }),
  c({
    name: "samplingInterval",
    type: "u32",
    json: "sampled",
    csv: "sampling",
    fmt: "%sr",
    filter: ["sampler"],
    ie: [34, 50, 305],
    doc: "sampling interval applied at ingest (1 = unsampled; 0 = not known)",
  }),
  c({
    name: "samplingSource",
    type: "u8",
    json: "sampling_source",
    csv: "samplingSource",
    fmt: "%ss",
    filter: [],
    ie: [],
    doc: "where the interval came from: 0 none, 1 header, 2 options record, 3 data field, 4 -s default, 5 -s override",
  }),
  c({
    name: "elements",
    type: "u32",
    json: "elements",
    csv: "elements",
    fmt: "%elm",
    filter: [],
    ie: [],
    doc: "the nfdump V3 elements (extensions) the record carries, as nfcapd would store it: bit k for element id k (1–30), bit 31 for element 36 (vrf); 0 = not known. JSON prints an element's keys only when its bit is set, as nfdump does",
  }),
  // ── layer 2 ─────────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "srcVlan",
    type: "u16",
    json: "src_vlan",
    csv: "srcVlan",
    fmt: "%svln",
    filter: ["src vlan"],
    ie: [58, 243],
    doc: "source VLAN",
  }),
  c({
    name: "dstVlan",
    type: "u16",
    json: "dst_vlan",
    csv: "dstVlan",
    fmt: "%dvln",
    filter: ["dst vlan"],
    ie: [59, 254],
    doc: "destination VLAN",
  }),
  c({
    name: "inSrcMac",
    type: "mac",
    json: "in_src_mac",
    csv: "inSrcMac",
    fmt: "%ismc",
    filter: ["in src mac"],
    ie: [56],
    doc: "ingress source MAC",
  }),
  c({
    name: "outDstMac",
    type: "mac",
    json: "out_dst_mac",
    csv: "outDstMac",
    fmt: "%odmc",
    filter: ["out dst mac"],
    ie: [57],
    doc: "egress destination MAC",
  }),
  c({
    name: "inDstMac",
    type: "mac",
    json: "in_dst_mac",
    csv: "inDstMac",
    fmt: "%idmc",
    filter: ["in dst mac"],
    ie: [80],
    doc: "ingress destination MAC",
  }),
  c({
    name: "outSrcMac",
    type: "mac",
    json: "out_src_mac",
    csv: "outSrcMac",
    fmt: "%osmc",
    filter: ["out src mac"],
    ie: [81],
    doc: "egress source MAC",
  }),
  c({
    name: "mpls1",
    type: "u32",
    json: "mpls_1",
    csv: "mpls1",
    fmt: "%mpls1",
    filter: ["mpls label1"],
    ie: [70],
    doc: "MPLS label 1: label<<4 | exp<<1 | bottom-of-stack (the 3 wire bytes)",
  }),
  c({
    name: "mpls2",
    type: "u32",
    json: "mpls_2",
    csv: "mpls2",
    fmt: "%mpls2",
    filter: ["mpls label2"],
    ie: [71],
    doc: "MPLS label 2",
  }),
  c({
    name: "mpls3",
    type: "u32",
    json: "mpls_3",
    csv: "mpls3",
    fmt: "%mpls3",
    filter: ["mpls label3"],
    ie: [72],
    doc: "MPLS label 3",
  }),
  c({
    name: "mpls4",
    type: "u32",
    json: "mpls_4",
    csv: "mpls4",
    fmt: "%mpls4",
    filter: ["mpls label4"],
    ie: [73],
    doc: "MPLS label 4",
  }),
  c({
    name: "mpls5",
    type: "u32",
    json: "mpls_5",
    csv: "mpls5",
    fmt: "%mpls5",
    filter: ["mpls label5"],
    ie: [74],
    doc: "MPLS label 5",
  }),
  c({
    name: "mpls6",
    type: "u32",
    json: "mpls_6",
    csv: "mpls6",
    fmt: "%mpls6",
    filter: ["mpls label6"],
    ie: [75],
    doc: "MPLS label 6",
  }),
  c({
    name: "mpls7",
    type: "u32",
    json: "mpls_7",
    csv: "mpls7",
    fmt: "%mpls7",
    filter: ["mpls label7"],
    ie: [76],
    doc: "MPLS label 7",
  }),
  c({
    name: "mpls8",
    type: "u32",
    json: "mpls_8",
    csv: "mpls8",
    fmt: "%mpls8",
    filter: ["mpls label8"],
    ie: [77],
    doc: "MPLS label 8",
  }),
  c({
    name: "mpls9",
    type: "u32",
    json: "mpls_9",
    csv: "mpls9",
    fmt: "%mpls9",
    filter: ["mpls label9"],
    ie: [78],
    doc: "MPLS label 9",
  }),
  c({
    name: "mpls10",
    type: "u32",
    json: "mpls_10",
    csv: "mpls10",
    fmt: "%mpls10",
    filter: ["mpls label10"],
    ie: [79],
    doc: "MPLS label 10",
  }),
  // ── NAT / NSEL ──────────────────────────────────────────────────────────────────────────────────────
  c({
    name: "natEvent",
    type: "u8",
    json: "nat_event",
    csv: "natEvent",
    fmt: "%nevt",
    filter: ["nat event"],
    ie: [230],
    doc: "NAT event",
  }),
  c({
    name: "fwEvent",
    type: "u8",
    json: "event",
    csv: "event",
    fmt: "%evt",
    filter: ["asa event"],
    ie: [233],
    doc: "firewall event (NSEL)",
  }),
  c({
    name: "fwXEvent",
    type: "u16",
    json: "xevent_id",
    csv: "xevent",
    fmt: "%xevt",
    filter: ["asa xevent"],
    ie: [],
    doc: "extended firewall event (Cisco 33002)",
  }),
  c({
    name: "msecEvent",
    type: "f64",
    json: "t_event",
    csv: "eventTime",
    fmt: "%tevt",
    filter: [],
    ie: [323],
    doc: "event time, ms since the Unix epoch",
  }),
  c({
    name: "xlateSrcAddr",
    type: "addr",
    v6bit: 5,
    json: "src4_xlt_ip",
    json6: "src6_xlt_ip",
    csv: "xlateSrcAddr",
    fmt: "%xsa",
    filter: ["src nip", "xsrc ip"],
    ie: [225, 281],
    doc: "post-NAT source address",
  }),
  c({
    name: "xlateDstAddr",
    type: "addr",
    v6bit: 6,
    json: "dst4_xlt_ip",
    json6: "dst6_xlt_ip",
    csv: "xlateDstAddr",
    fmt: "%xda",
    filter: ["dst nip", "xdst ip"],
    ie: [226, 282],
    doc: "post-NAT destination address",
  }),
  c({
    name: "xlateSrcPort",
    type: "u16",
    json: "src_xlt_port",
    csv: "xlateSrcPort",
    fmt: "%xsp",
    filter: ["src nport", "xsrc port"],
    ie: [227],
    doc: "post-NAPT source port",
  }),
  c({
    name: "xlateDstPort",
    type: "u16",
    json: "dst_xlt_port",
    csv: "xlateDstPort",
    fmt: "%xdp",
    filter: ["dst nport", "xdst port"],
    ie: [228],
    doc: "post-NAPT destination port",
  }),
  c({
    name: "natPoolId",
    type: "u32",
    json: "nat_pool_id",
    csv: "natPoolID",
    fmt: "%npid",
    filter: [],
    ie: [283],
    doc: "NAT pool id",
  }),
  c({
    name: "pbStart",
    type: "u16",
    json: "pblock_start",
    csv: "pbStart",
    fmt: "%pbstart",
    filter: ["pblock start"],
    ie: [361],
    doc: "port block start",
  }),
  c({
    name: "pbEnd",
    type: "u16",
    json: "pblock_end",
    csv: "pbEnd",
    fmt: "%pbend",
    filter: ["pblock end"],
    ie: [362],
    doc: "port block end",
  }),
  c({
    name: "pbStep",
    type: "u16",
    json: "pblock_step",
    csv: "pbStep",
    fmt: "%pbstep",
    filter: [],
    ie: [363],
    doc: "port block step",
  }),
  c({
    name: "pbSize",
    type: "u16",
    json: "pblock_size",
    csv: "pbSize",
    fmt: "%pbsize",
    filter: [],
    ie: [364],
    doc: "port block size",
  }),
] as const satisfies readonly ColumnDef[];

export type Column = (typeof SCHEMA)[number];
export type ColumnName = Column["name"];
export type ColumnOfType<T extends StorageType> = Extract<Column, { type: T }>["name"];
export type AddrColumnName = ColumnOfType<"addr">;

/** Column definitions by name. */
export const COLUMN: { readonly [K in ColumnName]: Extract<Column, { name: K }> } = Object.fromEntries(
  SCHEMA.map((col) => [col.name, col]),
) as never;

export const COLUMN_NAMES: readonly ColumnName[] = SCHEMA.map((col) => col.name);

export const ADDR_COLUMNS: readonly AddrColumnName[] = SCHEMA.filter((col) => col.type === "addr").map(
  (col) => col.name,
);

/** The bit of `v6Flags` set when the row's value of an addr column is IPv6. */
export const V6_BIT: { readonly [K in AddrColumnName]: number } = Object.fromEntries(
  SCHEMA.filter((col) => col.type === "addr").map((col) => [col.name, 1 << (col as { v6bit: number }).v6bit]),
) as never;

// ── physical columns ───────────────────────────────────────────────────────────────────────────────────
// What RecordBatch holds and the file format stores: each logical column expanded to typed arrays.

export type ArrayType = "u8" | "u16" | "u32" | "f64";

export interface PhysicalColumn {
  /** Array name in RecordBatch.cols and in files: the column name, `<addr>6` for IPv6 words, or `v6Flags`. */
  readonly name: string;
  readonly array: ArrayType;
  /** Elements per row: 4 for the IPv6 words of an addr column, else 1. */
  readonly width: 1 | 4;
  /** The logical column it belongs to (`v6Flags` belongs to every addr column, listed as itself). */
  readonly column: string;
}

function physicalOf(col: ColumnDef): PhysicalColumn[] {
  if (col.type === "addr") {
    return [
      { name: col.name, array: "u32", width: 1, column: col.name },
      { name: `${col.name}6`, array: "u32", width: 4, column: col.name },
    ];
  }
  return [{ name: col.name, array: col.type === "mac" ? "f64" : col.type, width: 1, column: col.name }];
}

export const PHYSICAL_COLUMNS: readonly PhysicalColumn[] = [
  ...SCHEMA.flatMap((col) => physicalOf(col)),
  { name: "v6Flags", array: "u8", width: 1, column: "v6Flags" },
  // exact companions of the u64 counters (record/u64.ts): all zero unless a value reaches 2^53
  ...EXACT_COUNTERS.map((c): PhysicalColumn => ({ name: fixName(c), array: "u32", width: 1, column: c })),
];

type ArrayOf<T extends StorageType> = T extends "u8"
  ? Uint8Array
  : T extends "u16"
    ? Uint16Array
    : T extends "u32" | "addr"
      ? Uint32Array
      : Float64Array;

/** The typed arrays of a batch, one per physical column. */
export type ColumnArrays = { [K in Column as K["name"]]: ArrayOf<K["type"]> } & {
  [K in AddrColumnName as `${K}6`]: Uint32Array;
} & { v6Flags: Uint8Array } & { [K in FixName]: Uint32Array };

export type PhysicalName = keyof ColumnArrays;

export const ARRAY_BYTES: { readonly [T in ArrayType]: number } = { u8: 1, u16: 2, u32: 4, f64: 8 };

export function newArray(type: ArrayType, length: number): Uint8Array | Uint16Array | Uint32Array | Float64Array {
  switch (type) {
    case "u8":
      return new Uint8Array(length);
    case "u16":
      return new Uint16Array(length);
    case "u32":
      return new Uint32Array(length);
    case "f64":
      return new Float64Array(length);
  }
}

/** Protocol classes of the statistics record (nfdump's tcp/udp/icmp/other split). */
export const PROTO_CLASS = { tcp: 0, udp: 1, icmp: 2, other: 3 } as const;
export function protoClass(proto: number): 0 | 1 | 2 | 3 {
  if (proto === 6) return 0;
  if (proto === 17) return 1;
  if (proto === 1 || proto === 58) return 2;
  return 3;
}
