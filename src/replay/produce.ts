// SPDX-License-Identifier: BSD-3-Clause
// tsreplay's producing half: reads the selected flows (or makes synthetic ones) and hands them to the encoder a
// batch at a time. Runs on the main thread, or in the replay worker (replay-worker.ts) while the main thread sends.

import { openFlows } from "../api.js";
import type { ColumnArrays } from "../record/schema.js";
import type { FlowEncoder } from "./encode.js";
import { syntheticRounds } from "./synthetic.js";

/** What to replay (plain data: it crosses to the worker). */
export interface ReplayInput {
  readonly synthetic?: {
    readonly flows: number;
    readonly seed: number;
    readonly exporters: number;
    readonly step: number;
  };
  readonly file?: string;
  readonly range?: string;
  readonly multiDir?: string;
  readonly window?: string;
  readonly filter?: string;
  readonly limit?: number;
}

/**
 * Encodes every flow of `input`; `drain` (when given) is awaited after each batch. Damaged files and blocks are
 * reported to `onError` and skipped; returns how many there were. Throws what openFlows throws (filter syntax,
 * no files).
 */
export async function produce(
  input: ReplayInput,
  enc: FlowEncoder,
  drain: (() => Promise<void>) | undefined,
  onError: (message: string) => void,
): Promise<number> {
  if (input.synthetic !== undefined) {
    for (const round of syntheticRounds(input.synthetic)) {
      enc.addRows(round.batch, undefined, round.batch.length, round.exporter);
      enc.flush(round.exporter);
      if (drain) await drain();
    }
    enc.flush();
    return 0;
  }
  let damaged = 0;
  const flows = openFlows({
    ...(input.file !== undefined ? { file: input.file } : {}),
    ...(input.range !== undefined ? { range: input.range } : {}),
    ...(input.multiDir !== undefined ? { multiDir: input.multiDir } : {}),
    ...(input.window !== undefined ? { window: input.window } : {}),
    ...(input.filter !== undefined ? { filter: input.filter } : {}),
    ...(input.limit !== undefined ? { limit: input.limit } : {}),
    onError: (m) => {
      damaged++;
      onError(m);
    },
  });
  const exporters = new ExporterIds();
  let sources = new Uint32Array(0);
  for (const { batch, rows, count } of flows) {
    if (sources.length < count) sources = new Uint32Array(Math.max(count, 2 * sources.length));
    exporters.of(batch.cols, rows, count, sources);
    enc.addRows(batch, rows, count, sources);
    if (drain) await drain();
  }
  enc.flush();
  return Math.max(damaged, flows.counts.damaged);
}

/** One source id per original exporter (address, observation domain, engine type and id), in order of appearance. */
class ExporterIds {
  private readonly ids = new Map<string, number>();
  private lastA = -1;
  private lastD = -1;
  private lastE = -1;
  private lastId = 0;

  /** The source id of each row rows[0..count) in `out`. */
  of(c: ColumnArrays, rows: Uint32Array, count: number, out: Uint32Array): void {
    const addr = c.exporterAddr;
    const domain = c.observationDomain;
    const engineType = c.engineType;
    const engineId = c.engineId;
    for (let k = 0; k < count; k++) {
      const r = rows[k]!;
      const a = addr[r]!;
      const d = domain[r]!;
      const e = (engineType[r]! << 8) | engineId[r]!;
      out[k] = a === this.lastA && d === this.lastD && e === this.lastE && a !== 0 ? this.lastId : this.lookup(c, r);
    }
  }

  private lookup(c: ColumnArrays, r: number): number {
    const a = c.exporterAddr[r]!;
    const d = c.observationDomain[r]!;
    const e = (c.engineType[r]! << 8) | c.engineId[r]!;
    const w = r * 4;
    const key = `${a}|${c.exporterAddr6[w]}|${c.exporterAddr6[w + 1]}|${c.exporterAddr6[w + 2]}|${c.exporterAddr6[w + 3]}|${d}|${e}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(key, id);
    }
    this.lastA = a;
    this.lastD = d;
    this.lastE = e;
    this.lastId = id;
    return id;
  }
}
