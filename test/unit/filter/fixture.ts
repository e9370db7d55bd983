// A small hand-built batch for the filter truth tables (nfdump's nftest style): every row differs in the
// fields the filter primitives test, IPv4 and IPv6 mixed.
import { RecordBatch } from "../../../src/record/batch.js";
import { parseIPv4, parseIPv6, parseMac } from "../../../src/record/ip.js";
import type { AddrColumnName, ColumnArrays } from "../../../src/record/schema.js";

type NumericCols = { [K in keyof ColumnArrays]?: number };
export interface RowSpec extends Omit<
  NumericCols,
  AddrColumnName | "inSrcMac" | "outDstMac" | "inDstMac" | "outSrcMac"
> {
  srcAddr?: string;
  dstAddr?: string;
  nextHop?: string;
  bgpNextHop?: string;
  exporterAddr?: string;
  xlateSrcAddr?: string;
  xlateDstAddr?: string;
  inSrcMac?: string;
  outDstMac?: string;
  inDstMac?: string;
  outSrcMac?: string;
}

export function setAddr(batch: RecordBatch, col: AddrColumnName, row: number, text: string): void {
  const v4 = parseIPv4(text);
  if (v4 >= 0) {
    batch.setV4(col, row, v4);
    return;
  }
  const words = new Uint32Array(4);
  if (!parseIPv6(text, words)) throw new Error(`bad address ${text}`);
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  for (let k = 0; k < 4; k++) dv.setUint32(k * 4, words[k]!);
  batch.setV6(col, row, bytes, 0);
}

const ADDRS = ["srcAddr", "dstAddr", "nextHop", "bgpNextHop", "exporterAddr", "xlateSrcAddr", "xlateDstAddr"] as const;
const MACS = ["inSrcMac", "outDstMac", "inDstMac", "outSrcMac"] as const;

export function makeBatch(rows: readonly RowSpec[]): RecordBatch {
  const batch = new RecordBatch(Math.max(1, rows.length));
  for (const spec of rows) {
    const row = batch.addRow();
    batch.cols.flows[row] = 1;
    for (const [k, v] of Object.entries(spec)) {
      if ((ADDRS as readonly string[]).includes(k)) setAddr(batch, k as AddrColumnName, row, v as string);
      else if ((MACS as readonly string[]).includes(k))
        batch.cols[k as (typeof MACS)[number]][row] = parseMac(v as string);
      else (batch.cols as unknown as Record<string, { [i: number]: number }>)[k]![row] = v as number;
    }
  }
  return batch;
}

/** MPLS column value: label<<4 | exp<<1 | bottom-of-stack. */
export const mpls = (label: number, exp: number, bos: 0 | 1): number => ((label << 4) | (exp << 1) | bos) >>> 0;

const T0 = Date.UTC(2024, 6, 11, 9, 15, 0);

export const ROWS: readonly RowSpec[] = [
  // 0: tcp v4 outbound https, SYN+ACK
  {
    proto: 6,
    srcAddr: "10.0.0.1",
    dstAddr: "192.168.1.1",
    srcPort: 1234,
    dstPort: 443,
    tcpFlags: 0x12,
    srcTos: 0,
    dstTos: 4,
    inPackets: 10,
    inBytes: 1500,
    outPackets: 8,
    outBytes: 900,
    msecFirst: T0,
    msecLast: T0 + 1000,
    input: 1,
    output: 2,
    srcAs: 64500,
    dstAs: 64501,
    prevAs: 3320,
    nextAs: 174,
    srcMask: 24,
    dstMask: 16,
    srcVlan: 100,
    dstVlan: 200,
    inSrcMac: "00:11:22:33:44:55",
    outDstMac: "66:77:88:99:aa:bb",
    mpls1: mpls(100, 3, 0),
    mpls2: mpls(200, 0, 1),
    nextHop: "192.0.2.1",
    bgpNextHop: "192.0.2.254",
    exporterAddr: "127.0.0.1",
    engineType: 0,
    engineId: 7,
    exporterId: 1,
    direction: 0,
    fwdStatus: 1,
    nfVersion: 9,
    observationDomain: 99,
    ingressVrf: 10,
    samplingInterval: 1,
    ipMinTtl: 60,
    ipMaxTtl: 64,
  },
  // 1: udp v4 dns answer
  {
    proto: 17,
    srcAddr: "192.168.1.1",
    dstAddr: "10.0.0.1",
    srcPort: 53,
    dstPort: 5353,
    srcTos: 184,
    inPackets: 1,
    inBytes: 80,
    msecFirst: T0 + 5000,
    msecLast: T0 + 5000,
    input: 2,
    output: 1,
    srcMask: 16,
    dstMask: 24,
    dstVlan: 100,
    inDstMac: "00:11:22:33:44:55",
    exporterAddr: "127.0.0.2",
    engineType: 1,
    engineId: 0,
    exporterId: 2,
    direction: 1,
    nfVersion: 5,
    fwdStatus: 16,
    mpls1: mpls(300, 7, 1),
    samplingInterval: 100,
  },
  // 2: icmp echo request v4 (type 8 code 0 in dstPort, as nfdump keeps it)
  {
    proto: 1,
    srcAddr: "10.1.2.3",
    dstAddr: "8.8.8.8",
    dstPort: 0x0800,
    icmpType: 8,
    icmpCode: 0,
    inPackets: 4,
    inBytes: 240,
    msecFirst: T0 + 10_000,
    msecLast: T0 + 13_000,
    srcAs: 64500,
    nextHop: "192.0.2.2",
    exporterAddr: "127.0.0.1",
    exporterId: 1,
  },
  // 3: tcp v6, SYN only, big
  {
    proto: 6,
    srcAddr: "2001:db8::1",
    dstAddr: "2001:db8:1::2",
    srcPort: 80,
    dstPort: 50000,
    tcpFlags: 0x02,
    srcTos: 32,
    inPackets: 2000,
    inBytes: 3_000_000,
    msecFirst: T0 + 60_000,
    msecLast: T0 + 120_000,
    input: 3,
    output: 4,
    srcAs: 15169,
    dstAs: 64501,
    srcMask: 48,
    dstMask: 64,
    nextHop: "2001:db8::fffe",
    exporterAddr: "::1",
    exporterId: 3,
    engineId: 1,
  },
  // 4: udp v6 ntp
  {
    proto: 17,
    srcAddr: "fe80::1",
    dstAddr: "2001:db8::1",
    srcPort: 123,
    dstPort: 123,
    inPackets: 3,
    inBytes: 228,
    msecFirst: T0 + 200_000,
    msecLast: T0 + 200_500,
    input: 1,
    output: 1,
    srcVlan: 300,
    exporterId: 3,
  },
  // 5: tcp v4 FIN+ACK, aggregated, NAT
  {
    proto: 6,
    srcAddr: "172.16.5.4",
    dstAddr: "10.0.0.200",
    srcPort: 40000,
    dstPort: 80,
    tcpFlags: 0x11,
    srcTos: 72,
    dstTos: 72,
    inPackets: 5,
    inBytes: 5000,
    outPackets: 5,
    outBytes: 500,
    flows: 3,
    msecFirst: T0 - 3_600_000,
    msecLast: T0 - 3_599_000,
    input: 10,
    output: 11,
    dstAs: 3320,
    xlateSrcAddr: "203.0.113.9",
    xlateSrcPort: 1024,
    natEvent: 1,
    fwEvent: 2,
    fwXEvent: 1001,
    pbStart: 1000,
    pbEnd: 1999,
    egressVrf: 5,
    outSrcMac: "00:11:22:33:44:55",
  },
  // 6: gre, all-zero / all-ones addresses, nothing else
  {
    proto: 47,
    srcAddr: "0.0.0.0",
    dstAddr: "255.255.255.255",
    inPackets: 1,
    inBytes: 100,
    msecFirst: T0,
    msecLast: T0,
  },
  // 7: icmp6 echo request v6
  {
    proto: 58,
    srcAddr: "::1",
    dstAddr: "ff02::1",
    dstPort: 128 * 256,
    icmpType: 128,
    icmpCode: 0,
    inPackets: 1,
    inBytes: 64,
    msecFirst: T0,
    msecLast: T0 + 1,
    tcpFlags: 0x3f,
  },
];

export const T0_MS = T0;

// §3.5 "valid on both" — every one compiles, or is a known primitive over a field we do not store.
export const VALID_BOTH: readonly string[] = [
  "src ip 10.0.0.1 and port 443",
  "host 192.0.2.1",
  "ip 2001:db8::1",
  "net 10.0.0.0/8",
  "src net 10.0.0.0 255.0.0.0",
  "dst net 2001:db8::/32",
  "ip in [10.0.0.1 10.0.0.2 192.168.0.0/16]",
  "src port > 1023 and dst port < 1024",
  "port in [22 80 443]",
  "dst port in [53 123] and not src net 10.0.0.0/8",
  "proto tcp",
  "proto 17",
  "proto icmp6",
  "flags S and not flags AFRPU",
  "flags 0x12",
  "packets > 1k",
  "bytes > 2M and bytes < 1G",
  "in bytes > 100",
  "out packets > 10",
  "pps > 100",
  "bps > 1M",
  "bpp < 100",
  "duration > 5000",
  "as 64500",
  "src as 64500 or dst as 64501",
  "as in [64500 64501]",
  "next as 3320",
  "in if 1 and out if 2",
  "src mask 24",
  "vlan 100",
  "in src mac 00:11:22:33:44:55",
  "mpls label1 100",
  "mpls eos 2",
  "mpls exp1 3",
  "next ip 192.0.2.1",
  "router ip 127.0.0.1",
  "engine-type 0",
  "engine-id 7",
  "icmp-type 8",
  "icmp-code 0",
  "ident testsrc",
  "flowdir ingress",
  "flowdir 1",
  "fwdstat 0",
  "fwdstat Forw",
  "any",
  "not any",
  "!(port 53)",
  "port eq 80",
  "packets ge 10 and bytes le 1000",
  "PROTO TCP AND PORT 80",
  "asa event create",
  "nat event add",
  "ingress vrf 10",
  "observation domain id 99",
  "ip 10.0.0.1 # trailing comment",
];
