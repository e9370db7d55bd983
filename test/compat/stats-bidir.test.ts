// -b / -B bidirectional aggregation vs nfdump 1.7.1 on hand-made NetFlow v5 flows with forward/reverse pairs
// (the generator's random client ports hardly ever produce a reverse flow).
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordBatch } from "../../src/record/batch.js";
import { formatIPv4 } from "../../src/record/ip.js";
import { Aggregator, bidirAggregation } from "../../src/stats/aggregate.js";
import { captureWithNfcapd, loadNfdumpFlows, nfdump, NFDUMP_MISSING } from "../helpers/nfdump.js";

/** NetFlow v5 datagrams of `n` flows: client/server pairs, some reversed, some from a low port. */
function v5Datagrams(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const unix = 1_767_225_600; // 2026-01-01
  let x = 99;
  const rnd = (k: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  for (let start = 0; start < n; start += 30) {
    const count = Math.min(30, n - start);
    const buf = new Uint8Array(24 + 48 * count);
    const dv = new DataView(buf.buffer);
    dv.setUint16(0, 5);
    dv.setUint16(2, count);
    dv.setUint32(4, 3_600_000); // sysUptime
    dv.setUint32(8, unix + start);
    dv.setUint32(16, start);
    for (let i = 0; i < count; i++) {
      const o = 24 + 48 * i;
      const client = 0xc0000200 + rnd(20);
      const server = 0xc6336400 + rnd(5);
      const cport = 40000 + rnd(30);
      const sport = [443, 80, 53, 8080][rnd(4)]!;
      const kind = rnd(3); // 0 client→server, 1 server→client, 2 server→client with both ports low
      const [sa, da, sp, dp] =
        kind === 0 ? [client, server, cport, sport] : [server, client, sport, kind === 2 ? 25 : cport];
      dv.setUint32(o, sa);
      dv.setUint32(o + 4, da);
      dv.setUint32(o + 16, 1 + rnd(50)); // packets
      dv.setUint32(o + 20, 40 + rnd(60000)); // bytes
      const first = 3_000_000 + rnd(500_000);
      dv.setUint32(o + 24, first);
      dv.setUint32(o + 28, first + rnd(20_000));
      dv.setUint16(o + 32, sp);
      dv.setUint16(o + 34, dp);
      buf[o + 38] = rnd(4) === 0 ? 17 : 6;
    }
    out.push(buf);
  }
  return out;
}

interface Bi {
  key: string;
  first: string;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
  flows: number;
}

const FMT = "fmt:%ts|%sa|%da|%sp|%dp|%pr|%ipkt|%opkt|%ibyt|%obyt|%fl";

function parseFmt(text: string): Bi[] {
  return text
    .split("\n")
    .filter((l) => l.split("|").length === 11)
    .map((l) => {
      const f = l.split("|").map((s) => s.trim());
      return {
        key: f.slice(1, 6).join("|"),
        first: f[0]!,
        inPackets: Number(f[6]),
        outPackets: Number(f[7]),
        inBytes: Number(f[8]),
        outBytes: Number(f[9]),
        flows: Number(f[10]),
      };
    });
}

function ours(batch: RecordBatch, guess: boolean): Bi[] {
  const g = new Aggregator(bidirAggregation(guess));
  g.add(batch, null, batch.length);
  const rows: Bi[] = [];
  for (const b of g.toBatches()) {
    const c = b.cols;
    for (let r = 0; r < b.length; r++) {
      const first = new Date(c.msecFirst[r]!).toISOString().replace("T", " ").slice(0, 23);
      rows.push({
        key: [formatIPv4(c.srcAddr[r]!), formatIPv4(c.dstAddr[r]!), c.srcPort[r], c.dstPort[r], c.proto[r]].join("|"),
        first,
        inPackets: c.inPackets[r]!,
        outPackets: c.outPackets[r]!,
        inBytes: c.inBytes[r]!,
        outBytes: c.outBytes[r]!,
        flows: c.flows[r]!,
      });
    }
  }
  return rows;
}

const sortByKey = (a: Bi[]): Bi[] => [...a].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));

describe.skipIf(NFDUMP_MISSING !== undefined)(
  `-b / -B vs nfdump 1.7.1${NFDUMP_MISSING === undefined ? "" : ` (skipped: ${NFDUMP_MISSING})`}`,
  () => {
    let file = "";
    let batch: RecordBatch;
    beforeAll(async () => {
      file = await captureWithNfcapd("stats-bidir-v5-3000", () => v5Datagrams(3000));
      batch = await loadNfdumpFlows(file);
    }, 120_000);

    it.each([
      ["-b", false],
      ["-B", true],
    ] as const)("%s merges reverse flows as nfdump does", async (opt, guess) => {
      const theirs = parseFmt(await nfdump(["-r", file, "-q", "-N", opt, "-o", FMT]));
      const mine = ours(batch, guess);
      expect(theirs.length).toBeGreaterThan(100);
      expect(theirs.some((r) => r.flows > 1 && r.outPackets > 0)).toBe(true);
      expect(sortByKey(mine)).toEqual(sortByKey(theirs));
    });
  },
);
