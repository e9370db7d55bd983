// SPDX-License-Identifier: BSD-3-Clause
// Warms the writer thread's code before the first real block: a few synthetic blocks of flow-like rows go
// through the whole write path (column encoders, zone maps with address sets and Bloom filters, LZ4, block
// assembly) into /dev/null. Without it the first blocks after a start meet interpreted code; at a few
// hundred thousand flows per second the writer falls more than 4 blocks behind in its first second and stores
// those blocks without LZ4 and without address sets (writer-thread.ts), even at 15 k datagrams/s.

import { RecordBatch } from "../record/batch.js";
import { FlowFileWriter } from "../store/index.js";

const ROWS = 16384;
const BLOCKS = 3;

/** Synthetic block `b` of the warm-up: ROWS flow-like rows (addresses, ports, counters, times, AS, interfaces). */
export function warmupBatch(b: number): RecordBatch {
  let seed = (0x9e3779b9 ^ (b * 0x85ebca6b)) >>> 0;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const batch = new RecordBatch(ROWS);
  const c = batch.cols;
  const t0 = 1_764_892_800_000 + b * 60_000;
  for (let i = 0; i < ROWS; i++) {
    const r = rnd();
    c.msecFirst[i] = t0 + (r % 60_000);
    c.msecLast[i] = c.msecFirst[i]! + (r % 5000);
    c.msecReceived[i] = t0 + 60_000;
    c.srcAddr[i] = 0x0a000000 | (r & 0xffff);
    c.dstAddr[i] = 0xc0a80000 | (rnd() & 0xffff);
    c.srcPort[i] = r & 0xffff;
    c.dstPort[i] = [53, 80, 443, 22][r & 3]!;
    c.proto[i] = r & 8 ? 6 : 17;
    c.tcpFlags[i] = c.proto[i] === 6 ? 0x1b : 0;
    c.inPackets[i] = 1 + (r % 1000);
    c.inBytes[i] = c.inPackets[i]! * (40 + (r % 1400));
    c.input[i] = r % 48;
    c.output[i] = (r >>> 8) % 48;
    c.srcAs[i] = 64_512 + (r % 50);
    c.dstAs[i] = 64_512 + ((r >>> 4) % 50);
    c.srcMask[i] = 24;
    c.dstMask[i] = 16;
    c.nextHop[i] = 0x0a0000fe;
    c.exporterAddr[i] = 0x7f000001;
    c.exporterId[i] = 1 + (r % 3);
    c.nfVersion[i] = 9;
    c.flows[i] = 1;
  }
  batch.length = ROWS;
  return batch;
}

/** Runs the write path over BLOCKS synthetic blocks; returns the rows written (0: /dev/null cannot be opened). */
export function warmWriter(): number {
  let w: FlowFileWriter;
  try {
    w = FlowFileWriter.open("/dev/null", { fsync: false });
  } catch {
    return 0;
  }
  try {
    for (let b = 0; b < BLOCKS; b++) w.appendBatchSync(warmupBatch(b), { compress: true, sets: true });
    return w.rows;
  } finally {
    w.abort();
  }
}
