// SPDX-License-Identifier: BSD-3-Clause
// Export datagrams built in the tests for behaviour no redistributable capture covers: an IPFIX exporter with
// MPLS label stacks, VLANs, MACs and direction (IPv4 and IPv6 templates), and NetFlow v9 exporters announcing
// sampling through options records. Deterministic: the same bytes every run, so nfcapd stores the same flows.

import {
  be,
  be64,
  cat,
  ip4,
  ip6,
  ipfix,
  mac,
  optionsTemplate,
  set,
  templates,
  v9,
  type Field,
} from "../unit/decode/build.js";

/** Export time of the crafted datagrams (2023-11-14 22:13:20 UTC). */
export const CRAFTED_EXPORT_SECS = 1_700_000_000;

/** MPLS label stack entry as exported (3 bytes): label << 4 | exp << 1 | bottom-of-stack. */
function mplsEntry(label: number, exp: number, bos: number): Uint8Array {
  return be(label * 16 + exp * 2 + bos, 3);
}

const L2_MPLS_TAIL: readonly Field[] = [
  [7, 2], // sourceTransportPort
  [11, 2], // destinationTransportPort
  [4, 1], // protocolIdentifier
  [6, 1], // tcpControlBits
  [5, 1], // ipClassOfService
  [2, 8], // packetDeltaCount
  [1, 8], // octetDeltaCount
  [152, 8], // flowStartMilliseconds
  [153, 8], // flowEndMilliseconds
  [10, 4], // ingressInterface
  [14, 4], // egressInterface
  [58, 2], // vlanId
  [59, 2], // postVlanId
  [56, 6], // sourceMacAddress
  [80, 6], // destinationMacAddress
  [81, 6], // postSourceMacAddress
  [57, 6], // postDestinationMacAddress
  [61, 1], // flowDirection
  [70, 3], // mplsTopLabelStackSection
  [71, 3], // mplsLabelStackSection2
  [72, 3], // mplsLabelStackSection3
];

/**
 * One IPFIX exporter (observation domain 1): templates 256 (IPv4) and 257 (IPv6) with ports, counters,
 * millisecond times, interfaces, VLANs, four MACs, direction and a three-entry MPLS label stack, then `flows`
 * data records over several datagrams (every fifth flow IPv6). Labels 20004-20006 on top, 524250-524275 below.
 */
export function craftedIpfixL2Mpls(flows = 48): Uint8Array[] {
  const tpl = templates(
    true,
    { id: 256, fields: [[8, 4], [12, 4], ...L2_MPLS_TAIL] },
    { id: 257, fields: [[27, 16], [28, 16], ...L2_MPLS_TAIL] },
  );
  const out: Uint8Array[] = [ipfix({ time: CRAFTED_EXPORT_SECS, seq: 0, domain: 1 }, set(2, tpl))];
  const base = CRAFTED_EXPORT_SECS * 1000 - 120_000;
  const hex = (n: number): string => n.toString(16).padStart(2, "0");
  for (let start = 0; start < flows; start += 12) {
    const v4: Uint8Array[] = [];
    const v6: Uint8Array[] = [];
    for (let i = start; i < Math.min(flows, start + 12); i++) {
      const proto = [17, 6, 6, 17][i % 4]!;
      const packets = 1 + i * 3;
      const tail = cat(
        be(1024 + i * 37, 2),
        be([53, 80, 443, 862][i % 4]!, 2),
        [proto, proto === 6 ? [0x1b, 0x02, 0x12][i % 3]! : 0, (i % 4) * 32],
        be(packets, 8),
        be(packets * (60 + i * 11), 8),
        be(base + i * 1000, 8),
        be(base + i * 1500 + 100, 8),
        be((i % 3) + 1, 4),
        be((i % 2) + 10, 4),
        be(100 + (i % 3), 2),
        be(200 + (i % 2), 2),
        mac(`00:11:22:33:44:${hex(i % 4)}`),
        mac(`66:77:88:99:aa:${hex(i % 3)}`),
        mac(`02:00:00:00:01:${hex(i % 2)}`),
        mac(`02:00:00:00:02:${hex(i % 5)}`),
        [i % 2],
        mplsEntry(20004 + (i % 3), i % 2, 0),
        mplsEntry(524250 + (i % 26), i % 8, i % 2),
        i % 2 === 1 ? mplsEntry(0, 0, 0) : mplsEntry(524275, 0, 1),
      );
      if (i % 5 === 0)
        v6.push(
          cat(ip6(`2001:db8:0:${hex(i % 4)}:0:0:0:${hex(i + 1)}`), ip6(`2001:db8:1:0:0:0:0:${hex((i % 7) + 1)}`), tail),
        );
      else v4.push(cat(ip4(`10.0.${i % 4}.${i + 1}`), ip4(`192.0.2.${(i % 7) + 1}`), tail));
    }
    const sets = [set(256, cat(...v4))];
    if (v6.length > 0) sets.push(set(257, cat(...v6)));
    out.push(ipfix({ time: CRAFTED_EXPORT_SECS, seq: start, domain: 1 }, ...sets));
  }
  return out;
}

const V9_DATA: readonly Field[] = [
  [8, 4], // IPV4_SRC_ADDR
  [12, 4], // IPV4_DST_ADDR
  [7, 2], // L4_SRC_PORT
  [11, 2], // L4_DST_PORT
  [4, 1], // PROTOCOL
  [6, 1], // TCP_FLAGS
  [2, 4], // IN_PKTS
  [1, 4], // IN_BYTES
  [22, 4], // FIRST_SWITCHED
  [21, 4], // LAST_SWITCHED
  [10, 2], // INPUT_SNMP
  [14, 2], // OUTPUT_SNMP
];

function v9Flows(n: number, net: number, uptime: number): Uint8Array {
  const recs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    recs.push(
      cat(
        ip4(`10.${net}.0.${i + 1}`),
        ip4(`198.51.100.${(i % 5) + 1}`),
        be(40000 + i, 2),
        be(i % 2 ? 443 : 53, 2),
        [i % 2 ? 6 : 17, i % 2 ? 0x1b : 0],
        be(2 + i, 4),
        be((2 + i) * 100, 4),
        be(uptime - 60_000 + i * 1000, 4),
        be(uptime - 30_000 + i * 1000, 4),
        be(1, 2),
        be(2, 2),
      ),
    );
  }
  return cat(...recs);
}

/**
 * Two NetFlow v9 exporters announcing sampling in options records (System scope), then flows:
 * source id 1 with a sampler: FLOW_SAMPLER_ID (48) = 1, FLOW_SAMPLER_MODE (49) = 2 (random) and
 * SAMPLING_INTERVAL (34) = 30000 (nfcapd 1.7.1 takes a sampler's interval from 34, not from 50);
 * source id 2 with exporter-wide SAMPLING_INTERVAL (34) = 100 and SAMPLING_ALGORITHM (35) = 2.
 */
export function craftedV9Sampling(): Uint8Array[] {
  const uptime = 3_600_000;
  const hdr = (seq: number, source: number): { uptime: number; secs: number; seq: number; source: number } => ({
    uptime,
    secs: CRAFTED_EXPORT_SECS,
    seq,
    source,
  });
  const system: readonly Field[] = [[1, 4]];
  return [
    // exporter 1: options template 258 (48, 49, 34), its record, data template 256, data
    v9(
      hdr(0, 1),
      set(
        1,
        optionsTemplate(false, 258, system, [
          [48, 2],
          [49, 1],
          [34, 4],
        ]),
        2,
      ),
    ),
    v9(hdr(1, 1), set(258, cat(be(0, 4), be(1, 2), [2], be(30000, 4)), 1)),
    v9(hdr(2, 1), set(0, templates(false, { id: 256, fields: V9_DATA }))),
    v9(hdr(3, 1), set(256, v9Flows(6, 1, uptime))),
    // exporter 2: options template 259 (34, 35), its record, data template 256, data
    v9(
      hdr(0, 2),
      set(
        1,
        optionsTemplate(false, 259, system, [
          [34, 4],
          [35, 1],
        ]),
        2,
      ),
    ),
    v9(hdr(1, 2), set(259, cat(be(0, 4), be(100, 4), [2]), 3)),
    v9(hdr(2, 2), set(0, templates(false, { id: 256, fields: V9_DATA }))),
    v9(hdr(3, 2), set(256, v9Flows(5, 2, uptime))),
  ];
}

/** The u64 counters of craftedIpfixBigCounters, per flow: [packets, bytes]. */
export const BIG_COUNTERS: readonly (readonly [bigint, bigint])[] = [
  [2n ** 64n - 1n, 2n ** 53n + 1n],
  [2n ** 53n + 1n, 2n ** 64n - 1n],
  [5n, 1234n],
];

/**
 * One IPFIX datagram (domain 1, template 256 with 8-byte packetDeltaCount and octetDeltaCount): three TCP flows
 * 10.0.0.{1,2,3} → 192.0.2.1:80 whose counters (BIG_COUNTERS) need all 64 bits: 2^64 − 1 and 2^53 + 1.
 */
export function craftedIpfixBigCounters(): Uint8Array {
  return ipfixU64Flows(BIG_COUNTERS.map(([packets, bytes], i) => [`10.0.0.${i + 1}`, 6, packets, bytes]));
}

/**
 * One IPFIX datagram (domain 1, template 256 with 8-byte packetDeltaCount and octetDeltaCount) of flows
 * [source, protocol, packets, bytes] → 192.0.2.1:80, flow i from port 1000 + i, a second apart, 30 s long.
 */
function ipfixU64Flows(flows: readonly (readonly [string, number, bigint, bigint])[]): Uint8Array {
  const fields: readonly Field[] = [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [2, 8],
    [1, 8],
    [152, 8],
    [153, 8],
  ];
  const base = CRAFTED_EXPORT_SECS * 1000 - 60_000;
  const recs = flows.map(([src, proto, packets, bytes], i) =>
    cat(
      ip4(src),
      ip4("192.0.2.1"),
      be(1000 + i, 2),
      be(80, 2),
      [proto],
      be64(packets),
      be64(bytes),
      be(base + i * 1000, 8),
      be(base + 30_000 + i * 1000, 8),
    ),
  );
  return ipfix(
    { time: CRAFTED_EXPORT_SECS, seq: 1, domain: 1 },
    set(2, templates(true, { id: 256, fields })),
    set(256, cat(...recs)),
  );
}

/**
 * A third NetFlow v9 exporter (source id 3) whose options record announces SAMPLING_INTERVAL (34) = 20,000,000,
 * outside the accepted 1..10,000,000: the rate is refused and its 4 flows are stored unscaled.
 */
export function craftedV9RefusedRate(): Uint8Array[] {
  const uptime = 3_600_000;
  const hdr = (seq: number): { uptime: number; secs: number; seq: number; source: number } => ({
    uptime,
    secs: CRAFTED_EXPORT_SECS,
    seq,
    source: 3,
  });
  return [
    v9(hdr(0), set(1, optionsTemplate(false, 260, [[1, 4]], [[34, 4]]))),
    v9(hdr(1), set(260, cat(be(0, 4), be(20_000_000, 4)))),
    v9(hdr(2), set(0, templates(false, { id: 256, fields: V9_DATA }))),
    v9(hdr(3), set(256, v9Flows(4, 3, uptime))),
  ];
}

/** Flows of craftedIpfixHugeSums: 2^64 − 1 packets and bytes each (so any two of them sum past 2^64). */
export const HUGE_SUM_FLOWS = 6;

/**
 * One IPFIX datagram (domain 1, template 256 with 8-byte counters): HUGE_SUM_FLOWS flows from 10.0.0.1 whose
 * packet and byte counters are 2^64 − 1 (TCP and UDP alternating) and one ordinary flow from 10.0.0.2
 * (5 packets, 1234 bytes): every sum of the file's counters passes 2^64.
 */
export function craftedIpfixHugeSums(): Uint8Array {
  const max = 2n ** 64n - 1n;
  return ipfixU64Flows(
    Array.from({ length: HUGE_SUM_FLOWS + 1 }, (_, i) => {
      const small = i === HUGE_SUM_FLOWS;
      return [small ? "10.0.0.2" : "10.0.0.1", i % 2 === 0 ? 6 : 17, small ? 5n : max, small ? 1234n : max] as const;
    }),
  );
}

/** User names of craftedNselNel's ASA records (the second is empty: nfdump prints `<empty>`). */
export const NSEL_USERS = ["alice", ""] as const;

/**
 * Firewall and NAT event records no redistributable capture has in full: a NetFlow v9 exporter (source id 7) with
 * Cisco ASA NSEL fields (connection id 148, event 233, extended event 33002, event time 323, translated addresses
 * and ports 225–228, ingress/egress ACL ids 33000/33001, user name 40000), and an IPFIX exporter (domain 9) with
 * NAT event logging (natEvent 230, natPoolId 283, translated addresses and ports, event time).
 */
export function craftedNselNel(): Uint8Array[] {
  const t = CRAFTED_EXPORT_SECS * 1000 - 30_000;
  const nsel: readonly Field[] = [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 4], // IN_BYTES
    [2, 4], // IN_PKTS
    [148, 4], // NF_F_CONN_ID
    [233, 1], // NF_F_FW_EVENT
    [33002, 2], // NF_F_FW_EXT_EVENT
    [323, 8], // NF_F_EVENT_TIME_MSEC
    [225, 4],
    [226, 4],
    [227, 2],
    [228, 2],
    [33000, 12], // NF_F_INGRESS_ACL_ID
    [33001, 12], // NF_F_EGRESS_ACL_ID
    [40000, 20], // NF_F_USERNAME
  ];
  const name = (s: string): Uint8Array => {
    const b = new Uint8Array(20);
    for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k);
    return b;
  };
  const asa = NSEL_USERS.map((user, i) =>
    cat(
      ip4(`10.1.0.${i + 1}`),
      ip4("198.51.100.7"),
      be(40000 + i, 2),
      be(443, 2),
      [6],
      be(1500 + i, 4),
      be(3 + i, 4),
      be(0x01020304 + i, 4),
      [i + 1], // CREATE, DELETE
      be(2030 + i, 2),
      be(t + i * 1000, 8),
      ip4("203.0.113.5"),
      ip4("198.51.100.7"),
      be(61000 + i, 2),
      be(443, 2),
      [0x0f, 0x8e, 0x7f, 0xf3, 0xfc, 0x1a, 0x03, 0x0f, 0, 0, 0, i],
      [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78],
      name(user),
    ),
  );
  const nel: readonly Field[] = [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [230, 1], // natEvent
    [225, 4],
    [226, 4],
    [227, 2],
    [228, 2],
    [283, 4], // natPoolId
    [323, 8],
  ];
  const nat = [1, 2].map((ev, i) =>
    cat(
      ip4(`192.168.5.${i + 10}`),
      ip4("192.0.2.80"),
      be(5000 + i, 2),
      be(80, 2),
      [17],
      [ev], // NAT44 session create / delete
      ip4("203.0.113.9"),
      ip4("192.0.2.80"),
      be(1024 + i, 2),
      be(80, 2),
      be(77, 4),
      be(t + 5000 + i * 1000, 8),
    ),
  );
  return [
    v9(
      { uptime: 3_600_000, secs: CRAFTED_EXPORT_SECS, seq: 0, source: 7 },
      set(0, templates(false, { id: 260, fields: nsel })),
    ),
    v9({ uptime: 3_600_000, secs: CRAFTED_EXPORT_SECS, seq: 1, source: 7 }, set(260, cat(...asa))),
    ipfix(
      { time: CRAFTED_EXPORT_SECS, seq: 1, domain: 9 },
      set(2, templates(true, { id: 257, fields: nel })),
      set(257, cat(...nat)),
    ),
  ];
}

/**
 * One IPFIX datagram (8-byte counters) whose rates and sums order differently once wrapped at 2^64, as nfdump's
 * uint64 arithmetic does: 10.0.0.1 has 2^61 packets and bytes (1000 × and 8000 × that wrap to 0: pps and bps 0),
 * 10.0.0.2 2·10^16 packets and 3·10^15 bytes (the products wrap to a smaller rate), 10.0.0.3 10^16 and 10^15
 * (no wrap), and 10.0.0.4 two flows of 2^63 + 20,000 / 80,000 packets and 2^63 + 70,000 / 90,000 bytes whose
 * sums wrap to 100,000 packets and 160,000 bytes. Unwrapped, every pps/bps/packets/bytes order is reversed.
 */
export function craftedIpfixWrappedRates(): Uint8Array {
  const h = 2n ** 63n;
  return ipfixU64Flows([
    ["10.0.0.1", 6, 2n ** 61n, 2n ** 61n],
    ["10.0.0.2", 6, 2n * 10n ** 16n, 3n * 10n ** 15n],
    ["10.0.0.3", 6, 10n ** 16n, 10n ** 15n],
    ["10.0.0.4", 6, h + 20_000n, h + 70_000n],
    ["10.0.0.4", 6, h + 80_000n, h + 90_000n],
  ]);
}
