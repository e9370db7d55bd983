// SPDX-License-Identifier: BSD-3-Clause
// IPFIX information element / NetFlow v9 field type → how the decoder stores it.
//
// One row per element we understand (IANA names kept for grep). Anything not listed here is kept raw in the
// batch's extra heap (enterprise number, element id, bytes), except padding. The per-id conversion lives here,
// not in the schema's `ie` lists (those are documentation for tsdump); where they differ this table wins —
// e.g. the post-total counters are 171/172 (RFC 7012), not 87/88.

import type { ColumnName } from "../record/schema.js";

/** How a field is stored. */
export const FieldKind = {
  /** Unsigned integer (1..8 bytes) into an integer or f64 column (integer columns keep the low bits). */
  INT: 1,
  /** 4-byte IPv4 address into an addr column. */
  ADDR4: 2,
  /** 16-byte IPv6 address into an addr column. */
  ADDR6: 3,
  /** 6-byte MAC into a mac column. */
  MAC: 4,
  /** 3-byte MPLS label stack entry into an mplsN column. */
  MPLS: 5,
  /** icmpTypeCodeIPv4/IPv6: 2 bytes, type and code. */
  ICMP_TYPECODE: 6,
  /** A value the record finisher needs (times, sampling): stored in a scratch slot. */
  SLOT: 7,
  /** Consumed and dropped (padding, values implied by others). */
  SKIP: 8,
  /** First byte into a u8 column (forwardingStatus: v9 1 byte, IPFIX unsigned32 with the status in the top byte). */
  FIRST_BYTE: 9,
} as const;
export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

/** Scratch slots of one record (a Float64Array reused for every record). */
export const Slot = {
  /** flowStartSysUpTime (22) / flowEndSysUpTime (21): ms since the exporter booted. */
  FIRST_UP: 0,
  LAST_UP: 1,
  /** Absolute ms since the epoch, converted by the generated reader from seconds / ms / NTP µs / NTP ns. */
  FIRST_ABS: 2,
  LAST_ABS: 3,
  /** flowStartDeltaMicroseconds (158) / flowEndDeltaMicroseconds (159): µs before the export time. */
  FIRST_DELTA: 4,
  LAST_DELTA: 5,
  /** systemInitTimeMilliseconds (160). */
  SYSINIT: 6,
  /** flowDurationMilliseconds (161) / flowDurationMicroseconds (162, converted to ms). */
  DURATION: 7,
  /** samplerId (48) / selectorId (302). */
  SAMPLER_ID: 8,
  /** samplingInterval (34) / samplerRandomInterval (50) / samplingPacketInterval (305). */
  INTERVAL: 9,
  /** samplingPacketSpace (306). */
  SPACE: 10,
  /** samplingAlgorithm (35) / samplerMode (49) / selectorAlgorithm (304). */
  ALGORITHM: 11,
} as const;
export const SLOT_COUNT = 12;

/** The plan's presence bit for a slot. */
export const slotBit = (slot: number): number => 1 << slot;

export interface FieldSpec {
  readonly kind: FieldKind;
  /** Target column (INT, ADDR4, ADDR6, MAC, MPLS, FIRST_BYTE). */
  readonly column?: ColumnName;
  /** Target slot (SLOT). */
  readonly slot?: number;
  /** How a SLOT value is converted: "int" (as is), "sec" (×1000), "ntp" (NTP 64-bit → ms), "us" (÷1000). */
  readonly conv?: "int" | "sec" | "ntp" | "us";
  /** IANA name, for grep and for tsdump's raw element printer. */
  readonly name: string;
}

const col = (name: string, column: ColumnName): FieldSpec => ({ kind: FieldKind.INT, column, name });
const a4 = (name: string, column: ColumnName): FieldSpec => ({ kind: FieldKind.ADDR4, column, name });
const a6 = (name: string, column: ColumnName): FieldSpec => ({ kind: FieldKind.ADDR6, column, name });
const mac = (name: string, column: ColumnName): FieldSpec => ({ kind: FieldKind.MAC, column, name });
const slot = (name: string, s: number, conv: FieldSpec["conv"] = "int"): FieldSpec => ({
  kind: FieldKind.SLOT,
  slot: s,
  conv,
  name,
});
const skip = (name: string): FieldSpec => ({ kind: FieldKind.SKIP, name });

/** IANA elements (enterprise 0) and NetFlow v9 field types. */
export const IANA_FIELDS: ReadonlyMap<number, FieldSpec> = new Map<number, FieldSpec>([
  [1, col("octetDeltaCount", "inBytes")],
  [2, col("packetDeltaCount", "inPackets")],
  [3, col("deltaFlowCount", "flows")],
  [4, col("protocolIdentifier", "proto")],
  [5, col("ipClassOfService", "srcTos")],
  [6, col("tcpControlBits", "tcpFlags")],
  [7, col("sourceTransportPort", "srcPort")],
  [8, a4("sourceIPv4Address", "srcAddr")],
  [9, col("sourceIPv4PrefixLength", "srcMask")],
  [10, col("ingressInterface", "input")],
  [11, col("destinationTransportPort", "dstPort")],
  [12, a4("destinationIPv4Address", "dstAddr")],
  [13, col("destinationIPv4PrefixLength", "dstMask")],
  [14, col("egressInterface", "output")],
  [15, a4("ipNextHopIPv4Address", "nextHop")],
  [16, col("bgpSourceAsNumber", "srcAs")],
  [17, col("bgpDestinationAsNumber", "dstAs")],
  [18, a4("bgpNextHopIPv4Address", "bgpNextHop")],
  [21, slot("flowEndSysUpTime", Slot.LAST_UP)],
  [22, slot("flowStartSysUpTime", Slot.FIRST_UP)],
  [23, col("postOctetDeltaCount", "outBytes")],
  [24, col("postPacketDeltaCount", "outPackets")],
  [27, a6("sourceIPv6Address", "srcAddr")],
  [28, a6("destinationIPv6Address", "dstAddr")],
  [29, col("sourceIPv6PrefixLength", "srcMask")],
  [30, col("destinationIPv6PrefixLength", "dstMask")],
  [32, { kind: FieldKind.ICMP_TYPECODE, name: "icmpTypeCodeIPv4" }],
  [34, slot("samplingInterval", Slot.INTERVAL)],
  [35, slot("samplingAlgorithm", Slot.ALGORITHM)],
  [38, col("engineType", "engineType")],
  [39, col("engineId", "engineId")],
  [48, slot("samplerId", Slot.SAMPLER_ID)],
  [49, slot("samplerMode", Slot.ALGORITHM)],
  [50, slot("samplerRandomInterval", Slot.INTERVAL)],
  [52, col("minimumTTL", "ipMinTtl")],
  [53, col("maximumTTL", "ipMaxTtl")],
  [55, col("postIpClassOfService", "dstTos")],
  [56, mac("sourceMacAddress", "inSrcMac")],
  [57, mac("postDestinationMacAddress", "outDstMac")],
  [58, col("vlanId", "srcVlan")],
  [59, col("postVlanId", "dstVlan")],
  [61, col("flowDirection", "direction")],
  [62, a6("ipNextHopIPv6Address", "nextHop")],
  [63, a6("bgpNextHopIPv6Address", "bgpNextHop")],
  [70, { kind: FieldKind.MPLS, column: "mpls1", name: "mplsTopLabelStackSection" }],
  [71, { kind: FieldKind.MPLS, column: "mpls2", name: "mplsLabelStackSection2" }],
  [72, { kind: FieldKind.MPLS, column: "mpls3", name: "mplsLabelStackSection3" }],
  [73, { kind: FieldKind.MPLS, column: "mpls4", name: "mplsLabelStackSection4" }],
  [74, { kind: FieldKind.MPLS, column: "mpls5", name: "mplsLabelStackSection5" }],
  [75, { kind: FieldKind.MPLS, column: "mpls6", name: "mplsLabelStackSection6" }],
  [76, { kind: FieldKind.MPLS, column: "mpls7", name: "mplsLabelStackSection7" }],
  [77, { kind: FieldKind.MPLS, column: "mpls8", name: "mplsLabelStackSection8" }],
  [78, { kind: FieldKind.MPLS, column: "mpls9", name: "mplsLabelStackSection9" }],
  [79, { kind: FieldKind.MPLS, column: "mpls10", name: "mplsLabelStackSection10" }],
  [80, mac("destinationMacAddress", "inDstMac")],
  [81, mac("postSourceMacAddress", "outSrcMac")],
  [85, col("octetTotalCount", "inBytes")],
  [86, col("packetTotalCount", "inPackets")],
  [89, { kind: FieldKind.FIRST_BYTE, column: "fwdStatus", name: "forwardingStatus" }],
  [128, col("bgpNextAdjacentAsNumber", "nextAs")],
  [129, col("bgpPrevAdjacentAsNumber", "prevAs")],
  [136, col("flowEndReason", "flowEndReason")],
  [139, { kind: FieldKind.ICMP_TYPECODE, name: "icmpTypeCodeIPv6" }],
  [150, slot("flowStartSeconds", Slot.FIRST_ABS, "sec")],
  [151, slot("flowEndSeconds", Slot.LAST_ABS, "sec")],
  [152, slot("flowStartMilliseconds", Slot.FIRST_ABS)],
  [153, slot("flowEndMilliseconds", Slot.LAST_ABS)],
  [154, slot("flowStartMicroseconds", Slot.FIRST_ABS, "ntp")],
  [155, slot("flowEndMicroseconds", Slot.LAST_ABS, "ntp")],
  [156, slot("flowStartNanoseconds", Slot.FIRST_ABS, "ntp")],
  [157, slot("flowEndNanoseconds", Slot.LAST_ABS, "ntp")],
  [158, slot("flowStartDeltaMicroseconds", Slot.FIRST_DELTA)],
  [159, slot("flowEndDeltaMicroseconds", Slot.LAST_DELTA)],
  [160, slot("systemInitTimeMilliseconds", Slot.SYSINIT)],
  [161, slot("flowDurationMilliseconds", Slot.DURATION)],
  [162, slot("flowDurationMicroseconds", Slot.DURATION, "us")],
  [171, col("postOctetTotalCount", "outBytes")],
  [172, col("postPacketTotalCount", "outPackets")],
  [176, col("icmpTypeIPv4", "icmpType")],
  [177, col("icmpCodeIPv4", "icmpCode")],
  [178, col("icmpTypeIPv6", "icmpType")],
  [179, col("icmpCodeIPv6", "icmpCode")],
  [180, col("udpSourcePort", "srcPort")],
  [181, col("udpDestinationPort", "dstPort")],
  [182, col("tcpSourcePort", "srcPort")],
  [183, col("tcpDestinationPort", "dstPort")],
  [210, skip("paddingOctets")],
  [225, a4("postNATSourceIPv4Address", "xlateSrcAddr")],
  [226, a4("postNATDestinationIPv4Address", "xlateDstAddr")],
  [227, col("postNAPTSourceTransportPort", "xlateSrcPort")],
  [228, col("postNAPTDestinationTransportPort", "xlateDstPort")],
  [230, col("natEvent", "natEvent")],
  [231, col("initiatorOctets", "inBytes")],
  [232, col("responderOctets", "outBytes")],
  [233, col("firewallEvent", "fwEvent")],
  [234, col("ingressVRFID", "ingressVrf")],
  [235, col("egressVRFID", "egressVrf")],
  [239, col("biflowDirection", "biflowDirection")],
  [243, col("dot1qVlanId", "srcVlan")],
  [252, col("ingressPhysicalInterface", "input")],
  [253, col("egressPhysicalInterface", "output")],
  [254, col("postDot1qVlanId", "dstVlan")],
  [281, a6("postNATSourceIPv6Address", "xlateSrcAddr")],
  [282, a6("postNATDestinationIPv6Address", "xlateDstAddr")],
  [283, col("natPoolId", "natPoolId")],
  [298, col("initiatorPackets", "inPackets")],
  [299, col("responderPackets", "outPackets")],
  [302, slot("selectorId", Slot.SAMPLER_ID)],
  [304, slot("selectorAlgorithm", Slot.ALGORITHM)],
  [305, slot("samplingPacketInterval", Slot.INTERVAL)],
  [306, slot("samplingPacketSpace", Slot.SPACE)],
  [323, col("observationTimeMilliseconds", "msecEvent")],
  [361, col("portRangeStart", "pbStart")],
  [362, col("portRangeEnd", "pbEnd")],
  [363, col("portRangeStepSize", "pbStep")],
  [364, col("portRangeNumPorts", "pbSize")],
  // Cisco NSEL (ASA) NetFlow v9 field types above 32767 (v9 has no enterprise bit).
  [33002, col("NF_F_FW_EXT_EVENT", "fwXEvent")],
  [40001, a4("NF_F_XLATE_SRC_ADDR_IPV4", "xlateSrcAddr")],
  [40002, a4("NF_F_XLATE_DST_ADDR_IPV4", "xlateDstAddr")],
  [40003, col("NF_F_XLATE_SRC_PORT", "xlateSrcPort")],
  [40004, col("NF_F_XLATE_DST_PORT", "xlateDstPort")],
  [40005, col("NF_F_FW_EVENT", "fwEvent")],
]);

/** RFC 5103 reverse information elements (PEN 29305): the reverse counters feed the out* columns. */
export const REVERSE_PEN = 29305;
export const REVERSE_FIELDS: ReadonlyMap<number, FieldSpec> = new Map<number, FieldSpec>([
  [1, col("reverseOctetDeltaCount", "outBytes")],
  [2, col("reversePacketDeltaCount", "outPackets")],
  [85, col("reverseOctetTotalCount", "outBytes")],
  [86, col("reversePacketTotalCount", "outPackets")],
  [210, skip("reversePaddingOctets")],
]);

/** The spec of (enterprise, element id), or undefined when the element is kept raw. */
export function fieldSpec(enterprise: number, id: number): FieldSpec | undefined {
  if (enterprise === 0) return IANA_FIELDS.get(id);
  if (enterprise === REVERSE_PEN) return REVERSE_FIELDS.get(id);
  return undefined;
}
