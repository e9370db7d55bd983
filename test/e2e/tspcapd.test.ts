// End to end: tspcapd as a user runs it. Seeded captures of ordinary traffic give, per 5-tuple, the packets and
// bytes nfpcapd 1.7.1 gives (flow counts differ only where tspcapd ends TCP flows at FIN/RST); damaged files keep
// the flows before the damage and exit 2 naming the offset; -H exports into tscapd the flows -l writes; live
// capture on the loopback interface counts the datagrams the test sends to 127.0.0.1.

import { execFile, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../helpers/fixtures.js";
import { SERVICE_ROOT } from "../helpers/service-root.js";
import { freeUdpPort, NFDUMP_MISSING, nfdump, REPO_ROOT } from "../helpers/nfdump.js";
import { frame, ipPacket, LINK, pcapFile, pcapngFile, seededTraffic } from "../helpers/packet-builder.js";
import { startTscapd, tsdump } from "../helpers/programs.js";

const run = promisify(execFile);
const TSPCAPD = join(REPO_ROOT, "dist/bin/tspcapd.js");
const TUPLE = "fmt:%pr,%sa,%sp,%da,%dp,%pkt,%byt";
const dir = mkdtempSync(join(tmpdir(), "tspcapd-e2e-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function tspcapd(args: readonly string[]): Promise<{ stderr: string; code: number }> {
  try {
    const { stderr } = await run(process.execPath, [TSPCAPD, ...args], { env: { ...process.env, TZ: "UTC" } });
    return { stderr, code: 0 };
  } catch (err) {
    const e = err as { stderr?: string; code?: number };
    return { stderr: e.stderr ?? "", code: typeof e.code === "number" ? e.code : -1 };
  }
}

/** Rows "proto,src,sport,dst,dport" → [packets, bytes] summed over the flows of each 5-tuple, and flows per tuple. */
function perTuple(text: string): { tuples: Map<string, [number, number]>; flows: Map<string, number> } {
  const tuples = new Map<string, [number, number]>();
  const flows = new Map<string, number>();
  for (const line of text.split("\n")) {
    const f = line.split(",").map((x) => x.trim());
    if (f.length !== 7) continue;
    const key = f.slice(0, 5).join(",");
    flows.set(key, (flows.get(key) ?? 0) + 1);
    const t = tuples.get(key) ?? [0, 0];
    t[0] += Number(f[5]);
    t[1] += Number(f[6]);
    tuples.set(key, t);
  }
  return { tuples, flows };
}

async function nfpcapdFlows(file: string, out: string): Promise<string> {
  mkdirSync(out, { recursive: true });
  await run("nfpcapd", ["-r", file, "-w", out, "-e", "300,60"]);
  return nfdump(["-R", out, "-q", "-N", "-o", TUPLE]);
}

async function tspcapdFlows(
  args: readonly string[],
  out: string,
): Promise<{ text: string; stderr: string; code: number }> {
  const r = await tspcapd([...args, "-l", out, "-S", "0"]);
  const d = await tsdump(["-R", out, "-q", "-N", "-o", TUPLE]);
  return { text: d.stdout, stderr: r.stderr, code: r.code };
}

describe.skipIf(NFDUMP_MISSING)("tspcapd vs nfpcapd 1.7.1", () => {
  it.each([
    [11, 400, LINK.ETHERNET],
    [12, 1500, LINK.ETHERNET],
    [14, 300, LINK.SLL],
    [15, 300, LINK.RAW],
  ])(
    "seed %i, %i conversations, link type %i: the same packets and bytes per 5-tuple and in total",
    async (seed, n, link) => {
      const file = join(dir, `seed${seed}.pcap`);
      const traffic = seededTraffic(seed, n, undefined, undefined, link);
      writeFileSync(file, pcapFile(traffic, { link }));
      const ref = perTuple(await nfpcapdFlows(file, join(dir, `nf${seed}`)));
      const got = await tspcapdFlows(["-r", file], join(dir, `ts${seed}`));
      expect(got.code).toBe(0);
      const mine = perTuple(got.text);
      expect(ref.tuples.size).toBeGreaterThan(n);
      expect(mine.tuples).toEqual(ref.tuples);
      const total = (m: Map<string, [number, number]>): number[] =>
        [...m.values()].reduce((a, [p, b]) => [a[0] + p, a[1] + b], [0, 0]);
      expect(total(mine.tuples)).toEqual(total(ref.tuples));
      expect(total(mine.tuples)[0]).toBe(traffic.length);
      // flow counts: nfpcapd makes a flow of every ICMP and every DNS packet, tspcapd aggregates them like any
      // other traffic (docs/compatibility.md); elsewhere the counts agree (these conversations end with FINs)
      let perPacket = 0;
      for (const [key, n] of ref.flows) {
        const [proto, , sport, , dport] = key.split(",");
        if (proto === "1" || proto === "58" || (proto === "17" && (sport === "53" || dport === "53"))) {
          expect(n).toBe(ref.tuples.get(key)![0]);
          expect(mine.flows.get(key)).toBe(1);
          perPacket++;
        } else expect([key, mine.flows.get(key)]).toEqual([key, n]);
      }
      expect(perPacket).toBeGreaterThan(n / 4);
    },
  );

  it("the public captures in test/fixtures/packets (provenance in its README): the same per-5-tuple sums", async () => {
    const files = readdirSync(FIXTURES)
      .filter((f) => f.endsWith(".pcap"))
      .map((f) => join(FIXTURES, f));
    expect(files.length).toBeGreaterThan(50);
    const ref = new Map<string, [number, number]>();
    for (const [i, f] of files.entries()) {
      for (const [k, [p, b]] of perTuple(await nfpcapdFlows(f, join(dir, `fx-nf${i}`))).tuples) {
        const t = ref.get(k) ?? [0, 0];
        ref.set(k, [t[0] + p, t[1] + b]);
      }
    }
    // one tspcapd run reads them all, in order, into one cache
    const got = await tspcapdFlows(
      files.flatMap((f) => ["-r", f]),
      join(dir, "fx-ts"),
    );
    expect(got.code).toBe(0);
    expect(ref.size).toBeGreaterThan(50);
    expect(perTuple(got.text).tuples).toEqual(ref);
  });

  it("pcapng and gzip give the flows of the plain pcap", async () => {
    const traffic = seededTraffic(13, 200);
    writeFileSync(join(dir, "p.pcap"), pcapFile(traffic));
    writeFileSync(join(dir, "p.pcapng"), pcapngFile(traffic));
    writeFileSync(join(dir, "p.pcap.gz"), gzipSync(pcapFile(traffic)));
    const plain = await tspcapdFlows(["-r", join(dir, "p.pcap")], join(dir, "plain"));
    const ng = await tspcapdFlows(["-r", join(dir, "p.pcapng")], join(dir, "ng"));
    const gz = await tspcapdFlows(["-r", join(dir, "p.pcap.gz")], join(dir, "gz"));
    expect(plain.text.split("\n").length).toBeGreaterThan(200);
    expect(ng.text).toBe(plain.text);
    expect(gz.text).toBe(plain.text);
  });
});

describe("bad input", () => {
  const traffic = seededTraffic(21, 50);
  const whole = pcapFile(traffic);

  it("a truncated file: exit 2, the offset of the cut record, the flows before it kept", async () => {
    // cut in the middle of the last record
    const cut = whole.subarray(0, whole.length - 10);
    const file = join(dir, "cut.pcap");
    writeFileSync(file, cut);
    const got = await tspcapdFlows(["-r", file], join(dir, "cut"));
    expect(got.code).toBe(2);
    const last = traffic[traffic.length - 1]!;
    const offset = whole.length - 16 - last.bytes.length;
    expect(got.stderr).toContain(`cut.pcap: offset ${offset}: the file ends inside a packet record`);
    const packets = [...perTuple(got.text).tuples.values()].reduce((a, [p]) => a + p, 0);
    expect(packets).toBe(traffic.length - 1);
  });

  it("wrong magic: exit 2 at offset 0, no flows", async () => {
    const bad = whole.slice();
    bad.set([0, 1, 2, 3], 0);
    writeFileSync(join(dir, "magic.pcap"), bad);
    const r = await tspcapd(["-r", join(dir, "magic.pcap"), "-l", join(dir, "magic")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("magic.pcap: offset 0: not a pcap or pcapng file (magic 0x03020100)");
  });

  it("an unknown link type: counted and reported, exit 2", async () => {
    writeFileSync(join(dir, "link.pcap"), pcapFile(traffic.slice(0, 5), { link: 147 }));
    const r = await tspcapd(["-r", join(dir, "link.pcap"), "-l", join(dir, "link")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("link type 147 is not supported");
    expect(r.stderr).toContain("unknown: 5");
  });

  it("snaplen-cut packets count their IP length; cuts inside the headers are counted as short caplen", async () => {
    const full = frame(
      ipPacket({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 1000 }),
      LINK.ETHERNET,
    );
    const file = join(dir, "snap.pcap");
    writeFileSync(
      file,
      pcapFile([
        { us: 1e15, bytes: full.slice(0, 64), wireLength: full.length },
        { us: 1e15 + 1, bytes: full.slice(0, 20), wireLength: full.length },
      ]),
    );
    const got = await tspcapdFlows(["-r", file], join(dir, "snap"));
    expect(got.code).toBe(0);
    expect(got.stderr).toContain("short caplen: 1");
    expect([...perTuple(got.text).tuples.entries()]).toEqual([["17,10.0.0.1,1,10.0.0.2,2", [1, 1028]]]);
  });

  it("usage errors exit 1", async () => {
    expect((await tspcapd(["-l", dir])).code).toBe(1);
    expect((await tspcapd(["-r", "x.pcap"])).code).toBe(1);
    expect((await tspcapd(["-r", "x.pcap", "-H", "127.0.0.1/9995", "-v", "7"])).code).toBe(1);
  });
});

describe("files and filters", () => {
  it("rotation follows the packet clock: a 12-minute capture with -t 300 gives the slots' files in the -S 1 tree", async () => {
    const start = Date.UTC(2026, 0, 2, 10, 1, 0) * 1000; // µs
    const traffic = [0, 4, 6, 11].map((min, i) => ({
      us: start + min * 60e6,
      bytes: frame(ipPacket({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 100 + i, dport: 53 }), LINK.ETHERNET),
    }));
    const file = join(dir, "rotate.pcap");
    writeFileSync(file, pcapFile(traffic));
    const out = join(dir, "rotate");
    const r = await tspcapd(["-r", file, "-l", out, "-t", "300", "-e", "300,30"]);
    expect(r.code).toBe(0);
    const files = (await run("find", [out, "-type", "f", "-name", "tscapd.*"])).stdout.trim().split("\n").sort();
    expect(files.map((f) => f.slice(out.length + 1))).toEqual([
      "2026/01/02/tscapd.202601021000",
      "2026/01/02/tscapd.202601021005",
      "2026/01/02/tscapd.202601021010",
    ]);
    const d = await tsdump(["-R", out, "-q", "-N", "-o", TUPLE]);
    expect(d.stdout.trim().split("\n")).toHaveLength(4);
  });

  it("a pcap filter expression keeps the matching packets; a bad one exits 1", async () => {
    const file = join(dir, "filter.pcap");
    writeFileSync(file, pcapFile(seededTraffic(41, 200)));
    const all = perTuple((await tspcapdFlows(["-r", file], join(dir, "unfiltered"))).text);
    // libpcap's "udp" looks at untagged frames only: "vlan and udp" takes the tagged ones
    const udp = await tspcapdFlows(["-r", file, "udp or (vlan and udp)"], join(dir, "filtered"));
    expect(udp.code).toBe(0);
    const want = new Map([...all.tuples].filter(([k]) => k.startsWith("17,")));
    expect(want.size).toBeGreaterThan(20);
    expect(perTuple(udp.text).tuples).toEqual(want);
    const bad = await tspcapd(["-r", file, "-l", join(dir, "badfilter"), "udp", "and", "and"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tspcapd: filter: can.t parse filter expression: syntax error/);
  });
});

describe("export", () => {
  it.each(["9", "10"])("-H host/port -v %s: tscapd stores the flows -l writes", async (version) => {
    const file = join(dir, `export${version}.pcap`);
    writeFileSync(file, pcapFile(seededTraffic(31, 300)));
    const FMT = "fmt:%ts,%te,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%flg,%tos";
    const local = join(dir, `local${version}`);
    expect((await tspcapd(["-r", file, "-l", local])).code).toBe(0);
    const want = (await tsdump(["-R", local, "-q", "-N", "-o", FMT])).stdout.split("\n").sort();
    const collected = join(dir, `collected${version}`);
    const d = await startTscapd(["-l", collected, "-t", "3600"]);
    const r = await tspcapd(["-r", file, "-H", `127.0.0.1/${d.port}`, "-v", version]);
    expect(r.code).toBe(0);
    await new Promise((ok) => setTimeout(ok, 500));
    await d.stop();
    const got = (await tsdump(["-R", collected, "-q", "-N", "-o", FMT])).stdout.split("\n").sort();
    expect(want.length).toBeGreaterThan(300);
    expect(got).toEqual(want);
  });
});

describe.skipIf(process.getuid?.() !== 0)("live capture", () => {
  it("-i lo counts the datagrams sent to 127.0.0.1, filtered by port, after dropping to nobody", async () => {
    const port = await freeUdpPort();
    // nobody must reach the output directory: not below the temp directory, whose parent may be private (CI)
    mkdirSync(SERVICE_ROOT, { recursive: true, mode: 0o755 });
    const out = mkdtempSync(join(SERVICE_ROOT, "tspcapd-live-"));
    chmodSync(out, 0o777);
    const proc = spawn(
      process.execPath,
      [TSPCAPD, "-i", "lo", "-l", out, "-S", "0", "-u", "nobody", "-g", "nogroup", `udp dst port ${port}`],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TZ: "UTC" } },
    );
    let log = "";
    proc.stderr.on("data", (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((ok) => proc.on("exit", ok));
    const deadline = Date.now() + 15_000;
    while (!log.includes("capturing on lo")) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`tspcapd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const sock = createSocket("udp4");
    for (let i = 0; i < 25; i++) {
      await new Promise<void>((ok) => {
        sock.send(Buffer.alloc(100), port, "127.0.0.1", () => {
          ok();
        });
      });
      // other traffic the filter must drop
      await new Promise<void>((ok) => {
        sock.send(Buffer.alloc(10), port + 1 > 65535 ? port - 1 : port + 1, "127.0.0.1", () => {
          ok();
        });
      });
    }
    sock.close();
    await new Promise((r) => setTimeout(r, 300));
    proc.kill("SIGTERM");
    expect(await exited, log).toBe(0);
    const d = await tsdump(["-R", out, "-q", "-N", "-o", TUPLE]);
    const rows = [...perTuple(d.stdout).tuples.entries()];
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toMatch(new RegExp(`^17,127\\.0\\.0\\.1,\\d+,127\\.0\\.0\\.1,${port}$`));
    expect(rows[0]![1]).toEqual([25, 25 * 128]);
    expect(log).toMatch(/Processed: 25,/);
    rmSync(out, { recursive: true, force: true });
  });

  it("a kill -9 keeps the flows expired a second before: the next run recovers the .current file", async () => {
    const port = await freeUdpPort();
    const out = join(dir, "killed");
    const proc = spawn(
      process.execPath,
      [TSPCAPD, "-i", "lo", "-l", out, "-S", "0", "-e", "60,1", `udp dst port ${port}`],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, TZ: "UTC" },
      },
    );
    let log = "";
    proc.stderr.on("data", (b: Buffer) => (log += b.toString()));
    const exited = new Promise<unknown>((ok) => proc.on("exit", ok));
    const deadline = Date.now() + 15_000;
    while (!log.includes("capturing on lo")) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`tspcapd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const sock = createSocket("udp4");
    for (let i = 0; i < 10; i++)
      await new Promise<void>((ok) => {
        sock.send(Buffer.alloc(50), port, "127.0.0.1", () => {
          ok();
        });
      });
    sock.close();
    // inactive after 1 s, written within the next second
    await new Promise((r) => setTimeout(r, 3000));
    proc.kill("SIGKILL");
    await exited;
    const again = join(dir, "one.pcap");
    writeFileSync(
      again,
      pcapFile([
        { us: 1e15, bytes: frame(ipPacket({ src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2 }), 1) },
      ]),
    );
    const r = await tspcapd(["-r", again, "-l", out, "-S", "0"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/recovered .*tscapd\.current\.\d+\.0: 1 blocks, 1 flows/);
    const d = await tsdump(["-R", out, "-q", "-N", "-o", TUPLE, `dst port ${port}`]);
    expect([...perTuple(d.stdout).tuples.values()]).toEqual([[10, 10 * 78]]);
  });
});
