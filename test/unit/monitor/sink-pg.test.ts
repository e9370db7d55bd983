// SPDX-License-Identifier: BSD-3-Clause
// Fixed-window rows into a real PostgreSQL: table created with fitting types, rest row with NULL keys, periods
// spooled while the database is down and loaded in order when it is back, a load retried after its commit
// adds nothing, and two loads of one period add up.
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeySpec, parseElement } from "../../../src/monitor/keys.js";
import { PgSink, rowsToCsv } from "../../../src/monitor/sink-pg.js";
import { PG_MISSING, TestPostgres } from "../../helpers/postgres.js";

const wait = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.skipIf(PG_MISSING !== undefined && process.env["CI"] !== "true")("PgSink", () => {
  let db: TestPostgres;
  beforeAll(async () => {
    db = await TestPostgres.create();
  }, 120_000);
  afterAll(() => {
    db.destroy();
  }, 120_000);

  it("creates the table, loads periods once and in order, spooling while the database is away", async () => {
    const spec = new KeySpec(["srcip/24", "dstport"].map(parseElement));
    const spool = mkdtempSync(join(tmpdir(), "tsflow-spool-"));
    const logs: string[] = [];
    const sink = new PgSink("talkers", spec, db.url, spool, (_l, _k, m) => logs.push(m));
    const t0 = Date.UTC(2026, 11, 6, 12, 0, 0);
    sink.write([
      { time: t0, keys: ["10.1.2.0/24", "443"], flows: 5, packets: 50, bytes: 5000 },
      { time: t0, keys: null, flows: 2, packets: 3, bytes: 4 },
    ]);
    await wait(() => sink.loaded.files === 1);
    expect(db.sql(`SELECT time, srcip, dstport, flows, packets, bytes FROM talkers ORDER BY flows DESC`)).toBe(
      "2026-12-06 12:00:00+00|10.1.2.0/24|443|5|50|5000\n2026-12-06 12:00:00+00|||2|3|4",
    );
    expect(
      db.sql(`SELECT data_type FROM information_schema.columns WHERE table_name = 'talkers' ORDER BY ordinal_position`),
    ).toBe("timestamp with time zone\ninet\ninteger\nbigint\nbigint\nbigint");

    db.stop();
    sink.write([{ time: t0 + 60_000, keys: ["10.1.2.0/24", "443"], flows: 1, packets: 1, bytes: 1 }]);
    sink.write([{ time: t0 + 120_000, keys: null, flows: 7, packets: 7, bytes: 7 }]);
    await wait(() => sink.loaded.failures >= 1);
    expect(readdirSync(spool).filter((f) => f.endsWith(".csv"))).toHaveLength(2);
    expect(logs.join("\n")).toMatch(/PostgreSQL load failed \([12] period\(s\) spooled, retry in 1 s\)/);
    db.start();
    await wait(() => sink.loaded.files === 3, 60_000);
    expect(readdirSync(spool).filter((f) => f.endsWith(".csv"))).toHaveLength(0);
    expect(db.sql(`SELECT sum(flows) FROM talkers`)).toBe("15");
    expect(db.sql(`SELECT count(*) FROM tscapd_monitor_loads WHERE monitor = 'talkers'`)).toBe("3");

    // a spool file whose load committed but was not removed (crash after COMMIT): loading it again adds nothing
    const id = db.sql(`SELECT id FROM tscapd_monitor_loads ORDER BY id LIMIT 1`);
    writeFileSync(join(spool, id), rowsToCsv([{ time: t0, keys: null, flows: 1000, packets: 0, bytes: 0 }], 2));
    // a second load of the first period (its rest after a restart) adds to its rows
    sink.write([{ time: t0, keys: null, flows: 1, packets: 1, bytes: 1 }]);
    await wait(() => sink.loaded.files === 5);
    expect(db.sql(`SELECT sum(flows) FROM talkers`)).toBe("16");
    expect(db.sql(`SELECT flows FROM talkers WHERE time = '2026-12-06 12:00:00+00' AND srcip IS NULL`)).toBe("3");
    await sink.close();
  }, 180_000);
});
