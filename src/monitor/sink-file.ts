// SPDX-License-Identifier: BSD-3-Clause
// Fixed-window rows appended to a file, one block of rows per period: CSV (a header when the file is new;
// empty fields for the rest row's keys) or ndjson (null keys).

import { appendFileSync, statSync } from "node:fs";
import type { KeySpec } from "./keys.js";
import { rowsToCsv } from "./sink-pg.js";
import type { WindowRow } from "./window.js";

export class FileSink {
  readonly path: string;
  private readonly kind: "csv" | "ndjson";
  private readonly spec: KeySpec;

  constructor(path: string, kind: "csv" | "ndjson", spec: KeySpec) {
    this.path = path;
    this.kind = kind;
    this.spec = spec;
  }

  /** Appends a period's rows. @throws on a write error (the caller logs it) */
  write(rows: readonly WindowRow[]): void {
    if (rows.length === 0) return;
    if (this.kind === "csv") {
      let empty = true;
      try {
        empty = statSync(this.path).size === 0;
      } catch {
        // new file
      }
      const header = empty ? `time,${this.spec.names.join(",")},flows,packets,bytes\n` : "";
      appendFileSync(this.path, header + rowsToCsv(rows, this.spec.elements.length));
      return;
    }
    let out = "";
    for (const r of rows) {
      const o: Record<string, unknown> = { time: new Date(r.time).toISOString() };
      this.spec.elements.forEach((e, k) => {
        const v = r.keys?.[k];
        o[this.spec.names[k]!] = v === undefined ? null : e.kind === "int" ? Number(v) : v;
      });
      o["flows"] = r.flows;
      o["packets"] = r.packets;
      o["bytes"] = r.bytes;
      out += `${JSON.stringify(o)}\n`;
    }
    appendFileSync(this.path, out);
  }
}
