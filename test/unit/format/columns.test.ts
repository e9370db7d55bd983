// SPDX-License-Identifier: BSD-3-Clause
// Each format declares the physical columns it reads (format/columns.ts), and a sorted listing keeps only
// those of each row (stats/row-store.ts: reading a column it did not keep throws). Here every output mode and
// every single %token is formatted from a sort that kept only the declared columns and compared with the same
// sort keeping every column, on rows whose every column holds a value (IPv6 and IPv4 addresses in every address
// column, ICMP with and without type/code columns, counters past 2^53, NSEL/NAT and its raw elements, MPLS, MACs): a formatter that
// reads a column it did not declare throws or prints differently.
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { PHYSICAL_COLUMNS, type PhysicalName } from "../../../src/record/schema.js";
import { TWO53 } from "../../../src/record/u64.js";
import { createFormatter, type Formatter, type Output } from "../../../src/format/index.js";
import { CSV_TOKEN_NAMES } from "../../../src/format/csv.js";
import { FMT_TOKENS } from "../../../src/format/fmt.js";
import { StringOutput } from "../../../src/format/out.js";
import { findOrder } from "../../../src/stats/orders.js";
import { RecordSorter } from "../../../src/stats/sort.js";
import { StatsQuery } from "../../../src/stats/query.js";

/** 2,000 rows with every physical column set (seeded), a few edge values per column kind. */
function richBatch(n = 2000): RecordBatch {
  const b = new RecordBatch(n);
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const int = (max: number): number => Math.floor(rnd() * max);
  for (let r = 0; r < n; r++) {
    b.addRow();
    for (const pc of PHYSICAL_COLUMNS) {
      const a = b.cols[pc.name as PhysicalName];
      const max = pc.array === "u8" ? 256 : pc.array === "u16" ? 65536 : 2 ** 32;
      for (let w = 0; w < pc.width; w++) a[r * pc.width + w] = int(max);
    }
    const c = b.cols;
    c.proto[r] = [1, 6, 17, 58, 47, int(256)][r % 6]!;
    if (r % 5 === 0) c.dstPort[r] = 0;
    if (r % 7 === 0) {
      c.icmpType[r] = 0;
      c.icmpCode[r] = 0;
    }
    c.msecFirst[r] = 1.7e12 + int(1e9);
    c.msecLast[r] = c.msecFirst[r]! + [int(1e6), int(1e9), -int(1e4), 0][r % 4]!;
    c.msecReceived[r] = c.msecLast[r]! + int(1e4);
    c.msecEvent[r] = r % 3 === 0 ? 0 : c.msecFirst[r]! + int(1e3);
    for (const name of ["inPackets", "inBytes", "outPackets", "outBytes", "flows"] as const) {
      const kind = (r + name.length) % 4;
      c[name][r] = kind === 0 ? int(1e6) : kind === 1 ? int(2 ** 40) : kind === 2 ? TWO53 * (1 + int(100)) : 0;
      c[`${name}Fix`][r] = kind === 2 ? int(2000) : 0;
    }
    for (const mac of ["inSrcMac", "outDstMac", "inDstMac", "outSrcMac"] as const) c[mac][r] = int(2 ** 48);
    if (r % 9 === 0) c.elements[r] = 0;
    // NSEL values kept as raw elements (connection id, ACL ids, user name) in most rows
    if (r % 4 !== 3) {
      const bytes = Uint8Array.from({ length: 12 }, () => int(256));
      b.addExtra(0, 148, bytes, 0, 4);
      b.addExtra(0, 33000, bytes, 0, 12);
      b.addExtra(0, 33001, bytes.reverse(), 0, 12);
      b.addExtra(0, 40000, new TextEncoder().encode(`user${r}`), 0, 4 + String(r).length);
    }
    // every other column zero in the first 100 rows (a sort's chunk packs only the columns its first rows hold)
    if (r < 100)
      PHYSICAL_COLUMNS.forEach(
        (pc, k) => k % 2 === 1 && c[pc.name as PhysicalName].fill(0, r * pc.width, (r + 1) * pc.width),
      );
    // IPv6 words zero in a third of the rows (a sort keeps only the non-zero ones)
    if (r % 3 === 1)
      for (const pc of PHYSICAL_COLUMNS) if (pc.width === 4) c[pc.name as PhysicalName].fill(0, r * 4, r * 4 + 4);
  }
  return b;
}

/** Plain-text output (a formatter's string path, not its generated row writer). */
class TextOutput implements Output {
  stopped = false;
  text = "";
  write(s: string): void {
    this.text += s;
  }
  writeBytes(bytes: Uint8Array): void {
    this.text += Buffer.from(bytes).toString("latin1");
  }
  flush(): void {
    // kept in memory
  }
}

/** The sorted rows of `batch` printed by `fmt`, the sort keeping `columns` (undefined: every column). */
function sortedText(batch: RecordBatch, fmt: Formatter, columns: ReadonlySet<string> | undefined, text: boolean) {
  const sorter = new RecordSorter(findOrder("bytes", false));
  if (columns !== undefined) sorter.keepColumns(columns);
  // the first 100 rows, then the others
  const rows = Uint32Array.from({ length: batch.length }, (_, i) => i);
  sorter.add(batch, rows.subarray(0, 100), 100);
  sorter.add(batch, rows.subarray(100), batch.length - 100);
  const out = text ? new TextOutput() : new StringOutput();
  for (const b of sorter.toBatches(700)) fmt.records(b, null, b.length, out);
  return out instanceof TextOutput ? out.text : out.text();
}

const RICH = richBatch();
const FEW = richBatch(600);

function check(spec: string, opts: { plain?: boolean; longV6?: boolean } = {}, batch = RICH): void {
  for (const text of [false, true]) {
    const full = sortedText(batch, createFormatter(spec, opts), undefined, text);
    const fmt = createFormatter(spec, opts);
    expect(fmt.columns, spec).toBeDefined();
    expect(sortedText(batch, fmt, fmt.columns, text), `${spec} ${JSON.stringify(opts)} text=${text}`).toBe(full);
  }
}

describe("formatters declare the columns they read", () => {
  const modes = ["line", "long", "extended", "biline", "bilong", "nsel", "nel", "csv", "csv-legacy", "pipe"];
  it.each(modes)("-o %s, with and without -N and -6, from the declared columns only", (spec) => {
    for (const plain of [false, true]) for (const longV6 of [false, true]) check(spec, { plain, longV6 });
  });

  it.each(["json", "ndjson"])("-o %s from the declared columns only", (spec) => {
    check(spec);
  });

  it("rows of several chunks (16,384 rows each), some with IPv6 words and some without", () => {
    const big = richBatch(20000);
    for (const spec of ["line", "ndjson"]) check(spec, { longV6: true }, big);
  });

  it("every fmt: %token on its own, with and without -N and -6", () => {
    for (const t of FMT_TOKENS) {
      for (const plain of [false, true])
        for (const longV6 of [false, true]) check(`fmt:${t.token}`, { plain, longV6 }, FEW);
    }
  });

  it("every csv: token on its own", () => {
    for (const t of CSV_TOKEN_NAMES) check(`csv:${t}`, {}, FEW);
  });

  it("a format that reads a column it did not declare throws (the check the tests above rely on)", () => {
    const batch = richBatch(10);
    const fmt = createFormatter("fmt:%sap %byt");
    expect(() => sortedText(batch, fmt, new Set(["srcAddr", "srcAddr6", "v6Flags"]), false)).toThrow(
      /column (srcPort|inBytes) read but not kept/,
    );
  });
});

describe("sorted listing memory", () => {
  /** IPv4 flows as a 2 M-flow file holds them: the columns a collector fills, IPv6 words zero. */
  function ipv4Flows(n: number): RecordBatch {
    const b = new RecordBatch(n);
    for (let r = 0; r < n; r++) {
      b.addRow();
      const c = b.cols;
      c.msecFirst[r] = 1.7e12 + r;
      c.msecLast[r] = 1.7e12 + r + 1000;
      c.msecReceived[r] = 1.7e12 + r + 2000;
      c.srcAddr[r] = 0x0a000000 + r;
      c.dstAddr[r] = 0xc0a80000 + (r & 0xffff);
      c.srcPort[r] = r & 0xffff;
      c.dstPort[r] = 443;
      c.proto[r] = 6;
      c.tcpFlags[r] = 0x1b;
      c.inPackets[r] = 1 + (r % 100);
      c.inBytes[r] = 40 * (1 + (r % 1000));
      c.input[r] = 3;
      c.output[r] = 4;
      c.srcAs[r] = 64512;
      c.exporterAddr[r] = 0x7f000001;
      c.nfVersion[r] = 9;
      c.elements[r] = 0x1f;
    }
    return b;
  }

  it("-O bytes -o line keeps at most 48 bytes per row (every column: ~450)", () => {
    const q = new StatsQuery({ order: "bytes" });
    const fmt = createFormatter("line");
    // as tsdump's sorted listing does (dump/query.ts)
    if (fmt.columns !== undefined) q.sorter!.keepColumns(fmt.columns);
    const n = 3 * 16384;
    q.add(ipv4Flows(n), null, n);
    // the line format's columns: times (16), addresses (8), ports (4), proto, counters (16), v6Flags, ICMP
    // type/code are all that a chunk allocates; the IPv6 words, fix terms and flows stay unallocated (all zero)
    expect(q.sorter!.memoryBytes() - 8 * 65536).toBeLessThanOrEqual(n * 48);
    expect(q.memory().peak / n).toBeLessThan(60);
  });
});
