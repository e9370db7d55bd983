// SPDX-License-Identifier: BSD-3-Clause
// Terminal niceties of tsdump: `--progress` (a status line on stderr while files are scanned) and `--table`
// (-s tables drawn with cli-table3). The default text stays nfdump's, for scripts.

import { createRequire } from "node:module";
import type CliTable from "cli-table3";
import { percent, type StatTotals } from "../format/stat-table.js";
import { durationString, fixed1, formatNumber, localTimeMs, protoString, sumText } from "../format/text.js";
import type { StatTable } from "../stats/index.js";

/** A rate-limited progress line: blocks done, flows, flows/s and an ETA; cleared by `done()`. */
export class Progress {
  private readonly write: (text: string) => void;
  private readonly started = Date.now();
  private last = 0;
  private shown = false;

  constructor(write: (text: string) => void) {
    this.write = write;
  }

  update(blocksDone: number, blocksTotal: number, flows: number): void {
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? flows / secs : 0;
    const eta = blocksDone > 0 ? (secs * (blocksTotal - blocksDone)) / blocksDone : 0;
    this.write(
      `\r${blocksDone}/${blocksTotal} blocks, ${formatNumber(flows, false, false)} flows, ${formatNumber(Math.round(rate), false, false)} flows/s, ETA ${eta.toFixed(0)} s   `,
    );
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.write("\r\x1b[K");
  }
}

/** An -s table drawn with box characters (--table). */
// cli-table3 is loaded on first use (only --table on a TTY draws with it): it costs start-up time on every run
let TableClass: typeof CliTable | undefined;

export function drawStatTable(table: StatTable, totals: StatTotals, plain: boolean): string {
  const pct = (x: number, xFix: number, t: number, tFix: number | undefined): string =>
    fixed1(percent(x, xFix, t, tFix ?? 0));
  const n = (x: number, fix: number): string => (plain ? sumText(x, fix) : formatNumber(x, false, false));
  TableClass ??= createRequire(import.meta.url)("cli-table3") as typeof CliTable;
  const t = new TableClass({
    head: [
      "Date first seen",
      "Duration",
      "Proto",
      table.element.header,
      "Flows(%)",
      "Packets(%)",
      "Bytes(%)",
      "pps",
      "bps",
      "bpp",
    ],
    style: { head: [], border: [] },
  });
  for (const r of table.rows) {
    t.push([
      localTimeMs(r.first),
      durationString(r.last - r.first),
      table.spec.protoSplit || table.element.name === "proto" ? protoString(r.proto, plain).trim() : "any",
      r.keyText,
      `${n(r.flows, r.flowsFix)} (${pct(r.flows, r.flowsFix, totals.flows, totals.flowsFix)})`,
      `${n(r.packets, r.packetsFix)} (${pct(r.packets, r.packetsFix, totals.packets, totals.packetsFix)})`,
      `${n(r.bytes, r.bytesFix)} (${pct(r.bytes, r.bytesFix, totals.bytes, totals.bytesFix)})`,
      formatNumber(r.pps, plain, false),
      formatNumber(r.bps, plain, false),
      formatNumber(r.bpp, plain, false),
    ]);
  }
  return `Top ${table.limit} ${table.element.header} ordered by ${table.order.name}:\n${t.toString()}\n\n`;
}
