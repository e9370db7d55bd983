// SPDX-License-Identifier: BSD-3-Clause
// The source → destination port → destination picture (a Sankey diagram in SVG), drawn from the page's own
// table (tsdump -A srcip,dstport,dstip -O bytes -N): the table stays the accessible form of the same data.

const SVG = "http://www.w3.org/2000/svg";
/** Series and node colours, shared by the graphs and the Sankey picture. */
export const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

interface Node {
  readonly id: string;
  readonly label: string;
  readonly column: number;
  value: number;
  y: number;
  h: number;
  outY: number;
  inY: number;
}

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function human(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return String(v);
}

/** Draws into `box` from the rows of `table` (columns found by their titles). */
export function drawSankey(box: HTMLElement, table: HTMLTableElement): void {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent?.trim() ?? "");
  const col = (name: string): number => heads.indexOf(name);
  const [cs, cp, cd, cb] = [col("Src IP Addr"), col("Dst Pt"), col("Dst IP Addr"), col("Bytes")];
  if (cs < 0 || cp < 0 || cd < 0 || cb < 0) return;
  const nodes = new Map<string, Node>();
  const links = new Map<string, { from: Node; to: Node; value: number; color: string }>();
  const node = (column: number, label: string): Node => {
    const id = `${column}:${label}`;
    let n = nodes.get(id);
    if (!n) {
      n = { id, label, column, value: 0, y: 0, h: 0, outY: 0, inY: 0 };
      nodes.set(id, n);
    }
    return n;
  };
  const srcColor = new Map<string, string>();
  const link = (from: Node, to: Node, value: number, color: string): void => {
    const key = `${from.id}>${to.id}`;
    const l = links.get(key);
    if (l) l.value += value;
    else links.set(key, { from, to, value, color });
  };
  for (const tr of table.querySelectorAll("tbody tr")) {
    const cells = [...tr.querySelectorAll("td")].map((td) => td.textContent?.trim() ?? "");
    const bytes = Number(cells[cb]);
    if (!(bytes > 0)) continue;
    const src = node(0, cells[cs] ?? "");
    const port = node(1, cells[cp] ?? "");
    const dst = node(2, cells[cd] ?? "");
    if (!srcColor.has(src.id)) srcColor.set(src.id, COLORS[srcColor.size % COLORS.length]!);
    const color = srcColor.get(src.id)!;
    src.value += bytes;
    dst.value += bytes;
    port.value += bytes;
    link(src, port, bytes, color);
    link(port, dst, bytes, color);
  }
  if (nodes.size === 0) return;
  const width = Math.max(600, Math.min(box.clientWidth || 1000, 1400));
  const columns = [0, 1, 2].map((c) =>
    [...nodes.values()].filter((n) => n.column === c).sort((a, b) => b.value - a.value),
  );
  const pad = 6;
  const height = Math.max(300, Math.min(900, Math.max(...columns.map((c) => c.length)) * 22));
  const scale = Math.min(...columns.map((c) => (height - pad * (c.length - 1)) / c.reduce((s, n) => s + n.value, 0)));
  const nodeW = 12;
  const xs = [160, width / 2 - nodeW / 2, width - 160 - nodeW];
  for (const c of columns) {
    let y = 0;
    for (const n of c) {
      n.y = y;
      n.h = Math.max(1, n.value * scale);
      n.outY = y;
      n.inY = y;
      y += n.h + pad;
    }
  }
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, "aria-hidden": "true" });
  const sorted = [...links.values()].sort((a, b) => b.value - a.value);
  for (const l of sorted) {
    const w = Math.max(1, l.value * scale);
    const x0 = xs[l.from.column]! + nodeW;
    const x1 = xs[l.to.column]!;
    const y0 = l.from.outY + w / 2;
    const y1 = l.to.inY + w / 2;
    l.from.outY += w;
    l.to.inY += w;
    const mx = (x0 + x1) / 2;
    const path = el("path", {
      d: `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`,
      fill: "none",
      stroke: l.color,
      "stroke-opacity": 0.35,
      "stroke-width": w,
    });
    const title = el("title", {});
    title.textContent = `${l.from.label} → ${l.to.label}: ${human(l.value)} bytes`;
    path.append(title);
    svg.append(path);
  }
  for (const n of nodes.values()) {
    const x = xs[n.column]!;
    svg.append(
      el("rect", {
        x,
        y: n.y,
        width: nodeW,
        height: n.h,
        fill: n.column === 1 ? "#57606a" : (srcColor.get(n.id) ?? "#8c959f"),
      }),
    );
    const t = el("text", {
      x: n.column === 2 ? x + nodeW + 4 : n.column === 0 ? x - 4 : x + nodeW + 4,
      y: n.y + n.h / 2,
      "dominant-baseline": "middle",
      "text-anchor": n.column === 0 ? "end" : "start",
      "font-size": 11,
    });
    t.textContent = `${n.label} (${human(n.value)})`;
    svg.append(t);
  }
  box.replaceChildren(svg);
}
