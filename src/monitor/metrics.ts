// SPDX-License-Identifier: BSD-3-Clause
// Prometheus gauges of the monitors, read from the monitor thread's last sample at scrape time: alerts in
// force, the current rate of each monitor's top keys, keys evicted from the bounded tables, rows not fed,
// periods spooled while PostgreSQL is away, exec runs.

import { Gauge, type Registry } from "prom-client";
import type { MonitorThreadSample } from "./monitor-worker.js";

export function registerMonitorMetrics(registry: Registry, sample: () => MonitorThreadSample): void {
  const per = (name: string, help: string, read: (m: MonitorThreadSample["monitors"][number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ["monitor"],
      registers: [registry],
      collect() {
        this.reset();
        for (const m of sample().monitors) this.set({ monitor: m.name }, read(m));
      },
    });
  };
  per("tscapd_monitor_alerts", "keys above their threshold now (over sent, back not yet)", (m) => m.alerts);
  per("tscapd_monitor_keys_evicted_total", "keys evicted from the monitor's bounded table", (m) => m.evicted);
  per("tscapd_monitor_periods_spooled", "fixed-window periods waiting for PostgreSQL", (m) => m.spooled);
  per("tscapd_monitor_load_failures_total", "failed PostgreSQL loads (retried)", (m) => m.loadFailures);
  new Gauge({
    name: "tscapd_monitor_rate",
    help: "moving-average rate (per second) of the monitor's top keys",
    labelNames: ["monitor", "key"],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of sample().monitors) for (const t of m.top) this.set({ monitor: m.name, key: t.key }, t.rate);
    },
  });
  new Gauge({
    name: "tscapd_monitor_rows_dropped_total",
    help: "flow rows not monitored because the monitor thread was behind",
    registers: [registry],
    collect() {
      this.set(sample().rowsDropped);
    },
  });
  new Gauge({
    name: "tscapd_monitor_exec_total",
    help: "exec runs by result: started, ok, failed, dropped (queue full), limited (per-key rate limit)",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      const e = sample().exec;
      for (const [k, v] of Object.entries(e)) this.set({ result: k }, v);
    },
  });
}
