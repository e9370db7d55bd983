// SPDX-License-Identifier: BSD-3-Clause
// Back-fill of the blocks the ClickHouse feed could not take. When the sink's thread is FEED_MAX_BEHIND blocks
// behind, the writer thread does not copy a stored block to it: it appends a reference to the block (file,
// identity, offset, rows) to the spool's back-fill log instead. The sink reads those blocks from the flow files
// when it has caught up (nothing queued, nothing spooled) and inserts them, so every stored flow reaches
// ClickHouse once, even after kill -9 (the log is on disk before the block could be lost).
//
// Layout: <spool>/backfill/<16-digit seq>.refs, one JSON line per reference, written by the writer thread only;
// a new segment every SEGMENT_REFS lines and for every run (seq = highest existing + 1), so a segment below the
// highest one is complete (the highest one stays, done, until a later one appears). Lines:
//   {"f":path,"dev":d,"ino":i,"o":offset,"n":rows,"t0":msecFirst,"t1":msecLast}  a block of a flow file
//   {"from":path,"to":path}                                                       that file was renamed (closed)
// <seq>.done holds the sink's progress in that segment, written before and after each insert:
//   {"line":L}                          lines < L are done
//   {"line":L,"end":E,"id":"…"}         lines L..E-1 are being inserted as batch `id`
// The batch id is a hash of the lines' text, so a batch sent again after a crash (between its insert and the
// progress write) has the same id, is found in the table (Inserter) and is not inserted twice.
//
// Bound: at most MAX_SEGMENTS segments; past it the writer counts the block's rows failed (the sink logs it).
// A file that is gone (tsexpire) or a block that does not read back counts its rows failed, logged with the
// file and block; the sink goes on with the next reference.

import { createHash } from "node:crypto";
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

/** The writer thread's end: appends references (and renames of referenced files) to the log. */
export class BackfillWriter {
  private readonly dir: string;
  private seq = 0;
  private fd = -1;
  private lines = 0;
  /** segments on disk when last counted, and when (the bound is checked at most once a second when full) */
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
    // absolute: a restart may run from another working directory
    const path = resolve(ref.path);
    const line =
      JSON.stringify({
        f: path,
        dev: ref.dev,
        ino: ref.ino,
        o: ref.offset,
        n: ref.rows,
        t0: ref.msecFirst,
        t1: ref.msecLast,
      }) + "\n";
    if (!this.append(line)) return false;
    this.referenced.add(path);
    return true;
  }

  /** A referenced file took its final name (closed): logged so the sink finds it there. */
  renamed(from: string, to: string): void {
    const a = resolve(from);
    const b = resolve(to);
    if (!this.referenced.delete(a) || a === b) return;
    this.append(JSON.stringify({ from: a, to: b }) + "\n", true);
  }

  private append(line: string, force = false): boolean {
    try {
      if (this.fd < 0 || this.lines >= SEGMENT_REFS) {
        if (!this.open(force)) return false;
      }
      writeSync(this.fd, line);
      this.lines++;
      return true;
    } catch {
      return false;
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

/** A block reference as read back (line number in its segment). */
interface Ref extends BlockRef {
  readonly line: number;
}

interface Segment {
  readonly seq: number;
  /** bytes read so far (only complete lines are taken) */
  read: number;
  partial: string;
  /** every line read so far: block refs (renames are applied to the map and stay as null) */
  readonly lines: (Ref | null)[];
  readonly text: string[];
  /** lines < done are done */
  done: number;
  /** the batch in flight when the progress was written last (redo with the same id) */
  inflight: { end: number; id: string } | null;
}

/** One batch of back-filled rows, ready for the Inserter. */
export interface BackfillJob {
  readonly seq: number;
  readonly start: number;
  readonly end: number;
  /** 64-bit id halves (hash of the references' text) */
  readonly hi: number;
  readonly lo: number;
  /** copies of the blocks read (absent columns marked) */
  readonly blocks: RecordBatch[];
  /** rows of the references that could not be read (counted failed) */
  readonly failedRows: number;
}

export type BackfillLog = (level: "info" | "warn" | "error", message: string) => void;

/** The sink thread's end: reads the log, reads referenced blocks from the flow files, keeps the progress. */
export class BackfillReader {
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
    const n = this.pending();
    if (n > 0) log("info", `clickhouse: ${n} block references to back-fill from the flow files`);
  }

  /** References not yet back-filled (read so far). */
  pending(): number {
    let n = 0;
    for (const s of this.segs) for (let i = s.done; i < s.lines.length; i++) if (s.lines[i] !== null) n++;
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
    const s: Segment = { seq, read: 0, partial: "", lines: [], text: [], done: 0, inflight: null };
    try {
      const p = JSON.parse(readFileSync(join(this.dir, doneName(seq)), "utf8")) as {
        line?: number;
        end?: number;
        id?: string;
      };
      s.done = p.line ?? 0;
      if (p.end !== undefined && p.id !== undefined) s.inflight = { end: p.end, id: p.id };
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
        };
      }
    } catch {
      // reported below
    }
    this.log("error", `clickhouse: back-fill ${segName(s.seq)} line ${n + 1}: not a reference, skipped`);
    return null;
  }

  /**
   * The next batch: references from the first segment with work, up to `maxRows` rows (or the batch that was
   * in flight when the progress was last written, with its id). Its progress is on disk before it is returned.
   */
  next(maxRows: number): BackfillJob | null {
    this.scan();
    this.dropFinished();
    for (const s of this.segs) {
      if (s.done >= s.lines.length) continue;
      // the job the server did not take (it was away): kept, not read (and its failures logged) again
      if (this.last?.seq === s.seq && this.last.start === s.done) return this.last;
      let end: number;
      if (s.inflight !== null && s.inflight.end <= s.lines.length) end = s.inflight.end;
      else {
        end = s.done;
        let rows = 0;
        while (end < s.lines.length && (rows === 0 || rows + (s.lines[end]?.rows ?? 0) <= maxRows)) {
          rows += s.lines[end]?.rows ?? 0;
          end++;
        }
      }
      const h = createHash("sha256");
      for (let i = s.done; i < end; i++) h.update(s.text[i]!).update("\n");
      const d = h.digest();
      const lo = d.readUInt32LE(0);
      const hi = d.readUInt32LE(4);
      const id = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
      s.inflight = { end, id };
      this.writeDone(s);
      const blocks: RecordBatch[] = [];
      let failedRows = 0;
      for (let i = s.done; i < end; i++) {
        const ref = s.lines[i];
        if (ref === null || ref === undefined) continue;
        const b = this.readRef(ref);
        if (b === null) failedRows += ref.rows;
        else blocks.push(b);
      }
      this.closeReader();
      this.last = { seq: s.seq, start: s.done, end, hi, lo, blocks, failedRows };
      return this.last;
    }
    return null;
  }

  /** The job's references are done (inserted, found stored, or given up). */
  commit(job: BackfillJob): void {
    const s = this.segs.find((x) => x.seq === job.seq);
    if (s === undefined) return;
    s.done = job.end;
    s.inflight = null;
    this.last = null;
    this.writeDone(s);
    this.dropFinished();
  }

  private writeDone(s: Segment): void {
    const path = join(this.dir, doneName(s.seq));
    const body = JSON.stringify(s.inflight === null ? { line: s.done } : { line: s.done, ...s.inflight });
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
      if (s.done < s.lines.length || s.partial !== "" || s.seq >= last) continue;
      // re-read the segment once more: the writer may have appended since the last scan
      this.readLines(s);
      if (s.done < s.lines.length) continue;
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
function zeroArray(type: ArrayType, length: number): ArrayBufferView {
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
