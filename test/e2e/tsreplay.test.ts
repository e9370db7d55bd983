// End to end: tsreplay as a user runs it. A synthetic stream written as pcap decodes in tshark to the generator's
// flows; sent to tscapd and fed to nfcapd it gives the same listing; stored flows replayed as v9 into nfcapd and
// as IPFIX into tscapd list the same rows as tsdump on the source. Bad hosts and ports are usage errors.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { syntheticRounds } from "../../src/replay/synthetic.js";
import { captureWithNfcapd, freeUdpPort, NFDUMP_MISSING, nfdump, REPO_ROOT, TSHARK } from "../helpers/nfdump.js";
import { readPcapFile } from "../helpers/pcap.js";
import { startTscapd, tsdump } from "../helpers/programs.js";

const run = promisify(execFile);
const TSREPLAY = join(REPO_ROOT, "dist/bin/tsreplay.js");
const FMT = "fmt:%ts,%te,%pr,%sa,%da,%sp,%dp,%pkt,%byt,%flg,%tos";
const dir = mkdtempSync(join(tmpdir(), "tsreplay-e2e-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function tsreplay(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stderr: string; code: number }> {
  try {
    const { stderr } = await run(process.execPath, [TSREPLAY, ...args], { maxBuffer: 1 << 26, env });
    return { stderr, code: 0 };
  } catch (err) {
    const e = err as { stderr?: string; code?: number };
    return { stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : -1 };
  }
}

function sortedLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l !== "")
    .sort();
}

/**
 * nfcapd 1.7.1 stores v9 ICMP records whose type/code come in the destination port (as v5 and Cisco's v9 send
 * them) with port 0.0 (docs/compatibility.md): the rows compared with nfdump's carry that loss.
 */
function asNfcapdStores(rows: string[]): string[] {
  return rows.map((l) => l.replace(/^([^,]*,[^,]*,)(1|ICMP) ,([^,]*,[^,]*,[^,]*,) \d+\.\d+,/, "$1$2 ,$3 0.0,")).sort();
}

/** The generator's own totals (flows, packets, bytes) for the same options. */
function expectedTotals(
  flows: number,
  seed: number,
  exporters: number,
): { flows: number; packets: number; bytes: number } {
  const t = { flows: 0, packets: 0, bytes: 0 };
  for (const r of syntheticRounds({ flows, seed, exporters })) {
    for (let i = 0; i < r.batch.length; i++) {
      t.flows++;
      t.packets += r.batch.cols.inPackets[i]!;
      t.bytes += r.batch.cols.inBytes[i]!;
    }
  }
  return t;
}

describe.skipIf(NFDUMP_MISSING !== undefined)("tsreplay", () => {
  const N = 20_000;
  const SEED = 5;
  const want = expectedTotals(N, SEED, 3);

  it("-w: a synthetic v9 stream decodes in tshark to the generator's flows, packets and bytes", async () => {
    const pcap = join(dir, "syn-v9.pcap");
    const r = await tsreplay(["--synthetic", String(N), "--seed", String(SEED), "--exporters", "3", "-w", pcap]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${N} flows in \\d+ v9 datagrams`));
    if (!TSHARK) throw new Error("tshark not installed");
    const { stdout } = await run(
      TSHARK,
      ["-r", pcap, "-d", "udp.port==9995,cflow", "-T", "fields", "-e", "cflow.packets", "-e", "cflow.octets"],
      { maxBuffer: 1 << 28 },
    );
    const t = { flows: 0, packets: 0, bytes: 0 };
    for (const line of stdout.split("\n")) {
      if (!line) continue;
      const [p, b] = line.split("\t");
      const ps = p!.split(",").filter((x) => x !== "");
      const bs = b!.split(",").filter((x) => x !== "");
      t.flows += ps.length;
      for (const x of ps) t.packets += Number(x);
      for (const x of bs) t.bytes += Number(x);
    }
    expect(t).toEqual(want);
    // the same seed gives the same datagrams
    const again = join(dir, "syn-v9-again.pcap");
    await tsreplay(["--synthetic", String(N), "--seed", String(SEED), "--exporters", "3", "-w", again]);
    const a = readPcapFile(pcap);
    const b = readPcapFile(again);
    expect(b.length).toBe(a.length);
    expect(Buffer.concat(b.map((d) => d.payload)).equals(Buffer.concat(a.map((d) => d.payload)))).toBe(true);
  }, 120_000);

  let tscapdDir = "";
  it("sent to tscapd (--pps) and fed to nfcapd, a synthetic stream lists the same flows with the same totals", async () => {
    tscapdDir = join(dir, "tscapd-syn");
    const d = await startTscapd(["-l", tscapdDir, "-B", "8000000"]);
    try {
      const r = await tsreplay([
        "--synthetic",
        String(N),
        "--seed",
        String(SEED),
        "--exporters",
        "3",
        "-p",
        String(d.port),
        "--pps",
        "5000",
      ]);
      expect(r.code, r.stderr).toBe(0);
      await new Promise((ok) => setTimeout(ok, 500));
    } finally {
      await d.stop();
    }
    const ours = await tsdump(["-R", tscapdDir, "-q", "-N", "-o", FMT]);
    expect(ours.code, ours.stderr).toBe(0);
    const pcap = join(dir, "syn-v9.pcap");
    const nf = await captureWithNfcapd(`tsreplay-syn-${N}-${SEED}`, () => readPcapFile(pcap).map((x) => x.payload));
    const ref = await nfdump(["-r", nf, "-q", "-N", "-o", FMT]);
    const a = sortedLines(ours.stdout);
    expect(a.length).toBe(want.flows);
    expect(asNfcapdStores(a)).toEqual(sortedLines(ref));
    const sums = await tsdump(["-R", tscapdDir, "-q", "-N", "-s", "proto/bytes", "-n", "0"]);
    expect(sums.code).toBe(0);
  }, 180_000);

  it("stored flows replayed as v9 into nfcapd and as IPFIX into tscapd list the source's rows", async () => {
    expect(tscapdDir).not.toBe("");
    const src = (await tsdump(["-R", tscapdDir, "-q", "-N", "-o", FMT])).stdout;
    const v9 = join(dir, "replay-v9.pcap");
    const r9 = await tsreplay(["-R", tscapdDir, "-v", "9", "-w", v9]);
    expect(r9.code, r9.stderr).toBe(0);
    const nf = await captureWithNfcapd(`tsreplay-roundtrip-${N}-${SEED}`, () => readPcapFile(v9).map((x) => x.payload));
    expect(sortedLines(await nfdump(["-r", nf, "-q", "-N", "-o", FMT]))).toEqual(asNfcapdStores(sortedLines(src)));

    const out = join(dir, "tscapd-ipfix");
    const d = await startTscapd(["-l", out, "-B", "8000000"]);
    try {
      const r = await tsreplay(["-R", tscapdDir, "-v", "10", "-p", String(d.port), "--pps", "5000"]);
      expect(r.code, r.stderr).toBe(0);
      await new Promise((ok) => setTimeout(ok, 500));
    } finally {
      await d.stop();
    }
    const back = await tsdump(["-R", out, "-q", "-N", "-o", FMT]);
    expect(sortedLines(back.stdout)).toEqual(sortedLines(src));
    // an nfcapd file as the source: replayed as IPFIX into tscapd, tsdump lists nfdump's rows of it
    const fromNf = join(dir, "tscapd-from-nfcapd");
    const d2 = await startTscapd(["-l", fromNf, "-B", "8000000"]);
    try {
      const r = await tsreplay(["-r", nf, "-v", "10", "-p", String(d2.port), "--pps", "5000"]);
      expect(r.code, r.stderr).toBe(0);
      await new Promise((ok) => setTimeout(ok, 500));
    } finally {
      await d2.stop();
    }
    const viaNf = await tsdump(["-R", fromNf, "-q", "-N", "-o", FMT]);
    expect(sortedLines(viaNf.stdout)).toEqual(sortedLines(await nfdump(["-r", nf, "-q", "-N", "-o", FMT])));
    // a filter selects what is sent; v5 counts the IPv6 flows it cannot carry
    const v5 = join(dir, "replay-v5.pcap");
    const r5 = await tsreplay(["-R", tscapdDir, "-v", "5", "-w", v5, "proto tcp"]);
    expect(r5.code, r5.stderr).toBe(0);
    const tcp4 = sortedLines((await tsdump(["-R", tscapdDir, "-q", "-N", "-o", FMT, "proto tcp and inet"])).stdout);
    const tcp6 = sortedLines((await tsdump(["-R", tscapdDir, "-q", "-N", "-o", FMT, "proto tcp and inet6"])).stdout);
    expect(r5.stderr).toContain(`${tcp4.length} flows in`);
    expect(r5.stderr).toContain(`${tcp6.length} IPv6 flows not sent: NetFlow v5 cannot carry IPv6`);
  }, 240_000);

  it("bad host, port, filter and input: a clear message and tsdump's exit codes", async () => {
    const host = await tsreplay(["--synthetic", "10", "-H", "no-such-host.invalid"]);
    expect(host.code).toBe(1);
    expect(host.stderr).toContain("cannot resolve host no-such-host.invalid");
    expect((await tsreplay(["--synthetic", "10", "-p", "70000"])).code).toBe(1);
    expect((await tsreplay([])).code).toBe(1);
    const filter = await tsreplay(["-R", tscapdDir, "-w", join(dir, "x.pcap"), "proto tcp and"]);
    expect(filter.code).toBe(254);
    const port = await freeUdpPort();
    const missing = await tsreplay(["-r", join(dir, "missing-file"), "-p", String(port)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing-file");
  }, 60_000);
});

const SYNTHETIC = ["--synthetic", "20000", "--seed", "5", "--exporters", "3"];

describe("tsreplay -w", () => {
  // pinned with the encoder before it wrote records batch-wise from the columns (the stored file: nfcapd's LZ4
  // blocks, three exporters, IPv6 flows; the synthetic stream: the generator's rounds)
  const FIXTURE = join(REPO_ROOT, "test/fixtures/replay/nfcapd.synthetic-3000");
  it.each([
    ["5", "stored", "5593bcb147e2285a176cf7554836c76c4258bbad3e4a3895baae45bb734c410b"],
    ["9", "stored", "1032168ba55be206ecb3a95f329e19f7ee4318dbdffdee7d7f9a432e1c3678ce"],
    ["10", "stored", "7fce878f41a8d2e688fd83e4a6e45ce3766da90e0c0a32cd1e12d6b5ce1f9ae3"],
    ["5", "synthetic", "a36b79df7c5140e6fb1bfb360d5fbfcffdc858e4b855f1f1b23420c28857c75c"],
    ["9", "synthetic", "a9084715f39d11cfd946ed0bd3d03446937a56376ed8f4bad544f8b81394bfd0"],
    ["10", "synthetic", "25148dff966fde65acb432f02fe450ab90bf23f2121f07b8052fd4de081ed2e9"],
    // read and encoded on the main thread instead of the replay worker
    ["9", "stored", "1032168ba55be206ecb3a95f329e19f7ee4318dbdffdee7d7f9a432e1c3678ce", "one thread"],
    ["5", "synthetic", "a36b79df7c5140e6fb1bfb360d5fbfcffdc858e4b855f1f1b23420c28857c75c", "one thread"],
  ])("-v %s of the %s flows: the pinned bytes %s", async (version, input, want, threads = "") => {
    const out = join(dir, `pinned-${version}-${input}-${threads}.pcap`);
    const env = threads === "" ? process.env : { ...process.env, TSFLOW_REPLAY_WORKER: "0" };
    const argv = [...(input === "stored" ? ["-r", FIXTURE] : SYNTHETIC), "-v", version, "-w", out];
    const { code } = await tsreplay(argv, env);
    expect(code).toBe(0);
    expect(createHash("sha256").update(readFileSync(out)).digest("hex")).toBe(want);
  });
});
