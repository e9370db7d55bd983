// SPDX-License-Identifier: BSD-3-Clause
// Deterministic synthetic flows for tests, benchmarks and load (`tsreplay --synthetic`).
//
// Shaped like real traffic: inside hosts Zipf-ranked in 10.0.0.0/16, outside hosts Zipf-ranked in a few /16s,
// about 10 % IPv6 (2001:db8:1::/48 inside, /32s of 2a00::/16 outside), a weighted mix of protocols and well-known
// server ports with uniform ephemeral client ports, log-normal packets and bytes per packet, exponential
// durations, ICMP type/code, TCP flags, ToS, interfaces, masks (IPv4 /16 inside and /24 outside, IPv6 /48 and
// /32) and a Zipf mix of AS numbers. Flows come in export rounds of up to 2,000; each round belongs to one
// exporter (observation domain / source id 0..K-1) and is stamped `step` seconds after the previous one. The
// same options always give the same flows.

import { RecordBatch } from "../record/batch.js";
import { V6_BIT } from "../record/schema.js";
import { cumulative, Random } from "./random.js";

export interface SyntheticOptions {
  /** Number of flows. */
  readonly flows: number;
  readonly seed?: number;
  /** Exporters (distinct source ids), each with its own rounds. */
  readonly exporters?: number;
  /** Unix time (s) of the first export round. */
  readonly start?: number;
  /** Simulated seconds between export rounds. */
  readonly step?: number;
  /** Flows per export round. */
  readonly roundFlows?: number;
}

export const SYNTHETIC_DEFAULTS = {
  seed: 1,
  exporters: 1,
  start: 1_767_225_600, // 2026-01-01 00:00:00 UTC
  step: 1,
  roundFlows: 2000,
} as const;

const PROTOS = [6, 17, 1, 47, 50];
const PROTO_W = cumulative([0.78, 0.18, 0.02, 0.01, 0.01]);
const SERVER_PORTS = [443, 80, 53, 22, 25, 123, 993, 3389, 8080, 1194];
const SERVER_W = cumulative([0.45, 0.2, 0.15, 0.04, 0.03, 0.04, 0.03, 0.02, 0.03, 0.01]);
const ICMP_TYPECODES = [0x0800, 0x0000, 0x0303, 0x0b00];
const TCP_FLAGS = [0x1b, 0x1f, 0x02, 0x12, 0x14, 0x18, 0x11, 0x04];
const TCP_FLAGS_W = cumulative([0.5, 0.15, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05]);
const TOS = [0, 0, 0, 0, 0x20, 0xb8, 0x48];
const IFACES = [1, 2, 3, 4, 10, 11];
const ASNS = [0, 15169, 13335, 16509, 8075, 32934, 2906, 20940, 3356, 174, 6939, 1299, 64512, 64513, 65001];
const OUTSIDE_V4 = [0x08080000, 0x8efa0000, 0x68100000, 0x17000000, 0xc6336400, 0x2d4c0000];
const NEXT_HOP_V4 = 0xc0000201; // 192.0.2.1

/** One export round: the flows of one exporter at one export time. */
export interface SyntheticRound {
  /** The round's flows (a batch reused by the next round: copy what you keep). */
  readonly batch: RecordBatch;
  /** Exporter index (its source id / observation domain), 0..exporters-1. */
  readonly exporter: number;
  /** Export time of the round, Unix seconds. */
  readonly exportSecs: number;
}

/** Yields the synthetic flows round by round. */
export function* syntheticRounds(options: SyntheticOptions): Generator<SyntheticRound> {
  const flows = options.flows;
  if (!Number.isSafeInteger(flows) || flows < 0) throw new RangeError(`synthetic: bad flow count ${flows}`);
  const seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
  const exporters = options.exporters ?? SYNTHETIC_DEFAULTS.exporters;
  if (!Number.isInteger(exporters) || exporters < 1 || exporters > 65535)
    throw new RangeError(`synthetic: exporters must be 1..65535, not ${exporters}`);
  const step = options.step ?? SYNTHETIC_DEFAULTS.step;
  const perRound = options.roundFlows ?? SYNTHETIC_DEFAULTS.roundFlows;
  const rng = new Random(seed);
  const batch = new RecordBatch(perRound);
  let t = options.start ?? SYNTHETIC_DEFAULTS.start;
  for (let done = 0; done < flows;) {
    const n = Math.min(perRound, flows - done);
    batch.reset();
    fillRound(rng, batch, n, t * 1000);
    const exporter = rng.int(0, exporters);
    const c = batch.cols;
    for (let i = 0; i < n; i++) c.observationDomain[i] = exporter;
    yield { batch, exporter, exportSecs: t };
    done += n;
    t += step;
  }
}

/** Fills `n` rows of `batch` with flows that ended within the minute before `exportMs`. */
function fillRound(rng: Random, batch: RecordBatch, n: number, exportMs: number): void {
  const c = batch.cols;
  const v6Bits = V6_BIT.srcAddr | V6_BIT.dstAddr | V6_BIT.nextHop;
  for (let i = 0; i < n; i++) {
    batch.addRow();
    const proto = PROTOS[rng.weighted(PROTO_W)]!;
    const outbound = rng.float() < 0.5;
    const server = SERVER_PORTS[rng.weighted(SERVER_W)]!;
    const client = rng.int(1024, 65536);
    let sp = outbound ? client : server;
    let dp = outbound ? server : client;
    if (proto === 1) {
      sp = 0;
      dp = ICMP_TYPECODES[rng.int(0, ICMP_TYPECODES.length)]!;
      c.icmpType[i] = dp >>> 8;
      c.icmpCode[i] = dp & 0xff;
    } else if (proto !== 6 && proto !== 17) {
      sp = 0;
      dp = 0;
    }
    c.proto[i] = proto;
    c.srcPort[i] = sp;
    c.dstPort[i] = dp;
    const pkts = Math.min(5_000_000, Math.max(1, Math.floor(rng.lognormal(1.5, 1.6))));
    const bpp = Math.floor(Math.min(1500, Math.max(40, rng.lognormal(6.0, 0.9))));
    c.inPackets[i] = pkts;
    c.inBytes[i] = pkts * bpp;
    const dur = Math.floor(Math.min(rng.exponential(8000), 300_000));
    const last = exportMs - rng.int(0, 60_000);
    c.msecLast[i] = last;
    c.msecFirst[i] = last - dur;
    c.tcpFlags[i] = proto === 6 ? TCP_FLAGS[rng.weighted(TCP_FLAGS_W)]! : 0;
    c.srcTos[i] = TOS[rng.int(0, TOS.length)]!;
    c.input[i] = IFACES[rng.int(0, IFACES.length)]!;
    c.output[i] = IFACES[rng.int(0, IFACES.length)]!;
    c.srcAs[i] = ASNS[rng.zipf(ASNS.length, 1.5)]!;
    c.dstAs[i] = ASNS[rng.zipf(ASNS.length, 1.5)]!;
    const v6 = rng.float() < 0.1;
    if (!v6) {
      const inside = 0x0a000000 + rng.zipf(65536, 1.1);
      const outside = OUTSIDE_V4[rng.zipf(OUTSIDE_V4.length, 1.3)]! + rng.zipf(65536, 1.05);
      c.srcAddr[i] = (outbound ? inside : outside) >>> 0;
      c.dstAddr[i] = (outbound ? outside : inside) >>> 0;
      c.srcMask[i] = outbound ? 16 : 24;
      c.dstMask[i] = outbound ? 24 : 16;
      c.nextHop[i] = NEXT_HOP_V4;
    } else {
      const hin = rng.zipf(4096, 1.1);
      const hout = rng.zipf(65536, 1.05);
      // inside 2001:db8:1::<hin>, outside 2a00:<hout>::<hout & 255>
      const w = i * 4;
      const inside = outbound ? c.srcAddr6 : c.dstAddr6;
      const outside = outbound ? c.dstAddr6 : c.srcAddr6;
      inside[w] = 0x20010db8;
      inside[w + 1] = 0x00010000;
      inside[w + 3] = hin;
      outside[w] = (0x2a00 << 16) | hout;
      outside[w + 3] = hout & 0xff;
      c.srcMask[i] = outbound ? 48 : 32;
      c.dstMask[i] = outbound ? 32 : 48;
      c.nextHop6[w] = 0x20010db8;
      c.nextHop6[w + 3] = 1;
      c.v6Flags[i] = v6Bits;
    }
  }
}
