// SPDX-License-Identifier: BSD-3-Clause
// tsdump's informational modes: -I (summed statistics records, nfdump's layout), -E (exporters of a file),
// -v (verify a file block by block).

import { EXIT } from "../cli/common.js";
import { intString } from "../format/text.js";
import { u64Text } from "../record/u64.js";
import { openAnyFlowFile, type FlowFileSource } from "../store/nffile/index.js";
import { exactSums, type ExporterStats, type FileStats } from "../store/index.js";
import type { QueryIO } from "./io.js";

const CLASSES = ["tcp", "udp", "icmp", "other"] as const;

/** The files' statistics records summed: exact sums (BigInt, once per file), first and last, exporters. */
function sumStats(all: readonly FileStats[]): {
  flows: bigint[];
  packets: bigint[];
  bytes: bigint[];
  msecFirst: number;
  msecLast: number;
  exporters: ExporterStats[];
} {
  const s = { flows: [0n, 0n, 0n, 0n], packets: [0n, 0n, 0n, 0n], bytes: [0n, 0n, 0n, 0n] };
  const exporters: ExporterStats[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const f of all) {
    const x = exactSums(f);
    for (let k = 0; k < 4; k++) {
      s.flows[k]! += x.flows[k]!;
      s.packets[k]! += x.packets[k]!;
      s.bytes[k]! += x.bytes[k]!;
    }
    if (f.msecFirst > 0) first = Math.min(first, f.msecFirst);
    if (f.msecLast > 0) last = Math.max(last, f.msecLast);
    exporters.push(...f.exporters);
  }
  return {
    ...s,
    msecFirst: Number.isFinite(first) ? first : 0,
    msecLast: Number.isFinite(last) ? last : 0,
    exporters,
  };
}

/** -I: the statistics records of the selected files, summed, in nfdump's `-I` layout. */
export function printInfo(files: readonly string[], io: QueryIO): number {
  const stats: FileStats[] = [];
  let ident = "";
  let damaged = false;
  for (const file of files) {
    try {
      const r = openAnyFlowFile(file, {
        onError: (e) => {
          io.err(`tsdump: ${e.message}\n`);
        },
      });
      stats.push(r.stats());
      ident ||= r.header().ident;
      if (r.errors.length > 0) damaged = true;
      r.close();
    } catch (err) {
      io.err(`tsdump: ${(err as Error).message}\n`);
      damaged = true;
    }
  }
  const s = sumStats(stats);
  let seq = 0;
  for (const e of s.exporters) seq += e.sequenceErrors;
  // exact sums as digits, wrapped to 64 bits as nfdump's uint64 statistics record (never `9.8e+33`)
  const total = (a: readonly bigint[]): bigint => a[0]! + a[1]! + a[2]! + a[3]!;
  const lines = [`Ident: ${ident || "none"}`, `Flows: ${u64Text(total(s.flows))}`];
  CLASSES.forEach((c, k) => lines.push(`Flows_${c}: ${u64Text(s.flows[k]!)}`));
  lines.push(`Packets: ${u64Text(total(s.packets))}`);
  CLASSES.forEach((c, k) => lines.push(`Packets_${c}: ${u64Text(s.packets[k]!)}`));
  lines.push(`Bytes: ${u64Text(total(s.bytes))}`);
  CLASSES.forEach((c, k) => lines.push(`Bytes_${c}: ${u64Text(s.bytes[k]!)}`));
  lines.push(
    `First: ${Math.floor(s.msecFirst / 1000)}`,
    `Last: ${Math.floor(s.msecLast / 1000)}`,
    `msec_first: ${s.msecFirst % 1000}`,
    `msec_last: ${s.msecLast % 1000}`,
    `Sequence failures: ${seq}`,
  );
  io.out.write(`${lines.join("\n")}\n`);
  return damaged ? EXIT.DATA : EXIT.OK;
}

/** Opens a file for -E / -v, reporting damage on stderr; undefined when it cannot be opened at all. */
function openReported(file: string, io: QueryIO): FlowFileSource | undefined {
  try {
    return openAnyFlowFile(file, {
      onError: (e) => {
        io.err(`tsdump: ${e.message}\n`);
      },
    });
  } catch (err) {
    io.err(`tsdump: ${(err as Error).message}\n`);
    return undefined;
  }
}

/** -E: the exporters a file records, with their counters for the file's slot. */
export function printExporters(file: string, io: QueryIO): number {
  const r = openReported(file, io);
  if (r === undefined) return EXIT.DATA;
  // nfdump files: every exporter, statistics and sampler record of the file, as nfdump -E walks it
  const list = r.listExporters?.() ?? r.stats().exporters.map((exporter) => ({ exporter, samplers: [] }));
  const lines = ["Exporters:", ""];
  for (const { exporter: e, samplers } of list) {
    lines.push(
      // nfdump 1.7.1's layout first (scripts parse it), then tsflow's extra counters
      `SysID: ${e.id}, IP: ${e.address.padStart(16)}, version: ${e.version === 133 ? "sflow5" : String(e.version)}, ID: ${String(e.domain).padStart(2)}, ` +
        `Sequence failures: ${intString(e.sequenceErrors)}, packets: ${intString(e.packets)}, flows: ${intString(e.flows)}, bad packets: ${intString(e.badPackets)}, template misses: ${intString(e.templateMisses)}`,
    );
    for (const sm of samplers) {
      // nfdump's sampler line: ids < 0 are the collector's (-s) samplers
      const kind =
        sm.id === -3
          ? "Static overwrite Sampler: "
          : sm.id === -2
            ? "Static default Sampler: "
            : sm.id === -1
              ? "Generic Sampler: "
              : `Assigned Sampler: id: ${sm.id}, `;
      lines.push(
        `    Sampler: ${kind}algorithm: ${sm.algorithm}, packet interval: ${sm.packetInterval}, packet space: ${sm.spaceInterval}`,
      );
    }
    // tscapd files: the rate of each sampler and the options template it came from, flows by rate source
    const x = e.extra ?? {};
    for (const k of Object.keys(x).sort()) {
      const m = /^sampler(-?\d+)\.rate$/.exec(k);
      if (!m) continue;
      const id = Number(m[1]);
      lines.push(
        `    Sampler: ${id < 0 ? "Generic Sampler: " : `Assigned Sampler: id: ${id}, `}rate: ${x[k]!}, from options template ${x[`sampler${m[1]!}.template`] ?? "?"}`,
      );
    }
    const counts = [
      "flowsUnscaled",
      "flowsRateHeader",
      "flowsRateOptions",
      "flowsRateData",
      "flowsRateDefault",
      "flowsRateOverride",
      "ratesRejected",
      "optionsMismatch",
      "lengthOverruns",
    ]
      .filter((k) => (x[k] ?? 0) > 0)
      .map((k) => `${k}: ${x[k]!}`);
    if (counts.length > 0) lines.push(`    Sampling: ${counts.join(", ")}`);
  }
  if (list.length === 0) lines.push("  none recorded");
  io.out.write(`${lines.join("\n")}\n`);
  const bad = r.errors.length > 0;
  r.close();
  return bad ? EXIT.DATA : EXIT.OK;
}

/** -v: header fields, every block read and checked, the footer. */
export function verifyFile(file: string, io: QueryIO): number {
  const r = openReported(file, io);
  if (r === undefined) return EXIT.DATA;
  const h = r.header();
  let rows = 0;
  for (const b of r.batches()) rows += b.length;
  const s = r.stats();
  io.out.write(
    [
      `File       : ${file}`,
      `Version    : ${h.version} - ${h.codec === "none" ? "not compressed" : `${h.codec} compressed`}`,
      `Created    : ${new Date(h.created).toISOString()}`,
      `Created by : ${h.creator}`,
      `Ident      : ${h.ident || "none"}`,
      `Footer     : ${r.hasFooter ? "yes" : "missing (blocks found by scanning; tsflow recovers such files)"}`,
      `Data blks  : ${r.blockCount}`,
      `Records    : ${rows} (statistics record: ${s.rows})`,
      `Damaged    : ${r.errors.length}`,
      "",
    ].join("\n"),
  );
  const bad = r.errors.length > 0 || rows !== s.rows;
  r.close();
  return bad ? EXIT.DATA : EXIT.OK;
}
