// SPDX-License-Identifier: BSD-3-Clause
// tscapd --monitor end to end: NetFlow v5 bursts at known rates into the real daemon fire `over` for the keys
// above their thresholds (the default and per-key ones) and only those, within window + 1 s, run the exec'd
// program with the event on stdin, log to --events, show in the metrics, and send `back` after the traffic
// stops; SIGHUP refuses a bad file (file:line:column) and applies a good one. Fixed windows go into a real
// PostgreSQL that is stopped mid-run and restarted: the table's sums equal the flows tscapd stored; periods
// spooled while the database was away are loaded by the next tscapd, each once and in order; a fixed window
// into an ndjson file sums to the flows stored. Waits are on events (log lines, metrics, files, rows), not
// fixed sleeps, so a loaded machine only makes them slower.
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlowFileReader } from "../../src/store/index.js";
import { startTscapd } from "../helpers/programs.js";
import { REPO_ROOT } from "../helpers/nfdump.js";
import { PG_MISSING, TestPostgres } from "../helpers/postgres.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tsflow-mon-"));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what = "a condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The sum of a metric's samples (all label sets) on tscapd's /metrics, or 0 when absent. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(name) && (line[name.length] === " " || line[name.length] === "{"))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  return sum;
}

/** tsreplay's synthetic flows to the daemon at `pps` datagrams per second; resolves with its exit code. */
function replay(port: number, flows: number, pps: number): Promise<number | null> {
  const p = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "dist/bin/tsreplay.js"),
      "--synthetic",
      String(flows),
      "--pps",
      String(pps),
      "-H",
      "127.0.0.1",
      "-p",
      String(port),
    ],
    { stdio: "ignore" },
  );
  return new Promise((r) => p.on("exit", r));
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === "object" && a !== null ? a.port : 0);
      });
    });
  });
}

/** tscapd storing into `flows` with the monitors of `conf` and a metrics endpoint on a free port (extra arguments after). */
async function startMonitoring(
  flows: string,
  conf: string,
  extra: readonly string[] = [],
): Promise<{ d: Awaited<ReturnType<typeof startTscapd>>; metricsPort: number }> {
  const metricsPort = await freeTcpPort();
  const d = await startTscapd(["-l", flows, "--monitor", conf, ...extra, "--metrics", `127.0.0.1:${metricsPort}`]);
  return { d, metricsPort };
}

/** A NetFlow v5 datagram: one record per (dst, packets) with 100 bytes per packet. */
function v5(records: readonly { dst: string; packets: number }[], seq: number): Buffer {
  const b = Buffer.alloc(24 + 48 * records.length);
  const now = Date.now();
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(records.length, 2);
  b.writeUInt32BE(100_000, 4);
  b.writeUInt32BE(Math.floor(now / 1000), 8);
  b.writeUInt32BE(seq, 16);
  records.forEach((r, i) => {
    const o = 24 + 48 * i;
    b.writeUInt32BE(0x0a000001, o);
    r.dst.split(".").forEach((x, k) => b.writeUInt8(Number(x), o + 4 + k));
    b.writeUInt32BE(r.packets, o + 16);
    b.writeUInt32BE(r.packets * 100, o + 20);
    b.writeUInt32BE(99_000, o + 24);
    b.writeUInt32BE(99_900, o + 28);
    b.writeUInt16BE(1234, o + 32);
    b.writeUInt16BE(53, o + 34);
    b.writeUInt8(17, o + 38);
  });
  return b;
}

/**
 * Sends one datagram every 100 ms of a fixed schedule for `ms` (or until `until()`): per datagram `packets` per
 * key, so 10 × packets per second. A datagram sent late (a loaded machine) is caught up at once, so the rate
 * over a second holds.
 */
async function burst(
  sock: Socket,
  port: number,
  keys: readonly { dst: string; packets: number }[],
  ms: number,
  until?: () => boolean,
): Promise<void> {
  const start = Date.now();
  let seq = 0;
  for (let k = 0; k * 100 < ms && until?.() !== true; k++) {
    const wait = start + k * 100 - Date.now();
    if (wait > 0) await sleep(wait);
    const d = v5(keys, seq);
    seq += keys.length;
    await new Promise<void>((ok) => {
      sock.send(d, port, "127.0.0.1", () => {
        ok();
      });
    });
  }
}

interface Ev {
  monitor: string;
  event: string;
  key: { dstip: string };
  value: number;
  threshold: number;
  time: string;
}
const readEvents = (path: string): Ev[] =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Ev)
    : [];

describe("tscapd --monitor: moving average", () => {
  it("fires over for the keys above their thresholds only, runs the program, and back after the traffic stops", async () => {
    const dir = tmp();
    const events = join(dir, "events.ndjson");
    const runs = join(dir, "runs");
    writeFileSync(join(dir, "limits.csv"), "dstip,over\n192.0.2.3,100\n");
    // the exec'd program: appends its stdin (the event) to runs
    writeFileSync(
      join(dir, "alert.mjs"),
      `import { appendFileSync, readFileSync } from "node:fs"; appendFileSync(process.argv[2], readFileSync(0, "utf8"));\n`,
    );
    const conf = (over: number): string =>
      `monitors:\n  - name: ddos\n    filter: proto udp and dst port 53\n    key: [dstip]\n    value: pps\n    window: 2s\n` +
      `    over: ${over}\n    thresholds: limits.csv\n    back: 2s\n    exec: [${JSON.stringify(process.execPath)}, alert.mjs, ${JSON.stringify(runs)}]\n`;
    writeFileSync(join(dir, "m.yaml"), conf(2000));
    const { d, metricsPort } = await startMonitoring(join(dir, "flows"), join(dir, "m.yaml"), ["--events", events]);
    const sock = createSocket("udp4");
    try {
      // 192.0.2.1: 5000 pps (over 2000); 192.0.2.2: 1000 pps (under); 192.0.2.3: 500 pps (over its own 100)
      const start = Date.now();
      await burst(
        sock,
        d.port,
        [
          { dst: "192.0.2.1", packets: 500 },
          { dst: "192.0.2.2", packets: 100 },
          { dst: "192.0.2.3", packets: 50 },
        ],
        4000,
      );
      await waitFor(() => readEvents(events).length >= 2, 5000);
      const over = readEvents(events);
      expect(over.map((e) => `${e.event} ${e.key.dstip} ${e.threshold}`).sort()).toEqual([
        "over 192.0.2.1 2000",
        "over 192.0.2.3 100",
      ]);
      for (const e of over) {
        expect(e.monitor).toBe("ddos");
        expect(e.value).toBeGreaterThan(e.threshold);
        // alert latency: burst start → over within window (2 s) + 1 s
        expect(Date.parse(e.time) - start).toBeLessThanOrEqual(3000);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/tscapd_monitor_alerts\{monitor="ddos"\} 2/);
      expect(metrics).toMatch(/tscapd_monitor_rate\{monitor="ddos",key="192\.0\.2\.1"\} \d+/);
      // traffic stopped: back after the window empties plus `back`
      await waitFor(() => readEvents(events).length >= 4, 8000);
      expect(
        readEvents(events)
          .slice(2)
          .map((e) => `${e.event} ${e.key.dstip}`)
          .sort(),
      ).toEqual(["back 192.0.2.1", "back 192.0.2.3"]);
      await waitFor(() => existsSync(runs) && readFileSync(runs, "utf8").split("\n").length >= 5, 5000);
      const ran = readFileSync(runs, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Ev);
      expect(ran.map((e) => `${e.event} ${e.key.dstip}`).sort()).toEqual([
        "back 192.0.2.1",
        "back 192.0.2.3",
        "over 192.0.2.1",
        "over 192.0.2.3",
      ]);

      // SIGHUP with a broken file: refused with its place, the running monitors kept
      writeFileSync(join(dir, "m.yaml"), "monitors:\n  - name: ddos\n    key: [dstip]\n    over: lots\n");
      d.proc.kill("SIGHUP");
      await waitFor(() => /m\.yaml:4:11: monitor ddos: over/.test(d.log()), 5000);
      expect(d.log()).toMatch(/keeping the running configuration/);
      // SIGHUP with a lower threshold: 192.0.2.2 (1000 pps) is over now
      writeFileSync(join(dir, "m.yaml"), conf(800));
      d.proc.kill("SIGHUP");
      await waitFor(() => d.log().includes("monitor configuration loaded"), 5000);
      const twoOver = (): boolean => readEvents(events).some((e) => e.key.dstip === "192.0.2.2");
      await burst(sock, d.port, [{ dst: "192.0.2.2", packets: 100 }], 15_000, twoOver);
      await waitFor(twoOver, 5000, "over for 192.0.2.2");
      expect(
        readEvents(events)
          .filter((e) => e.key.dstip === "192.0.2.2")
          .map((e) => `${e.event} ${e.threshold}`),
      ).toEqual(["over 800"]);
    } finally {
      sock.close();
      expect(await d.stop()).toBe(0);
    }
  }, 90_000);

  it("refuses a bad configuration at start with file:line:column", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "bad.yaml"), "monitors:\n  - name: x\n    key: [dstport, bogus]\n    over: 5\n");
    const p = spawn(
      process.execPath,
      [join(REPO_ROOT, "dist/bin/tscapd.js"), "-p", "0", "-l", dir, "--monitor", join(dir, "bad.yaml")],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let err = "";
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => p.on("exit", r));
    expect(code).toBe(1);
    expect(err).toMatch(/bad\.yaml:3:20: monitor x: unknown key element 'bogus'/);
  }, 30_000);
});

/** Flows, packets and bytes of every finished flow file below dir. */
function stored(dir: string): { flows: number; packets: number; bytes: number } {
  const s = { flows: 0, packets: 0, bytes: 0 };
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/^tscapd\.\d{12}/.test(name)) {
        const r = FlowFileReader.open(p);
        for (const b of r.batches()) {
          s.flows += b.length;
          for (let i = 0; i < b.length; i++) {
            s.packets += b.cols.inPackets[i]!;
            s.bytes += b.cols.inBytes[i]!;
          }
        }
        r.close();
      }
    }
  };
  walk(dir);
  return s;
}

/** Periods of a monitor's PostgreSQL table (0 while the table does not exist). */
function loadedPeriods(db: TestPostgres, table: string): number {
  try {
    return Number(db.sql(`SELECT count(DISTINCT time) FROM ${table}`));
  } catch {
    return 0;
  }
}

describe.skipIf(PG_MISSING !== undefined && process.env["CI"] !== "true")(
  "tscapd --monitor: fixed window into PostgreSQL",
  () => {
    let db: TestPostgres;
    beforeAll(async () => {
      db = await TestPostgres.create();
    }, 120_000);
    afterAll(() => {
      db.destroy();
    }, 120_000);

    it("loads every period once, through a database restart: the table's sums equal the flows stored", async () => {
      const dir = tmp();
      const flows = join(dir, "flows");
      writeFileSync(
        join(dir, "m.yaml"),
        `monitors:\n  - name: top_src\n    key: [srcip]\n    period: 2s\n    top: 20\n    size: 256\n    to: ${db.url}\n` +
          `  - name: dst_nets\n    key: [dstip/16, proto]\n    period: 2s\n    top: 5\n    to: ${join(dir, "dst.csv")}\n`,
      );
      const { d, metricsPort } = await startMonitoring(flows, join(dir, "m.yaml"));
      try {
        const replayed = replay(d.port, 24000, 150);
        // the database goes away once a period is in, and comes back once a load has failed
        await waitFor(() => loadedPeriods(db, "top_src") > 0, 30_000, "a first period in PostgreSQL");
        db.stop();
        await waitFor(() => /monitor top_src: PostgreSQL load failed/.test(d.log()), 30_000, "a failed load");
        db.start();
        expect(await replayed).toBe(0);
        await waitFor(
          async () => (await metric(metricsPort, "tscapd_exporter_flows_total")) >= 24000,
          30_000,
          "the flows",
        );
      } finally {
        expect(await d.stop()).toBe(0);
      }
      const s = stored(flows);
      expect(s.flows).toBe(24000);
      const [f, p, b, periods] = db
        .sql(`SELECT sum(flows), sum(packets), sum(bytes), count(DISTINCT time) FROM top_src`)
        .split("|");
      expect({ flows: Number(f), packets: Number(p), bytes: Number(b) }).toEqual(s);
      expect(Number(periods)).toBeGreaterThanOrEqual(3);
      // at most top 20 keys + the rest per period (two loads of a period — partial at stop — add up in place)
      expect(
        Number(db.sql(`SELECT max(n) FROM (SELECT count(*) AS n FROM top_src GROUP BY time) x`)),
      ).toBeLessThanOrEqual(21);
      expect(readdirSync(join(flows, ".tscapd-monitor", "top_src")).filter((n) => n.endsWith(".csv"))).toEqual([]);
      // the CSV file monitor: the same flows
      const csv = readFileSync(join(dir, "dst.csv"), "utf8").trim().split("\n");
      expect(csv[0]).toBe("time,dstip,proto,flows,packets,bytes");
      expect(csv.slice(1).reduce((a, l) => a + Number(l.split(",")[3]), 0)).toBe(24000);
    }, 120_000);

    it("loads the periods a stopped tscapd left spooled at its next start, each once and in order", async () => {
      const dir = tmp();
      const flows = join(dir, "flows");
      writeFileSync(
        join(dir, "m.yaml"),
        `monitors:\n  - name: spooled_src\n    key: [srcip]\n    period: 1s\n    top: 10\n    to: ${db.url}\n`,
      );
      const spool = join(flows, ".tscapd-monitor", "spooled_src");
      const csvs = (): string[] =>
        existsSync(spool)
          ? readdirSync(spool)
              .filter((n) => n.endsWith(".csv"))
              .sort()
          : [];
      db.stop();
      const { d, metricsPort } = await startMonitoring(flows, join(dir, "m.yaml"));
      try {
        expect(await replay(d.port, 6000, 100)).toBe(0);
        await waitFor(
          async () => (await metric(metricsPort, "tscapd_exporter_flows_total")) >= 6000,
          30_000,
          "the flows",
        );
        await waitFor(() => /monitor spooled_src: PostgreSQL load failed/.test(d.log()), 30_000, "a failed load");
      } finally {
        expect(await d.stop()).toBe(0);
      }
      // every period, the partial last one too, waits in the spool
      const left = csvs();
      expect(left.length).toBeGreaterThanOrEqual(2);
      db.start();
      const { d: again } = await startMonitoring(flows, join(dir, "m.yaml"));
      try {
        await waitFor(() => csvs().length === 0, 60_000, "the spool to empty");
      } finally {
        expect(await again.stop()).toBe(0);
      }
      // once each (the load ids are the spool files), in the spool's order (one transaction per load)
      expect(
        db.sql(`SELECT id FROM tscapd_monitor_loads WHERE monitor = 'spooled_src' ORDER BY loaded, id`).split("\n"),
      ).toEqual(left);
      const s = stored(flows);
      expect(s.flows).toBe(6000);
      const [f, p, b] = db.sql(`SELECT sum(flows), sum(packets), sum(bytes) FROM spooled_src`).split("|");
      expect({ flows: Number(f), packets: Number(p), bytes: Number(b) }).toEqual(s);
    }, 120_000);
  },
);

describe("tscapd --monitor: fixed window into an ndjson file", () => {
  it("writes each period's top keys and the rest as JSON lines that sum to the flows stored", async () => {
    const dir = tmp();
    const flows = join(dir, "flows");
    const out = join(dir, "top.ndjson");
    writeFileSync(
      join(dir, "m.yaml"),
      `monitors:\n  - name: top_pairs\n    key: [srcip, dstport]\n    period: 1s\n    top: 5\n    to: ${out}\n`,
    );
    const { d, metricsPort } = await startMonitoring(flows, join(dir, "m.yaml"));
    try {
      expect(await replay(d.port, 5000, 100)).toBe(0);
      await waitFor(
        async () => (await metric(metricsPort, "tscapd_exporter_flows_total")) >= 5000,
        30_000,
        "the flows",
      );
    } finally {
      expect(await d.stop()).toBe(0);
    }
    interface Row {
      time: string;
      srcip: string | null;
      dstport: number | null;
      flows: number;
      packets: number;
      bytes: number;
    }
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Row);
    const s = stored(flows);
    expect(s.flows).toBe(5000);
    expect({
      flows: rows.reduce((a, r) => a + r.flows, 0),
      packets: rows.reduce((a, r) => a + r.packets, 0),
      bytes: rows.reduce((a, r) => a + r.bytes, 0),
    }).toEqual(s);
    const periods = new Map<string, Row[]>();
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(["time", "srcip", "dstport", "flows", "packets", "bytes"]);
      expect(Date.parse(r.time) % 1000).toBe(0);
      if (r.srcip === null) expect(r.dstport).toBeNull();
      else {
        expect(r.srcip).toMatch(/^[\d.]+$|:/);
        expect(typeof r.dstport).toBe("number");
      }
      periods.set(r.time, [...(periods.get(r.time) ?? []), r]);
    }
    expect(periods.size).toBeGreaterThanOrEqual(2);
    for (const [, list] of periods) {
      // the top 5 by bytes (the default order), then at most one rest row
      const keyed = list.filter((r) => r.srcip !== null);
      expect(keyed.length).toBeLessThanOrEqual(5);
      expect(list.length - keyed.length).toBeLessThanOrEqual(1);
      expect(keyed.map((r) => r.bytes)).toEqual(keyed.map((r) => r.bytes).sort((x, y) => y - x));
    }
  }, 120_000);
});
