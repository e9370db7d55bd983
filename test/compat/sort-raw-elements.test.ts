// A sorted plain listing (-O) prints each record's raw elements — the values kept in a batch's `extra` heap: Cisco
// ASA NSEL connection id, ingress/egress ACL ids, user name (json's NSEL keys, fmt's %nfc %iacl %eacl %uname) and
// `-o raw`'s extra lines — as the unsorted listing does: the sorted records are the unsorted ones in sorted order
// (ties in input order), with one and two threads and with -n, and equal nfdump 1.7.1's `-O tstart` output. Data: nfcapd's
// files of the ASA capture in test/fixtures/packets and of the crafted NSEL/NEL exporter (user names, egress ACLs),
// and the same flows written to a tsflow file (`tsdump -w`).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureWithNfcapd, nfdump, NFDUMP_MISSING } from "../helpers/nfdump.js";
import { craftedNselNel } from "../helpers/crafted.js";
import { fixture } from "../helpers/fixtures.js";
import { tsdump } from "../helpers/programs.js";
import { readPcapFile } from "../helpers/pcap.js";

const CAPTURES: readonly (readonly [string, () => Uint8Array[]])[] = [
  [
    "logstash-codec-netflow/nf9-cisco-asa-1.pcap",
    (): Uint8Array[] => readPcapFile(fixture("logstash-codec-netflow/nf9-cisco-asa-1.pcap")).map((d) => d.payload),
  ],
  ["crafted/nsel-nel", craftedNselNel],
];

const SPECS = ["json", "raw", "fmt:%nfc %iacl %eacl %uname", "fmt:%ts %nfc %iacl %eacl %uname %byt"] as const;

/** `-o raw`'s record numbers count the printed records, so they run on in any order: dropped. */
const noRecordCount = (text: string): string => text.replace(/^ {2}RecordCount +=.*\n/gm, "");

/** The records of a `-q` listing in `spec`, one string each. */
function records(spec: string, text: string): string[] {
  if (spec === "json") return (JSON.parse(`[${text}]`) as unknown[]).map((r) => JSON.stringify(r));
  if (spec === "raw") return noRecordCount(text).split(/\n(?=Flow Record:)/).filter((r) => r.trim() !== "");
  return text.split("\n").filter((l) => l !== "");
}

async function listing(file: string, args: readonly string[]): Promise<string> {
  const r = await tsdump(["-r", file, "-q", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

describe.skipIf(NFDUMP_MISSING !== undefined)("-O sorted listing: raw elements printed as unsorted", () => {
  for (const [rel, payloads] of CAPTURES) {
    const key = `sort-raw-${rel.replace(/[^a-z0-9]+/gi, "-")}`;
    it(`${rel}: -O bytes / -O tstart, -W 1 and -W 2, -n, json, raw and the NSEL fmt tokens`, async () => {
      const file = await captureWithNfcapd(key, payloads);
      const tsf = join(mkdtempSync(join(tmpdir(), "sort-raw-")), "flows.tsf");
      expect((await tsdump(["-r", file, "-w", tsf])).code).toBe(0);
      // each record's order values, in input order (pipe: first ms | … | bytes)
      const pipe = records("pipe", await listing(file, ["-o", "pipe", "-N"])).map((l) => l.split("|").map(Number));
      const value = { tstart: pipe.map((p) => p[1]!), bytes: pipe.map((p) => p[21]!) };
      for (const spec of SPECS) {
        const unsorted = records(spec, await listing(file, ["-o", spec]));
        expect(unsorted.length).toBe(pipe.length);
        if (spec === "json") expect(unsorted.join()).toContain('"connect_id"');
        if (spec === "raw") expect(unsorted.join()).toContain("connect ID");
        for (const order of ["bytes", "tstart"] as const) {
          // stable: ties keep input order; bytes descending, tstart ascending
          const v = value[order];
          const ids = unsorted.map((_, i) => i);
          ids.sort((a, b) => (v[a] === v[b] ? a - b : order === "bytes" ? v[b]! - v[a]! : v[a]! - v[b]!));
          const want = ids.map((i) => unsorted[i]!);
          for (const w of ["1", "2"]) {
            const got = records(spec, await listing(file, ["-o", spec, "-O", order, "-W", w]));
            expect(got, `${rel} -o ${spec} -O ${order} -W ${w}`).toEqual(want);
          }
          // the same flows in a tsflow file (its reader decodes the raw elements only when the format asks)
          const fromTsf = records(spec, await listing(tsf, ["-o", spec, "-O", order]));
          expect(fromTsf, `${rel} tsflow file -o ${spec} -O ${order}`).toEqual(want);
          // -n: the best N kept in a bounded heap of rows, not the row store
          for (const n of [3, 20]) {
            const got = records(spec, await listing(file, ["-o", spec, "-O", order, "-n", String(n)]));
            expect(got, `${rel} -o ${spec} -O ${order} -n ${n}`).toEqual(want.slice(0, n));
          }
        }
        // nfdump's own sorted listing (nfdump's raw has no record numbers under -O): byte-equal when no two
        // records start at the same time (nfdump's order of ties is its own), else the same records
        const theirs = await nfdump(["-r", file, "-q", "-o", spec, "-O", "tstart"]);
        const ours = await listing(file, ["-o", spec, "-O", "tstart"]);
        if (new Set(value.tstart).size === value.tstart.length) {
          expect(spec === "raw" ? noRecordCount(ours) : ours, `${rel} -o ${spec} vs nfdump`).toBe(theirs);
        } else {
          expect(records(spec, ours).sort(), `${rel} -o ${spec} vs nfdump`).toEqual(records(spec, theirs).sort());
        }
      }
    });
  }
});
