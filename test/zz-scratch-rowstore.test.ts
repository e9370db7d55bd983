import { copyFileSync } from "node:fs";
import { it } from "vitest";
import { captureWithNfcapd } from "./helpers/nfdump.js";
import { craftedIpfixL2Mpls, craftedNselNel, craftedIpfixBigCounters } from "./helpers/crafted.js";
import { fixture } from "./helpers/fixtures.js";
import { readPcapFile } from "./helpers/pcap.js";

const pcaps = [
  "logstash-codec-netflow--nf9-cisco-asa-1.pcap",
  "logstash-codec-netflow--ipfix-barracuda-ext-uniflow.pcap",
  "logstash-codec-netflow--nf9-cisco-asr9k-260.pcap",
  "tcpdump--sflow-ipv6-transport.pcap",
  "ipfixcol2--ipfix-example-flows.pcap",
];
it("makes data", async () => {
  const sets: [string, () => Uint8Array[]][] = [
    ["mpls", () => craftedIpfixL2Mpls(200)],
    ["nsel", () => craftedNselNel()],
    ["big", () => [craftedIpfixBigCounters()]],
    ...pcaps.map((p): [string, () => Uint8Array[]] => [p.replace(".pcap", ""), () => readPcapFile(fixture(p)).map((d) => d.payload)]),
  ];
  for (const [k, f] of sets) {
    const file = await captureWithNfcapd(`rowstore-${k}`, f);
    copyFileSync(file, `/tmp/rs-data/nfcapd.${k}`);
  }
}, 120000);
