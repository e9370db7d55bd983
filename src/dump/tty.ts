// SPDX-License-Identifier: BSD-3-Clause
// Terminal niceties of tsdump: `--progress` (a status line on stderr while files are scanned) and `--table`
// (-s tables drawn with cli-table3). The default text stays nfdump's, for scripts.

import { createRequire } from "node:module";
import type CliTable from "cli-table3";
import { durationString, fixed1, formatNumber, localTimeMs, protoString } from "../format/text.js";
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

export function drawStatTable(
  table: StatTable,
  totals: { flows: number; packets: number; bytes: number },
  plain: boolean,
): string {
  const pct = (x: number, t: number): string => (t ? fixed1((x * 100) / t) : "0.0");
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
      `${formatNumber(r.flows, plain, false)} (${pct(r.flows, totals.flows)})`,
      `${formatNumber(r.packets, plain, false)} (${pct(r.packets, totals.packets)})`,
      `${formatNumber(r.bytes, plain, false)} (${pct(r.bytes, totals.bytes)})`,
      formatNumber(r.pps, plain, false),
      formatNumber(r.bps, plain, false),
      formatNumber(r.bpp, plain, false),
    ]);
  }
  return `Top ${table.limit} ${table.element.header} ordered by ${table.order.name}:\n${t.toString()}\n\n`;
}
