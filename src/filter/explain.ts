// SPDX-License-Identifier: BSD-3-Clause
// A readable one-node-per-line dump of a FilterNode tree (tsdump -X prints it above the generated source).

import type { FilterNode } from "./ast.js";

export function explainFilter(n: FilterNode, indent = ""): string {
  const next = `${indent}  `;
  switch (n.t) {
    case "const":
      return `${indent}${n.v ? "true" : "false"}`;
    case "and":
    case "or":
      return `${indent}${n.t.toUpperCase()}\n${n.a.map((x) => explainFilter(x, next)).join("\n")}`;
    case "not":
      return `${indent}NOT\n${explainFilter(n.a, next)}`;
    case "cmp":
      return `${indent}${n.col} ${n.op} ${n.v}`;
    case "bits":
      return `${indent}(${n.col} >>> ${n.shift}) & 0x${n.mask.toString(16)} ${n.op} ${n.v}`;
    case "flags":
      return `${indent}tcpFlags ${n.any ? "any of" : "all of"} 0x${n.mask.toString(16)}`;
    case "set":
      return `${indent}${n.col} in [${n.values.length > 16 ? `${n.values.slice(0, 16).join(" ")} … (${n.values.length})` : n.values.join(" ")}]`;
    case "family":
      return `${indent}${n.col} is ${n.v6 ? "IPv6" : "IPv4"}`;
    case "prefix4":
      return `${indent}${n.col} & 0x${n.mask.toString(16).padStart(8, "0")} == 0x${n.net.toString(16).padStart(8, "0")}`;
    case "prefix6":
      return `${indent}${n.col}6 in ${n.words.map((w) => w.toString(16).padStart(8, "0")).join(":")}/${n.len}`;
    case "list":
      return `${indent}${n.col} in list (${n.v4.length} IPv4, ${n.v6.length} IPv6 prefixes)`;
    case "fn":
      return `${indent}${n.fn}() ${n.op} ${n.v}`;
    case "mplsAny":
      return `${indent}any mpls label == ${n.v}`;
    case "ident":
      return `${indent}ident == ${JSON.stringify(n.value)}`;
  }
}
