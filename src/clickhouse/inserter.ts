// SPDX-License-Identifier: BSD-3-Clause
// Inserting a batch once. ClickHouse 18.16 has neither insert_deduplication_token nor deduplication for
// non-replicated MergeTree, so every row carries its batch's id (`batch UInt64`) and an insert is preceded by
//
//   SELECT count() FROM flows WHERE timeFirst BETWEEN <batch's first..last second> AND batch = <id>
//
// (cheap: the time range selects a few granules through the primary key). A batch found there is not sent
// again. With one sender per batch id (tscapd sends its batches one at a time, in order; a tsdump run loads its
// chunks one at a time), a batch is stored once whatever fails between attempts: a lost response, a restart, a
// spooled batch sent again. What remains is the server crashing in the middle of an insert that spans two
// partitions (days), which can leave one of the two parts: the batch's rows are then found and not re-sent.
// On current servers (22.2+) the id also goes as insert_deduplication_token, and the table keeps a
// non_replicated_deduplication_window, so the server itself drops a repeated insert.

import { ClickHouseClient, ClickHouseError, type ClickHouseTarget } from "./client.js";
import { ROLLUPS, schemaStatements, serverFeatures, type ServerFeatures } from "./schema.js";

/** One batch ready to go: rows of `columns`, its id and the time range of its rows (ms). */
export interface EncodedBatch {
  /** the 64-bit id as a decimal string */
  readonly id: string;
  readonly columns: readonly string[];
  readonly rows: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** RowBinary rows (tscapd's batches, its spool), or a Native block in pieces (tsdump's chunks) */
  readonly data: Uint8Array | readonly Uint8Array[];
  readonly format?: "RowBinary" | "Native";
  /** settings of this insert */
  readonly settings?: Readonly<Record<string, string>>;
}

export type InsertResult = "inserted" | "duplicate";

/** The 64-bit id from its halves, as ClickHouse prints a UInt64. */
export function idString(hi: number, lo: number): string {
  return ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString();
}

export class Inserter {
  readonly client: ClickHouseClient;
  features: ServerFeatures | null = null;

  constructor(target: ClickHouseTarget, timeoutMs?: number) {
    this.client = new ClickHouseClient(target, timeoutMs);
  }

  get target(): ClickHouseTarget {
    return this.client.target;
  }

  /** Asks the server's version and creates what is absent (database, tables, views). */
  async ensureSchema(): Promise<ServerFeatures> {
    const version = (await this.client.query("SELECT version()")).trim();
    const f = serverFeatures(version);
    const t = this.target;
    for (const sql of schemaStatements(
      { database: t.database, table: t.table, retention: t.retention, cluster: t.cluster, rollups: t.rollups },
      f,
    )) {
      await this.client.query(sql);
    }
    this.features = f;
    return f;
  }

  /**
   * Retention on servers without TTL (18.16): drops the day partitions older than each table's retention
   * (partition ids are YYYYMMDD). Current servers apply the tables' TTL clauses themselves. Returns the
   * partitions dropped, as `table/id`.
   */
  async expire(now: number): Promise<string[]> {
    this.features ??= await this.ensureSchema();
    if (this.features.ttl) return [];
    const t = this.target;
    const tables: [string, number][] = [
      [t.table, t.retention.flows],
      ...(t.rollups ? ROLLUPS : []).map((r): [string, number] => [`${t.table}_${r.suffix}`, t.retention[r.ttl]]),
    ];
    const dropped: string[] = [];
    for (const [table, days] of tables) {
      if (days <= 0) continue;
      const cut = new Date(now - days * 86_400_000);
      const cutoff = cut.getUTCFullYear() * 10000 + (cut.getUTCMonth() + 1) * 100 + cut.getUTCDate();
      const ids = (
        await this.client.query(
          `SELECT DISTINCT partition_id FROM system.parts WHERE database = '${t.database}' AND table = '${table}'` +
            ` AND active AND toUInt32OrZero(partition_id) < ${cutoff}`,
        )
      )
        .split("\n")
        .filter((id) => /^\d{8}$/.test(id));
      for (const id of ids) {
        await this.client.query(`ALTER TABLE ${t.database}.${table} DROP PARTITION ID '${id}'`);
        dropped.push(`${table}/${id}`);
      }
    }
    return dropped;
  }

  /** Whether rows of this batch id are in the table already. */
  async stored(b: EncodedBatch): Promise<boolean> {
    const lo = Math.floor(b.minMs / 1000);
    const hi = Math.floor(b.maxMs / 1000);
    const sql =
      `SELECT count() FROM ${this.target.database}.${this.target.table} WHERE timeFirst >= toDateTime(${lo})` +
      ` AND timeFirst <= toDateTime(${hi}) AND batch = ${b.id}`;
    return Number((await this.client.query(sql)).trim()) > 0;
  }

  /**
   * Inserts the batch unless it is stored already; a connection lost on the way (a kept-alive socket the server
   * closed) is tried once more, the check first. @throws when the server is away or refuses
   */
  async insertOnce(b: EncodedBatch): Promise<InsertResult> {
    try {
      return await this.tryInsert(b);
    } catch (err) {
      if (err instanceof ClickHouseError) throw err;
      return this.tryInsert(b);
    }
  }

  private async tryInsert(b: EncodedBatch): Promise<InsertResult> {
    this.features ??= await this.ensureSchema();
    if (await this.stored(b)) return "duplicate";
    const settings: Record<string, string> = { ...b.settings };
    if (this.features.dedupToken) settings["insert_deduplication_token"] = b.id;
    await this.client.insert(this.target.table, b.columns, b.data, settings, b.format);
    return "inserted";
  }
}
