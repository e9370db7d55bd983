// SPDX-License-Identifier: BSD-3-Clause
// `--metrics host:port`: Prometheus text exposition via prom-client. Values are read from the collector's own
// counters at scrape time (collect callbacks), so the receive path pays nothing for metrics.

import { createServer, type Server } from "node:http";
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { parseHostPort } from "./options.js";
import type { SinkCounters } from "../clickhouse/counters.js";

export interface ExporterSample {
  readonly exporter: string;
  readonly packets: number;
  readonly flows: number;
  readonly badPackets: number;
  readonly sequenceErrors: number;
  readonly templateMisses: number;
  /** flows stored unscaled because no sampling rate was known */
  readonly flowsUnscaled?: number;
  /** announced rates outside 1..10,000,000, ignored */
  readonly ratesRejected?: number;
  readonly optionsMismatch?: number;
  readonly lengthOverruns?: number;
  /** live samplers: id (-1 exporter-wide), rate, options template id */
  readonly samplers?: readonly { id: number; rate: number; templateId: number }[];
}

export interface CollectorSample {
  readonly datagrams: number;
  readonly notAllowed: number;
  /** datagrams dropped because the receive queue (the ring to the decode thread) was full */
  readonly queueDropped?: number;
  readonly flowsStored: number;
  readonly filesWritten: number;
  readonly exportersEvicted?: number;
  readonly exporterCount?: number;
  readonly heldBytes?: number;
  readonly heldDroppedTotal?: number;
  /** --clickhouse sink counters (rows) */
  readonly clickhouse?: SinkCounters | undefined;
  readonly exporters: readonly ExporterSample[];
}

export { parseHostPort } from "./options.js";

/** Builds the registry whose gauges read `sample()` when scraped. */
export function createMetricsRegistry(sample: () => CollectorSample): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tscapd_process_" });
  const g = (name: string, help: string, read: (s: CollectorSample) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(sample()));
      },
    });
  };
  g("tscapd_datagrams_received_total", "datagrams received", (s) => s.datagrams);
  g(
    "tscapd_datagrams_not_allowed_total",
    "datagrams from exporters outside the allow-list (dropped)",
    (s) => s.notAllowed,
  );
  g(
    "tscapd_datagrams_queue_dropped_total",
    "datagrams dropped because the decoder was behind (receive queue full)",
    (s) => s.queueDropped ?? 0,
  );
  g("tscapd_flows_stored_total", "flow records written to files", (s) => s.flowsStored);
  g("tscapd_files_written_total", "flow files closed", (s) => s.filesWritten);
  g("tscapd_exporters", "exporters in the exporter table", (s) => s.exporterCount ?? s.exporters.length);
  g(
    "tscapd_exporters_evicted_total",
    "exporters evicted from the full exporter table (least recently seen first) to admit new ones",
    (s) => s.exportersEvicted ?? 0,
  );
  g(
    "tscapd_held_bytes",
    "bytes of data sets held until their template arrives (all exporters)",
    (s) => s.heldBytes ?? 0,
  );
  g(
    "tscapd_held_sets_dropped_total",
    "held data sets dropped by the bound over all exporters (largest holder first)",
    (s) => s.heldDroppedTotal ?? 0,
  );
  if (sample().clickhouse !== undefined) {
    const ch = (name: string, help: string, key: keyof SinkCounters): void => {
      g(name, help, (s) => s.clickhouse?.[key] ?? 0);
    };
    ch("tscapd_clickhouse_rows_sent_total", "rows inserted into ClickHouse", "sent");
    ch("tscapd_clickhouse_rows_spooled_total", "rows written to the spool (server away or behind)", "spooled");
    ch(
      "tscapd_clickhouse_rows_failed_total",
      "rows given up (refused by the server, spool or back-fill log full, block gone from the files)",
      "failed",
    );
    ch(
      "tscapd_clickhouse_rows_referenced_total",
      "rows the ClickHouse thread could not take, referenced for back-fill from the flow files",
      "referenced",
    );
    ch("tscapd_clickhouse_rows_backfilled_total", "rows back-filled from the flow files", "backfilled");
    ch("tscapd_clickhouse_backfill_pending", "block references waiting to be back-filled", "backfillPending");
    ch(
      "tscapd_clickhouse_rows_duplicate_total",
      "rows of batches found stored already (not inserted again)",
      "duplicates",
    );
    ch("tscapd_clickhouse_spool_batches", "batches waiting in the spool", "spoolBatches");
    ch("tscapd_clickhouse_spool_bytes", "bytes in the spool", "spoolBytes");
  }
  const per = (name: string, help: string, read: (e: ExporterSample) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["exporter"],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of sample().exporters) this.set({ exporter: e.exporter }, read(e));
      },
    });
  };
  per("tscapd_exporter_packets_total", "datagrams per exporter", (e) => e.packets);
  per("tscapd_exporter_flows_total", "flow records per exporter", (e) => e.flows);
  per("tscapd_exporter_bad_packets_total", "malformed datagrams per exporter", (e) => e.badPackets);
  per("tscapd_exporter_sequence_errors_total", "sequence gaps per exporter", (e) => e.sequenceErrors);
  per(
    "tscapd_exporter_template_misses_total",
    "data sets without a known template per exporter",
    (e) => e.templateMisses,
  );
  per(
    "tscapd_exporter_flows_unscaled_total",
    "flows stored unscaled (no sampling rate known)",
    (e) => e.flowsUnscaled ?? 0,
  );
  per(
    "tscapd_exporter_sampling_rates_rejected_total",
    "announced sampling rates outside 1..10000000, ignored",
    (e) => e.ratesRejected ?? 0,
  );
  per(
    "tscapd_exporter_options_mismatch_total",
    "options data sets that did not fit their template, ignored",
    (e) => e.optionsMismatch ?? 0,
  );
  per(
    "tscapd_exporter_length_overruns_total",
    "IPFIX sets running past the message length, decoded",
    (e) => e.lengthOverruns ?? 0,
  );
  new Gauge({
    name: "tscapd_exporter_sampling_rate",
    help: "sampling rate in force per exporter and sampler (sampler -1: exporter-wide), with its options template",
    labelNames: ["exporter", "sampler", "template"],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of sample().exporters)
        for (const s of e.samplers ?? [])
          this.set({ exporter: e.exporter, sampler: String(s.id), template: String(s.templateId) }, s.rate);
    },
  });
  return registry;
}

export interface MetricsServerLimits {
  /** A connection idle this long is closed (ms). */
  readonly idleMs?: number;
  /** A request (headers and body) must arrive within this (ms). */
  readonly requestMs?: number;
  /** Connections at once; more are refused at accept. */
  readonly maxConnections?: number;
}

/** Defaults: a scraper needs one connection and well under a second; slow or idle clients cannot pile up. */
export const METRICS_LIMITS: Required<MetricsServerLimits> = { idleMs: 10_000, requestMs: 5_000, maxConnections: 16 };

/** Serves GET /metrics; resolves once listening. */
export async function startMetricsServer(
  hostPort: string,
  registry: Registry,
  limits: MetricsServerLimits = {},
): Promise<Server> {
  const { host, port } = parseHostPort(hostPort);
  const l = { ...METRICS_LIMITS, ...limits };
  const server = createServer(
    {
      requestTimeout: l.requestMs,
      headersTimeout: l.requestMs,
      keepAliveTimeout: l.idleMs,
      // how often the request timeouts are checked (Node's default lets a slow client stay 30 s longer)
      connectionsCheckingInterval: Math.min(1000, l.requestMs),
    },
    (req, res) => {
      if (req.method !== "GET" || (req.url !== "/metrics" && req.url !== "/")) {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => {
          res.writeHead(500).end(String(err));
        },
      );
    },
  );
  // idle sockets (no request yet, or between requests) are destroyed after idleMs (no 'timeout' listener)
  server.setTimeout(l.idleMs);
  server.maxConnections = l.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
