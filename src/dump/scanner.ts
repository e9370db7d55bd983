// SPDX-License-Identifier: BSD-3-Clause
// One scanning thread's work (src/dump/parallel.ts): reads, decompresses, filters and aggregates the blocks it is
// handed, one (file, block) work item at a time. Listings come back as formatted text per item (printed in
// file/block order by the main thread); statistics and aggregations stay here as typed-array tables and are
// handed over once at the end for the main thread to merge. A Scanner runs in each scan worker (scan-worker.ts)
// and one on the main thread itself, which would otherwise sit idle during the scan: that saves a worker's
// start-up (its own Node environment and module graph before its first block).
// Partitioned aggregation (-A) runs in workers only: worker 0 reads the blocks and forwards each other partition's
// rows to its worker through a MessagePort (see parallel.ts).
// The formatters and the statistics modules are loaded by `init` only for the modes that use them: a worker's
// start-up (its module graph) is on the critical path of every parallel scan.

import type { MessagePort, Transferable } from "node:worker_threads";
import { compileFilter, type CompiledFilter } from "../filter/index.js";
import type { BytesOutput, Formatter } from "../format/index.js";
import type * as FormatModule from "../format/index.js";
import type {
  Aggregator,
  AggregatorPart,
  AggregatorState,
  ForwardedRows,
  StatAccumulator,
  StatsQuery,
} from "../stats/index.js";
import type * as StatsModule from "../stats/index.js";
import { openAnyFlowFile, type FlowFileSource } from "../store/nffile/index.js";
import { UNKNOWN_ZONE } from "../record/zone.js";
import { BlockPipeline, emptyCounts, type ScanCounts } from "../engine/pipeline.js";
import { addCounting, sumRows } from "../engine/sums.js";

export interface ScanConfig {
  readonly files: readonly string[];
  readonly filter: string;
  readonly baseDir: string | undefined;
  readonly window: { readonly start: number; readonly end: number } | undefined;
  /** logical columns to decode; undefined = all */
  readonly columns: readonly string[] | undefined;
  readonly mode: "count" | "list" | "stats" | "aggregate";
  readonly format?: string;
  readonly formatOptions?: { plain: boolean; longV6: boolean; quiet: boolean };
  readonly stats?: readonly string[];
  readonly aggregate?: string;
  readonly fiveTuple?: boolean;
  readonly memoryLimit?: number;
  /**
   * Hash-partitioned aggregation: worker 0 is handed every block, keeps the groups of its partition and
   * forwards the other rows to the worker of their partition (`index` of `count`, set per worker by
   * runParallel); partition 0 covers `share0` of the hash space (worker 0 also reads and decodes). `rows`
   * bounds the rows of the scan (table sizing). At the end each posts only its best `topN` groups by `order`
   * when topN > 0, else all of them.
   */
  readonly partition?: {
    readonly index: number;
    readonly count: number;
    readonly share0: number;
    readonly rows: number;
    readonly order?: string;
    readonly topN: number;
  };
}

export type ScanRequest =
  | {
      readonly type: "init";
      readonly config: ScanConfig;
      /** Partitioned, worker 0: a port to worker i + 1; `flow` counts what each worker has aggregated. */
      readonly peers?: readonly MessagePort[];
      /** Partitioned, other workers: where worker 0's forwarded rows arrive. */
      readonly source?: MessagePort;
      readonly flow?: Int32Array;
    }
  | {
      readonly type: "block";
      readonly seq: number;
      readonly file: number;
      readonly block: number;
      /** consecutive blocks from `block` (default 1, at most ITEM_BLOCKS_MAX) */
      readonly count?: number;
    }
  /** the buffer of a listing piece, written: reused for a later piece */
  | { readonly type: "recycle"; readonly buffer: ArrayBuffer }
  | { readonly type: "finish" };

/** What worker 0 sends another partition's worker. */
type PeerMessage = { readonly type: "rows"; readonly rows: readonly ForwardedRows[] } | { readonly type: "end" };

/** Forwarded messages a worker may have queued but not aggregated (bounds their memory). */
const FORWARD_AHEAD = 4;
/** Rows per forwarded message: few messages (each wakes the other thread), a few MB each. */
const FORWARD_ROWS = 65536;

export type ScanReply =
  | {
      readonly type: "block";
      readonly seq: number;
      readonly counts: ScanCounts;
      /** the item's listing text (ASCII/UTF-8 bytes; transferred) */
      readonly text: Uint8Array;
      readonly errors: readonly string[];
    }
  | { readonly type: "final"; readonly index: number; readonly stats: readonly unknown[]; readonly aggregate: unknown }
  | { readonly type: "failed"; readonly message: string };

const NO_TEXT = new Uint8Array(0);

/** Most blocks one work item may carry (parallel.ts hands out nfdump blocks a few at a time). */
const ITEM_BLOCKS_MAX = 8;

/** Where a Scanner's replies go: the parent port in a worker, parallel.ts's reply handler on the main thread. */
export type ScanPost = (reply: ScanReply, transfer?: readonly Transferable[]) => void;

export class Scanner {
  /** loaded by init for list mode */
  private fmtMod: typeof FormatModule | undefined;
  /** loaded by init for stats and aggregate modes */
  private statsMod: typeof StatsModule | undefined;
  private config: ScanConfig | null = null;
  private pipeline: BlockPipeline | null = null;
  private formatter: Formatter | null = null;
  /** list mode: the current item's listing text */
  private listing: BytesOutput | null = null;
  private accs: StatAccumulator[] = [];
  /** the StatsQuery of mode "stats" or "aggregate" */
  private query: StatsQuery | undefined;
  private aggr: Aggregator | null = null;
  private readonly readers = new Map<number, FlowFileSource>();
  private errors: string[] = [];
  private peers: readonly MessagePort[] = [];
  private flow: Int32Array | null = null;
  private sent: number[] = [];
  private pending: ForwardedRows[][] = [];
  private pendingRows: number[] = [];
  private lastFile = -1;

  private readonly post: ScanPost;

  constructor(post: ScanPost) {
    this.post = post;
  }

  private reader(i: number): FlowFileSource | undefined {
    let r = this.readers.get(i);
    if (r === undefined) {
      // one file open at a time: blocks arrive in file order
      for (const [k, old] of this.readers) {
        old.close();
        this.readers.delete(k);
      }
      try {
        r = openAnyFlowFile(this.config!.files[i]!, { onError: (e) => this.errors.push(e.message) });
      } catch (err) {
        if (this.lastFile !== i) this.errors.push((err as Error).message);
        this.lastFile = i;
        return undefined;
      }
      this.readers.set(i, r);
    }
    return r;
  }

  /**
   * Compiles the filter (unless the main thread's scanner is handed the one already compiled) and makes the
   * sink of the mode (formatter, or the StatsQuery of the statistics or the aggregation).
   */
  async init(msg: Extract<ScanRequest, { type: "init" }>, compiled?: CompiledFilter): Promise<void> {
    const c = msg.config;
    this.config = c;
    const filter = compiled ?? compileFilter(c.filter, c.baseDir !== undefined ? { baseDir: c.baseDir } : {});
    this.pipeline = new BlockPipeline(filter, c.window, c.columns);
    if (c.mode === "list") {
      this.fmtMod = await import("../format/index.js");
      this.formatter = this.fmtMod.createFormatter(c.format!, c.formatOptions);
      this.listing = new this.fmtMod.BytesOutput();
    }
    if (c.mode !== "stats" && c.mode !== "aggregate") return;
    const S = (this.statsMod = await import("../stats/index.js"));
    const q = new S.StatsQuery(
      c.mode === "stats"
        ? { stats: c.stats ?? [], memoryLimit: c.memoryLimit }
        : { aggregate: c.aggregate, fiveTuple: c.aggregate === undefined, memoryLimit: c.memoryLimit },
    );
    this.accs = [...q.accumulators];
    this.query = q;
    if (c.mode === "aggregate") {
      this.aggr = q.aggregator;
      const p = c.partition;
      if (p && this.aggr) {
        const a = this.aggr;
        a.partition(p.index, p.count, { forward: p.index === 0 && p.count > 1, share0: p.share0 });
        // a partition gets its share of the rows (hashing splits millions of rows very evenly) and at most as
        // many groups; the table grows if not
        const share = p.count === 1 ? 1 : p.index === 0 ? p.share0 : (1 - p.share0) / (p.count - 1);
        a.reserve(Math.ceil(p.rows * share) + 4096);
        this.peers = msg.peers ?? [];
        this.sent = this.peers.map(() => 0);
        this.pending = this.peers.map(() => []);
        this.pendingRows = this.peers.map(() => 0);
        this.flow = msg.flow ?? null;
        const source = msg.source;
        if (source) {
          const fl = this.flow!;
          source.on("message", (m: PeerMessage) => {
            try {
              if (m.type === "rows") {
                for (const f of m.rows) a.addForwarded(f);
                Atomics.add(fl, p.index, 1);
                Atomics.notify(fl, p.index);
              } else {
                source.close();
                this.finish();
              }
            } catch (err) {
              const reply: ScanReply = { type: "failed", message: (err as Error).stack ?? String(err) };
              this.post(reply);
            }
          });
        }
      }
    }
  }

  /** Scans `count` consecutive blocks of a file and replies once with their summed counts and text. */
  scanBlocks(seq: number, fileIndex: number, block: number, count: number): void {
    const counts = emptyCounts();
    this.errors = [];
    if (count > ITEM_BLOCKS_MAX) throw new RangeError(`scan worker: ${count} blocks in one item`);
    // each item's text is a piece of its own: parallel.ts joins the pieces with the format's run separator
    this.formatter?.newRun?.();
    // ordinals (first-seen order of -A groups) stay increasing in file order: item sequence, then block in item
    for (let b = block; b < block + count; b++)
      this.scanBlock(counts, fileIndex, b, seq * ITEM_BLOCKS_MAX + (b - block));
    const text = this.listing?.take() ?? NO_TEXT;
    const reply: ScanReply = { type: "block", seq, counts, text, errors: this.errors };
    this.post(reply, text.length > 0 ? [text.buffer] : []);
  }

  /** Takes back the buffer of a listing piece the main thread has written. */
  recycle(buffer: ArrayBuffer): void {
    this.listing?.recycle(buffer);
  }

  /** Scans one block: adds to `counts`, formats its rows into `listing`. */
  private scanBlock(counts: ScanCounts, fileIndex: number, block: number, seq: number): void {
    const p = this.pipeline!;
    const r = this.reader(fileIndex);
    if (r === undefined) return;
    const ident = r.header().ident;
    if (!p.filter.mayMatch(UNKNOWN_ZONE, ident)) return; // e.g. `ident X` on another source's file
    const got = p.read(r, block, ident, counts);
    if (got === undefined) return;
    const { batch, k } = got;
    const sel = p.sel;
    counts.passed += k;
    if (this.query !== undefined && this.config?.mode === "stats") {
      addCounting(this.query, batch, sel, k, counts);
      return;
    }
    sumRows(batch, sel, k, counts);
    if (this.formatter) this.formatter.records(batch, sel, k, this.listing!);
    if (this.aggr) {
      this.aggr.ordinalBase = seq * this.statsMod!.ORDINAL_BLOCK;
      this.aggr.add(batch, sel, k);
      if (this.peers.length > 0) this.forward(this.aggr);
    }
  }

  /**
   * Partitioned, worker 0: collects the other partitions' rows of the last block and posts them once there are
   * FORWARD_ROWS (or all of them with `flush`), waiting while a peer lags.
   */
  private forward(a: Aggregator, flush = false): void {
    for (const f of a.takeForwarded()) {
      this.pending[f.part - 1]!.push(f);
      this.pendingRows[f.part - 1]! += f.m;
    }
    for (let i = 0; i < this.peers.length; i++) {
      if (this.pendingRows[i]! === 0 || (!flush && this.pendingRows[i]! < FORWARD_ROWS)) continue;
      const rows = this.pending[i]!;
      const msg: PeerMessage = { type: "rows", rows };
      this.peers[i]!.postMessage(
        msg,
        rows.flatMap((f) => this.statsMod!.forwardedTransferList(f)),
      );
      this.sent[i]!++;
      this.pending[i] = [];
      this.pendingRows[i] = 0;
    }
    const fl = this.flow!;
    for (let i = 0; i < this.peers.length; i++) {
      for (;;) {
        const done = Atomics.load(fl, i + 1);
        if (this.sent[i]! - done <= FORWARD_AHEAD) break;
        Atomics.wait(fl, i + 1, done, 100);
      }
    }
  }

  /** Closes the files and posts the final reply: the statistics or aggregation tables. */
  finish(): void {
    if (this.aggr && this.peers.length > 0) this.forward(this.aggr, true);
    for (const port of this.peers) {
      const msg: PeerMessage = { type: "end" };
      port.postMessage(msg);
    }
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
    const stats = this.accs.map((a) => a.exportState());
    const part = this.config!.partition;
    let aggregate: AggregatorState | AggregatorPart | null = null;
    let transfer: ArrayBuffer[] = [];
    if (this.aggr && part) {
      let ids: Uint32Array | undefined;
      if (part.topN > 0) {
        const o = part.order !== undefined ? this.statsMod!.parseRecordOrder(part.order) : undefined;
        ids = Uint32Array.from(this.aggr.entryOrder(o?.order, o?.ascending, part.topN)).sort();
      }
      const p = this.aggr.exportPart(ids);
      aggregate = p;
      transfer = this.statsMod!.partTransferList(p);
    } else if (this.aggr) aggregate = this.aggr.exportState();
    const reply: ScanReply = { type: "final", index: part ? part.index : 0, stats, aggregate };
    this.post(reply, transfer);
  }
}
