// Flow files as tscapd lays them out (-S 1: %Y/%m/%d/tscapd.YYYYMMDDhhmm, 5-minute slots), filled with the
// synthetic generator's flows (tsreplay --synthetic's) through the store's writer, with per-exporter counters
// in each footer as tscapd writes them: the overview graphs and the tsweb/tsdump comparisons read these.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { RecordBatch } from "../../src/record/batch.js";
import { syntheticRounds, type SyntheticRound } from "../../src/replay/synthetic.js";
import { flowFilePath } from "../../src/store/layout.js";
import { FlowFileWriter } from "../../src/store/writer.js";

export interface SlotFilesOptions {
  readonly dir: string;
  /** first slot, s since the epoch (a multiple of 300) */
  readonly start: number;
  readonly slots: number;
  /** flows per slot */
  readonly flowsPerSlot: number;
  readonly exporters?: number;
  readonly seed?: number;
}

/** Writes `slots` five-minute files; returns their paths in time order. */
export function writeSlotFiles(o: SlotFilesOptions): string[] {
  const exporters = o.exporters ?? 3;
  const perRound = 250;
  const roundsPerSlot = Math.max(1, Math.ceil(o.flowsPerSlot / perRound));
  const step = 300 / roundsPerSlot;
  const files: string[] = [];
  const rounds = syntheticRounds({
    flows: o.slots * roundsPerSlot * perRound,
    seed: o.seed ?? 7,
    exporters,
    start: o.start + step,
    step,
    roundFlows: perRound,
  });
  const batch = new RecordBatch(roundsPerSlot * perRound);
  for (let s = 0; s < o.slots; s++) {
    const slotMs = (o.start + s * 300) * 1000;
    const path = flowFilePath(o.dir, slotMs, { interval: 300, zone: "utc", subdirLevel: 1 });
    mkdirSync(join(path, ".."), { recursive: true });
    const w = FlowFileWriter.open(`${path}.tmp`, { creator: "test" });
    const counters = Array.from({ length: exporters }, () => ({ flows: 0, packets: 0 }));
    batch.reset();
    for (let r = 0; r < roundsPerSlot; r++) {
      const round = rounds.next().value as SyntheticRound;
      const c = round.batch.cols;
      for (let i = 0; i < round.batch.length; i++) {
        c.exporterId[i] = round.exporter + 1;
        batch.copyRowFrom(round.batch, i);
        counters[round.exporter]!.flows++;
        counters[round.exporter]!.packets += c.inPackets[i]!;
      }
    }
    w.appendBatchSync(batch);
    counters.forEach((e, i) => {
      w.addExporterStats({ address: `192.0.2.${i + 1}`, id: i + 1, version: 9, flows: e.flows, packets: e.packets });
    });
    w.closeSync({ finalPath: path });
    files.push(path);
  }
  return files;
}
