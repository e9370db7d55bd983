// SPDX-License-Identifier: BSD-3-Clause
// tsweb's front end: time presets on every page, and the overview graphs (uPlot) drawn from /api/overview.
// A drag across a graph, a preset or the series choice changes the page's URL (t=, by=): the URL is the state.
// Times are written in tsdump's -t syntax in the server's time zone (data-zone), as tsdump reads them.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { COLORS, drawSankey } from "./sankey.js";

interface Overview {
  times: number[];
  step: number;
  files: number;
  zone: string;
  errors: string[];
  proto: { names: string[]; flows: (number | null)[][]; packets: (number | null)[][]; bytes: (number | null)[][] };
  exporter: { names: string[]; flows: (number | null)[][]; packets: (number | null)[][] };
  totals: { flows: number; packets: number; bytes: number };
  totalsText: { flows: string; packets: string; bytes: string };
}

const zone = document.body.dataset["zone"] || "UTC";

/** ms → `YYYY/MM/dd.hh:mm:ss` in the server's zone. */
export function tsdumpTime(ms: number): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const p = (t: string): string => parts.find((x) => x.type === t)?.value ?? "00";
  return `${p("year")}/${p("month")}/${p("day")}.${p("hour")}:${p("minute")}:${p("second")}`;
}

/** An axis label in the server's zone, 24-hour: `hh:mm`, or `MM-dd hh:mm` over spans longer than a day. */
function axisTime(ms: number, long: boolean): string {
  const t = tsdumpTime(ms);
  return long ? `${t.slice(5, 7)}-${t.slice(8, 10)} ${t.slice(11, 16)}` : t.slice(11, 16);
}

function windowText(startMs: number, endMs: number): string {
  return `${tsdumpTime(startMs)}-${tsdumpTime(endMs)}`;
}

/** The preset buttons next to each time field: they fill t and submit the form. */
function addPresets(): void {
  const presets: [string, number][] = [
    ["Last hour", 3600e3],
    ["Last day", 86400e3],
    ["Last week", 7 * 86400e3],
  ];
  for (const span of document.querySelectorAll<HTMLElement>(".presets[data-for]")) {
    const input = document.getElementById(span.dataset["for"] ?? "") as HTMLInputElement | null;
    const form = input?.form;
    if (!input || !form) continue;
    const add = (label: string, value: () => string): void => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () => {
        input.value = value();
        form.requestSubmit();
      });
      span.append(b);
    };
    for (const [label, ms] of presets) {
      add(label, () => {
        const now = Date.now();
        return windowText(now - ms, now);
      });
    }
    add("All", () => "");
  }
}

/** Exact decimal text grouped in thousands as toLocaleString("en-US") groups (the totals may pass 2^53). */
function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtRate(v: number | null): string {
  if (v === null) return "–";
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(v < 10 ? 2 : 0);
}

function sum(a: readonly (number | null)[]): number {
  let s = 0;
  for (const v of a) s += v ?? 0;
  return s;
}

/** Navigates to the overview of [startMs, endMs] (a drag on a graph). */
function goToWindow(startMs: number, endMs: number): void {
  const q = new URLSearchParams(location.search);
  q.set("t", windowText(Math.floor(startMs / 1000) * 1000, Math.ceil(endMs / 1000) * 1000));
  location.assign(`/?${q.toString()}`);
}

function chart(parent: HTMLElement, title: string, o: Overview, names: string[], series: (number | null)[][]): uPlot {
  const fig = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  const box = document.createElement("div");
  box.className = "chart";
  // screen readers get the per-series averages instead of the picture
  const span = o.times.length > 0 ? o.step * o.times.length : 0;
  box.setAttribute("role", "img");
  box.setAttribute(
    "aria-label",
    `${title}: ` +
      names.map((n, i) => `${n} average ${fmtRate(span > 0 ? (sum(series[i] ?? []) * o.step) / span : 0)}`).join(", "),
  );
  fig.append(cap, box);
  parent.append(fig);
  const width = Math.max(320, Math.min(parent.clientWidth || 960, 1400));
  return new uPlot(
    {
      width,
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true } },
      axes: [
        { values: (_u, splits) => splits.map((ts) => axisTime(ts * 1000, o.step * o.times.length > 86400)) },
        { values: (_u, vals) => vals.map((v) => fmtRate(v)), size: 60 },
      ],
      series: [
        { value: (_u: uPlot, ts: number | null) => (ts === null ? "–" : tsdumpTime(ts * 1000)) },
        ...names.map((n, i) => ({
          label: n,
          stroke: COLORS[i % COLORS.length]!,
          width: 1.5,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => fmtRate(v),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const a = u.posToVal(u.select.left, "x");
            const b = u.posToVal(u.select.left + u.select.width, "x");
            goToWindow(a * 1000, b * 1000);
          },
        ],
      },
    },
    [o.times, ...series] as uPlot.AlignedData,
    box,
  );
}

async function drawOverview(): Promise<void> {
  const root = document.getElementById("charts");
  if (!root) return;
  const q = new URLSearchParams(location.search);
  const by = q.get("by") === "exporter" ? "exporter" : "proto";
  const api = new URLSearchParams();
  const t = q.get("t");
  if (t) api.set("t", t);
  const load = async (): Promise<Overview | undefined> => {
    const r = await fetch(`/api/overview?${api.toString()}`, { credentials: "same-origin" });
    if (!r.ok) {
      const e = (await r.json().catch(() => ({}))) as { error?: string };
      root.innerHTML = "";
      const p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = e.error ?? `overview: HTTP ${r.status}`;
      root.append(p);
      return undefined;
    }
    return (await r.json()) as Overview;
  };
  const o = await load();
  if (!o) return;
  root.innerHTML = "";
  const info = document.createElement("p");
  info.className = "summary";
  info.id = "overview-summary";
  info.textContent =
    `${o.files} files, step ${o.step} s — total flows: ${grouped(o.totalsText.flows)}, ` +
    `total bytes: ${grouped(o.totalsText.bytes)}, total packets: ${grouped(o.totalsText.packets)}`;
  root.append(info);
  if (o.times.length === 0) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = "No files in this window";
    root.append(p);
    return;
  }
  const plots: [uPlot, (x: Overview) => (number | null)[][]][] = [];
  const add = (title: string, names: string[], pick: (x: Overview) => (number | null)[][]): void => {
    plots.push([chart(root, title, o, names, pick(o)), pick]);
  };
  if (by === "exporter") {
    add("Flows/s per exporter", o.exporter.names, (x) => x.exporter.flows);
    add("Packets/s per exporter", o.exporter.names, (x) => x.exporter.packets);
  } else {
    add("Flows/s per protocol", o.proto.names, (x) => x.proto.flows);
    add("Packets/s per protocol", o.proto.names, (x) => x.proto.packets);
    add("Bytes/s per protocol", o.proto.names, (x) => x.proto.bytes);
  }
  // no window given: follow the newest files as the collector closes them
  if (!t) {
    setInterval(() => {
      void load().then((n) => {
        if (!n) return;
        for (const [u, pick] of plots) {
          const series = pick(n);
          if (series.length === u.series.length - 1) u.setData([n.times, ...series] as uPlot.AlignedData);
        }
      });
    }, 60_000);
  }
}

addPresets();
if (document.body.dataset["view"] === "sankey") {
  const box = document.getElementById("sankey");
  const table = document.querySelector("table");
  if (box && table) drawSankey(box, table);
}
if (document.body.dataset["view"] === "overview") {
  // the radio buttons apply at once
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="by"]')) {
    r.addEventListener("change", () => r.form?.requestSubmit());
  }
  void drawOverview();
}
