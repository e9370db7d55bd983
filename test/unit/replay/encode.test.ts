// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's encoder (src/replay/encode.ts): the datagrams it builds for a seed are pinned byte for byte (a change
// of the record writer must not change them), and rows with every field group survive a round trip through
// tsflow's own decoder.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeDatagram, DecoderState } from "../../../src/decode/index.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { V6_BIT } from "../../../src/record/schema.js";
import { FlowEncoder, type ExportProtocol } from "../../../src/replay/encode.js";
import { Random } from "../../../src/replay/random.js";
import { syntheticDatagrams } from "../../../src/replay/synthetic-stream.js";
import { syntheticRounds } from "../../../src/replay/synthetic.js";
import { CollectSink, snapshotRow, type Row } from "../decode/util.js";

const V6_ALL = V6_BIT.srcAddr | V6_BIT.dstAddr | V6_BIT.nextHop | V6_BIT.bgpNextHop;

/**
 * Rows with random values in every column the encoder carries (each optional group present in about half the
 * rows), a quarter of them IPv6. `bgp6`: IPv6 rows carry a BGP next hop too.
 */
function richBatch(rows: number, seed: number, bgp6: boolean): RecordBatch {
  const rng = new Random(seed);
  const b = new RecordBatch(rows);
  const c = b.cols;
  const u = (bits: number): number => Math.floor(rng.float() * 2 ** bits);
  const some = (): boolean => rng.float() < 0.5;
  for (let i = 0; i < rows; i++) {
    b.addRow();
    const v6 = rng.float() < 0.25;
    const w = i * 4;
    if (v6) {
      for (let k = 0; k < 4; k++) {
        c.srcAddr6[w + k] = u(32);
        c.dstAddr6[w + k] = u(32);
        c.nextHop6[w + k] = u(32);
        if (bgp6) c.bgpNextHop6[w + k] = u(32);
      }
      c.v6Flags[i] = V6_ALL;
    } else {
      c.srcAddr[i] = u(32);
      c.dstAddr[i] = u(32);
      c.nextHop[i] = u(32);
      if (some()) c.bgpNextHop[i] = u(32);
    }
    c.proto[i] = [6, 17, 1, 58, 47][rng.int(0, 5)]!;
    c.srcPort[i] = u(16);
    c.dstPort[i] = u(16);
    if (c.proto[i] === 1 || c.proto[i] === 58) {
      c.icmpType[i] = u(8);
      c.icmpCode[i] = u(8);
      c.dstPort[i] = (c.icmpType[i]! << 8) | c.icmpCode[i]!;
    }
    c.input[i] = u(rng.float() < 0.5 ? 16 : 32);
    c.output[i] = u(rng.float() < 0.5 ? 16 : 32);
    c.inPackets[i] = u(rng.float() < 0.5 ? 20 : 40);
    c.inBytes[i] = u(rng.float() < 0.5 ? 30 : 48);
    c.msecLast[i] = 1_767_225_600_000 + u(30);
    c.msecFirst[i] = c.msecLast[i]! - u(20);
    c.tcpFlags[i] = u(8);
    c.srcTos[i] = u(8);
    c.srcAs[i] = u(rng.float() < 0.5 ? 16 : 32);
    c.dstAs[i] = u(rng.float() < 0.5 ? 16 : 32);
    c.srcMask[i] = u(v6 ? 7 : 5);
    c.dstMask[i] = u(v6 ? 7 : 5);
    if (some()) {
      c.inSrcMac[i] = u(48);
      c.outDstMac[i] = u(48);
      c.inDstMac[i] = u(48);
      c.outSrcMac[i] = u(48);
    }
    if (some()) {
      c.srcVlan[i] = u(12);
      c.dstVlan[i] = u(12);
    }
    if (some()) {
      c.mpls1[i] = 1 + u(23);
      c.mpls2[i] = u(24);
      c.mpls10[i] = u(24);
    }
    if (some()) {
      c.direction[i] = u(1);
      c.dstTos[i] = u(8);
      c.fwdStatus[i] = u(8);
      c.nextAs[i] = u(32);
      c.prevAs[i] = u(32);
    }
    if (some()) {
      c.outPackets[i] = u(36);
      c.outBytes[i] = u(44);
    }
  }
  return b;
}

function encode(batch: RecordBatch, protocol: ExportProtocol, sources = 3): Uint8Array[] {
  const out: Uint8Array[] = [];
  const enc = new FlowEncoder({ protocol, templateEveryPackets: 16 }, (d) => out.push(d));
  for (let i = 0; i < batch.length; i++) enc.add(batch, i, i % sources);
  enc.flush();
  return out;
}

function digest(datagrams: Iterable<Uint8Array>): string {
  const h = createHash("sha256");
  for (const d of datagrams) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(d.length);
    h.update(len).update(d);
  }
  return h.digest("hex").slice(0, 32);
}

describe("FlowEncoder", () => {
  // pinned from the encoder before its record writer was compiled per template (the synthetic v9 and IPFIX
  // streams again when the generator's IPv6 flows got masks)
  it.each([
    ["v5", "synthetic", "ed146d4a007c53d6afa4bc901123bbb3"],
    ["v9", "synthetic", "3bbfc6c7a7c074124def2931d99dd9cc"],
    ["ipfix", "synthetic", "a19764d833f978256cef7a7c235afd46"],
    ["v5", "rich", "716f57502a96afb26f6961fc155734e1"],
    ["v9", "rich", "10deec748c52be7d05c10cc247bbd547"],
    ["ipfix", "rich", "1e90eb8312958b3ddcb9bd80922bf53b"],
  ] as const)("%s datagrams of the %s rows are the pinned bytes", (protocol, data, want) => {
    const got =
      data === "synthetic"
        ? digest(syntheticDatagrams({ flows: 30_000, seed: 11, exporters: 3, protocol }))
        : digest(encode(richBatch(5000, 3, false), protocol));
    expect(got).toBe(want);
  });
});

describe("FlowEncoder.addRows", () => {
  // rows given a batch at a time (a selection of them, each with its own source) are written straight from the
  // columns; rows still waiting when a batch ends are staged: the datagrams must be the row-by-row ones
  it.each(["v5", "v9", "ipfix"] as const)("%s: the same datagrams as one row at a time", (protocol) => {
    const batch = richBatch(5000, 3, true);
    const rows = Uint32Array.from({ length: batch.length }, (_, i) => i).filter((i) => i % 7 !== 3);
    const sources = rows.map((r) => (r * 2654435761) % 5);
    const one: Uint8Array[] = [];
    const enc1 = new FlowEncoder({ protocol, templateEveryPackets: 16 }, (d) => one.push(d));
    rows.forEach((r, k) => {
      enc1.add(batch, r, sources[k]!);
    });
    enc1.flush();
    const many: Uint8Array[] = [];
    const enc2 = new FlowEncoder({ protocol, templateEveryPackets: 16 }, (d) => many.push(d));
    // uneven slices: rows of one datagram come from several calls
    for (let k = 0, step = 1; k < rows.length; k += step, step = (step * 7 + 3) % 500) {
      const n = Math.min(step, rows.length - k);
      enc2.addRows(batch, rows.subarray(k, k + n), n, sources.subarray(k, k + n));
    }
    enc2.flush();
    expect(many.length).toBeGreaterThan(100);
    expect(digest(many)).toBe(digest(one));
    expect(enc2.stats).toEqual(enc1.stats);
  });
});

/** The decoded rows (sorted) of `datagrams`, reduced to `columns`. */
function decodeAll(datagrams: readonly Uint8Array[], columns: readonly string[]): string[] {
  const state = new DecoderState({});
  const sink = new CollectSink(1024);
  for (const d of datagrams) {
    const status = decodeDatagram(d, { address: "192.0.2.9", port: 2055 }, 1_767_300_000_000, state, sink);
    expect(status).toBe(0);
  }
  return sink
    .drain()
    .map((r) => columns.map((k) => `${k}=${r[k]}`).join(" "))
    .sort();
}

/** The batch's own rows (sorted), reduced to `columns`, for the rows `keep` selects. */
function rowsOf(batch: RecordBatch, columns: readonly string[], keep: (row: Row) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < batch.length; i++) {
    const r = snapshotRow(batch, i);
    if (keep(r)) out.push(columns.map((k) => `${k}=${r[k]}`).join(" "));
  }
  return out.sort();
}

const CARRIED = [
  "srcAddr",
  "dstAddr",
  "nextHop",
  "bgpNextHop",
  "input",
  "output",
  "inPackets",
  "inBytes",
  "msecFirst",
  "msecLast",
  "srcPort",
  "dstPort",
  "tcpFlags",
  "proto",
  "srcTos",
  "srcAs",
  "dstAs",
  "srcMask",
  "dstMask",
  "inSrcMac",
  "outDstMac",
  "inDstMac",
  "outSrcMac",
  "srcVlan",
  "dstVlan",
  "mpls1",
  "mpls2",
  "mpls10",
  "direction",
  "dstTos",
  "fwdStatus",
  "nextAs",
  "prevAs",
  "outPackets",
  "outBytes",
];

describe("FlowEncoder round trip through tsflow's decoder", () => {
  it.each(["v9", "ipfix"] as const)("%s carries every field of IPv4 and IPv6 rows, BGP next hops included", (p) => {
    const batch = richBatch(3000, 4, true);
    expect(decodeAll(encode(batch, p), CARRIED)).toEqual(rowsOf(batch, CARRIED, () => true));
  });

  it("v5 carries the next hop of an IPv4 flow whose exporter was IPv6", () => {
    const batch = richBatch(600, 5, false);
    for (let i = 0; i < batch.length; i++) if (!batch.isV6("srcAddr", i)) batch.cols.v6Flags[i] = V6_BIT.exporterAddr;
    const cols = ["srcAddr", "dstAddr", "nextHop", "msecFirst", "msecLast", "srcPort", "proto"];
    const v4 = (r: Row): boolean => !String(r["srcAddr"]).includes(":");
    expect(decodeAll(encode(batch, "v5"), cols)).toEqual(rowsOf(batch, cols, v4));
  });

  it("synthetic IPv6 flows are marked IPv6 in their source, destination and next hop columns only", () => {
    let v6 = 0;
    for (const { batch } of syntheticRounds({ flows: 4000, seed: 2 })) {
      for (let i = 0; i < batch.length; i++) {
        if (batch.cols.v6Flags[i] === 0) continue;
        v6++;
        expect(batch.cols.v6Flags[i]).toBe(V6_BIT.srcAddr | V6_BIT.dstAddr | V6_BIT.nextHop);
      }
    }
    expect(v6).toBeGreaterThan(200);
  });
});
