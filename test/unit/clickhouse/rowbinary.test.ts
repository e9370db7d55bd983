// RowBinary encoding of batches, the --clickhouse URL, and the DDL for old (18.16) and current servers.
import { describe, expect, it } from "vitest";
import { parseClickHouseUrl } from "../../../src/clickhouse/client.js";
import { RowBinaryBuffer, usedColumns } from "../../../src/clickhouse/rowbinary.js";
import { schemaStatements, serverFeatures } from "../../../src/clickhouse/schema.js";
import { RecordBatch } from "../../../src/record/batch.js";
import { parseIPv6 } from "../../../src/record/ip.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("RowBinary", () => {
  it("encodes the used columns of each row, little-endian, addresses as 16 bytes (IPv4 mapped), the batch id last", () => {
    const b = new RecordBatch(4);
    let r = b.addRow();
    b.cols.msecFirst[r] = 2 ** 40 + 5; // above 2^32: both halves
    b.cols.srcAddr[r] = 0x0a000001; // 10.0.0.1
    b.cols.srcPort[r] = 443;
    b.cols.proto[r] = 6;
    b.cols.inBytes[r] = 1500;
    r = b.addRow();
    b.cols.msecFirst[r] = 1;
    expect(parseIPv6("2001:db8::1", b.cols.srcAddr6, r * 4)).toBe(true);
    b.cols.v6Flags[r] = 1;
    b.cols.proto[r] = 17;
    const cols = usedColumns([b]);
    expect(cols.map((c) => c.name)).toEqual(["msecFirst", "srcAddr", "srcPort", "proto", "inBytes", "batch"]);
    const buf = new RowBinaryBuffer(cols, 1);
    buf.append(b, null, b.length, 0x01020304, 0x05060708);
    expect(buf.rows).toBe(2);
    expect(hex(buf.bytes())).toBe(
      // row 0: msecFirst u64 | ::ffff:10.0.0.1 | 443 u16 | 6 | 1500 u64 | batch u64
      "0500000000010000" +
        "00000000000000000000ffff0a000001" +
        "bb01" +
        "06" +
        "dc05000000000000" +
        "0807060504030201" +
        // row 1: 1 | 2001:db8::1 | 0 | 17 | 0 | batch
        "0100000000000000" +
        "20010db8000000000000000000000001" +
        "0000" +
        "11" +
        "0000000000000000" +
        "0807060504030201",
    );
  });

  it("encodes only the selected rows, and an absent IPv4 address as 16 zero bytes", () => {
    const b = new RecordBatch(3);
    for (let i = 0; i < 3; i++) {
      const r = b.addRow();
      b.cols.msecFirst[r] = 1000 + i;
      b.cols.dstAddr[r] = i === 2 ? 0 : 0xc0000201;
    }
    const buf = new RowBinaryBuffer(usedColumns([b]), 1);
    buf.append(b, Uint32Array.of(2, 0), 2, 0, 9);
    expect(hex(buf.bytes())).toBe(
      "ea03000000000000" +
        "00".repeat(16) +
        "0900000000000000" +
        "e803000000000000" +
        "00000000000000000000ffffc0000201" +
        "0900000000000000",
    );
  });

  it("writes a counter from 2^53 up exactly: its double plus the fix of its companion column", () => {
    const b = new RecordBatch(2);
    let r = b.addRow();
    b.cols.msecFirst[r] = 1;
    b.cols.inBytes[r] = 2 ** 60; // 2^60 + 1 = the double 2^60 and fix +1
    b.cols.inBytesFix[r] = 1;
    r = b.addRow();
    b.cols.inBytes[r] = 2 ** 64 - 2048; // 2^64 - 1 = the double 2^64 - 2048 and fix +2047
    b.cols.inBytesFix[r] = 2047;
    const cols = usedColumns([b]);
    expect(cols.map((c) => c.name)).toEqual(["msecFirst", "inBytes", "batch"]);
    const buf = new RowBinaryBuffer(cols, 1);
    buf.append(b, null, 2, 0, 0);
    const dv = new DataView(buf.bytes().buffer);
    const u64 = (off: number): bigint => dv.getBigUint64(off, true);
    expect(u64(8)).toBe(2n ** 60n + 1n);
    expect(u64(24 + 8)).toBe(2n ** 64n - 1n);
  });
});

describe("--clickhouse URL", () => {
  it("takes credentials from the URL (as headers) and tsflow's own parameters out of the query string", () => {
    const t = parseClickHouseUrl(
      "http://bob:s%40cret@ch.example:8123/?database=netflow&ttl=30&ttl_1h=400&cluster=c1&max_insert_block_size=5",
      {},
    );
    expect(t.url).toBe("http://ch.example:8123/?max_insert_block_size=5");
    expect(t.headers).toEqual({ "X-ClickHouse-User": "bob", "X-ClickHouse-Key": "s@cret" });
    expect(t.database).toBe("netflow");
    expect(t.table).toBe("flows");
    expect(t.cluster).toBe("c1");
    expect(t.retention).toEqual({ flows: 30, m1: 0, m5: 0, h1: 400 });
    expect(t.rollups).toBe(true);
    expect(parseClickHouseUrl("http://h/?rollups=0", {}).rollups).toBe(false);
  });
  it("falls back to CLICKHOUSE_USER / CLICKHOUSE_PASSWORD", () => {
    const t = parseClickHouseUrl("http://127.0.0.1:8123/", { CLICKHOUSE_USER: "u", CLICKHOUSE_PASSWORD: "p" });
    expect(t.headers).toEqual({ "X-ClickHouse-User": "u", "X-ClickHouse-Key": "p" });
    expect(t.database).toBe("default");
  });
  it.each([
    ["ftp://h/", "ftp: is not http: or https:"],
    ["http://h/?database=a-b", 'bad database name "a-b"'],
    ["http://h/?ttl=x", "ttl=x is not an integer"],
    ["nonsense", 'cannot parse "nonsense"'],
  ])("%s: %s", (url, message) => {
    expect(() => parseClickHouseUrl(url, {})).toThrow(message);
  });
});

describe("schema", () => {
  const spec = { database: "db", table: "flows", retention: { flows: 30, m1: 90, m5: 0, h1: 0 }, cluster: "c" };
  it("18.16: FixedString(16) addresses, no TTL clause, no deduplication window", () => {
    const sql = schemaStatements(spec, serverFeatures("18.16.1")).join("\n");
    expect(sql).toContain("`srcAddr` FixedString(16)");
    expect(sql).toContain("PARTITION BY toDate(timeFirst) ORDER BY (timeFirst, exporterAddr)");
    expect(sql).not.toContain("TTL");
    expect(sql).not.toContain("non_replicated_deduplication_window");
    expect(sql).toContain("ENGINE = Distributed(`c`, `db`, `flows_1h`, rand())");
  });
  it("current servers: TTL clauses where retention is set, and the deduplication window", () => {
    const sql = schemaStatements(spec, serverFeatures("24.3.2.23"));
    expect(sql.find((s) => s.includes("TABLE IF NOT EXISTS `db`.`flows` ("))).toContain(
      "TTL timeFirst + INTERVAL 30 DAY",
    );
    expect(sql.find((s) => s.includes("`db`.`flows_1m` ("))).toContain("TTL time + INTERVAL 90 DAY");
    expect(sql.find((s) => s.includes("`db`.`flows_5m` ("))).not.toContain("TTL");
    expect(sql.join("\n")).toContain("non_replicated_deduplication_window = 10000");
  });
  it("rollups=0: the flow table (and its Distributed table) only", () => {
    const sql = schemaStatements({ ...spec, rollups: false }, serverFeatures("18.16.1"));
    expect(sql.map((s) => /(?:TABLE|VIEW) IF NOT EXISTS (\S+)/.exec(s)?.[1] ?? s)).toEqual([
      "CREATE DATABASE IF NOT EXISTS `db`",
      "`db`.`flows`",
      "`db`.`flows_all`",
    ]);
  });
});
