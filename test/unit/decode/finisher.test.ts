// SPDX-License-Identifier: BSD-3-Clause
// The specialised record finishers (one generated per template shape) against the generic finishRecord, on random
// template shapes, exporter states, header values and records: every column either writes must come out the same.
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, V6_BIT, type PhysicalName } from "../../../src/record/schema.js";
import { finishRecord, finisherFor, setConstants } from "../../../src/decode/data-set.js";
import { Slot, slotBit } from "../../../src/decode/fields.js";
import { DecoderState } from "../../../src/decode/state.js";
import { fieldList, PlanFlag, type DecodePlan } from "../../../src/decode/templates.js";
import { rng } from "../store/helpers.js";

const SLOTS = [
  Slot.FIRST_UP,
  Slot.LAST_UP,
  Slot.FIRST_ABS,
  Slot.LAST_ABS,
  Slot.FIRST_DELTA,
  Slot.LAST_DELTA,
  Slot.SYSINIT,
  Slot.DURATION,
  Slot.SAMPLER_ID,
  Slot.INTERVAL,
  Slot.SPACE,
];

describe("specialised record finishers", () => {
  it("equal the generic finishRecord on random template shapes and records", () => {
    const r = rng(2024);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    let shapes = 0;
    for (let t = 0; t < 400; t++) {
      // a template shape: some slots (the time ones more often), the ICMP flag, its element bits
      let slotMask = 0;
      for (const s of SLOTS) if (r() < (s <= Slot.DURATION ? 0.35 : 0.2)) slotMask |= slotBit(s);
      const flags = r() < 0.3 ? PlanFlag.ICMP : 0;
      const plan = { slotMask, flags, elements: (Math.floor(r() * 2 ** 31) & ~0b1110) >>> 0 } as unknown as DecodePlan;
      // exporter and header state: with or without systemInitTime, v9 (sysUptime) or IPFIX (none), samplers
      const samplingRate = pick([0, 0, 0, 10, -7]);
      const state = new DecoderState({ samplingRate });
      const e = state.exporter(pick([9, 10]), "192.0.2.1", 0, 1_700_000_000_000)!;
      e.sysInitMs = r() < 0.4 ? 1_699_000_000_000 + Math.floor(r() * 1e6) : -1;
      // samplers bound to a live options template (sampler() drops unbound ones)
      const opt = fieldList(2);
      opt.id.set([1, 34]);
      opt.length.set([4, 4]);
      const optPlan = e.templates!.define(300, true, 1, opt, 0);
      const bound = { templateId: 300, plan: optPlan };
      if (r() < 0.4) e.samplers.set(-1, { interval: pick([1, 2, 100]), algorithm: 0, ...bound });
      if (r() < 0.4) e.samplers.set(5, { interval: pick([0, 3, 50]), algorithm: 1, ...bound });
      const ctx = state.ctx;
      ctx.exportSecs = 1_700_000_000 + Math.floor(r() * 1000);
      ctx.sysUptimeMs = r() < 0.5 ? Math.floor(r() * 2 ** 32) : -1;
      const k = new Float64Array(5);
      setConstants(state, e, plan, ctx, k);
      const finish = finisherFor(slotMask, flags);
      shapes++;
      const a = new RecordBatch(16);
      const b = new RecordBatch(16);
      for (let n = 0; n < 16; n++) {
        const ra = a.addRow();
        const rb = b.addRow();
        const sc = new Float64Array(16);
        // scratch slots: small, zero, huge, fractional; ABS times near the export time
        for (let s = 0; s < 16; s++) sc[s] = pick([0, 0, 1, 500, 60_000, 2 ** 32 - 5, Math.floor(r() * 2 ** 32), 7.5]);
        if (r() < 0.5) sc[Slot.FIRST_ABS] = ctx.exportSecs * 1000 - Math.floor(r() * 1e6);
        if (r() < 0.5) sc[Slot.LAST_ABS] = ctx.exportSecs * 1000 - Math.floor(r() * 1e5);
        sc[Slot.SAMPLER_ID] = pick([5, 6, -1]);
        const set = (batch: RecordBatch, row: number): void => {
          const c = batch.cols;
          c.proto[row] = pick([1, 58, 6, 17, 47]);
          c.dstPort[row] = pick([0x0303, 0x0800, 443]);
          c.icmpType[row] = pick([0, 3, 8]);
          c.icmpCode[row] = pick([0, 1]);
          c.v6Flags[row] = pick([0, V6_BIT.srcAddr, V6_BIT.exporterAddr, V6_BIT.srcAddr | V6_BIT.exporterAddr]);
          c.inPackets[row] = 3;
          c.inBytes[row] = 1500;
          c.outPackets[row] = 2;
          c.outBytes[row] = 100;
        };
        // the same row in both batches
        set(a, ra);
        for (const pc of PHYSICAL_COLUMNS) {
          const name = pc.name as PhysicalName;
          b.cols[name].set(a.cols[name].subarray(ra * pc.width, (ra + 1) * pc.width), rb * pc.width);
        }
        finishRecord(state, e, plan, ctx, a.cols, ra, sc.slice());
        finish(b.cols, rb, sc.slice(), k, state, e, plan);
      }
      for (const pc of PHYSICAL_COLUMNS) {
        const name = pc.name as PhysicalName;
        expect(Array.from(b.cols[name].subarray(0, 16 * pc.width)), `shape ${t} (mask ${slotMask}) ${name}`).toEqual(
          Array.from(a.cols[name].subarray(0, 16 * pc.width)),
        );
      }
    }
    expect(shapes).toBe(400);
  });
});
