// SPDX-License-Identifier: BSD-3-Clause
// A statistic table's rows as plain values: what tsdump prints and the library's query() returns.

import type { StatRow } from "../format/stat-table.js";
import type { StatTable } from "../stats/index.js";

export function statRows(table: StatTable): StatRow[] {
  return table.rows.map((r) => ({
    key: r.keyText,
    proto: r.proto,
    first: r.first,
    last: r.last,
    flows: r.flows,
    packets: r.packets,
    bytes: r.bytes,
    ...(r.flowsFix !== 0 || r.packetsFix !== 0 || r.bytesFix !== 0
      ? { flowsFix: r.flowsFix, packetsFix: r.packetsFix, bytesFix: r.bytesFix }
      : {}),
  }));
}
