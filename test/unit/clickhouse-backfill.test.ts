// The back-fill log of tscapd --clickhouse (src/clickhouse/backfill.ts), without a server: references written by
// the writer's end are read back by the sink's end as the blocks of the flow files (open, renamed at close, or
// renamed by a restart's recovery), a gone file or a damaged block is counted and logged with its place, the batch
// in flight is redone with the same id after a crash, and the log is bounded. Posted blocks (referenced with the
// writer's run) are the stream's while that run lives and are back-filled by the next start when not done.
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BackfillReader,
  BackfillWriter,
  MAX_SEGMENTS,
  backfillDir,
  batchId,
  type RefPos,
} from "../../src/clickhouse/backfill.js";
import { RecordBatch } from "../../src/record/batch.js";
import { FlowFileReader, FlowFileWriter } from "../../src/store/index.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tsflow-backfill-"));

/** A block of `n` flows whose inBytes are base, base+1, … */
function block(n: number, base: number): RecordBatch {
  const b = new RecordBatch(n);
  for (let i = 0; i < n; i++) {
    const r = b.addRow();
    b.cols.msecFirst[r] = 1_767_225_600_000 + base + i;
    b.cols.msecLast[r] = 1_767_225_600_000 + base + i + 10;
    b.cols.inBytes[r] = base + i;
    b.cols.inPackets[r] = 1;
    b.cols.srcAddr[r] = 0x0a000000 + i;
    b.cols.proto[r] = 6;
  }
  return b;
}

/** Writes blocks of these sizes; references those in `ref` through `log`. */
function writeFile(
  path: string,
  sizes: readonly number[],
  ref: readonly number[],
  log: BackfillWriter,
): FlowFileWriter {
  const w = FlowFileWriter.open(path, { fsync: false });
  sizes.forEach((n, k) => {
    w.appendBatchSync(block(n, k * 1000));
    if (!ref.includes(k)) return;
    const at = w.lastBlock!;
    const { dev, ino } = w.identity();
    expect(
      log.add({ path: w.path, dev, ino, offset: at.offset, rows: n, msecFirst: at.msecFirst, msecLast: at.msecLast }),
    ).toBe(true);
  });
  return w;
}

const bytesOf = (b: RecordBatch): number[] => Array.from(b.cols.inBytes.subarray(0, b.length));

/** Appends `b` as a block of `w` and logs its reference as posted to the stream (as the writer thread does). */
function appendPosted(log: BackfillWriter, w: FlowFileWriter, b: RecordBatch): RefPos | null {
  w.appendBatchSync(b);
  const at = w.lastBlock!;
  const { dev, ino } = w.identity();
  return log.addPosted({
    path: w.path,
    dev,
    ino,
    offset: at.offset,
    rows: b.length,
    msecFirst: at.msecFirst,
    msecLast: at.msecLast,
  });
}

describe("ClickHouse back-fill log", () => {
  it("reads the referenced blocks back from a file still open for writing, then from its final name", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    const current = join(flows, "tscapd.current.1.0");
    const w = writeFile(current, [100, 200, 300], [0, 2], log);
    const lines: string[] = [];
    const reader = new BackfillReader(spool, (level, m) => {
      if (level === "error") lines.push(m);
    });
    reader.scan(true);
    expect(reader.pending()).toBe(2);
    const job = reader.next(1_000_000)!;
    expect(job.failedRows).toBe(0);
    expect(job.blocks.map((b) => b.length)).toEqual([100, 300]);
    expect(bytesOf(job.blocks[1]!).slice(0, 3)).toEqual([2000, 2001, 2002]);
    expect(job.blocks[0]!.cols.srcAddr[99]).toBe(0x0a000000 + 99);
    reader.commit(job);
    expect(reader.pending()).toBe(0);

    // two more blocks; the file is closed under its final name before the sink reads them
    w.appendBatchSync(block(50, 5000));
    const at = w.lastBlock!;
    const { dev, ino } = w.identity();
    log.add({ path: current, dev, ino, offset: at.offset, rows: 50, msecFirst: at.msecFirst, msecLast: at.msecLast });
    const final = w.closeSync({ finalPath: join(flows, "tscapd.202601010000") });
    log.renamed(current, final);
    reader.scan(true);
    const job2 = reader.next(1_000_000)!;
    expect(job2.blocks.map((b) => b.length)).toEqual([50]);
    expect(bytesOf(job2.blocks[0]!)[0]).toBe(5000);
    reader.commit(job2);
    expect(lines).toEqual([]);
  });

  it("finds a killed collector's file under the name the restart's recovery gave it (same inode)", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    const current = join(flows, "tscapd.current.77.0");
    writeFile(current, [120], [0], log).abort();
    log.close();
    // what recoverLeftovers does: the file takes its slot's name, in a subdirectory of the layout
    const sub = join(flows, "2026", "01");
    mkdirp(sub);
    renameSync(current, join(sub, "tscapd.202601010000"));
    const reader = new BackfillReader(spool, () => undefined);
    const job = reader.next(1_000_000)!;
    expect(job.failedRows).toBe(0);
    expect(job.blocks.map((b) => b.length)).toEqual([120]);
  });

  it("a file that is gone or a damaged block: its rows counted failed and logged with the file and block, the rest read", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    const gone = join(flows, "tscapd.202601010000");
    writeFile(gone, [40], [0], log).closeSync();
    const damaged = join(flows, "tscapd.202601010005");
    const w = writeFile(damaged, [60, 70], [0, 1], log);
    w.closeSync();
    rmSync(gone); // tsexpire
    // one byte of the last column data of block 0 (just before block 1) flipped
    const at1 = offsetOfBlock(damaged, 1);
    const fd = openSync(damaged, "r+");
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, at1 - 1);
    one[0] = one[0]! ^ 0xff;
    writeSync(fd, one, 0, 1, at1 - 1);
    closeSync(fd);
    const lines: string[] = [];
    const reader = new BackfillReader(spool, (level, m) => {
      if (level === "error") lines.push(m);
    });
    const job = reader.next(1_000_000)!;
    expect(job.failedRows).toBe(40 + 60);
    expect(job.blocks.map((b) => b.length)).toEqual([70]);
    expect(lines, lines.join("\n")).toHaveLength(2);
    expect(lines[0]).toContain(`${gone} (block at offset`);
    expect(lines[0]).toContain("the file is gone");
    expect(lines[1]).toContain(damaged);
    expect(lines[1]).toContain("block 0");
    expect(lines[1]).toMatch(/checksum/);
  });

  it("a batch in flight when the sink died is taken again with the same references and id; a done segment is removed once a later one exists", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    writeFile(join(flows, "tscapd.current.5.0"), [100, 100, 100, 100], [0, 1, 2, 3], log);
    log.close();
    const first = new BackfillReader(spool, () => undefined);
    const job = first.next(250)!; // two blocks of 100 (a third would pass 250)
    expect([job.start, job.end]).toEqual([0, 2]);
    // killed here: a new reader (the restart) redoes lines 0..1 with the same id
    const again = new BackfillReader(spool, () => undefined);
    expect(again.pending()).toBe(4);
    const redo = again.next(1_000_000)!;
    expect([redo.start, redo.end, redo.hi, redo.lo]).toEqual([0, 2, job.hi, job.lo]);
    again.commit(redo);
    const rest = again.next(1_000_000)!;
    expect([rest.start, rest.end]).toEqual([2, 4]);
    expect([rest.hi, rest.lo]).not.toEqual([job.hi, job.lo]);
    again.commit(rest);
    expect(again.pending()).toBe(0);
    // done, but the last segment: kept (with its progress) until the next run of the writer starts another
    const seg = (n: number, ext: string): string => `${String(n).padStart(16, "0")}.${ext}`;
    expect(readdirSync(backfillDir(spool)).sort()).toEqual([seg(1, "done"), seg(1, "refs")]);
    const next = new BackfillWriter(spool);
    writeFile(join(flows, "tscapd.current.6.0"), [10], [0], next);
    again.scan(true);
    again.commit(again.next(1_000_000)!);
    expect(readdirSync(backfillDir(spool)).sort()).toEqual([seg(2, "done"), seg(2, "refs")]);
  });

  it("posted blocks are the stream's while their run lives; a next start back-fills those not done, a batch in flight with its lines and id", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    const w = FlowFileWriter.open(join(flows, "tscapd.current.9.0"), { fsync: false });
    const pos: RefPos[] = [];
    for (let k = 0; k < 4; k++) {
      const p = appendPosted(log, w, block(100, k * 1000));
      expect(p).not.toBeNull();
      pos.push(p!);
    }
    w.closeSync();
    log.close();
    const lines = (ks: number[]): number[] => ks.map((k) => pos[k]!.line);
    const live = new BackfillReader(spool, () => undefined);
    // the run is not known yet: nothing posted is taken (it could be this run's)
    expect(live.pending()).toBe(0);
    live.streamRun = log.run;
    expect(live.pending()).toBe(0);
    expect(live.next(1_000_000)).toBeNull();
    // the stream inserts blocks 0 and 1, then is killed with block 2 in flight (block 3 still in memory)
    const b01 = batchId([pos[0]!.text, pos[1]!.text]);
    live.streamBegin(pos[0]!.seq, lines([0, 1]), b01.id);
    live.streamDone(pos[0]!.seq, lines([0, 1]));
    const b2 = batchId([pos[2]!.text]);
    live.streamBegin(pos[2]!.seq, lines([2]), b2.id);

    const restart = new BackfillReader(spool, () => undefined);
    restart.streamRun = "another run";
    expect(restart.pending()).toBe(2);
    const redo = restart.next(1_000_000)!;
    expect([redo.lines, redo.hi, redo.lo]).toEqual([lines([2]), b2.hi, b2.lo]);
    expect(redo.blocks.map((b) => bytesOf(b)[0])).toEqual([2000]);
    restart.commit(redo);
    const rest = restart.next(1_000_000)!;
    expect(rest.lines).toEqual(lines([3]));
    expect(rest.blocks.map((b) => bytesOf(b)[0])).toEqual([3000]);
    restart.commit(rest);
    expect(restart.pending()).toBe(0);
    expect(restart.next(1_000_000)).toBeNull();
  });

  it("a posted block the stream gives back (its batch could not be spooled) is back-filled in the same run", () => {
    const flows = tmp();
    const spool = tmp();
    const log = new BackfillWriter(spool);
    const w = FlowFileWriter.open(join(flows, "tscapd.current.10.0"), { fsync: false });
    const p = appendPosted(log, w, block(50, 0))!;
    const reader = new BackfillReader(spool, () => undefined);
    reader.streamRun = log.run;
    const id = batchId([p.text]);
    reader.streamBegin(p.seq, [p.line], id.id);
    expect(reader.pending()).toBe(0);
    reader.streamRelease(p.seq, [p.line]);
    expect(reader.pending()).toBe(1);
    // taken as the batch in flight, with its id (its insert may have been stored before the spool failed)
    const job = reader.next(1_000_000)!;
    expect([job.hi, job.lo]).toEqual([id.hi, id.lo]);
    expect(job.blocks.map((b) => b.length)).toEqual([50]);
    reader.commit(job);
    expect(reader.pending()).toBe(0);
    w.closeSync();
    log.close();
  });

  it("is bounded: with MAX_SEGMENTS segments on disk no reference is taken", () => {
    const spool = tmp();
    const dir = backfillDir(spool);
    mkdirp(dir);
    for (let s = 1; s <= MAX_SEGMENTS; s++) writeFileSync(join(dir, `${String(s).padStart(16, "0")}.refs`), "");
    const log = new BackfillWriter(spool);
    expect(log.add({ path: "/x", dev: 1, ino: 2, offset: 100, rows: 10, msecFirst: 0, msecLast: 0 })).toBe(false);
    expect(readdirSync(dir).length).toBe(MAX_SEGMENTS);
  });
});

function mkdirp(d: string): void {
  mkdirSync(d, { recursive: true });
}

/** The offset of block i of a closed file (from its footer). */
function offsetOfBlock(path: string, i: number): number {
  const r = FlowFileReader.open(path);
  const o = r.blockInfo(i).offset;
  r.close();
  return o;
}
