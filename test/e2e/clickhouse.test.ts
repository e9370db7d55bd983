// ClickHouse end to end, against real clickhouse-server processes (Debian's 18.16) started in temp directories
// on free loopback ports: tscapd --clickhouse streams what it stores (exact counts and sums against tsdump's
// Summary over the files, consolidated tables included), spools while the server is away and sends the spool in
// order when it is back, never inserts a batch twice; tsdump --clickhouse loads tsflow and nfcapd archives and a
// rerun loads nothing twice; two collectors on two shards are queried through the Distributed table.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClickHouseUrl } from "../../src/clickhouse/client.js";
import { Inserter } from "../../src/clickhouse/inserter.js";
import { ClickHouseSink, encodeSpoolFile } from "../../src/clickhouse/sink.js";
import { RecordBatch } from "../../src/record/batch.js";
import {
  CLICKHOUSE_MISSING,
  freeTcpPort,
  makeClickHouse,
  startClickHouses,
  type ClickHouse,
} from "../helpers/clickhouse.js";
import {
  captureWithNfcapd,
  NFDUMP_MISSING,
  readDatagramStream,
  sendDatagrams,
  syntheticStream,
} from "../helpers/nfdump.js";
import { startTscapd, tsdump } from "../helpers/programs.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tsflow-ch-"));

/** A CSV line with its IPv6 addresses in one spelling (RFC 5952, as the URL parser writes them). */
function canonical(line: string): string {
  return line
    .split(",")
    .map((f) => (f.includes(":") ? new URL(`http://[${f}]/`).hostname.slice(1, -1) : f))
    .join(",");
}

interface Totals {
  flows: number;
  bytes: number;
  packets: number;
}

/** tsdump's Summary line over a selection (-R dir or -r file). */
async function summary(args: readonly string[]): Promise<Totals> {
  const r = await tsdump([...args, "-N", "-o", "null"]);
  expect(r.code).toBe(0);
  const m = /Summary: total flows: (\d+), total bytes: (\d+), total packets: (\d+)/.exec(r.stdout);
  expect(m, r.stdout + r.stderr).not.toBeNull();
  return { flows: Number(m![1]), bytes: Number(m![2]), packets: Number(m![3]) };
}

/** count(), sum(inBytes), sum(inPackets) of a table (records/flows sums for the consolidated ones). */
async function tableTotals(ch: ClickHouse, table: string, rollup = false): Promise<Totals> {
  const sql = rollup
    ? `SELECT sum(records), sum(inBytes), sum(inPackets) FROM ${table}`
    : `SELECT count(), sum(inBytes), sum(inPackets) FROM ${table}`;
  const [flows, bytes, packets] = (await ch.query(sql)).trim().split("\t").map(Number);
  return { flows: flows!, bytes: bytes!, packets: packets! };
}

/**
 * The table holds the same TCP and UDP flows as tsdump lists from dir, row for row: addresses (IPv4 mapped, IPv6),
 * ports, protocol, counters (ICMP is left out: tsdump prints type.code where the table holds type*256+code).
 */
async function expectSameRows(ch: ClickHouse, dir: string, table: string): Promise<void> {
  const listed = await tsdump([
    "-R",
    dir,
    "-q",
    "-N",
    "-6",
    "-o",
    "fmt:%sa,%da,%sp,%dp,%pr,%pkt,%byt",
    "proto tcp or proto udp",
  ]);
  const want = listed.stdout
    .trim()
    .split("\n")
    .map((l) => canonical(l.replace(/\s+/g, "")))
    .sort();
  const rows = await ch.query(
    "SELECT replaceOne(IPv6NumToString(srcAddr), '::ffff:', ''), replaceOne(IPv6NumToString(dstAddr), '::ffff:', '')," +
      ` srcPort, dstPort, proto, inPackets, inBytes FROM ${table} WHERE proto IN (6, 17) FORMAT CSV`,
  );
  const got = rows
    .trim()
    .split("\n")
    .map((l) => canonical(l.replace(/"/g, "")))
    .sort();
  expect(got.length).toBeGreaterThan(1000);
  expect(got).toEqual(want);
  expect(got.some((r) => r.includes("::") && !r.startsWith("::"))).toBe(true); // IPv6 rows are there
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Copies a directory tree file by file (fs.cpSync stats every parent of the destination, outside the test's
 * temp directory).
 */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) copyTree(join(from, e.name), join(to, e.name));
    else copyFileSync(join(from, e.name), join(to, e.name));
  }
}
describe.skipIf(CLICKHOUSE_MISSING !== undefined)("ClickHouse", () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    [ch] = (await startClickHouses(1)) as [ClickHouse];
  }, 60_000);
  afterAll(async () => {
    await ch?.destroy();
  }, 30_000);

  it("tscapd --clickhouse stores every flow in the files and in the table: count and sums equal tsdump's Summary, also in the 1m/5m/1h tables", async () => {
    const dir = tmp();
    const stream = readDatagramStream(await syntheticStream({ flows: 30_000, seed: 11 }));
    const capd = await startTscapd(["-l", dir, "--clickhouse", `${ch.url}?database=live&batch_ms=200`]);
    await sendDatagrams(stream, capd.port);
    await new Promise((r) => setTimeout(r, 300));
    expect(await capd.stop()).toBe(0);
    expect(capd.log()).toContain(
      "clickhouse: 30000 rows sent, 0 back-filled, 0 found stored, 0 failed, 0 batches left",
    );
    const files = await summary(["-R", dir]);
    expect(files.flows).toBe(30_000);
    expect(await tableTotals(ch, "live.flows")).toEqual(files);
    for (const t of ["1m", "5m", "1h"]) expect(await tableTotals(ch, `live.flows_${t}`, true)).toEqual(files);
    await expectSameRows(ch, dir, "live.flows");
  }, 60_000);

  it("spools while the server is away, keeps storing every flow in the files, and sends the spool when it is back (metrics count it)", async () => {
    const away = await makeClickHouse();
    try {
      const dir = tmp();
      const metricsPort = await freeTcpPort();
      const stream = readDatagramStream(await syntheticStream({ flows: 20_000, seed: 12 }));
      const capd = await startTscapd([
        "-l",
        dir,
        "--metrics",
        `127.0.0.1:${metricsPort}`,
        "--clickhouse",
        `${away.url}?database=spool&batch_ms=100&batch_rows=2000`,
      ]);
      const half = Math.floor(stream.length / 2);
      await sendDatagrams(stream.slice(0, half), capd.port);
      const metric = async (name: string): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const m = new RegExp(`^${name} (\\d+)`, "m").exec(text);
        return m ? Number(m[1]) : -1;
      };
      await waitFor("spooled rows", async () => (await metric("tscapd_clickhouse_rows_spooled_total")) > 5000);
      const spoolDir = join(dir, ".clickhouse-spool");
      expect(readdirSync(spoolDir).filter((n) => n.endsWith(".rowbinary")).length).toBeGreaterThan(0);
      expect(await metric("tscapd_clickhouse_rows_sent_total")).toBe(0);
      await away.start();
      await sendDatagrams(stream.slice(half), capd.port);
      await waitFor("spool sent", async () => (await metric("tscapd_clickhouse_rows_sent_total")) === 20_000, 40_000);
      expect(await metric("tscapd_clickhouse_spool_batches")).toBe(0);
      expect(await capd.stop()).toBe(0);
      const files = await summary(["-R", dir]);
      expect(files.flows).toBe(20_000);
      expect(await tableTotals(away, "spool.flows")).toEqual(files);
      // the spool is empty again
      expect(readdirSync(spoolDir).filter((n) => n.endsWith(".rowbinary"))).toEqual([]);
    } finally {
      await away.destroy();
    }
  }, 90_000);

  it("a batch is inserted once: sent again (lost answer, spooled copy after a restart) it is found and skipped", async () => {
    const target = parseClickHouseUrl(`${ch.url}?database=once&batch_ms=50`);
    const batch = new RecordBatch(100);
    for (let i = 0; i < 100; i++) {
      const r = batch.addRow();
      batch.cols.msecFirst[r] = 1_767_225_600_000 + i * 1000;
      batch.cols.inBytes[r] = 1000 + i;
      batch.cols.inPackets[r] = 1;
      batch.cols.srcAddr[r] = 0x0a000001 + i;
    }
    // one sink stores it; its spool file, as a restart after a lost answer would find it, is sent again
    const spool = tmp();
    const sink = new ClickHouseSink(target, spool, () => undefined);
    sink.push(batch);
    await sink.stop();
    expect(sink.counters.sent).toBe(100);
    expect(await tableTotals(ch, "once.flows")).toEqual({ flows: 100, bytes: 100 * 1000 + 4950, packets: 100 });
    const id = (await ch.query("SELECT DISTINCT batch FROM once.flows")).trim();
    const data = await (
      await fetch(
        `${ch.url}?query=${encodeURIComponent(`SELECT msecFirst, inBytes, inPackets, srcAddr, batch FROM once.flows ORDER BY msecFirst FORMAT RowBinary`)}`,
      )
    ).arrayBuffer();
    const again = tmp();
    writeFileSync(
      join(again, "0000000000000001.rowbinary"),
      encodeSpoolFile({
        id,
        columns: ["msecFirst", "inBytes", "inPackets", "srcAddr", "batch"],
        rows: 100,
        minMs: 1_767_225_600_000,
        maxMs: 1_767_225_699_000,
        data: new Uint8Array(data),
      }),
    );
    const restarted = new ClickHouseSink(target, again, () => undefined);
    await restarted.stop();
    expect(restarted.counters).toMatchObject({ sent: 0, duplicates: 100, failed: 0, spoolBatches: 0 });
    expect(await tableTotals(ch, "once.flows")).toEqual({ flows: 100, bytes: 100 * 1000 + 4950, packets: 100 });
    // and the inserter on its own: the second insert of the same batch is "duplicate"
    const ins = new Inserter(target);
    const b = {
      id: "42",
      columns: ["msecFirst", "inBytes", "batch"],
      rows: 1,
      minMs: 1_767_225_600_000,
      maxMs: 1_767_225_600_000,
      data: new Uint8Array(24),
    };
    new DataView(b.data.buffer).setUint32(0, 1_767_225_600_000 % 2 ** 32, true);
    new DataView(b.data.buffer).setUint32(4, Math.floor(1_767_225_600_000 / 2 ** 32), true);
    new DataView(b.data.buffer).setUint32(8, 7, true);
    new DataView(b.data.buffer).setUint32(16, 42, true);
    expect(await ins.insertOnce(b)).toBe("inserted");
    expect(await ins.insertOnce(b)).toBe("duplicate");
    expect((await ch.query("SELECT count() FROM once.flows WHERE batch = 42")).trim()).toBe("1");
  }, 30_000);
  /** A metric of tscapd's --metrics endpoint (-1 when absent). */
  const metricOf = async (port: number, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^${name} (\\d+)`, "m").exec(text);
    return m ? Number(m[1]) : -1;
  };
  /** every block is referenced for back-fill instead of being copied to the ClickHouse thread */
  const BEHIND = { TSFLOW_CLICKHOUSE_FEED_MAX_BEHIND: "0" };

  it("blocks the ClickHouse thread could not take are back-filled from the flow files (one still open for writing): count and sums equal the Summary", async () => {
    const dir = tmp();
    const metricsPort = await freeTcpPort();
    const stream = readDatagramStream(await syntheticStream({ flows: 30_000, seed: 31 }));
    const capd = await startTscapd(
      ["-l", dir, "--metrics", `127.0.0.1:${metricsPort}`, "--clickhouse", `${ch.url}?database=backfill&batch_ms=200`],
      undefined,
      BEHIND,
    );
    await sendDatagrams(stream, capd.port);
    const metric = (name: string): Promise<number> => metricOf(metricsPort, name);
    await waitFor(
      "back-fill",
      async () => (await metric("tscapd_clickhouse_rows_backfilled_total")) === 30_000,
      40_000,
    );
    expect(await metric("tscapd_clickhouse_rows_referenced_total")).toBe(30_000);
    expect(await metric("tscapd_clickhouse_rows_sent_total")).toBe(0);
    expect(await metric("tscapd_clickhouse_rows_failed_total")).toBe(0);
    expect(await metric("tscapd_clickhouse_backfill_pending")).toBe(0);
    // back-filled while the file was still being written (tscapd.current.*)
    expect(readdirSync(dir).some((n) => n.startsWith("tscapd.current."))).toBe(true);
    expect(await capd.stop()).toBe(0);
    expect(capd.log()).toContain("clickhouse: 0 rows sent, 30000 back-filled, 0 found stored, 0 failed");
    const files = await summary(["-R", dir]);
    expect(files.flows).toBe(30_000);
    expect(await tableTotals(ch, "backfill.flows")).toEqual(files);
    for (const t of ["1m", "5m", "1h"]) expect(await tableTotals(ch, `backfill.flows_${t}`, true)).toEqual(files);
    await expectSameRows(ch, dir, "backfill.flows");
  }, 90_000);

  it("a slow sink, a feed one block behind: some blocks streamed, the others back-filled, none twice (count and sums equal the Summary)", async () => {
    const dir = tmp();
    const metricsPort = await freeTcpPort();
    const stream = readDatagramStream(await syntheticStream({ flows: 40_000, seed: 33 }));
    const capd = await startTscapd(
      ["-l", dir, "--metrics", `127.0.0.1:${metricsPort}`, "--clickhouse", `${ch.url}?database=mixed&batch_ms=200`],
      undefined,
      { TSFLOW_CLICKHOUSE_FEED_MAX_BEHIND: "1", TSFLOW_CLICKHOUSE_SINK_PAUSE_MS: "1000" },
    );
    await sendDatagrams(stream, capd.port);
    const metric = (name: string): Promise<number> => metricOf(metricsPort, name);
    await waitFor(
      "streamed and back-filled",
      async () =>
        (await metric("tscapd_clickhouse_rows_sent_total")) +
          (await metric("tscapd_clickhouse_rows_backfilled_total")) ===
        40_000,
      40_000,
    );
    const referenced = await metric("tscapd_clickhouse_rows_referenced_total");
    expect(referenced).toBeGreaterThan(0);
    expect(await metric("tscapd_clickhouse_rows_sent_total")).toBeGreaterThan(0);
    expect(await metric("tscapd_clickhouse_rows_backfilled_total")).toBe(referenced);
    expect(await metric("tscapd_clickhouse_rows_failed_total")).toBe(0);
    expect(await capd.stop()).toBe(0);
    const files = await summary(["-R", dir]);
    expect(files.flows).toBe(40_000);
    expect(await tableTotals(ch, "mixed.flows")).toEqual(files);
  }, 90_000);

  it("past the back-fill log's bound the blocks' rows are counted failed and logged; the referenced ones are back-filled", async () => {
    const dir = tmp();
    const metricsPort = await freeTcpPort();
    const metric = (name: string): Promise<number> => metricOf(metricsPort, name);
    const stream = readDatagramStream(await syntheticStream({ flows: 30_000, seed: 34 }));
    const capd = await startTscapd(
      ["-l", dir, "--metrics", `127.0.0.1:${metricsPort}`, "--clickhouse", `${ch.url}?database=bound&batch_ms=200`],
      undefined,
      { ...BEHIND, TSFLOW_CLICKHOUSE_BACKFILL_MAX_REFS: "1" },
    );
    await sendDatagrams(stream, capd.port);
    await waitFor(
      "stored, back-filled or failed",
      async () =>
        (await metric("tscapd_flows_stored_total")) === 30_000 &&
        (await metric("tscapd_clickhouse_rows_backfilled_total")) +
          (await metric("tscapd_clickhouse_rows_failed_total")) ===
          30_000,
      40_000,
    );
    const referenced = await metric("tscapd_clickhouse_rows_referenced_total");
    expect(referenced).toBeGreaterThan(0);
    expect(referenced).toBeLessThan(30_000);
    expect(await metric("tscapd_clickhouse_rows_backfilled_total")).toBe(referenced);
    expect(await metric("tscapd_clickhouse_rows_failed_total")).toBe(30_000 - referenced);
    await waitFor("the log line", () => Promise.resolve(capd.log().includes("back-fill log full")));
    expect(await capd.stop()).toBe(0);
    // one error line per second with what was dropped since the last
    const logged = [...capd.log().matchAll(/back-fill log full: (\d+) more rows only in the flow files/g)];
    expect(logged.reduce((a, m) => a + Number(m[1]), 0)).toBe(30_000 - referenced);
    expect((await summary(["-R", dir])).flows).toBe(30_000);
    expect((await tableTotals(ch, "bound.flows")).flows).toBe(referenced);
  }, 90_000);

  it("kill -9 with references pending (server away): the restart back-fills them exactly once; redone after a crash before the bookkeeping, nothing is inserted twice", async () => {
    const away = await makeClickHouse();
    try {
      const dir = tmp();
      const metricsPort = await freeTcpPort();
      const metric = (name: string): Promise<number> => metricOf(metricsPort, name);
      const stream = readDatagramStream(await syntheticStream({ flows: 20_000, seed: 32 }));
      const url = `${away.url}?database=killed&batch_ms=200&batch_rows=5000`;
      const args = ["-l", dir, "--metrics", `127.0.0.1:${metricsPort}`, "--clickhouse", url];
      const first = await startTscapd(args, undefined, BEHIND);
      await sendDatagrams(stream, first.port);
      await waitFor("references", async () => (await metric("tscapd_clickhouse_rows_referenced_total")) === 20_000);
      expect(await metric("tscapd_clickhouse_backfill_pending")).toBeGreaterThan(0);
      await first.stop("SIGKILL");
      // the references as the killed process left them (to replay a crash between insert and bookkeeping)
      const refs = join(dir, ".clickhouse-spool", "backfill");
      const saved = tmp();
      copyTree(refs, saved);
      expect(readdirSync(dir).some((n) => n.startsWith("tscapd.current."))).toBe(true);

      await away.start();
      // the restart recovers the killed process's file under its slot name; the references follow it
      const second = await startTscapd(args);
      await waitFor(
        "back-fill",
        async () => (await metric("tscapd_clickhouse_rows_backfilled_total")) === 20_000,
        40_000,
      );
      expect(await metric("tscapd_clickhouse_rows_failed_total")).toBe(0);
      expect(await metric("tscapd_clickhouse_backfill_pending")).toBe(0);
      expect(await second.stop()).toBe(0);
      expect(second.log()).toContain("recovered");
      const files = await summary(["-R", dir]);
      expect(files.flows).toBe(20_000);
      expect(await tableTotals(away, "killed.flows")).toEqual(files);

      // a crash after the inserts and before their progress was written: the same references again
      copyTree(saved, refs);
      const third = await startTscapd(args);
      await waitFor("redone", async () => (await metric("tscapd_clickhouse_rows_duplicate_total")) === 20_000, 40_000);
      expect(await metric("tscapd_clickhouse_rows_backfilled_total")).toBe(0);
      expect(await third.stop()).toBe(0);
      expect(await tableTotals(away, "killed.flows")).toEqual(files);
      await expectSameRows(away, dir, "killed.flows");
    } finally {
      await away.destroy();
    }
  }, 120_000);

  it("kill -9 with blocks waiting in the ClickHouse thread and batches in its memory: the restart back-fills them from the files, none twice (count and sums equal the Summary)", async () => {
    const dir = tmp();
    const metricsPort = await freeTcpPort();
    const metric = (name: string): Promise<number> => metricOf(metricsPort, name);
    const stream = readDatagramStream(await syntheticStream({ flows: 30_000, seed: 36 }));
    const url = `${ch.url}?database=killedlive&batch_ms=200&batch_rows=3000`;
    const args = ["-l", dir, "--metrics", `127.0.0.1:${metricsPort}`, "--clickhouse", url];
    // a slow sink the feed never counts behind: every block is posted and waits 4 s in its thread before it is
    // taken. A first part of the flows is in the table before the rest is sent; the process is killed as soon as
    // the rest is stored, well within 4 s of the rest's first block being posted
    const first = await startTscapd(args, undefined, {
      TSFLOW_CLICKHOUSE_FEED_MAX_BEHIND: "1000000",
      TSFLOW_CLICKHOUSE_SINK_PAUSE_MS: "4000",
    });
    const part = Math.floor(stream.length / 3);
    await sendDatagrams(stream.slice(0, part), first.port);
    const inserted = (): Promise<number> =>
      tableTotals(ch, "killedlive.flows").then(
        (t) => t.flows,
        () => 0,
      );
    await waitFor(
      "the first part inserted",
      async () => {
        const stored = await metric("tscapd_flows_stored_total");
        return stored > 0 && (await inserted()) === stored;
      },
      40_000,
    );
    await sendDatagrams(stream.slice(part), first.port);
    await waitFor("stored", async () => (await metric("tscapd_flows_stored_total")) === 30_000);
    expect(await metric("tscapd_clickhouse_rows_referenced_total")).toBe(0);
    await first.stop("SIGKILL");
    // an insert the server had begun when the process died ends meanwhile
    await new Promise((r) => setTimeout(r, 500));
    const killedWith = (await tableTotals(ch, "killedlive.flows")).flows;
    expect(killedWith).toBeGreaterThan(0);
    expect(killedWith).toBeLessThan(30_000);
    // the log as the killed process left it (to replay a crash between the inserts and their bookkeeping)
    const refs = join(dir, ".clickhouse-spool", "backfill");
    const saved = tmp();
    copyTree(refs, saved);

    const second = await startTscapd(args);
    const redone = async (): Promise<number> =>
      (await metric("tscapd_clickhouse_rows_backfilled_total")) +
      (await metric("tscapd_clickhouse_rows_duplicate_total"));
    await waitFor("back-fill", async () => (await redone()) >= 30_000 - killedWith, 40_000);
    expect(await redone()).toBe(30_000 - killedWith);
    expect(await metric("tscapd_clickhouse_backfill_pending")).toBe(0);
    const backfilled = await metric("tscapd_clickhouse_rows_backfilled_total");
    expect(backfilled).toBeGreaterThan(0);
    expect(await metric("tscapd_clickhouse_rows_failed_total")).toBe(0);
    expect(await second.stop()).toBe(0);
    const files = await summary(["-R", dir]);
    expect(files.flows).toBe(30_000);
    expect(await tableTotals(ch, "killedlive.flows")).toEqual(files);
    // done segments are removed: only the last one is left
    expect(readdirSync(refs).filter((n) => n.endsWith(".refs")).length).toBe(1);

    // a crash after the inserts and before their progress was written: the same batches, found stored
    rmSync(refs, { recursive: true });
    copyTree(saved, refs);
    const third = await startTscapd(args);
    await waitFor(
      "redone",
      async () => (await metric("tscapd_clickhouse_rows_duplicate_total")) === backfilled,
      40_000,
    );
    expect(await metric("tscapd_clickhouse_rows_backfilled_total")).toBe(0);
    expect(await third.stop()).toBe(0);
    expect(await tableTotals(ch, "killedlive.flows")).toEqual(files);
    await expectSameRows(ch, dir, "killedlive.flows");
  }, 120_000);

  it("retention on 18.16 (no TTL): the sink drops day partitions older than ttl= (and ttl_1m= …), keeps newer ones", async () => {
    const target = parseClickHouseUrl(`${ch.url}?database=retention&ttl=2&ttl_1m=2`);
    const now = Date.now();
    const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");
    const batch = new RecordBatch(3);
    for (const t of [now - 10 * 86_400_000, now - 3 * 86_400_000, now - 60_000]) {
      const r = batch.addRow();
      batch.cols.msecFirst[r] = t;
      batch.cols.inBytes[r] = 100;
    }
    const logged: string[] = [];
    const sink = new ClickHouseSink(target, tmp(), (_level, m) => logged.push(m));
    sink.push(batch);
    await sink.stop();
    expect(sink.counters.sent).toBe(3);
    const old = [day(now - 10 * 86_400_000), day(now - 3 * 86_400_000)];
    expect(logged).toContain(
      `clickhouse: retention dropped flows/${old[0]}, flows/${old[1]}, flows_1m/${old[0]}, flows_1m/${old[1]}`,
    );
    expect((await ch.query("SELECT count() FROM retention.flows")).trim()).toBe("1");
    expect((await ch.query("SELECT sum(records) FROM retention.flows_1m")).trim()).toBe("1");
    expect((await ch.query("SELECT sum(records) FROM retention.flows_5m")).trim()).toBe("3"); // no ttl_5m
    expect(await new Inserter(target).expire(now)).toEqual([]);
  }, 30_000);

  it("tsdump --clickhouse loads a selection of tsflow files: count and sums equal the Summary; a rerun, or the whole after a part, loads nothing twice", async () => {
    const dir = tmp();
    const stream = readDatagramStream(await syntheticStream({ flows: 40_000, seed: 13 }));
    const capd = await startTscapd(["-l", dir, "-t", "2"]);
    const quarter = Math.ceil(stream.length / 4);
    for (let k = 0; k < 4; k++) {
      await sendDatagrams(stream.slice(k * quarter, (k + 1) * quarter), capd.port);
      await new Promise((r) => setTimeout(r, 2100)); // another slot, another file
    }
    expect(await capd.stop()).toBe(0);
    const all = await summary(["-R", dir]);
    expect(all.flows).toBe(40_000);
    const url = `${ch.url}?database=load`;
    // a filtered selection, then the same command again
    const first = await tsdump(["-R", dir, "--clickhouse", url, "-N", "proto tcp"]);
    expect(first.code, first.stderr).toBe(0);
    const tcp = await summary(["-R", dir, "proto tcp"]);
    expect(first.stdout).toContain(
      `Summary: total flows: ${tcp.flows}, total bytes: ${tcp.bytes}, total packets: ${tcp.packets}`,
    );
    expect(await tableTotals(ch, "load.flows")).toEqual(tcp);
    const again = await tsdump(["-R", dir, "--clickhouse", url, "-N", "proto tcp"]);
    expect(again.stdout).toMatch(/: 0 flows loaded in 0 batches, \d+ flows in \d+ batches loaded before/);
    expect(await tableTotals(ch, "load.flows")).toEqual(tcp);

    // one file first (as an interrupted load leaves it), then the whole archive
    const url2 = `${ch.url}?database=load2`;
    const one = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((n) => /tscapd\.\d{12,14}$/.test(n))
      .sort()[0]!;
    const part = await tsdump(["-r", join(dir, one), "--clickhouse", url2]);
    expect(part.code, part.stderr).toBe(0);
    const partTotals = await tableTotals(ch, "load2.flows");
    expect(partTotals.flows).toBeGreaterThan(0);
    const rest = await tsdump(["-R", dir, "--clickhouse", url2]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain(`${40_000 - partTotals.flows} flows loaded`);
    expect(rest.stdout).toContain(`${partTotals.flows} flows in 1 batches loaded before`);
    expect(await tableTotals(ch, "load2.flows")).toEqual(all);
    for (const t of ["1m", "5m", "1h"]) expect(await tableTotals(ch, `load2.flows_${t}`, true)).toEqual(all);
    await expectSameRows(ch, dir, "load2.flows");
  }, 60_000);

  it.skipIf(NFDUMP_MISSING !== undefined)(
    "tsdump --clickhouse loads an nfcapd file: count and sums equal the Summary",
    async () => {
      const stream = readDatagramStream(await syntheticStream({ flows: 20_000, seed: 14 }));
      const file = await captureWithNfcapd("ch-14", () => stream);
      const want = await summary(["-r", file]);
      const r = await tsdump(["-r", file, "--clickhouse", `${ch.url}?database=nfcapd`, "-N"]);
      expect(r.code, r.stderr).toBe(0);
      expect(await tableTotals(ch, "nfcapd.flows")).toEqual(want);
    },
    60_000,
  );

  it("tsdump --clickhouse: a server that is away is an error (exit 2) that names it", async () => {
    const port = await freeTcpPort();
    const dir = tmp();
    const r = await tsdump(["-R", dir, "--clickhouse", `http://127.0.0.1:${port}/?database=x`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`clickhouse http://127.0.0.1:${port}/ database x: ECONNREFUSED`);
  });
});

describe.skipIf(CLICKHOUSE_MISSING !== undefined)(
  "ClickHouse cluster: two collectors, two shards, one Distributed table",
  () => {
    let shards: ClickHouse[] = [];
    beforeAll(async () => {
      shards = await startClickHouses(2, true);
    }, 60_000);
    afterAll(async () => {
      await Promise.all(shards.map((s) => s.destroy()));
    }, 30_000);

    it("each tscapd writes to its own shard; flows_all sees both, and its count and sums equal tsdump's over both archives", async () => {
      const dirs = [tmp(), tmp()];
      const streams = [
        readDatagramStream(await syntheticStream({ flows: 15_000, seed: 21 })),
        readDatagramStream(await syntheticStream({ flows: 25_000, seed: 22, exporters: 2 })),
      ];
      const capds = await Promise.all(
        shards.map((s, i) =>
          startTscapd(["-l", dirs[i]!, "--clickhouse", `${s.url}?database=flows&cluster=tsflow&batch_ms=200`]),
        ),
      );
      await Promise.all(capds.map((c, i) => sendDatagrams(streams[i]!, c.port)));
      await new Promise((r) => setTimeout(r, 300));
      for (const c of capds) expect(await c.stop()).toBe(0);
      const each = [await summary(["-R", dirs[0]!]), await summary(["-R", dirs[1]!])];
      expect(each.map((t) => t.flows)).toEqual([15_000, 25_000]);
      expect(await tableTotals(shards[0]!, "flows.flows")).toEqual(each[0]);
      expect(await tableTotals(shards[1]!, "flows.flows")).toEqual(each[1]);
      const total = {
        flows: 40_000,
        bytes: each[0]!.bytes + each[1]!.bytes,
        packets: each[0]!.packets + each[1]!.packets,
      };
      // the Distributed tables, from either server
      for (const s of shards) {
        expect(await tableTotals(s, "flows.flows_all")).toEqual(total);
        expect(await tableTotals(s, "flows.flows_1h_all", true)).toEqual(total);
      }
    }, 90_000);
  },
);
