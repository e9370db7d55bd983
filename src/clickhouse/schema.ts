// SPDX-License-Identifier: BSD-3-Clause
// The ClickHouse side of tsflow's record schema: one column per schema column, named as the schema names it,
// and the DDL of the tables tsflow creates when they are absent.
//
//   flows          MergeTree, PARTITION BY toDate(timeFirst), ORDER BY (timeFirst, exporterAddr)
//   flows_1m/5m/1h SummingMergeTree, fed by materialized views flows_1m_mv … on every insert into flows
//   flows_all      (with a cluster) Distributed over each shard's flows
//
// Types are the ones both ClickHouse 18.16 (Debian's) and current servers accept: addresses are FixedString(16)
// (IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so IPv6NumToString prints both), millisecond times and
// counters UInt64, MACs UInt64 (the 48-bit value). `batch` holds the id of the insert a row came with: the
// check that makes each batch go in once looks it up (see sink.ts).

import { SCHEMA, type StorageType } from "../record/schema.js";

/** One inserted column: a schema column, or tsflow's `batch`. */
export interface ChColumn {
  readonly name: string;
  readonly type: StorageType | "batch";
  readonly chType: string;
  /** bytes in RowBinary */
  readonly width: number;
  /** for addr columns: the bit of v6Flags that marks IPv6 */
  readonly v6bit: number;
}

const CH_TYPE: { readonly [T in StorageType]: [string, number] } = {
  u8: ["UInt8", 1],
  u16: ["UInt16", 2],
  u32: ["UInt32", 4],
  f64: ["UInt64", 8],
  mac: ["UInt64", 8],
  addr: ["FixedString(16)", 16],
};

/** Every schema column as a ClickHouse column, in schema order. */
export const CH_COLUMNS: readonly ChColumn[] = SCHEMA.map((c) => {
  const [chType, width] = CH_TYPE[c.type];
  return { name: c.name, type: c.type, chType, width, v6bit: "v6bit" in c ? c.v6bit : -1 };
});

export const BATCH_COLUMN: ChColumn = { name: "batch", type: "batch", chType: "UInt64", width: 8, v6bit: -1 };

/** Retention in days per table (0 = keep forever). */
export interface Retention {
  readonly flows: number;
  readonly m1: number;
  readonly m5: number;
  readonly h1: number;
}

export const NO_RETENTION: Retention = { flows: 0, m1: 0, m5: 0, h1: 0 };

/** The consolidated tables: name suffix, bucket function, retention key. */
export const ROLLUPS = [
  { suffix: "1m", bucket: "toStartOfMinute", ttl: "m1" },
  { suffix: "5m", bucket: "toStartOfFiveMinute", ttl: "m5" },
  { suffix: "1h", bucket: "toStartOfHour", ttl: "h1" },
] as const;

/** Dimensions kept by the consolidated tables (addresses and ports are not: they are what makes rows many). */
export const ROLLUP_KEYS = ["exporterAddr", "input", "output", "srcAs", "dstAs", "proto", "direction"] as const;
/** Counters summed by the consolidated tables; `records` counts the flow records. */
export const ROLLUP_SUMS = ["flows", "inPackets", "inBytes", "outPackets", "outBytes"] as const;

/** What the server can do, from its version. */
export interface ServerFeatures {
  readonly version: string;
  /** TTL clauses on MergeTree tables (19.6) */
  readonly ttl: boolean;
  /** insert_deduplication_token (22.2) with non_replicated_deduplication_window (21.x) */
  readonly dedupToken: boolean;
}

export function serverFeatures(version: string): ServerFeatures {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return { version, ttl: atLeast(19, 6), dedupToken: atLeast(22, 2) };
}

const q = (name: string): string => `\`${name.replace(/[`\\]/g, "\\$&")}\``;

/** A database or table name as given by the user: letters, digits, underscore (no quoting surprises). */
export function checkIdentifier(what: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`clickhouse: bad ${what} name "${name}"`);
  return name;
}

export interface SchemaSpec {
  readonly database: string;
  readonly table: string;
  readonly retention: Retention;
  /** with a cluster name: also the Distributed tables `<table>_all` and `<table>_<rollup>_all` */
  readonly cluster?: string | undefined;
  /** create the consolidated tables and their views (default true) */
  readonly rollups?: boolean;
}

/** The statements that create the database, the tables and the views when absent, in order. */
export function schemaStatements(s: SchemaSpec, f: ServerFeatures): string[] {
  const db = q(s.database);
  const t = (name: string): string => `${db}.${q(name)}`;
  const ttl = (column: string, days: number): string =>
    days > 0 && f.ttl ? ` TTL ${column} + INTERVAL ${Math.floor(days)} DAY` : "";
  // a table keeps a few thousand batches' ids for the non-replicated deduplication of current servers
  const dedup = f.dedupToken ? ", non_replicated_deduplication_window = 10000" : "";
  const cols = [
    ...CH_COLUMNS.map((c) => `${q(c.name)} ${c.chType}`),
    `${q("timeFirst")} DateTime DEFAULT toDateTime(intDiv(${q("msecFirst")}, 1000))`,
    `${q(BATCH_COLUMN.name)} ${BATCH_COLUMN.chType}`,
  ];
  const out = [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${t(s.table)} (\n  ${cols.join(",\n  ")}\n) ENGINE = MergeTree()` +
      ` PARTITION BY toDate(timeFirst) ORDER BY (timeFirst, exporterAddr)` +
      ttl("timeFirst", s.retention.flows) +
      ` SETTINGS index_granularity = 8192${dedup}`,
  ];
  const rollups = s.rollups === false ? [] : ROLLUPS;
  for (const r of rollups) {
    const name = `${s.table}_${r.suffix}`;
    const rcols = [
      `${q("time")} DateTime`,
      ...ROLLUP_KEYS.map((k) => `${q(k)} ${CH_COLUMNS.find((c) => c.name === k)!.chType}`),
      `${q("records")} UInt64`,
      ...ROLLUP_SUMS.map((k) => `${q(k)} UInt64`),
    ];
    out.push(
      `CREATE TABLE IF NOT EXISTS ${t(name)} (\n  ${rcols.join(",\n  ")}\n) ENGINE = SummingMergeTree()` +
        ` PARTITION BY toDate(time) ORDER BY (time, ${ROLLUP_KEYS.map(q).join(", ")})` +
        ttl("time", s.retention[r.ttl]),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${t(`${name}_mv`)} TO ${t(name)} AS SELECT ` +
        `${r.bucket}(timeFirst) AS time, ${ROLLUP_KEYS.map(q).join(", ")}, count() AS records, ` +
        ROLLUP_SUMS.map((k) => `sum(${q(k)}) AS ${q(k)}`).join(", ") +
        ` FROM ${t(s.table)} GROUP BY time, ${ROLLUP_KEYS.map(q).join(", ")}`,
    );
  }
  if (s.cluster !== undefined) {
    for (const name of [s.table, ...rollups.map((r) => `${s.table}_${r.suffix}`)]) {
      out.push(
        `CREATE TABLE IF NOT EXISTS ${t(`${name}_all`)} AS ${t(name)}` +
          ` ENGINE = Distributed(${q(s.cluster)}, ${db}, ${q(name)}, rand())`,
      );
    }
  }
  return out;
}
