// tsdump -E on files nfcapd 1.7.1 wrote: the exporter lines (nfdump's layout; tsflow appends its own counters)
// and the sampler records (type 15, from a NetFlow v9 sampling options record) must read as `nfdump -E` prints
// them. The sampling exporters are NetFlow v9 datagrams built in the test (test/helpers/crafted.ts).
import { describe, expect, it } from "vitest";
import { printExporters } from "../../src/dump/info.js";
import { StringOutput } from "../../src/format/out.js";
import { NfdumpFileReader } from "../../src/store/nffile/index.js";
import { craftedV9Sampling } from "../helpers/crafted.js";
import { fixture } from "../helpers/fixtures.js";
import { captureWithNfcapd, syntheticStream, nfdump, NFDUMP_MISSING, readDatagramStream } from "../helpers/nfdump.js";
import { readPcapFile } from "../helpers/pcap.js";

/** tsdump -E in-process; tsflow's appended counters dropped to compare with nfdump's lines. */
function tsdumpE(file: string): { text: string; code: number } {
  const out = new StringOutput();
  const err: string[] = [];
  const code = printExporters(file, { out, err: (t) => err.push(t), now: () => Date.now() });
  expect(err).toEqual([]);
  return { text: out.text().replace(/, bad packets: \d+, template misses: \d+$/gm, ""), code };
}

const NF5 = fixture("goflow2/nf5.pcap");

describe.skipIf(NFDUMP_MISSING !== undefined)("tsdump -E vs nfdump -E on nfcapd 1.7.1 files", () => {
  it("synthetic exporters: every SysID, address, domain and counter", async () => {
    const file = await captureWithNfcapd(
      "nffile-v9-lz4",
      async () => readDatagramStream(await syntheticStream({ flows: 6000, proto: "v9", seed: 7 })),
      ["-y"],
    );
    const e = tsdumpE(file);
    expect(e.code).toBe(0);
    expect(e.text).toBe(await nfdump(["-E", file]));
    expect(e.text.match(/^SysID: /gm)!.length).toBeGreaterThanOrEqual(2);
  });

  it("v9 sampling options records: nfcapd's sampler record (15) is listed", async () => {
    const file = await captureWithNfcapd("nffile-v9-sampler-crafted", craftedV9Sampling);
    const r = NfdumpFileReader.open(file);
    const exporters = r.listExporters();
    // source id 1 announces sampler 1 (48/49/34); nfcapd 1.7.1 records no sampler for source id 2's
    // exporter-wide 34/35 record
    expect(exporters.map((e) => e.samplers)).toEqual([
      [{ id: 1, algorithm: 2, packetInterval: 1, spaceInterval: 29999 }],
      [],
    ]);
    r.close();
    const e = tsdumpE(file);
    expect(e.text).toContain(
      "    Sampler: Assigned Sampler: id: 1, algorithm: 2, packet interval: 1, packet space: 29999\n",
    );
    expect(e.text).toBe(await nfdump(["-E", file]));
  });

  it("nfcapd -s -100: the static overwrite sampler (id -3) of every exporter", async () => {
    const file = await captureWithNfcapd(
      "nffile-v9-v5-sampler-overwrite-crafted",
      () => [...craftedV9Sampling(), ...readPcapFile(NF5).map((d) => d.payload)],
      ["-s", "-100"],
    );
    const e = tsdumpE(file);
    expect(e.text).toContain(
      "    Sampler: Static overwrite Sampler: algorithm: 0, packet interval: 1, packet space: 99\n",
    );
    expect(e.text.match(/Static overwrite Sampler/g)!.length).toBe(3);
    expect(e.text).toBe(await nfdump(["-E", file]));
  });
});
