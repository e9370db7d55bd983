// JSON src_net/dst_net against nfdump 1.7.1: IPv4 and IPv6 flows with every kind of mask (0 beside a non-zero
// one, below 32, 32..63, 64, above 64, 127, 128) sent as NetFlow v9 into nfcapd; tsdump -o json on the file must
// print the networks nfdump -o json prints. nfdump masks IPv6 networks in its JSON by clearing low bits of the
// 64-bit halves (2a00:14::5 with mask 16 prints 2a00:14::), unlike its text formats.

import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../src/record/batch.js";
import { V6_BIT } from "../../src/record/schema.js";
import { FlowEncoder } from "../../src/replay/encode.js";
import { captureWithNfcapd, nfdump, NFDUMP_MISSING } from "../helpers/nfdump.js";
import { tsdumpInProcess } from "../helpers/tsdump-inproc.js";

const MASKS6 = [0, 1, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 80, 96, 100, 127, 128];
const MASKS4 = [0, 1, 8, 16, 24, 31, 32];

/** One v9 flow per mask (source port = mask; IPv4 from port 2000), as datagrams. */
function maskFlows(): Uint8Array[] {
  const b = new RecordBatch(64);
  const c = b.cols;
  const rows: [v6: boolean, mask: number][] = [
    ...MASKS6.map((m): [boolean, number] => [true, m]),
    ...MASKS4.map((m): [boolean, number] => [false, m]),
  ];
  for (const [v6, m] of rows) {
    const i = b.addRow();
    if (v6) {
      const words = [0x2a000014, 0x12345678, 0x9abcdef0, 0x0fedcba9];
      for (let k = 0; k < 4; k++) {
        c.srcAddr6[i * 4 + k] = words[k]!;
        c.dstAddr6[i * 4 + k] = words[3 - k]!;
      }
      c.v6Flags[i] = V6_BIT.srcAddr | V6_BIT.dstAddr;
    } else {
      c.srcAddr[i] = 0xc0a8fbfe; // 192.168.251.254
      c.dstAddr[i] = 0x0a0b0c0d; // 10.11.12.13
    }
    // a zero source mask beside a non-zero destination mask
    c.srcMask[i] = m;
    c.dstMask[i] = m === 0 ? (v6 ? 40 : 24) : m;
    c.proto[i] = 17;
    c.srcPort[i] = v6 ? m : 2000 + m;
    c.dstPort[i] = 53;
    c.inPackets[i] = 1;
    c.inBytes[i] = 100;
    c.msecFirst[i] = 1_767_225_600_000;
    c.msecLast[i] = 1_767_225_601_000;
  }
  const out: Uint8Array[] = [];
  const enc = new FlowEncoder({ protocol: "v9" }, (d) => out.push(d));
  for (let r = 0; r < b.length; r++) enc.add(b, r, 0);
  enc.flush();
  return out;
}

type Json = Record<string, string | number>;
const nets = (rows: Json[]): string[] =>
  rows.map((r) => `${r["src_port"]} ${r["src_mask"]}/${r["dst_mask"]} ${r["src_net"]} ${r["dst_net"]}`).sort();

describe.skipIf(NFDUMP_MISSING !== undefined)("JSON src_net/dst_net", () => {
  it("match nfdump for IPv4 and IPv6 flows with every kind of mask", async () => {
    const file = await captureWithNfcapd("json-net-masks", maskFlows);
    const want = nets(JSON.parse(await nfdump(["-r", file, "-o", "json"])) as Json[]);
    const got = await tsdumpInProcess(["-r", file, "-o", "json", "-W", "1"]);
    expect(got.code, got.stderr).toBe(0);
    expect(nets(JSON.parse(got.stdout) as Json[])).toEqual(want);
    expect(want).toHaveLength(MASKS6.length + MASKS4.length);
    // nfdump's own values, for the reader (and so a change of nfdump shows here)
    expect(want).toContain("16 16/16 2a00:14:1234:5678:9abc:def0:fed:0 fed:cba9:9abc:def0:1234:5678:2a00:0");
    expect(want).toContain("96 96/96 2a00:14:: fed:cba9::");
    expect(want).toContain("128 128/128 2a00:14:1234:5678:: fed:cba9:9abc:def0::");
    expect(want).toContain("0 0/40 2a00:14:1234:5678:9abc:def0:fed:cba9 fed:cba9:9abc:def0:1234:5600::");
    expect(want).toContain("2000 0/24 0.0.0.0 10.11.12.0");
  }, 120_000);
});
