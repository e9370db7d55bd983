// SPDX-License-Identifier: BSD-3-Clause
// `tscapd --monitor FILE`: the monitoring configuration, YAML (JSON is YAML too), parsed with the `yaml`
// library keeping node positions so every problem is reported as FILE:LINE:COLUMN. The result is plain data
// (posted to the monitor thread); filters are compiled here once to check them and again where they run.
//
//   monitors:
//     - name: ddos                 # [a-z_][a-z0-9_]*, also the PostgreSQL table of a fixed window
//       filter: proto udp          # nfdump filter, default all flows
//       key: [dstip]               # srcip dstip srcip/24 dstip6/64 srcport dstport proto srcas dstas inif outif exporter
//       value: pps                 # moving average: fps | pps | bps
//       window: 10s
//       over: 50000                # threshold per key (value per second)
//       thresholds: limits.csv     # per-key thresholds: key value(s),over
//       back: 30s                  # below the threshold this long → back
//       exec: [/usr/local/bin/alert, --page]
//     - name: top_talkers
//       key: [srcip]
//       period: 5m                 # fixed window
//       top: 100
//       to: postgresql://tsflow@127.0.0.1:5432/flows   # or a .csv / .ndjson file

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair } from "yaml";
import { compileFilter, FilterSyntaxError } from "../filter/index.js";
import { FlowError } from "../util/errors.js";
import { KeySpec, parseElement, type KeyElement } from "./keys.js";

export type RateValue = "fps" | "pps" | "bps";
export type Order = "flows" | "packets" | "bytes";

export interface MovingConfig {
  readonly value: RateValue;
  /** whole seconds */
  readonly windowSec: number;
  readonly over: number;
  /** per-key thresholds: key label (KeySpec.label) → over */
  readonly thresholds: Readonly<Record<string, number>>;
  readonly backMs: number;
  readonly exec: readonly string[] | undefined;
  readonly execTimeoutMs: number;
  /** at most one run per key and event within this time */
  readonly execIntervalMs: number;
}

export interface WindowConfig {
  readonly periodMs: number;
  readonly top: number;
  readonly order: Order;
  /** postgresql://… URL, or a file path (csv or ndjson by extension) */
  readonly to: string;
  readonly kind: "postgresql" | "csv" | "ndjson";
}

export interface MonitorConfig {
  readonly name: string;
  readonly filter: string;
  readonly key: readonly string[];
  /** heavy-hitter table size (keys) */
  readonly size: number;
  readonly moving: MovingConfig | undefined;
  readonly window: WindowConfig | undefined;
}

export interface MonitorsConfig {
  readonly file: string;
  readonly monitors: readonly MonitorConfig[];
  /** exec'd programs running at once, all monitors */
  readonly execConcurrency: number;
}

/** A configuration problem, its message starting with FILE:LINE:COLUMN. */
export class MonitorConfigError extends FlowError {
  constructor(message: string) {
    super("ERR_MONITOR_CONFIG", message);
  }
}

export const DEFAULT_TABLE_SIZE = 4096;
export const MAX_TABLE_SIZE = 1 << 20;
export const MAX_MONITORS = 64;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `10s`, `5m`, `1h`, `500ms`, or a bare number of seconds → milliseconds; NaN when malformed. */
export function parseDuration(v: unknown): number {
  if (typeof v === "number") return v > 0 ? v * 1000 : NaN;
  if (typeof v !== "string") return NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
  if (!m) return NaN;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "s"]!;
  const ms = Number(m[1]) * mult;
  return ms > 0 ? ms : NaN;
}

/** Reads and checks a configuration file. @throws MonitorConfigError */
export function loadMonitorConfig(file: string): MonitorsConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new MonitorConfigError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseMonitorConfig(text, file);
}

/** Checks a configuration's text; `file` names it in messages and anchors relative paths. */
export function parseMonitorConfig(text: string, file: string): MonitorsConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const p = lc.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new MonitorConfigError(`${at(e.pos[0])}: ${e.message.split("\n")[0]}`);
  }
  const fail = (node: YamlNode | Pair | null | undefined, msg: string): never => {
    const range =
      node && "range" in node ? node.range : node && "key" in node ? (node.key as YamlNode).range : undefined;
    throw new MonitorConfigError(`${range ? at(range[0]) : `${file}:1:1`}: ${msg}`);
  };
  const root = doc.contents;
  if (!isMap(root)) return fail(root, "want a mapping with a list `monitors:`");
  const topKeys = new Set(["monitors", "exec_concurrency"]);
  for (const p of root.items) {
    const k = isScalar(p.key) ? String(p.key.value) : "";
    if (!topKeys.has(k)) fail(p.key, `unknown setting '${k}' (monitors, exec_concurrency)`);
  }
  const list = root.get("monitors", true);
  if (!isSeq(list)) return fail(list ?? root, "`monitors:` must be a list");
  if (list.items.length > MAX_MONITORS) fail(list, `at most ${MAX_MONITORS} monitors`);
  const base = dirname(resolve(file));
  const monitors: MonitorConfig[] = [];
  const names = new Set<string>();
  for (const item of list.items) {
    if (!isMap(item)) fail(item as YamlNode, "each monitor is a mapping (name, key, ...)");
    const m = parseMonitor(item as Parameters<typeof parseMonitor>[0], base, fail);
    if (names.has(m.name)) fail(item as YamlNode, `monitor '${m.name}' defined twice`);
    names.add(m.name);
    monitors.push(m);
  }
  const concNode = root.get("exec_concurrency", true) as YamlNode | undefined;
  let execConcurrency = 4;
  if (concNode !== undefined) {
    const v = isScalar(concNode) ? concNode.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 256)
      fail(concNode, "exec_concurrency: want an integer 1..256");
    execConcurrency = v as number;
  }
  return { file: resolve(file), monitors, execConcurrency };
}

const MONITOR_KEYS = new Set([
  "name",
  "filter",
  "key",
  "size",
  "value",
  "window",
  "over",
  "thresholds",
  "back",
  "exec",
  "exec_timeout",
  "exec_interval",
  "period",
  "top",
  "order",
  "to",
]);

function parseMonitor(
  item: { items: Pair[]; get(k: string, keepScalar: true): unknown },
  base: string,
  fail: (node: YamlNode | Pair | null | undefined, msg: string) => never,
): MonitorConfig {
  const node = (k: string): YamlNode | undefined => item.get(k, true) as YamlNode | undefined;
  const scalar = (k: string): unknown => {
    const n = node(k);
    if (n === undefined) return undefined;
    if (!isScalar(n)) fail(n, `${k}: want a single value`);
    return (n as { value: unknown }).value;
  };
  for (const p of item.items) {
    const k = isScalar(p.key) ? String(p.key.value) : "";
    if (!MONITOR_KEYS.has(k)) fail(p.key as YamlNode, `unknown setting '${k}' (${[...MONITOR_KEYS].join(", ")})`);
  }
  const name = scalar("name");
  if (typeof name !== "string" || !NAME.test(name))
    fail(
      node("name") ?? (item as unknown as YamlNode),
      "name: want [a-z_][a-z0-9_]* (it names a table), at most 63 characters",
    );
  const where = `monitor ${name}`;
  const filterText = scalar("filter") ?? "any";
  if (typeof filterText !== "string") return fail(node("filter"), `${where}: filter: want text`);
  try {
    compileFilter(filterText);
  } catch (err) {
    const msg = err instanceof FilterSyntaxError ? err.message : (err as Error).message;
    fail(node("filter"), `${where}: filter: ${msg}`);
  }
  const keyNode = node("key");
  let key: string[] = [];
  if (keyNode === undefined) fail(item as unknown as YamlNode, `${where}: key: missing (e.g. key: [dstip])`);
  if (isScalar(keyNode)) key = [String(keyNode.value)];
  else if (isSeq(keyNode)) {
    for (const k of keyNode.items) {
      if (!isScalar(k)) fail(k as YamlNode, `${where}: key: want a list of elements`);
      key.push(String((k as { value: unknown }).value));
    }
  } else fail(keyNode, `${where}: key: want a list of elements`);
  if (key.length === 0 || key.length > 8) fail(keyNode, `${where}: key: 1 to 8 elements`);
  const elements: KeyElement[] = [];
  key.forEach((k, i) => {
    try {
      elements.push(parseElement(k));
    } catch (err) {
      const n = isSeq(keyNode) ? (keyNode.items[i] as YamlNode) : keyNode;
      fail(n, `${where}: ${(err as Error).message}`);
    }
  });
  const spec = new KeySpec(elements);
  const size = scalar("size") ?? DEFAULT_TABLE_SIZE;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 16 || size > MAX_TABLE_SIZE)
    fail(node("size"), `${where}: size: want an integer 16..${MAX_TABLE_SIZE}`);

  const duration = (k: string, dflt: number | undefined): number | undefined => {
    const v = scalar(k);
    if (v === undefined) return dflt;
    const ms = parseDuration(v);
    if (!Number.isFinite(ms)) fail(node(k), `${where}: ${k}: want a duration like 10s, 5m, 1h`);
    return ms;
  };

  let moving: MovingConfig | undefined;
  const movingKeys = ["value", "window", "over", "thresholds", "back", "exec", "exec_timeout", "exec_interval"];
  if (movingKeys.some((k) => node(k) !== undefined)) {
    const value = scalar("value") ?? "bps";
    if (value !== "fps" && value !== "pps" && value !== "bps") fail(node("value"), `${where}: value: fps, pps or bps`);
    const windowMs = duration("window", 10_000)!;
    if (windowMs % 1000 !== 0 || windowMs > 3_600_000)
      fail(node("window"), `${where}: window: whole seconds, at most 1h`);
    const over = scalar("over");
    if (typeof over !== "number" || !(over >= 0))
      fail(
        node("over") ?? (item as unknown as YamlNode),
        `${where}: over: want a number (the threshold per key, ${value as string})`,
      );
    const thresholds: Record<string, number> = {};
    const tf = scalar("thresholds");
    if (tf !== undefined) {
      if (typeof tf !== "string") fail(node("thresholds"), `${where}: thresholds: want a file name`);
      const path = resolve(base, tf);
      let text = "";
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        fail(node("thresholds"), `${where}: thresholds: cannot read ${path}: ${(err as Error).message}`);
      }
      readThresholds(text, path, spec, thresholds);
    }
    let exec: string[] | undefined;
    const execNode = node("exec");
    if (execNode !== undefined) {
      if (isScalar(execNode)) exec = [String(execNode.value)];
      else if (isSeq(execNode))
        exec = execNode.items.map((x) =>
          isScalar(x) ? String(x.value) : fail(x as YamlNode, `${where}: exec: want argv strings`),
        );
      else fail(execNode, `${where}: exec: want a program and its arguments as a list (no shell)`);
      if (exec.length === 0 || exec[0] === "") fail(execNode, `${where}: exec: empty`);
    }
    moving = {
      value: value,
      windowSec: windowMs / 1000,
      over: over,
      thresholds,
      backMs: duration("back", windowMs)!,
      exec,
      execTimeoutMs: duration("exec_timeout", 30_000)!,
      execIntervalMs: duration("exec_interval", 60_000)!,
    };
  }

  let window: WindowConfig | undefined;
  if (["period", "top", "order", "to"].some((k) => node(k) !== undefined)) {
    const periodMs = duration("period", 300_000)!;
    if (periodMs % 1000 !== 0 || periodMs > 86_400_000)
      fail(node("period"), `${where}: period: whole seconds, at most 1d`);
    const top = scalar("top") ?? 100;
    if (typeof top !== "number" || !Number.isInteger(top) || top < 1 || top > size / 2)
      fail(node("top"), `${where}: top: want an integer 1..size/2 (${size / 2})`);
    const order = scalar("order") ?? "bytes";
    if (order !== "flows" && order !== "packets" && order !== "bytes")
      fail(node("order"), `${where}: order: flows, packets or bytes`);
    const to = scalar("to");
    if (typeof to !== "string" || to === "")
      return fail(
        node("to") ?? (item as unknown as YamlNode),
        `${where}: to: want a postgresql:// URL or a .csv/.ndjson file`,
      );
    let kind: WindowConfig["kind"];
    if (/^postgres(ql)?:\/\//.test(to)) {
      try {
        new URL(to);
      } catch {
        fail(node("to"), `${where}: to: bad URL`);
      }
      kind = "postgresql";
    } else if (/\.csv$/i.test(to)) kind = "csv";
    else if (/\.(ndjson|jsonl)$/i.test(to)) kind = "ndjson";
    else return fail(node("to"), `${where}: to: want a postgresql:// URL or a file ending in .csv or .ndjson`);
    window = {
      periodMs,
      top: top,
      order: order,
      to: kind === "postgresql" ? to : resolve(base, to),
      kind,
    };
  }
  if (moving === undefined && window === undefined)
    fail(
      item as unknown as YamlNode,
      `${where}: neither a moving average (over, window, ...) nor a fixed window (period, to, ...)`,
    );
  return { name: name, filter: filterText, key, size: size, moving, window };
}

/** Per-key thresholds: CSV lines `value[,value...],over`; `#` comments and a header line are skipped. */
function readThresholds(text: string, path: string, spec: KeySpec, out: Record<string, number>): void {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    const fields = t.split(",");
    const last = fields.pop()!.trim();
    if (i === 0 && !/^\d/.test(last)) return; // header
    const over = Number(last);
    if (last === "" || !Number.isFinite(over) || over < 0)
      throw new MonitorConfigError(`${path}:${i + 1}:${t.length - last.length + 1}: bad threshold '${last}'`);
    try {
      out[spec.labelOf(fields)] = over;
    } catch (err) {
      throw new MonitorConfigError(`${path}:${i + 1}:1: ${(err as Error).message}`);
    }
  });
}

/** Physical columns a set of monitors reads (filters, keys, values, arrival time). */
export function monitorColumns(config: MonitorsConfig): string[] {
  // `flows` is 1 on every decoded record: not sent (a filter on it brings it)
  const cols = new Set<string>(["msecReceived", "inPackets", "inBytes"]);
  for (const m of config.monitors) {
    for (const c of compileFilter(m.filter).columns) cols.add(c);
    for (const c of new KeySpec(m.key.map(parseElement)).columns()) cols.add(c);
  }
  return [...cols];
}
