// Checks the compatibility harness itself: nfcapd captures a synthetic stream and the loaded batch carries
// exactly the flows and sums nfdump reports for that file.
import { describe, expect, it } from "vitest";
import {
  captureWithNfcapd,
  syntheticStream,
  loadNfdumpFlows,
  NFDUMP_MISSING,
  nfdumpTotals,
  readDatagramStream,
} from "../helpers/nfdump.js";

describe.skipIf(NFDUMP_MISSING !== undefined)("nfdump harness", () => {
  it("loads every flow nfcapd stored, with nfdump's totals", async () => {
    const stream = await syntheticStream({ flows: 20000, proto: "v9" });
    const file = await captureWithNfcapd("harness-v9-20000", () => readDatagramStream(stream));
    const batch = await loadNfdumpFlows(file);
    const totals = await nfdumpTotals(file);
    expect(totals.flows).toBe(20000);
    expect(batch.length).toBe(20000);
    let bytes = 0;
    let packets = 0;
    let v6 = 0;
    for (let i = 0; i < batch.length; i++) {
      bytes += batch.cols.inBytes[i]!;
      packets += batch.cols.inPackets[i]!;
      if (batch.isV6("srcAddr", i)) v6++;
    }
    expect(bytes).toBe(totals.bytes);
    expect(packets).toBe(totals.packets);
    expect(v6).toBeGreaterThan(1000); // the generator sends ~10 % IPv6
  });
});
if (NFDUMP_MISSING !== undefined) console.warn(`skipping nfdump compatibility tests: ${NFDUMP_MISSING}`);
