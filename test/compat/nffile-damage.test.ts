// nffile reader on damaged and unusual nfcapd 1.7.1 files: a killed nfcapd's .current file (NumBlocks 0, no
// appendix: nfdump reads nothing, we read the flushed blocks), truncated and bit-flipped files (located errors,
// the rest still read), and a ZSTD file made by recompressing the blocks of a real file with the zstd CLI
// (nfcapd 1.7.1 here cannot write ZSTD).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NfdumpFileReader } from "../../src/store/nffile/index.js";
import type { StoreError } from "../../src/store/errors.js";
import {
  captureWithNfcapd,
  syntheticStream,
  freeUdpPort,
  NFCAPD,
  NFDUMP_MISSING,
  nfdumpTotals,
  readDatagramStream,
  sendDatagrams,
} from "../helpers/nfdump.js";

const TMP = mkdtempSync(join(tmpdir(), "nffile-damage-"));
afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
});

function hasZstd(): boolean {
  try {
    execFileSync("zstd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Reads all blocks; returns rows, sum of inBytes and the errors reported through onError. */
function readAll(file: string): {
  rows: number;
  bytes: number;
  packets: number;
  errors: StoreError[];
  blocks: number;
  reader: NfdumpFileReader;
} {
  const errors: StoreError[] = [];
  const r = NfdumpFileReader.open(file, { onError: (e) => errors.push(e) });
  let rows = 0;
  let bytes = 0;
  let packets = 0;
  for (let i = 0; i < r.blockCount; i++) {
    const b = r.readBlock(i);
    if (!b) continue;
    rows += b.length;
    for (let k = 0; k < b.length; k++) {
      bytes += b.cols.inBytes[k]!;
      packets += b.cols.inPackets[k]!;
    }
  }
  r.close();
  return { rows, bytes, packets, errors, blocks: r.blockCount, reader: r };
}

/** Offsets and sizes of the data blocks of an nffile (from our reader). */
function blocksOf(file: string): { offset: number; length: number; rows: number }[] {
  const r = NfdumpFileReader.open(file);
  const out = Array.from({ length: r.blockCount }, (_, i) => ({ ...r.blockInfo(i) }));
  r.close();
  return out;
}

const v9 = async (flows: number, seed: number): Promise<Uint8Array[]> =>
  readDatagramStream(await syntheticStream({ flows, proto: "v9", seed }));

describe.skipIf(NFDUMP_MISSING !== undefined)("nffile: damaged and unusual files", () => {
  it("a killed nfcapd's .current file: the flushed blocks are read (nfdump reads nothing)", async () => {
    const dir = join(TMP, "killed");
    mkdirSync(dir, { recursive: true });
    const port = await freeUdpPort();
    const child = spawn(
      NFCAPD!,
      ["-b", "127.0.0.1", "-p", String(port), "-w", dir, "-t", "3600", "-B", "8000000", "-y"],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((ok) => {
      child.on("exit", () => {
        ok();
      });
    });
    try {
      await new Promise((r) => setTimeout(r, 400));
      await sendDatagrams(await v9(60000, 21), port);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const name = readdirSync(dir).find((f) => f.startsWith("nfcapd.current"));
    expect(name).toBeDefined();
    const file = join(dir, name!);
    expect((await nfdumpTotals(file)).flows).toBe(0); // nfdump 1.7.1: NumBlocks 0 → nothing
    const got = readAll(file);
    expect(got.reader.hasFooter).toBe(false);
    expect(got.blocks).toBeGreaterThan(0);
    // nfcapd flushes 2 MiB blocks (~17 K v9 records); the rest was still in memory when it was killed
    expect(got.rows).toBeGreaterThan(15000);
    expect(got.rows).toBeLessThanOrEqual(60000);
    expect(got.errors.filter((e) => e.code !== "ERR_STORE_TRUNCATED")).toEqual([]);
    const r = NfdumpFileReader.open(file);
    const s = r.stats();
    r.close();
    expect(s.rows).toBe(got.rows);
    expect(s.totalBytes).toBe(got.bytes);
    expect(s.totalPackets).toBe(got.packets);
  });

  it("a truncated file: the whole blocks before the cut are read, the cut block is reported with its offset", async () => {
    const src = await captureWithNfcapd("nffile-damage-v9-lz4", () => v9(60000, 22), ["-y"]);
    const blocks = blocksOf(src);
    expect(blocks.length).toBeGreaterThan(2);
    const cutBlock = blocks.length - 1;
    const cut = blocks[cutBlock]!.offset + 100;
    const file = join(TMP, "truncated");
    writeFileSync(file, readFileSync(src).subarray(0, cut));
    const got = readAll(file);
    const expectRows = blocks.slice(0, cutBlock).reduce((a, b) => a + b.rows, 0);
    expect(got.rows).toBeGreaterThan(0);
    expect(got.rows).toBeLessThanOrEqual(expectRows);
    expect(got.errors.length).toBeGreaterThan(0);
    const e = got.errors[0]!;
    expect(e.file).toBe(file);
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.message).toContain(file);
  });

  it("a bit-flipped block size and a corrupted payload: located errors, the other blocks still read", async () => {
    const src = await captureWithNfcapd("nffile-damage-v9-lz4", () => v9(60000, 22), ["-y"]);
    const whole = readAll(src);
    expect(whole.errors).toEqual([]);
    const blocks = blocksOf(src);
    const buf = Buffer.from(readFileSync(src));
    // block 1: flip a high bit of its size field → implausible header, the walk resynchronises on block 2
    const b1 = blocks[1]!;
    buf[b1.offset + 7] = buf[b1.offset + 7]! ^ 0x40;
    // block 2: garbage in the middle of the LZ4 payload
    const b2 = blocks[2]!;
    for (let k = 0; k < 64; k++) buf[b2.offset + 12 + 200 + k] = 0xff;
    const file = join(TMP, "flipped");
    writeFileSync(file, buf);
    const got = readAll(file);
    expect(got.errors.length).toBeGreaterThanOrEqual(2);
    const e1 = got.errors.find((e) => e.offset === b1.offset);
    expect(e1?.code).toBe("ERR_STORE_BAD_LENGTH");
    const e2 = got.errors.find((e) => e.code === "ERR_STORE_CORRUPT");
    expect(e2).toBeDefined();
    expect(e2!.block).toBeGreaterThanOrEqual(1);
    expect(e2!.message).toMatch(/block \d+ offset \d+/);
    // everything but blocks 1 and 2 still read
    const lost = b1.rows + b2.rows;
    expect(got.rows).toBeGreaterThanOrEqual(whole.rows - lost);
    expect(got.rows).toBeLessThan(whole.rows);
  });

  it.skipIf(!hasZstd())(
    "ZSTD blocks (recompressed from a real uncompressed nfcapd file) read as the original",
    async () => {
      const src = await captureWithNfcapd("nffile-damage-v9-none", () => v9(20000, 23));
      const orig = readFileSync(src);
      const r = NfdumpFileReader.open(src);
      expect(r.header().codec).toBe("none");
      const parts: Buffer[] = [Buffer.from(orig.subarray(0, 40))];
      let pos = 40;
      const appendix = r.header().offAppendix;
      const all = Array.from({ length: r.blockCount }, (_, i) => r.blockInfo(i));
      r.close();
      const recompress = (off: number, len: number): void => {
        const head = Buffer.from(orig.subarray(off, off + 12));
        const payload = orig.subarray(off + 12, off + len);
        const z = execFileSync("zstd", ["-3", "-q", "-c"], { input: payload });
        head.writeUInt32LE(z.length, 4);
        parts.push(head, z);
        pos += 12 + z.length;
      };
      for (const b of all) recompress(b.offset, b.length);
      const newAppendix = pos;
      recompress(appendix, orig.length - appendix);
      const out = Buffer.concat(parts);
      out[16] = 4; // ZSTD
      out.writeUInt32LE(newAppendix, 24);
      out.writeUInt32LE(0, 28);
      const file = join(TMP, "zstd.nf");
      writeFileSync(file, out);
      const a = readAll(src);
      const b = readAll(file);
      expect(b.errors).toEqual([]);
      expect(b.rows).toBe(a.rows);
      expect(b.bytes).toBe(a.bytes);
      const rz = NfdumpFileReader.open(file);
      expect(rz.header().codec).toBe("zstd");
      expect(rz.stats().totalFlows).toBe(a.rows);
      rz.close();
    },
  );
});
