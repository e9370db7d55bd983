// End to end: the real tsdump against the real nfdump 1.7.1 on the same nfcapd file (tsdump reads nfdump's
// archives), and tsdump's own behaviour a script depends on: exit codes, `| head`, filter errors with a
// caret, damaged files, -w conversion.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  captureWithNfcapd,
  syntheticStream,
  NFDUMP_MISSING,
  nfdump,
  nfdumpWithStderr,
  readDatagramStream,
} from "../helpers/nfdump.js";
import { TSDUMP, tsdump } from "../helpers/programs.js";

/** Drops the lines that measure the run itself (CPU times, bytes read by the reader). */
const stable = (text: string): string =>
  text
    .split("\n")
    .filter((l) => !l.startsWith("Sys:") && !l.startsWith("Total flows processed:"))
    .join("\n");

describe.skipIf(NFDUMP_MISSING !== undefined)("tsdump vs nfdump 1.7.1 on one nfcapd file", () => {
  let file = "";
  beforeAll(async () => {
    const stream = await syntheticStream({ flows: 20_000, proto: "v9", seed: 11 });
    file = await captureWithNfcapd("tsdump-e2e-v9-20000", () => readDatagramStream(stream), ["-y"]);
  });

  it.each([
    [["-o", "line", "-c", "50"]],
    [["-o", "extended", "proto tcp and dst port 443"]],
    [["-o", "long", "-N", "src net 10.0.0.0/16 and bytes > 10000"]],
    [["-o", "line", "-q", "dst port 53"]],
    [
      ["-o", "csv", "--csv-legacy", "proto udp"],
      ["-o", "csv", "proto udp"],
    ],
    [["-o", "null", "not proto tcp"]],
    [["-o", "line", "-t", "2025/12/31.23:59:30-2026/01/01.00:00:30", "proto udp"]],
    [["-o", "pipe", "-q", "inet6"]],
    [["-s", "dstport/bytes", "-n", "5"]],
    [["-s", "proto/packets"]],
    [["-A", "proto,dstport", "-O", "bytes", "-n", "10"]],
    [["-A", "srcip4/16,dstport", "-O", "flows", "-n", "10", "proto tcp and ipv4"]], // nfdump garbles /N on IPv6 flows
    [
      ["-a", "-O", "bytes", "-n", "5"],
      ["-a", "-O", "bytes", "-n", "5", "-o", "line"],
    ],
    [
      ["-b", "-O", "bytes", "-n", "5"],
      ["-b", "-O", "bytes", "-n", "5", "-o", "biline"],
    ],
    // -s record tables aggregated by -A (they were printed empty)
    [["-s", "record/bytes/flows", "-n", "5", "-A", "proto,dstport"]],
    [["-s", "record/packets", "-n", "4", "-A", "srcip4/16", "-o", "line", "proto tcp and ipv4"]],
    [["-s", "record/bytes", "-n", "5", "-A", "dstport", "-W", "1"]],
    // -A with -o null: 1.7.1 aggregates and prints the summary only
    [["-A", "proto,dstport", "-o", "null"]],
  ])("%j", async (ts, nf = ts.filter((a, i, all) => a !== "-W" && all[i - 1] !== "-W")) => {
    const [a, b] = await Promise.all([tsdump(["-r", file, ...ts]), nfdump(["-r", file, ...nf])]);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe("");
    expect(stable(a.stdout)).toBe(stable(b));
  });

  it.each([
    [["-s", "record/bytes", "-n", "5", "-a", "-o", "line"]],
    [["-s", "record/bytes", "-n", "5", "-b"]],
    [["-s", "dstport/bytes", "-n", "5", "-A", "proto"]],
  ])("%j: -a/-b/-A dropped with nfdump's warning, the tables as nfdump's", async (args) => {
    const a = await tsdump(["-r", file, ...args]);
    const { stdout, stderr } = await nfdumpWithStderr(["-r", file, ...args]);
    expect(a.code).toBe(0);
    expect(stable(a.stdout)).toBe(stable(stdout));
    expect(a.stderr.trim()).toBe(stderr.trim());
  });

  it("-o null in any case prints the summary only; an unknown -o name is a usage error with a suggestion", async () => {
    const lower = await tsdump(["-r", file, "-o", "null", "proto udp"]);
    const upper = await tsdump(["-r", file, "-o", "NULL", "proto udp"]);
    expect(lower.code).toBe(0);
    expect(stable(upper.stdout)).toBe(stable(lower.stdout));
    expect(lower.stdout.startsWith("Summary: total flows:")).toBe(true);
    const bad = await tsdump(["-r", file, "-o", "lien"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("tsdump: unknown output format 'lien' (did you mean line?)\n");
  });

  it.each([[["-o", "null"]], [["-o", "null", "proto tcp"]], [["-s", "proto"]], [["-A", "proto", "-o", "null"]]])(
    "%j: 'Total flows processed' and 'Bytes read' (decompressed block payloads) as nfdump's",
    async (args) => {
      const total = (text: string): string | undefined => text.split("\n").find((l) => l.startsWith("Total flows"));
      const want = total(await nfdump(["-r", file, ...args]));
      expect(want).toMatch(/Bytes read: \d+$/);
      for (const w of ["1", "2"]) expect(total((await tsdump(["-r", file, "-W", w, ...args])).stdout)).toBe(want);
    },
  );

  it("-I prints the statistics record exactly as nfdump -I; -v verifies; -E lists the exporters", async () => {
    const [a, b] = await Promise.all([tsdump(["-I", "-r", file]), nfdump(["-I", "-r", file])]);
    expect(a.stdout).toBe(b);
    const v = await tsdump(["-v", file]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/Records {4}: 20000 \(statistics record: 20000\)/);
    const e = await tsdump(["-E", file]);
    expect(e.stdout).toMatch(
      /^Exporters:\n\nSysID: 1, IP: +127\.0\.0\.1, version: 9, ID: +\d+, Sequence failures: 0, packets: \d+, flows: \d+/,
    );
  });

  it("--table draws -s tables with box characters; --progress reports on stderr, --no-progress does not", async () => {
    const t = await tsdump(["-r", file, "-s", "proto", "--table", "--progress"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^Top 10 Protocol ordered by flows:\n┌/);
    expect(t.stdout).toMatch(/│ TCP +│ 6 +│/);
    expect(t.stderr).toMatch(/\d+\/\d+ blocks, .* flows\/s/);
    const q = await tsdump(["-r", file, "-s", "proto", "--no-progress"]);
    expect(q.stderr).toBe("");
  });

  it("converts the nfcapd file with -w into a tsflow file with the same flows", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "tsflow-w-")), "converted");
    expect((await tsdump(["-r", file, "-w", out])).code).toBe(0);
    const [a, b] = await Promise.all([
      tsdump(["-r", out, "-o", "line", "-q"]),
      nfdump(["-r", file, "-o", "line", "-q"]),
    ]);
    expect(a.stdout).toBe(b);
    expect(readFileSync(out).subarray(0, 4).toString("latin1")).toBe("TSFL");
  });

  it("-J recompresses a tsflow file in place and keeps its flows; nfdump files are pointed to -w", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "tsflow-J-")), "tscapd.202601010000");
    expect((await tsdump(["-r", file, "-w", out])).code).toBe(0);
    const before = await tsdump(["-r", out, "-o", "line", "-q"]);
    const j = await tsdump(["-r", out, "-J", "none"]);
    expect(j.code).toBe(0);
    expect(j.stdout).toBe(`${out}: lz4 -> none\n`);
    expect((await tsdump(["-v", out])).stdout).toMatch(/not compressed/);
    expect((await tsdump(["-r", out, "-o", "line", "-q"])).stdout).toBe(before.stdout);
    const nf = await tsdump(["-r", file, "-J", "lz4"]);
    expect(nf.code).toBe(1);
    expect(nf.stderr).toMatch(/an nfdump file; convert it with -r .* -w OUT/);
  });

  it("reports a damaged block with file, block and offset, reads the rest and exits 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-bad-"));
    const good = join(dir, "good");
    expect((await tsdump(["-r", file, "-w", good])).code).toBe(0);
    const bytes = readFileSync(good);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff; // inside a block's column data
    const bad = join(dir, "bad");
    writeFileSync(bad, bytes);
    const r = await tsdump(["-r", bad, "-o", "null"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${bad.replace(/[/.]/g, "\\$&")}.*block \\d+.*offset \\d+`));
    const flows = Number(/total flows: (\d+)/.exec(r.stdout)![1]);
    expect(flows).toBeGreaterThan(0);
    expect(flows).toBeLessThan(20_000);
  });

  it("exits 0 quietly when the reader of its output goes away (| head)", async () => {
    const child = spawn(process.execPath, [TSDUMP, "-r", file, "-o", "line"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((ok) =>
      child.stdout.once("data", () => {
        ok();
      }),
    );
    child.stdout.destroy();
    const code = await new Promise<number | null>((ok) =>
      child.on("exit", (c) => {
        ok(c);
      }),
    );
    expect(code).toBe(0);
    expect(stderr).toBe("");
  });
});

describe.skipIf(NFDUMP_MISSING !== undefined)("tsdump's scan threads on an nfcapd file of many blocks", () => {
  // -W n scans on the main thread and n - 1 workers, which take work items (8 blocks each) from one list: the
  // main thread scans while the workers start, and the listing must still come out in file/block order
  let file = "";
  beforeAll(async () => {
    const stream = await syntheticStream({ flows: 200_000, proto: "v9", seed: 12 });
    file = await captureWithNfcapd("tsdump-e2e-v9-200000", () => readDatagramStream(stream), ["-y"]);
  }, 120_000);

  it("has at least three work items", async () => {
    const v = await tsdump(["-v", file]);
    const blocks = Number(/Data blks {2}: (\d+)/.exec(v.stdout)?.[1]);
    expect(blocks).toBeGreaterThan(2 * 8);
  });

  it.each([["1"], ["2"], ["3"]])("-W %s: listing order, statistics and summary as nfdump's", async (w) => {
    // unfiltered: a filter on fewer than 256 blocks scans on the main thread alone (query.ts)
    const queries: [string[], string[]][] = [
      [
        ["-o", "fmt:%ts %sp %dp %pr %byt"],
        ["-o", "fmt:%ts %sp %dp %pr %byt"],
      ],
      [
        ["-s", "dstport/bytes", "-n", "5"],
        ["-s", "dstport/bytes", "-n", "5"],
      ],
      [
        ["-o", "null"],
        ["-o", "null"],
      ],
      [
        ["-o", "line", "dst port 443"],
        ["-o", "line", "dst port 443"],
      ],
    ];
    for (const [ts, nf] of queries) {
      const [a, b] = await Promise.all([tsdump(["-W", w, "-r", file, ...ts]), nfdump(["-r", file, ...nf])]);
      expect(a.code).toBe(0);
      expect(a.stderr).toBe("");
      const same = stable(a.stdout) === stable(b); // (a failed toBe on megabytes of text takes long to print)
      expect([ts.join(" "), same]).toEqual([ts.join(" "), true]);
    }
  });
});

describe("tsdump filter errors and checks", () => {
  it("prints the filter with a caret under the bad token and exits 254", async () => {
    const r = await tsdump(["-r", "/nonexistent", "src ip 10.0.0.300"]);
    expect(r.code).toBe(254);
    const lines = r.stderr.split("\n");
    const at = lines.findIndex((l) => l.includes("src ip 10.0.0.300"));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toMatch(/^\s*\^/);
  });

  it("-Z checks only: 0 for a good filter, 254 for a bad one", async () => {
    expect((await tsdump(["-Z", "src net 10.0.0.0/8 and dst port in [80 443]"])).code).toBe(0);
    expect((await tsdump(["-Z", "src port > "])).code).toBe(254);
  });

  it("a missing input is a data error (2) naming the path", async () => {
    const r = await tsdump(["-r", "/nonexistent/flows", "-o", "null"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("/nonexistent/flows");
  });
});
