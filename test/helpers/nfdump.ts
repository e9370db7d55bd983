// Test helpers around the reference implementation: run nfcapd/nfdump 1.7.1, build synthetic streams, and load
// the flows nfdump sees in a file into a RecordBatch (parsed from `-o pipe` + `-o csv`, both in file order).
//
// Compatibility tests use these to put the *same* flows in front of nfdump and tsflow's engine: whatever nfdump
// prints for a filter / statistic / format over the file, our code must produce over the loaded batch.

import { execFile, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { RecordBatch } from "../../src/record/batch.js";
import { parseIPv4, parseIPv6, parseMac } from "../../src/record/ip.js";
import { lengthPrefixed, syntheticDatagrams } from "../../src/replay/synthetic-stream.js";

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** Bumped when the synthetic generator's output changes, so cached streams are rebuilt. */
const SYNTHETIC_VERSION = 3;

/** The tool's path on PATH. A shell looks it up: PATH's directories are outside the repository (fs guard). */
function which(tool: string): string | undefined {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool], { encoding: "utf8" });
  const path = r.stdout?.trim() ?? "";
  return r.status === 0 && path.startsWith("/") ? path : undefined;
}

export const NFDUMP = which("nfdump");
export const NFCAPD = which("nfcapd");
export const TSHARK = which("tshark");
/**
 * Why nfdump-based tests skip, or undefined when nfdump and nfcapd are installed. With CI=true the global setup
 * fails the run instead (test/helpers/global-setup.ts), so CI never passes on skipped compatibility tests.
 */
export const NFDUMP_MISSING: string | undefined =
  NFDUMP && NFCAPD ? undefined : "nfdump/nfcapd not installed (apt-get install -y nfdump)";

const CACHE = join(tmpdir(), "tsflow-test-cache");

/** Runs nfdump with TZ=UTC and returns stdout. */
export async function nfdump(args: readonly string[]): Promise<string> {
  if (!NFDUMP) throw new Error("nfdump not installed");
  const { stdout } = await run(NFDUMP, [...args], { env: { ...process.env, TZ: "UTC" }, maxBuffer: 1 << 30 });
  return stdout;
}

/** Runs nfdump with TZ=UTC and returns stdout and stderr (its warnings). */
export async function nfdumpWithStderr(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  if (!NFDUMP) throw new Error("nfdump not installed");
  return run(NFDUMP, [...args], { env: { ...process.env, TZ: "UTC" }, maxBuffer: 1 << 30 });
}

/** Splits a synthetic stream file (4-byte big-endian length before each datagram) into datagrams. */
export function readDatagramStream(path: string): Uint8Array[] {
  const buf = readFileSync(path);
  const out: Uint8Array[] = [];
  for (let o = 0; o + 4 <= buf.length;) {
    const len = buf.readUInt32BE(o);
    out.push(buf.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return out;
}

/**
 * Builds (once per machine, cached in the temp dir) a synthetic stream file (tsreplay --synthetic's generator)
 * and returns its path. Defaults as the tests have always used: 3 exporters, rounds 17 s apart.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async as callers always awaited it
export async function syntheticStream(opts: {
  flows: number;
  proto?: "v9" | "ipfix" | "v5";
  seed?: number;
  step?: number;
  exporters?: number;
}): Promise<string> {
  const { flows, proto = "v9", seed = 1, step = 17, exporters = 3 } = opts;
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `synthetic-${SYNTHETIC_VERSION}-${proto}-${flows}-${seed}-${step}-${exporters}.bin`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, lengthPrefixed(syntheticDatagrams({ flows, protocol: proto, seed, step, exporters })));
    renameSync(tmp, out);
  }
  return out;
}

/** A free UDP port on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  const sock = createSocket("udp4");
  await new Promise<void>((ok) => sock.bind(0, "127.0.0.1", ok));
  const { port } = sock.address();
  await new Promise<void>((ok) => sock.close(ok));
  return port;
}

/** Sends datagrams to 127.0.0.1:port, paced so the loopback buffer does not overflow. */
export async function sendDatagrams(datagrams: readonly Uint8Array[], port: number, perMs = 20): Promise<void> {
  const sock = createSocket("udp4");
  await new Promise<void>((ok) => sock.bind(0, "127.0.0.1", ok));
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise<void>((ok, fail) => {
        sock.send(datagrams[i]!, port, "127.0.0.1", (err) => {
          if (err) fail(err);
          else ok();
        });
      });
      if (i % perMs === perMs - 1) await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    await new Promise<void>((ok) => sock.close(ok));
  }
}

/**
 * Feeds datagrams to a fresh nfcapd 1.7.1 on loopback and returns the path of the single file it wrote.
 * Cached by `key` in the temp dir so a test run captures each data set once.
 */
export async function captureWithNfcapd(
  key: string,
  datagrams: () => Promise<readonly Uint8Array[]> | readonly Uint8Array[],
  extraArgs: readonly string[] = [],
): Promise<string> {
  if (!NFCAPD) throw new Error("nfcapd not installed");
  const dir = join(CACHE, `nfcapd-s${SYNTHETIC_VERSION}-${key}`);
  const done = join(dir, ".done");
  if (existsSync(done)) return listNfcapdFiles(dir)[0]!;
  // test files run in parallel worker processes: the first to take the lock captures, the others wait for it
  mkdirSync(CACHE, { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(done)) return listNfcapdFiles(dir)[0]!;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000)
          (await import("node:fs")).rmSync(lock, { recursive: true, force: true }); // stale
      } catch {
        // the holder just released it
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (existsSync(done)) return listNfcapdFiles(dir)[0]!;
    return await captureLocked(dir, done, datagrams, extraArgs);
  } finally {
    (await import("node:fs")).rmSync(lock, { recursive: true, force: true });
  }
}

async function captureLocked(
  dir: string,
  done: string,
  datagrams: () => Promise<readonly Uint8Array[]> | readonly Uint8Array[],
  extraArgs: readonly string[],
): Promise<string> {
  if (!NFCAPD) throw new Error("nfcapd not installed");
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.startsWith("nfcapd.")) (await import("node:fs")).rmSync(join(dir, f));
  const port = await freeUdpPort();
  // -t 3600: one file for the whole capture unless the clock crosses an hour boundary (then we merge below)
  const child = spawn(
    NFCAPD,
    ["-b", "127.0.0.1", "-p", String(port), "-w", dir, "-t", "3600", "-B", "8000000", ...extraArgs],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  await new Promise((r) => setTimeout(r, 400));
  await sendDatagrams(await datagrams(), port);
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<void>((ok) =>
    child.on("exit", () => {
      ok();
    }),
  );
  child.kill("SIGTERM");
  await exited;
  const files = listNfcapdFiles(dir);
  if (files.length !== 1) throw new Error(`nfcapd wrote ${files.length} files in ${dir} (want 1); log:\n${log}`);
  (await import("node:fs")).writeFileSync(done, "");
  return files[0]!;
}

function listNfcapdFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^nfcapd\.\d{12,14}$/.test(f))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** MPLS `label-exp-bos` as nfdump 1.7.1 prints it → our column value label<<4 | exp<<1 | bos. */
function parseMpls(text: string): number {
  const [label, exp, bos] = text.split("-").map(Number);
  return (((label ?? 0) << 4) | ((exp ?? 0) << 1) | (bos ?? 0)) >>> 0;
}

function setAddrText(
  batch: RecordBatch,
  col: "nextHop" | "bgpNextHop" | "exporterAddr",
  row: number,
  text: string,
): void {
  const v4 = parseIPv4(text);
  if (v4 >= 0) {
    batch.setV4(col, row, v4);
    return;
  }
  const words = new Uint32Array(4);
  if (!parseIPv6(text, words)) throw new Error(`bad address in nfdump csv: ${text}`);
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(0, words[0]!);
  new DataView(bytes.buffer).setUint32(4, words[1]!);
  new DataView(bytes.buffer).setUint32(8, words[2]!);
  new DataView(bytes.buffer).setUint32(12, words[3]!);
  batch.setV6(col, row, bytes, 0);
}

/**
 * Loads every flow nfdump 1.7.1 prints for `file` into one RecordBatch, in file order: time, addresses
 * (v4/v6), ports, proto, flags, tos, counters, AS and interfaces from `-o pipe` (milliseconds, exact);
 * the rest (masks, next hops, VLAN, MAC, MPLS, router, engine, sysid, received time) from `-o csv`.
 */
export async function loadNfdumpFlows(file: string): Promise<RecordBatch> {
  const [pipe, csv] = await Promise.all([nfdump(["-r", file, "-q", "-o", "pipe"]), nfdump(["-r", file, "-o", "csv"])]);
  const pipeLines = pipe.split("\n").filter((l) => /^\d+\|/.test(l));
  const csvLines = csv.split("\n");
  const header = csvLines[0]!.split(",");
  const end = csvLines.indexOf("Summary");
  const rows = csvLines.slice(1, end < 0 ? undefined : end).filter((l) => l.includes(","));
  if (rows.length !== pipeLines.length)
    throw new Error(`nfdump pipe/csv disagree: ${pipeLines.length} vs ${rows.length}`);
  const batch = new RecordBatch(Math.max(1, rows.length));
  const idx = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`nfdump csv lacks column ${name}`);
    return i;
  };
  const I = {
    fwd: idx("fwd"),
    opkt: idx("opkt"),
    obyt: idx("obyt"),
    smk: idx("smk"),
    dmk: idx("dmk"),
    dtos: idx("dtos"),
    dir: idx("dir"),
    nh: idx("nh"),
    nhb: idx("nhb"),
    svln: idx("svln"),
    dvln: idx("dvln"),
    ismc: idx("ismc"),
    odmc: idx("odmc"),
    idmc: idx("idmc"),
    osmc: idx("osmc"),
    mpls1: idx("mpls1"),
    ra: idx("ra"),
    eng: idx("eng"),
    exid: idx("exid"),
    tr: idx("tr"),
  };
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  for (let r = 0; r < rows.length; r++) {
    const p = pipeLines[r]!.split("|").map(Number);
    const f = rows[r]!.split(",").map((s) => s.trim());
    const row = batch.addRow();
    const c = batch.cols;
    const af = p[0]!;
    c.msecFirst[row] = p[1]!;
    c.msecLast[row] = p[2]!;
    c.proto[row] = p[3]!;
    if (af === 2) {
      batch.setV4("srcAddr", row, p[7]!);
      batch.setV4("dstAddr", row, p[12]!);
    } else {
      for (let k = 0; k < 4; k++) dv.setUint32(k * 4, p[4 + k]!);
      batch.setV6("srcAddr", row, bytes, 0);
      for (let k = 0; k < 4; k++) dv.setUint32(k * 4, p[9 + k]!);
      batch.setV6("dstAddr", row, bytes, 0);
    }
    c.srcPort[row] = p[8]!;
    c.dstPort[row] = p[13]!;
    c.srcAs[row] = p[14]!;
    c.dstAs[row] = p[15]!;
    c.input[row] = p[16]!;
    c.output[row] = p[17]!;
    c.tcpFlags[row] = p[18]!;
    c.srcTos[row] = p[19]!;
    c.inPackets[row] = p[20]!;
    c.inBytes[row] = p[21]!;
    c.flows[row] = 1;
    if (c.proto[row] === 1 || c.proto[row] === 58) {
      c.icmpType[row] = c.dstPort[row] >> 8;
      c.icmpCode[row] = c.dstPort[row] & 0xff;
    }
    c.fwdStatus[row] = Number(f[I.fwd]);
    c.outPackets[row] = Number(f[I.opkt]);
    c.outBytes[row] = Number(f[I.obyt]);
    c.srcMask[row] = Number(f[I.smk]);
    c.dstMask[row] = Number(f[I.dmk]);
    c.dstTos[row] = Number(f[I.dtos]);
    c.direction[row] = Number(f[I.dir]);
    setAddrText(batch, "nextHop", row, f[I.nh]!);
    setAddrText(batch, "bgpNextHop", row, f[I.nhb]!);
    setAddrText(batch, "exporterAddr", row, f[I.ra]!);
    c.srcVlan[row] = Number(f[I.svln]);
    c.dstVlan[row] = Number(f[I.dvln]);
    c.inSrcMac[row] = parseMac(f[I.ismc]!);
    c.outDstMac[row] = parseMac(f[I.odmc]!);
    c.inDstMac[row] = parseMac(f[I.idmc]!);
    c.outSrcMac[row] = parseMac(f[I.osmc]!);
    const mplsCols = [c.mpls1, c.mpls2, c.mpls3, c.mpls4, c.mpls5, c.mpls6, c.mpls7, c.mpls8, c.mpls9, c.mpls10];
    for (let k = 0; k < 10; k++) mplsCols[k]![row] = parseMpls(f[I.mpls1 + k]!);
    const [et, ei] = f[I.eng]!.split("/").map(Number);
    c.engineType[row] = et ?? 0;
    c.engineId[row] = ei ?? 0;
    c.exporterId[row] = Number(f[I.exid]);
    c.msecReceived[row] = Date.parse(`${f[I.tr]!.replace(" ", "T")}Z`);
  }
  return batch;
}

/** The summary numbers nfdump prints for `file` and an optional filter: flows, bytes, packets. */
export async function nfdumpTotals(
  file: string,
  filter?: string,
): Promise<{ flows: number; bytes: number; packets: number }> {
  const args = ["-r", file, "-o", "csv", "-N"];
  if (filter !== undefined) args.push(filter);
  const out = await nfdump(args);
  const lines = out.trim().split("\n");
  const i = lines.indexOf("flows,bytes,packets,avg_bps,avg_pps,avg_bpp");
  if (i < 0) {
    if (out.includes("No matching flows") || lines.length <= 1) return { flows: 0, bytes: 0, packets: 0 };
    throw new Error(`unexpected nfdump output:\n${out.slice(0, 500)}`);
  }
  const [flows, bytes, packets] = lines[i + 1]!.split(",").map(Number);
  return { flows: flows!, bytes: bytes!, packets: packets! };
}
