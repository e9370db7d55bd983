// SPDX-License-Identifier: BSD-3-Clause
// Small synthetic flows for the statistics tests: a plain description per flow, turned into a RecordBatch.
import { RecordBatch } from "../../../src/record/batch.js";

export interface TestFlow {
  src: number;
  dst: number;
  v6: boolean;
  sp?: number;
  dp: number;
  proto: number;
  pkts: number;
  bytes: number;
  first: number;
  dur: number;
  as?: number;
  /** out packets (out bytes = 10 ×); without it: pkts >> 1 and bytes >> 2 */
  out?: number;
}

/** One row per flow: addresses 10.0.0.x or 2001::x, the given ports, counters and times. */
export function makeBatch(flows: readonly TestFlow[]): RecordBatch {
  const b = new RecordBatch(Math.max(1, flows.length));
  const bytes = new Uint8Array(16);
  for (const f of flows) {
    const r = b.addRow();
    const c = b.cols;
    if (f.v6) {
      bytes.fill(0);
      bytes[0] = 0x20;
      bytes[1] = 0x01;
      bytes[15] = f.src;
      b.setV6("srcAddr", r, bytes, 0);
      bytes[15] = f.dst;
      b.setV6("dstAddr", r, bytes, 0);
    } else {
      b.setV4("srcAddr", r, 0x0a000000 + f.src);
      b.setV4("dstAddr", r, 0x0a000000 + f.dst);
    }
    if (f.sp !== undefined) c.srcPort[r] = f.sp;
    c.dstPort[r] = f.dp;
    c.proto[r] = f.proto;
    c.inPackets[r] = f.pkts;
    c.inBytes[r] = f.bytes;
    c.outPackets[r] = f.out ?? f.pkts >> 1;
    c.outBytes[r] = f.out !== undefined ? f.out * 10 : f.bytes >> 2;
    c.msecFirst[r] = f.first;
    c.msecLast[r] = f.first + f.dur;
    if (f.as !== undefined) {
      c.srcAs[r] = f.as;
      c.dstAs[r] = f.as * 7;
    }
    c.flows[r] = 1;
  }
  return b;
}
