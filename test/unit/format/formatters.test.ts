import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { parseIPv4 } from "../../../src/record/ip.js";
import {
  aggregateFormat,
  createFormatter,
  expandPredefined,
  FormatError,
  type FormatterOptions,
} from "../../../src/format/index.js";
import { CsvFormatter, csvField } from "../../../src/format/csv.js";
import { StringOutput } from "../../../src/format/out.js";
import {
  csvLegacySummary,
  NO_MATCHING_FLOWS,
  summaryLine,
  sysLine,
  textFooter,
  timeWindowLine,
} from "../../../src/format/summary.js";
import { formatStatTableJson } from "../../../src/format/stat-table.js";

function sample(): RecordBatch {
  const b = new RecordBatch(4);
  const add = (src: string, dst: string, sp: number, dp: number, proto: number, pkts: number, bytes: number): void => {
    const r = b.addRow();
    b.setV4("srcAddr", r, parseIPv4(src));
    b.setV4("dstAddr", r, parseIPv4(dst));
    b.cols.srcPort[r] = sp;
    b.cols.dstPort[r] = dp;
    b.cols.proto[r] = proto;
    b.cols.inPackets[r] = pkts;
    b.cols.inBytes[r] = bytes;
    b.cols.msecFirst[r] = 1795435489403;
    b.cols.msecLast[r] = 1795435499403;
    b.cols.msecReceived[r] = 1795435501404;
    b.cols.tcpFlags[r] = 0x1b;
    b.cols.flows[r] = 1;
    b.setV4("exporterAddr", r, parseIPv4("127.0.0.1"));
  };
  add("192.0.2.10", "198.51.100.20", 51234, 443, 6, 10, 5000);
  add("192.0.2.13", "198.51.100.21", 0, 8 * 256, 1, 2, 168);
  add("192.0.2.10", "198.51.100.22", 51300, 22, 6, 1500, 2_100_000);
  return b;
}

function render(spec: string, b: RecordBatch, opts: FormatterOptions = {}): string {
  const out = new StringOutput();
  const f = createFormatter(spec, opts);
  f.prolog(out);
  for (let i = 0; i < b.length; i++) f.record(b, i, out);
  f.epilog(out);
  return out.text();
}

describe("registry", () => {
  it("unknown names fail with a stable code and a suggestion", () => {
    expect(() => createFormatter("extendet")).toThrow(FormatError);
    try {
      createFormatter("extendet");
    } catch (err) {
      expect((err as FormatError).code).toBe("ERR_FORMAT_UNKNOWN");
      expect((err as Error).message).toBe("unknown output format 'extendet' (did you mean extended?)");
    }
    expect(() => createFormatter("zzzzzzzz")).toThrow(/^unknown output format 'zzzzzzzz'$/);
  });
  it("bad %tokens fail like nfdump's parse error", () => {
    expect(() => createFormatter("fmt:%ts %bogus")).toThrow(/output format parse error at: %bogus/);
    expect(() => createFormatter("csv:%ts,%sap")).toThrow(/not allowed/);
  });
  it("predefined formats expand inside fmt: (first occurrence per name, as nfdump)", () => {
    expect(expandPredefined("%line %ra")).toBe("%ts %td %pr %sap -> %dap %pkt %byt %fl %ra");
    expect(expandPredefined("%long")).toBe("%ts %td %pr %sap -> %dap %flg %tos %pkt %byt %fl");
  });
  it("each format reports which footer follows", () => {
    expect(createFormatter("line").summary).toBe("text");
    expect(createFormatter("csv").summary).toBe("none");
    expect(createFormatter("csv-legacy").summary).toBe("csv-legacy");
    expect(createFormatter("json").summary).toBe("none");
    expect(createFormatter("null").summary).toBe("text");
  });
});

describe("text formats", () => {
  it("line: header and rows in nfdump 1.7.1 layout, ICMP type.code, scaled bytes", () => {
    expect(render("line", sample())).toBe(
      "Date first seen             Duration     Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows\n" +
        "2026-11-23 12:04:49.403     00:00:10.000 TCP         192.0.2.10:51234 ->    198.51.100.20:443         10     5000     1\n" +
        "2026-11-23 12:04:49.403     00:00:10.000 ICMP        192.0.2.13:0     ->    198.51.100.21:8.0          2      168     1\n" +
        "2026-11-23 12:04:49.403     00:00:10.000 TCP         192.0.2.10:51300 ->    198.51.100.22:22        1500    2.1 M     1\n",
    );
  });
  it("-q drops the header; null prints nothing", () => {
    expect(render("line", sample(), { quiet: true }).split("\n")[0]).toMatch(/^2026-11-23/);
    expect(render("null", sample())).toBe("");
  });
  it("%cnt counts the records of this formatter", () => {
    expect(render("fmt:%cnt", sample(), { quiet: true })).toBe("    1\n    2\n    3\n");
  });
});

describe("csv", () => {
  it("default -o csv: 1.7.5+ header, ms timestamps, numeric proto, no summary", () => {
    expect(render("csv", sample())).toBe(
      "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n" +
        "2026-11-23 12:04:49.403,10.000,6,192.0.2.10,51234,198.51.100.20,443,10,5000,1\n" +
        "2026-11-23 12:04:49.403,10.000,1,192.0.2.13,0,198.51.100.21,2048,2,168,1\n" +
        "2026-11-23 12:04:49.403,10.000,6,192.0.2.10,51300,198.51.100.22,22,1500,2100000,1\n",
    );
  });
  it("csv:<fmt> user columns", () => {
    expect(render("csv:%sa,%pr,%flg,%bps,%tsr,%ra", sample()).split("\n").slice(0, 2)).toEqual([
      "srcAddr,proto,flags,bps,firstSeen,routerIP",
      "192.0.2.10,6,...AP.SF,4000,1795435489.403,127.0.0.1",
    ]);
  });
  it("csv-stringify engine prints the same bytes", () => {
    expect(render("csv:%ts,%sa,%da,%sp,%dp,%pkt,%byt,%flg", sample(), { csvEngine: "stringify" })).toBe(
      render("csv:%ts,%sa,%da,%sp,%dp,%pkt,%byt,%flg", sample()),
    );
  });
  it("RFC 4180 quoting only where needed", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("AS, Inc.")).toBe('"AS, Inc."');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(new CsvFormatter("%sa,%da").header).toBe("srcAddr,dstAddr");
  });
});

describe("json / ndjson", () => {
  it("json is a valid array with 1.7.1 keys; -q drops the brackets", () => {
    const text = render("json", sample());
    const arr = JSON.parse(text) as Record<string, unknown>[];
    expect(arr).toHaveLength(3);
    expect(arr[0]).toMatchObject({
      type: "FLOW",
      src4_addr: "192.0.2.10",
      dst_port: 443,
      tcp_flags: "...AP.SF",
      label: "<none>",
    });
    expect(arr[1]).toMatchObject({ proto: 1, icmp_type: 8, icmp_code: 0 });
    expect(arr[1]).not.toHaveProperty("src_port");
    expect(text.startsWith('[\n{\n\t"type" : "FLOW",\n\t"sampled" : 0,')).toBe(true);
    expect(render("json", sample(), { quiet: true }).startsWith("{")).toBe(true);
    expect(render("json", new RecordBatch(1))).toBe("[\n]\n");
  });
  it("ndjson: one parseable object per line", () => {
    const lines = render("ndjson", sample()).trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const o = JSON.parse(lines[2]!) as Record<string, unknown>;
    expect(o).toMatchObject({ type: "FLOW", in_bytes: 2100000, dst_port: 22, ip4_router: "127.0.0.1", sampled: 0 });
  });
});

describe("summary lines", () => {
  const t = { flows: 12, bytes: 2223822, packets: 1574, firstMs: 1795435441403, lastMs: 1795435500403 };
  it("Summary line scaled and -N", () => {
    expect(summaryLine(t)).toBe(
      "Summary: total flows: 12, total bytes: 2.2 M, total packets: 1574, avg bps: 301535, avg pps: 26, avg bpp: 1412\n",
    );
    expect(summaryLine(t, true)).toBe(
      "Summary: total flows: 12, total bytes: 2223822, total packets: 1574, avg bps: 301535, avg pps: 26, avg bpp: 1412\n",
    );
    expect(summaryLine({ flows: 0, bytes: 0, packets: 0, firstMs: 0, lastMs: 0 })).toBe(
      "Summary: total flows: 0, total bytes: 0, total packets: 0, avg bps: 0, avg pps: 0, avg bpp: 0\n",
    );
    expect(NO_MATCHING_FLOWS).toBe("No matching flows\n");
  });
  it("csv summary, time window, sys line", () => {
    expect(csvLegacySummary(t)).toBe(
      "Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n12,2223822,1574,301535,26,1412\n",
    );
    expect(timeWindowLine(0, 0)).toBe("Time window: <unknown>\n");
    expect(timeWindowLine(1767225503000, 1767225752999)).toBe(
      "Time window: 2025-12-31 23:58:23 - 2026-01-01 00:02:32\n",
    );
    expect(sysLine({ sys: 0.0046, user: 0, wall: 0.0033 }, 5)).toBe(
      "Sys: 0.0046s User: 0.0000s Wall: 0.0033s flows/second: 1515.2 Runtime: 0.0033s\n",
    );
    expect(sysLine({ sys: 0, user: 0, wall: 0 }, 5)).toContain("flows/second: inf ");
    expect(
      textFooter(
        t,
        t,
        { processed: 12, passed: 12, blocksSkipped: 0, bytesRead: 1708 },
        { sys: 0, user: 0, wall: 1 },
      ).split("\n"),
    ).toHaveLength(5);
  });
});

describe("aggregation and stat json", () => {
  it("-A automatic format", () => {
    expect(aggregateFormat(["proto", "dstport"])).toBe("%ts %td  %pr %dp  %pkt %byt %bps %bpp %fl");
    expect(aggregateFormat(["srcip4/24", "dstas"])).toBe("%ts %td  %sa %das  %pkt %byt %bps %bpp %fl");
    expect(() => aggregateFormat(["nope"])).toThrow(/unknown key 'nope'/);
  });
  it("stat json parses", () => {
    const j = formatStatTableJson(
      { element: "Dst Port", order: "bytes", topN: 1 },
      [{ key: "443", proto: 6, first: 1000, last: 3000, flows: 2, packets: 10, bytes: 1000 }],
      { flows: 4, packets: 20, bytes: 4000 },
    );
    expect(JSON.parse(j)).toMatchObject({
      stat: "Dst Port",
      rows: [{ value: "443", flows_pct: 50, bps: 4000, bpp: 100 }],
    });
  });
});

describe("formats of any length (nfdump takes them)", () => {
  it("fmt: of 100,000 characters and of 20,000 tokens, csv: of 2,000 fields print whole records", () => {
    const b = sample();
    const lit = render(`fmt:${"x".repeat(100_000)}`, b, { quiet: true });
    expect(lit).toBe(`${"x".repeat(100_000)}\n`.repeat(3));
    const many = render(`fmt:${"%sa ".repeat(20_000)}`, b, { quiet: true }).split("\n");
    expect(many.length).toBe(4);
    expect(many[2]!.split(/ +/).filter((s) => s === "192.0.2.10").length).toBe(20_000);
    const csv = render(`csv:${Array.from({ length: 2000 }, () => "%da").join(",")}`, b).split("\n");
    expect(csv[1]).toBe(Array.from({ length: 2000 }, () => "198.51.100.20").join(","));
  });
});
