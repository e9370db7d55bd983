#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsreplay: send stored flows (tsflow or nfcapd files) or a synthetic stream as NetFlow v5, v9 or IPFIX to a
// collector, or write the datagrams to a pcap file. nfreplay's option letters where the meaning is the same.
//
// Exit codes as tsdump: 0 ok, 1 usage (bad option, host, port), 2 unreadable or damaged data (reported, the rest
// still sent), 254 filter error.

import { lookup } from "node:dns/promises";
import { closeSync, openSync, writeSync } from "node:fs";
import { isIP } from "node:net";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { EXIT, parseIntOption, VERSION } from "../cli/common.js";
import { FilterSyntaxError } from "../filter/index.js";
import { FlowError } from "../util/errors.js";
import { Worker } from "node:worker_threads";
import { FlowEncoder, type EncoderStats, type ExportProtocol } from "./encode.js";
import { PcapWriter } from "./pcap.js";
import { produce, type ReplayInput } from "./produce.js";
import type { ReplayWorkerData, ReplayWorkerReply } from "./replay-worker.js";
import { newRingBuffers, RING_ENTRIES, RingReader } from "./ring.js";
import { Pacer, SendError, udpSink, type Sink } from "./send.js";

interface ReplayOptions {
  read?: string;
  range?: string;
  multiDir?: string;
  timeWindow?: string;
  host: string;
  port: number;
  version: ExportProtocol;
  delay?: number;
  count?: number;
  pps?: number;
  write?: string;
  synthetic?: number;
  seed: number;
  exporters: number;
  step: number;
  templateRefresh: number;
  templateSeconds: number;
}

function parseVersion(v: string): ExportProtocol {
  switch (v) {
    case "5":
    case "v5":
      return "v5";
    case "9":
    case "v9":
      return "v9";
    case "10":
    case "ipfix":
      return "ipfix";
  }
  throw new InvalidArgumentError("must be 5, 9 or 10 (ipfix)");
}

function buildProgram(): Command {
  return new Command("tsreplay")
    .description("send stored or synthetic flows as NetFlow v5/v9 or IPFIX to a collector (nfreplay's twin)")
    .version(VERSION, "-V, --version")
    .option("-r, --read <path>", "read a flow file (tsflow or nfcapd), or every flow file below a directory")
    .option("-R, --range <spec>", "read dir, dir/file (to the end of its directory) or dir/first:last")
    .option("-M, --multi-dir <dirs>", "read the same files from several directories: /base/d1:d2")
    .option(
      "-t, --time-window <window>",
      "only flows in YYYY/MM/dd.hh:mm:ss[-YYYY/MM/dd.hh:mm:ss] (both ends inclusive)",
    )
    .option("-H, --host <host>", "collector address or name (IPv4 or IPv6)", "127.0.0.1")
    .option("-p, --port <port>", "collector UDP port", parseIntOption(1, 65535), 9995)
    .addOption(
      new Option("-v, --version-export <n>", "export protocol: 5, 9 or 10 (IPFIX)")
        .argParser(parseVersion)
        .default("v9"),
    )
    .addOption(new Option("--proto <proto>", "same as -v: v5, v9 or ipfix").argParser(parseVersion))
    .option("-d, --delay <usec>", "microseconds to wait between datagrams", parseIntOption(0, 60_000_000))
    .option("-c, --count <n>", "send at most this many flows", parseIntOption(1, Number.MAX_SAFE_INTEGER))
    .option("--pps <n>", "datagrams per second (sustained)", parseIntOption(1, 10_000_000))
    .option("-w, --write <file>", "write the datagrams to this pcap file instead of sending them")
    .option(
      "--synthetic <n>",
      "send n synthetic flows instead of reading files",
      parseIntOption(0, Number.MAX_SAFE_INTEGER),
    )
    .option("--seed <s>", "seed of the synthetic flows (same seed, same flows)", parseIntOption(0, 2 ** 32 - 1), 1)
    .option("--exporters <k>", "synthetic exporters (source ids 0..k-1)", parseIntOption(1, 65535), 1)
    .option(
      "--step <s>",
      "simulated seconds between synthetic export rounds of 2000 flows",
      parseIntOption(0, 86400),
      1,
    )
    .option(
      "--template-refresh <n>",
      "resend templates every n datagrams of an exporter",
      parseIntOption(1, 1_000_000),
      64,
    )
    .option("--template-seconds <s>", "and every s seconds while sending", parseIntOption(1, 86400), 60)
    .argument("[filter...]", "filter expression (nfdump syntax), for stored flows")
    .allowExcessArguments(false)
    .exitOverride();
}

/** A UDP sink to `host` (a numeric address or a name, resolved once). */
async function resolvedSink(host: string, port: number): Promise<Sink> {
  let address = host;
  let family = isIP(host);
  if (family === 0) {
    try {
      const r = await lookup(host);
      address = r.address;
      family = r.family;
    } catch (err) {
      throw new UsageFailure(`cannot resolve host ${host}: ${(err as Error).message}`);
    }
  }
  return udpSink(address, family === 6 ? 6 : 4, port);
}

class UsageFailure extends Error {}

async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    throw err;
  }
  const o = program.opts<ReplayOptions & { versionExport: ExportProtocol; proto?: ExportProtocol }>();
  const protocol = o.proto ?? o.versionExport;
  const filter = program.args.join(" ").trim();
  const synthetic = o.synthetic !== undefined;
  if (!synthetic && o.read === undefined && o.range === undefined) {
    process.stderr.write("tsreplay: no input: give -r, -R (with -M) or --synthetic N\n");
    return EXIT.USAGE;
  }
  if (synthetic && (o.read !== undefined || o.range !== undefined || filter !== "")) {
    process.stderr.write("tsreplay: --synthetic takes no files and no filter\n");
    return EXIT.USAGE;
  }
  if (o.pps !== undefined && o.delay !== undefined) {
    process.stderr.write("tsreplay: give --pps or -d, not both\n");
    return EXIT.USAGE;
  }
  let sink: Sink;
  try {
    sink = o.write !== undefined ? pcapSink(o.write, o.port) : await resolvedSink(o.host, o.port);
  } catch (err) {
    process.stderr.write(`tsreplay: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  const sending = o.write === undefined;
  const intervalMs = !sending
    ? undefined
    : o.pps !== undefined
      ? 1000 / o.pps
      : o.delay !== undefined
        ? o.delay / 1000
        : undefined;
  const input: ReplayInput = synthetic
    ? {
        synthetic: {
          flows: Math.min(o.synthetic!, o.count ?? Infinity),
          seed: o.seed,
          exporters: o.exporters,
          step: o.step,
        },
      }
    : {
        ...(o.read !== undefined ? { file: o.read } : {}),
        ...(o.range !== undefined ? { range: o.range } : {}),
        ...(o.multiDir !== undefined ? { multiDir: o.multiDir } : {}),
        ...(o.timeWindow !== undefined ? { window: o.timeWindow } : {}),
        ...(filter !== "" ? { filter } : {}),
        ...(o.count !== undefined ? { limit: o.count } : {}),
      };
  const encoderOptions = {
    protocol,
    templateEveryPackets: o.templateRefresh,
    ...(sending ? { templateEveryMs: o.templateSeconds * 1000 } : {}),
  };
  const t0 = performance.now();
  let result: Produced;
  try {
    result =
      process.env["TSFLOW_REPLAY_WORKER"] === "0"
        ? await produceHere(input, encoderOptions, sink, intervalMs)
        : await produceInWorker(input, encoderOptions, sink, intervalMs);
  } catch (err) {
    await sink.close().catch(() => undefined);
    if (err instanceof FilterSyntaxError) {
      process.stderr.write(`${err.format()}\n`);
      return EXIT.FILTER;
    }
    if (err instanceof WorkerFailure) {
      process.stderr.write(err.kind === "filter" ? `${err.message}\n` : `tsreplay: ${err.message}\n`);
      if (err.kind === "bug") return EXIT.DATA;
      return err.kind === "filter" ? EXIT.FILTER : err.kind === "store" ? EXIT.DATA : EXIT.USAGE;
    }
    if (err instanceof UsageFailure || err instanceof SendError) {
      process.stderr.write(`tsreplay: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof FlowError) {
      process.stderr.write(`tsreplay: ${err.message}\n`);
      return err.code.startsWith("ERR_STORE") ? EXIT.DATA : EXIT.USAGE;
    }
    throw err;
  }
  const damaged = result.damaged;
  try {
    await sink.close();
  } catch (err) {
    process.stderr.write(`tsreplay: ${(err as Error).message}\n`);
    return EXIT.USAGE;
  }
  const s = result.stats;
  const secs = (performance.now() - t0) / 1000;
  const to = o.write !== undefined ? o.write : `${o.host} port ${o.port}`;
  process.stderr.write(
    `tsreplay: ${s.flows} flows in ${s.datagrams} ${protocol} datagrams to ${to} in ${secs.toFixed(2)} s` +
      ` (${Math.round(s.datagrams / Math.max(secs, 1e-9))} datagrams/s)\n`,
  );
  if (s.skippedV6 > 0)
    process.stderr.write(`tsreplay: ${s.skippedV6} IPv6 flows not sent: NetFlow v5 cannot carry IPv6\n`);
  return damaged > 0 ? EXIT.DATA : EXIT.OK;
}

interface EncoderSettings {
  readonly protocol: ExportProtocol;
  readonly templateEveryPackets: number;
  readonly templateEveryMs?: number;
}

interface Produced {
  readonly stats: EncoderStats;
  readonly damaged: number;
}

/** Reads, encodes and sends on this thread (TSFLOW_REPLAY_WORKER=0). */
async function produceHere(
  input: ReplayInput,
  settings: EncoderSettings,
  sink: Sink,
  intervalMs: number | undefined,
): Promise<Produced> {
  const pacer = new Pacer(sink, intervalMs);
  const enc = new FlowEncoder(
    {
      protocol: settings.protocol,
      templateEveryPackets: settings.templateEveryPackets,
      ...(settings.templateEveryMs !== undefined
        ? { templateEveryMs: settings.templateEveryMs, clock: () => performance.now() }
        : {}),
    },
    pacer,
  );
  // datagrams encoded ahead of the schedule (about 20 ms of it): sent while the next input is encoded
  const ahead = intervalMs === undefined ? 0 : Math.max(64, Math.ceil(20 / intervalMs));
  const damaged = await produce(
    input,
    enc,
    () => pacer.drain(ahead),
    (m) => process.stderr.write(`tsreplay: ${m}\n`),
  );
  await pacer.drain(0);
  return { stats: enc.stats, damaged };
}

/** A failure the replay worker reported. */
class WorkerFailure extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Reads and encodes in a worker thread (replay-worker.ts) into a shared ring while this thread paces and sends:
 * two cores instead of one.
 */
async function produceInWorker(
  input: ReplayInput,
  settings: EncoderSettings,
  sink: Sink,
  intervalMs: number | undefined,
): Promise<Produced> {
  const ring = newRingBuffers();
  const data: ReplayWorkerData = { input, ...settings, ring };
  const worker = new Worker(new URL("./replay-worker.js", import.meta.url), { workerData: data });
  const pacer = new Pacer(sink, intervalMs, new RingReader(ring));
  let done: Produced | undefined;
  let failed: Error | undefined;
  worker.on("message", (m: ReplayWorkerReply) => {
    if (m.type === "warn") process.stderr.write(`tsreplay: ${m.message}\n`);
    else if (m.type === "done") done = { stats: m.stats, damaged: m.damaged };
    else failed ??= new WorkerFailure(m.kind, m.message);
  });
  worker.on("error", (err) => (failed ??= new WorkerFailure("bug", String(err.stack ?? err))));
  const exited = new Promise<void>((r) =>
    worker.once("exit", () => {
      r();
    }),
  );
  // paced: about 50 ms of the schedule encoded before the first send (at most half the ring)
  const prefill = intervalMs === undefined ? 0 : Math.min(RING_ENTRIES / 2, Math.ceil(50 / intervalMs));
  try {
    await pacer.pump(() => {
      if (failed) throw failed;
      return done !== undefined;
    }, prefill);
  } finally {
    await worker.terminate();
    await exited;
  }
  return done!;
}

function pcapSink(path: string, port: number): Sink {
  let fd: number;
  try {
    fd = openSync(path, "w", 0o644);
  } catch (err) {
    throw new UsageFailure(`cannot write ${path}: ${(err as Error).message}`);
  }
  const w = new PcapWriter((b) => writeSync(fd, b), port);
  return {
    kind: "pcap",
    send(q, n) {
      for (let i = 0; i < n; i++) w.write(q.entry(q.head + i));
      return n;
    },
    ready: () => Promise.resolve(),
    close() {
      w.end();
      closeSync(fd);
      return Promise.resolve();
    },
  };
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsreplay: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = EXIT.DATA;
  },
);
