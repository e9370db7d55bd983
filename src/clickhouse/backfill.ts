// SPDX-License-Identifier: BSD-3-Clause
// The back-fill log: every block the writer thread stores is referenced here (file, identity, offset, rows)
// before it is copied to the ClickHouse sink's thread, so no stored flow depends on memory to reach ClickHouse.
// A block the writer copied to the sink (posted, tagged with the writer's run id) is the stream's: the sink
// marks its reference done once its batch is inserted or spooled. A block it did not copy (the sink was
// FEED_MAX_BEHIND blocks behind), and a posted block of an earlier run (killed with it in memory), is read back
// from the flow files by the sink when it has caught up (nothing queued, nothing spooled) and inserted.
//
// Layout: <spool>/backfill/<16-digit seq>.refs, one JSON line per reference, written by the writer thread only;
// a new segment every SEGMENT_REFS lines and for every run (seq = highest existing + 1), so a segment below the
// highest one is complete (the highest one stays, done, until a later one appears). Lines:
//   {"f":path,"dev":d,"ino":i,"o":offset,"n":rows,"t0":msecFirst,"t1":msecLast[,"r":run]}  a block of a file
//   {"from":path,"to":path}                                                                  that file was renamed
// <seq>.done holds the sink's progress in that segment, rewritten before and after each insert or spool write:
//   {"line":L,"done":[…],"inflight":[{"id":"…","lines":[…]}]}
// lines < L and the lines in `done` are done; each `inflight` batch is being inserted (or spooled) with that id.
// A batch id is a hash of its lines' text, so a batch redone after a crash (between its insert and the progress
// write) has the same id, is found in the table (Inserter) and is not inserted twice; a redo takes exactly the
// lines recorded in flight, with the recorded id.
//
// Bound: at most MAX_SEGMENTS segments; past it a block is not referenced: the writer counts its rows failed
// when it is not posted either (the sink logs it). A file that is gone (tsexpire) or a block that does not read
// back counts its rows failed, logged with the file and block; the sink goes on with the next reference.

import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { RecordBatch } from "../record/batch.js";
import { PHYSICAL_COLUMNS, newArray, type ArrayType, type ColumnArrays, type PhysicalName } from "../record/schema.js";
import { FlowFileReader } from "../store/index.js";

/**
 * References kept at most (~20 MB): past it blocks are not referenced (failed). TSFLOW_CLICKHOUSE_BACKFILL_MAX_REFS
 * (tests only) sets it.
 */
const MAX_REFS = maxRefs(process.env["TSFLOW_CLICKHOUSE_BACKFILL_MAX_REFS"]);
/** References per segment file. */
export const SEGMENT_REFS = Math.min(4096, MAX_REFS);
/** Segments kept at most. */
export const MAX_SEGMENTS = Math.ceil(MAX_REFS / SEGMENT_REFS);

function maxRefs(env: string | undefined): number {
  const n = Number(env);
  return env !== undefined && env !== "" && Number.isInteger(n) && n >= 1 ? n : 25 * 4096;
}

export function backfillDir(spoolDir: string): string {
  return join(spoolDir, "backfill");
}

const SEGMENT = /^(\d{16})\.refs$/;
const segName = (seq: number): string => `${String(seq).padStart(16, "0")}.refs`;
const doneName = (seq: number): string => `${String(seq).padStart(16, "0")}.done`;

function segments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = SEGMENT.exec(n);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** One block as the writer describes it. */
export interface BlockRef {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  readonly offset: number;
  readonly rows: number;
  readonly msecFirst: number;
  readonly msecLast: number;
}

/** Where a reference went: its segment, its line there, and the line's text (its batch's id is hashed from it). */
export interface RefPos {
  readonly seq: number;
  readonly line: number;
  readonly text: string;
}

/** The writer thread's end: appends references (and renames of referenced files) to the log. */
export class BackfillWriter {
  /** this run's id: the posted blocks' references carry it (the sink's stream owns them while this run lives) */
  readonly run = randomBytes(6).toString("hex");
  private readonly dir: string;
  private seq = 0;
  private fd = -1;
  private lines = 0;
  /** MAX_SEGMENTS were on disk when last counted, and when that was (counted again at most once a second) */
  private full = false;
  private fullCheckedAt = 0;
  /** paths of the open files referenced in this run (their rename at close is logged) */
  private readonly referenced = new Set<string>();

  constructor(spoolDir: string) {
    this.dir = backfillDir(spoolDir);
    mkdirSync(this.dir, { recursive: true });
    this.seq = (segments(this.dir).at(-1) ?? 0) + 1;
  }

  /** Appends a reference; false when the log is at its bound (or cannot be written): the rows are not back-filled. */
  add(ref: BlockRef): boolean {
    return this.reference(ref, false) !== null;
  }

  /**
   * Appends a reference for a block that is posted to the sink (tagged with this run); null at the bound: the
   * block is streamed without one.
   */
  addPosted(ref: BlockRef): RefPos | null {
    return this.reference(ref, true);
  }

  private reference(ref: BlockRef, posted: boolean): RefPos | null {
    // absolute: a restart may run from another working directory
    const path = resolve(ref.path);
    const text = JSON.stringify({
      f: path,
      dev: ref.dev,
      ino: ref.ino,
      o: ref.offset,
      n: ref.rows,
      t0: ref.msecFirst,
      t1: ref.msecLast,
      ...(posted ? { r: this.run } : {}),
    });
    const line = this.append(text + "\n");
    if (line < 0) return null;
    this.referenced.add(path);
    return { seq: this.seq, line, text };
  }

  /** A referenced file took its final name (closed): logged so the sink finds it there. */
  renamed(from: string, to: string): void {
    const a = resolve(from);
    const b = resolve(to);
    if (!this.referenced.delete(a) || a === b) return;
    this.append(JSON.stringify({ from: a, to: b }) + "\n", true);
  }

  /** The line's number in its segment (this.seq), or -1 when it was not written. */
  private append(line: string, force = false): number {
    try {
      if (this.fd < 0 || this.lines >= SEGMENT_REFS) {
        if (!this.open(force)) return -1;
      }
      writeSync(this.fd, line);
      return this.lines++;
    } catch {
      return -1;
    }
  }

  /** Starts the next segment unless MAX_SEGMENTS are on disk (a rename line goes in regardless). */
  private open(force: boolean): boolean {
    if (!force) {
      const now = Date.now();
      if (this.full && now - this.fullCheckedAt < 1000) return false;
      this.full = segments(this.dir).length >= MAX_SEGMENTS;
      this.fullCheckedAt = now;
      if (this.full) return false;
    }
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.seq++;
    }
    this.fd = openSync(join(this.dir, segName(this.seq)), "a");
    this.lines = 0;
    return true;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A block reference as read back (line number in its segment; the writer's run when it was posted). */
interface Ref extends BlockRef {
  readonly line: number;
  readonly run: string | undefined;
}

/** A batch being inserted (or spooled): its id and its lines. */
interface Inflight {
  readonly id: string;
  readonly lines: readonly number[];
}

interface Segment {
  readonly seq: number;
  /** bytes read so far (only complete lines are taken) */
  read: number;
  partial: string;
  /** every line read so far: block refs (renames are applied to the map and stay as null) */
  readonly lines: (Ref | null)[];
  readonly text: string[];
  /** lines < low are done */
  low: number;
  /** lines >= low that are done */
  readonly done: Set<number>;
  /** batches in flight when the progress was written (by this run, or left by a killed one: redone as they were) */
  readonly inflight: Inflight[];
  /** lines in one of `inflight` */
  readonly busy: Set<number>;
  /** this run's stream's lines it gave back to the back-fill (its batch could not be spooled) */
  readonly released: Set<number>;
}

/** One batch of back-filled rows, ready for the Inserter. */
export interface BackfillJob {
  readonly seq: number;
  /** its first line and one past its last */
  readonly start: number;
  readonly end: number;
  /** its lines */
  readonly lines: readonly number[];
  /** 64-bit id halves (hash of the references' text) */
  readonly hi: number;
  readonly lo: number;
  /** copies of the blocks read (absent columns marked) */
  readonly blocks: RecordBatch[];
  /** rows of the references that could not be read (counted failed) */
  readonly failedRows: number;
}

export type BackfillLog = (level: "info" | "warn" | "error", message: string) => void;

/** The id of a batch of these reference lines: a hash of their text, in order (halves and decimal string). */
export function batchId(texts: Iterable<string>): { hi: number; lo: number; id: string } {
  const h = createHash("sha256");
  for (const t of texts) h.update(t).update("\n");
  const d = h.digest();
  const lo = d.readUInt32LE(0);
  const hi = d.readUInt32LE(4);
  return { hi, lo, id: ((BigInt(hi) << 32n) | BigInt(lo)).toString() };
}

function idHalves(id: string): { hi: number; lo: number } {
  const v = BigInt(id);
  return { hi: Number(v >> 32n), lo: Number(v & 0xffffffffn) };
}

/** The sink thread's end: reads the log, reads referenced blocks from the flow files, keeps the progress. */
export class BackfillReader {
  /**
   * The writer's run whose posted blocks the sink's stream owns (not back-filled); until it is known, no posted
   * block is back-filled (one of this run could be taken for one of a killed run).
   */
  streamRun: string | null = null;
  private readonly dir: string;
  private readonly log: BackfillLog;
  private readonly segs: Segment[] = [];
  private readonly renames = new Map<string, string>();
  private scannedAt = 0;
  /** inode → path of the files under a directory walked for a `.current` file that left its name */
  private walked: { dir: string; at: number; byIno: Map<string, string> } | null = null;
  private reader: { path: string; key: string; r: FlowFileReader; byOffset: Map<number, number> } | null = null;
  /** the job handed out last and not committed */
  private last: BackfillJob | null = null;

  constructor(spoolDir: string, log: BackfillLog) {
    this.dir = backfillDir(spoolDir);
    this.log = log;
    mkdirSync(this.dir, { recursive: true });
    this.scan(true);
    let n = 0;
    for (const s of this.segs) for (let i = s.low; i < s.lines.length; i++) if (this.open(s, i)) n++;
    if (n > 0) log("info", `clickhouse: ${n} block references to back-fill from the flow files`);
  }

  /** Line i of s is a block not done yet. */
  private open(s: Segment, i: number): boolean {
    return i >= s.low && s.lines[i] != null && !s.done.has(i);
  }

  /** Line i of s is the back-fill's to take: not done, and not a block the stream of this run owns. */
  private mine(s: Segment, i: number): boolean {
    if (!this.open(s, i)) return false;
    const run = s.lines[i]!.run;
    return run === undefined || (this.streamRun !== null && run !== this.streamRun) || s.released.has(i);
  }

  /** References waiting to be back-filled (read so far). */
  pending(): number {
    let n = 0;
    for (const s of this.segs) for (let i = s.low; i < s.lines.length; i++) if (this.mine(s, i)) n++;
    return n;
  }

  /** Reads new segments and new lines (at most every 200 ms unless forced). */
  scan(force = false): void {
    const now = Date.now();
    if (!force && now - this.scannedAt < 200) return;
    this.scannedAt = now;
    const known = new Set(this.segs.map((s) => s.seq));
    for (const seq of segments(this.dir)) {
      if (known.has(seq)) continue;
      this.segs.push(this.loadSegment(seq));
    }
    this.segs.sort((a, b) => a.seq - b.seq);
    for (const s of this.segs) this.readLines(s);
  }

  private loadSegment(seq: number): Segment {
    const s: Segment = {
      seq,
      read: 0,
      partial: "",
      lines: [],
      text: [],
      low: 0,
      done: new Set(),
      inflight: [],
      busy: new Set(),
      released: new Set(),
    };
    try {
      const p = JSON.parse(readFileSync(join(this.dir, doneName(seq)), "utf8")) as {
        line?: number;
        done?: number[];
        inflight?: Inflight[];
        /** an earlier version's one batch in flight: lines line..end-1 */
        end?: number;
        id?: string;
      };
      s.low = p.line ?? 0;
      for (const i of p.done ?? []) s.done.add(i);
      for (const b of p.inflight ?? []) s.inflight.push({ id: b.id, lines: b.lines });
      if (p.end !== undefined && p.id !== undefined) {
        const lines: number[] = [];
        for (let i = s.low; i < p.end; i++) lines.push(i);
        s.inflight.push({ id: p.id, lines });
      }
      for (const b of s.inflight) for (const i of b.lines) s.busy.add(i);
    } catch {
      // no progress yet
    }
    return s;
  }

  private readLines(s: Segment): void {
    const path = join(this.dir, segName(s.seq));
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= s.read) return;
      const buf = Buffer.allocUnsafe(size - s.read);
      const got = readSync(fd, buf, 0, buf.length, s.read);
      s.read += got;
      const text = s.partial + buf.subarray(0, got).toString("utf8");
      const parts = text.split("\n");
      s.partial = parts.pop() ?? "";
      for (const line of parts) {
        s.text.push(line);
        s.lines.push(this.parse(line, s, s.lines.length));
      }
    } finally {
      closeSync(fd);
    }
  }

  private parse(line: string, s: Segment, n: number): Ref | null {
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (typeof j["from"] === "string" && typeof j["to"] === "string") {
        this.renames.set(j["from"], j["to"]);
        return null;
      }
      if (typeof j["f"] === "string" && typeof j["o"] === "number" && typeof j["n"] === "number") {
        return {
          path: j["f"],
          dev: Number(j["dev"]),
          ino: Number(j["ino"]),
          offset: j["o"],
          rows: j["n"],
          msecFirst: Number(j["t0"]),
          msecLast: Number(j["t1"]),
          line: n,
          run: typeof j["r"] === "string" ? j["r"] : undefined,
        };
      }
    } catch {
      // reported below
    }
    this.log("error", `clickhouse: back-fill ${segName(s.seq)} line ${n + 1}: not a reference, skipped`);
    return null;
  }

  /** The segment, read far enough to hold line `line` (the writer wrote it before posting its block). */
  private segment(seq: number, line = -1): Segment | undefined {
    let s = this.segs.find((x) => x.seq === seq);
    if (s === undefined || line >= s.lines.length) {
      this.scan(true);
      s = this.segs.find((x) => x.seq === seq);
    }
    return s;
  }

  /**
   * The stream is about to insert (or spool) a batch of its blocks with this id: recorded first, so a crash
   * after the insert redoes exactly these lines with this id (found stored).
   */
  streamBegin(seq: number, lines: readonly number[], id: string): void {
    const s = this.segment(seq, lines.at(-1));
    if (s === undefined) return;
    if (s.inflight.some((b) => b.id === id)) return;
    s.inflight.push({ id, lines: [...lines] });
    for (const i of lines) s.busy.add(i);
    this.writeDone(s);
  }

  /** The stream's batch of these lines is inserted, spooled or given up. */
  streamDone(seq: number, lines: readonly number[]): void {
    const s = this.segment(seq, lines.at(-1));
    if (s === undefined) return;
    this.markDone(s, lines);
    this.writeDone(s);
    this.dropFinished();
  }

  /**
   * The stream's batch of these lines could not be spooled: the back-fill takes them from the flow files (as
   * the batch in flight with its id when it was recorded so: an insert tried before may have been stored).
   */
  streamRelease(seq: number, lines: readonly number[]): void {
    const s = this.segment(seq, lines.at(-1));
    if (s === undefined) return;
    for (const i of lines) s.released.add(i);
  }

  /** Forgets the batches in flight holding any of these lines. */
  private dropInflight(s: Segment, lines: readonly number[]): void {
    const set = new Set(lines);
    for (let k = 0; k < s.inflight.length; k++) {
      if (s.inflight[k]!.lines.some((i) => set.has(i))) s.inflight.splice(k--, 1);
    }
    for (const i of lines) s.busy.delete(i);
  }

  private markDone(s: Segment, lines: readonly number[]): void {
    this.dropInflight(s, lines);
    for (const i of lines) {
      s.released.delete(i);
      if (i >= s.low) s.done.add(i);
    }
    advance(s);
  }

  /**
   * The next batch: a batch left in flight by a killed run (its lines and id as recorded), or the back-fill's
   * lines from the first segment with work, up to `maxRows` rows. Its progress is on disk before it is returned.
   */
  next(maxRows: number): BackfillJob | null {
    this.scan();
    this.dropFinished();
    // the job the server did not take (it was away): kept, not read (and its failures logged) again
    if (this.last !== null) return this.last;
    for (const s of this.segs) {
      let lines: number[] = [];
      let id: string | undefined;
      // a batch in flight recorded by a killed run (this run's stream records and ends its own)
      // (an earlier version's batch holds renames: null lines)
      const left = s.inflight.find(
        (b) => b.lines.some((i) => this.mine(s, i)) && b.lines.every((i) => s.lines[i] === null || this.mine(s, i)),
      );
      if (left !== undefined) {
        lines = [...left.lines];
        id = left.id;
      } else {
        let rows = 0;
        for (let i = s.low; i < s.lines.length; i++) {
          if (!this.mine(s, i) || s.busy.has(i)) continue;
          const n = s.lines[i]!.rows;
          if (rows > 0 && rows + n > maxRows) break;
          rows += n;
          lines.push(i);
        }
        if (lines.length === 0) continue;
      }
      const ids = id !== undefined ? { id, ...idHalves(id) } : batchId(lines.map((i) => s.text[i]!));
      if (left === undefined) {
        s.inflight.push({ id: ids.id, lines });
        for (const i of lines) s.busy.add(i);
        this.writeDone(s);
      }
      const blocks: RecordBatch[] = [];
      let failedRows = 0;
      for (const i of lines) {
        const ref = s.lines[i];
        if (ref === null || ref === undefined) continue;
        const b = this.readRef(ref);
        if (b === null) failedRows += ref.rows;
        else blocks.push(b);
      }
      this.closeReader();
      this.last = {
        seq: s.seq,
        start: lines[0]!,
        end: lines.at(-1)! + 1,
        lines,
        hi: ids.hi,
        lo: ids.lo,
        blocks,
        failedRows,
      };
      return this.last;
    }
    return null;
  }

  /** The job's references are done (inserted, found stored, or given up). */
  commit(job: BackfillJob): void {
    this.last = null;
    const s = this.segs.find((x) => x.seq === job.seq);
    if (s === undefined) return;
    this.markDone(s, job.lines);
    this.writeDone(s);
    this.dropFinished();
  }

  private writeDone(s: Segment): void {
    const path = join(this.dir, doneName(s.seq));
    const done = [...s.done].sort((a, b) => a - b);
    const body = JSON.stringify({ line: s.low, done, inflight: s.inflight });
    try {
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      this.log("error", `clickhouse: back-fill progress ${path}: ${(err as Error).message}`);
    }
  }

  /** Removes the segments that are done and complete (a later segment exists: the writer never returns to one). */
  private dropFinished(): void {
    const last = this.segs.at(-1)?.seq ?? 0;
    for (let k = 0; k < this.segs.length; k++) {
      const s = this.segs[k]!;
      advance(s);
      if (s.low < s.lines.length || s.partial !== "" || s.seq >= last) continue;
      // re-read the segment once more: the writer may have appended since the last scan
      this.readLines(s);
      advance(s);
      if (s.low < s.lines.length) continue;
      try {
        // progress first: a segment without it is redone (and found stored), never skipped
        unlinkSync(join(this.dir, doneName(s.seq)));
      } catch {
        // none written
      }
      try {
        unlinkSync(join(this.dir, segName(s.seq)));
      } catch {
        // gone already
      }
      this.segs.splice(k--, 1);
    }
  }

  /** Reads one referenced block into a copy; null (logged) when the file is gone or the block does not read. */
  private readRef(ref: Ref): RecordBatch | null {
    const where = `${ref.path} (block at offset ${ref.offset}, ${ref.rows} rows)`;
    const path = this.locate(ref);
    if (path === null) {
      this.log("error", `clickhouse: back-fill: ${where}: the file is gone; its rows are not back-filled`);
      return null;
    }
    const key = `${ref.dev}:${ref.ino}`;
    try {
      let i = this.reader?.key === key ? this.reader.byOffset.get(ref.offset) : undefined;
      if (i === undefined) {
        // (re)open: the file may have grown since (it may still be open for writing)
        this.closeReader();
        const r = FlowFileReader.open(path, { onError: () => undefined });
        const byOffset = new Map<number, number>();
        for (let k = 0; k < r.blockCount; k++) byOffset.set(r.blockInfo(k).offset, k);
        this.reader = { path, key, r, byOffset };
        i = byOffset.get(ref.offset);
      }
      const r = this.reader!.r;
      if (i === undefined || r.blockInfo(i).rows !== ref.rows) {
        this.log("error", `clickhouse: back-fill: ${where}: no such block in ${path}; its rows are not back-filled`);
        return null;
      }
      const errors = r.errors.length;
      const b = r.readBlock(i);
      if (b === undefined || b.length !== ref.rows) {
        const why =
          r.errors
            .slice(errors)
            .map((e) => e.message)
            .join("; ") || "unreadable";
        this.log("error", `clickhouse: back-fill: ${where}: block ${i}: ${why}; its rows are not back-filled`);
        return null;
      }
      return copyBatch(b);
    } catch (err) {
      this.closeReader();
      this.log("error", `clickhouse: back-fill: ${where}: ${(err as Error).message}; its rows are not back-filled`);
      return null;
    }
  }

  /**
   * Where the referenced file is now: its path, the name it took at close, or (a `.current` file of a killed
   * collector, renamed by the next start's recovery) the file with its inode under the directory it was in.
   */
  private locate(ref: Ref): string | null {
    const same = (p: string): boolean => {
      try {
        const st = statSync(p);
        return st.ino === ref.ino && st.dev === ref.dev;
      } catch {
        return false;
      }
    };
    let p = ref.path;
    for (let hops = 0; hops < 4; hops++) {
      if (same(p)) return p;
      const to = this.renames.get(p);
      if (to === undefined) break;
      p = to;
    }
    if (!basename(ref.path).startsWith("tscapd.current.")) return null;
    const dir = dirname(ref.path);
    const key = `${ref.dev}:${ref.ino}`;
    const now = Date.now();
    if (
      this.walked === null ||
      this.walked.dir !== dir ||
      (!this.walked.byIno.has(key) && now - this.walked.at > 2000)
    ) {
      this.walked = { dir, at: now, byIno: walk(dir) };
    }
    const found = this.walked.byIno.get(key);
    return found !== undefined && same(found) ? found : null;
  }

  private closeReader(): void {
    this.reader?.r.close();
    this.reader = null;
  }
}

/** Lines < low are done: moves low over the done lines and renames. */
function advance(s: Segment): void {
  while (s.low < s.lines.length && (s.lines[s.low] === null || s.done.has(s.low))) s.done.delete(s.low++);
}

/** inode → path of the regular files under dir (dot directories, such as the spool, left out). */
function walk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          const st = statSync(p);
          out.set(`${st.dev}:${st.ino}`, p);
        } catch {
          // removed meanwhile
        }
      }
    }
  }
  return out;
}

/** Shared all-zero arrays standing in for the columns a block does not store (never written). */
const zeros = new Map<ArrayType, Uint8Array>();
export function zeroArray(type: ArrayType, length: number): ArrayBufferView {
  let z = zeros.get(type);
  if (z === undefined || z.length < length) {
    z = newArray(type, Math.max(length, 16384 * 4)) as Uint8Array;
    zeros.set(type, z);
  }
  return z.subarray(0, length);
}

/** A copy of a batch's rows (the reader's batch is valid until its next read); absent columns share zeros. */
function copyBatch(b: RecordBatch): RecordBatch {
  const n = b.length;
  const cols: Record<string, ArrayBufferView> = {};
  const absent: PhysicalName[] = [];
  for (const pc of PHYSICAL_COLUMNS) {
    const name = pc.name as PhysicalName;
    if (b.absent.has(name)) {
      absent.push(name);
      cols[name] = zeroArray(pc.array, n * pc.width);
    } else cols[name] = (b.cols[name] as unknown as Uint8Array).slice(0, n * pc.width);
  }
  return RecordBatch.view(n, cols as unknown as ColumnArrays, absent);
}
