// SPDX-License-Identifier: BSD-3-Clause
// tscapd --monitor end to end: NetFlow v5 bursts at known rates into the real daemon fire `over` for the keys
// above their thresholds (the default and per-key ones) and only those, within window + 1 s, run the exec'd
// program with the event on stdin, log to --events, show in the metrics, and send `back` after the traffic
// stops; SIGHUP refuses a bad file (file:line:column) and applies a good one. Fixed windows go into a real
// PostgreSQL that is stopped mid-run and restarted: the table's sums equal the flows tscapd stored.
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

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(50);
  }
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

/** Sends one datagram every 100 ms for `ms`: per datagram `packets` per key (so 10 × packets per second). */
async function burst(
  sock: Socket,
  port: number,
  keys: readonly { dst: string; packets: number }[],
  ms: number,
): Promise<void> {
  const end = Date.now() + ms;
  let seq = 0;
  while (Date.now() < end) {
    const d = v5(keys, seq);
    seq += keys.length;
    await new Promise<void>((ok) => {
      sock.send(d, port, "127.0.0.1", () => {
        ok();
      });
    });
    await sleep(100);
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
    const metricsPort = await freeTcpPort();
    const d = await startTscapd([
      "-l",
      join(dir, "flows"),
      "--monitor",
      join(dir, "m.yaml"),
      "--events",
      events,
      "--metrics",
      `127.0.0.1:${metricsPort}`,
    ]);
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
      await burst(sock, d.port, [{ dst: "192.0.2.2", packets: 100 }], 3500);
      await waitFor(() => readEvents(events).some((e) => e.key.dstip === "192.0.2.2"), 5000);
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
      const d = await startTscapd(["-l", flows, "--monitor", join(dir, "m.yaml")]);
      try {
        const replay = spawn(
          process.execPath,
          [
            join(REPO_ROOT, "dist/bin/tsreplay.js"),
            "--synthetic",
            "24000",
            "--pps",
            "150",
            "-H",
            "127.0.0.1",
            "-p",
            String(d.port),
          ],
          { stdio: "ignore" },
        );
        const replayed = new Promise<number | null>((r) => replay.on("exit", r));
        await sleep(2500);
        db.stop();
        await sleep(3000);
        db.start();
        expect(await replayed).toBe(0);
        await sleep(500);
      } finally {
        expect(await d.stop()).toBe(0);
      }
      const s = stored(flows);
      expect(s.flows).toBe(24000);
      expect(d.log()).toMatch(/monitor top_src: PostgreSQL load failed/);
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
  },
);
