// SPDX-License-Identifier: BSD-3-Clause
// tsdump --clickhouse URL: the selection (-r/-R/-M, -t/-T, -c, the filter) loaded into ClickHouse instead of
// printed (loader in clickhouse/load.ts). Prints what was loaded and tsdump's Summary line of the flows read.

import { EXIT } from "../cli/common.js";
import { parseClickHouseUrl } from "../clickhouse/client.js";
import { loadIntoClickHouse } from "../clickhouse/load.js";
import { compileFilter, readFilterFile } from "../filter/index.js";
import { intString } from "../format/text.js";
import { summaryLine } from "../format/summary.js";
import { UsageError } from "../util/errors.js";
import type { QueryOptions } from "./options.js";
import type { QueryIO } from "./io.js";
import { timeWindow } from "./query.js";

export async function runClickHouseLoad(o: QueryOptions, url: string, io: QueryIO): Promise<number> {
  if (o.stats.length > 0 || o.aggregate !== undefined || o.aggregateFiveTuple || o.bidirectional !== 0)
    throw new UsageError("--clickhouse loads flows as they are: it does not mix with -s, -A, -a, -b, -B");
  if (o.writeFile !== undefined || o.format !== undefined || o.order !== undefined)
    throw new UsageError("--clickhouse does not mix with -w, -o, -O");
  let target;
  try {
    target = parseClickHouseUrl(url);
  } catch (err) {
    throw new UsageError(`--clickhouse: ${(err as Error).message}`);
  }
  let filter = o.filter;
  if (filter === "" && o.filterFile !== undefined) filter = readFilterFile(o.filterFile);
  if (filter === "") filter = "any";
  compileFilter(filter); // a syntax error exits 254 before anything is sent
  const window = timeWindow(o, io.now());
  const selection = {
    ...(o.readFile !== undefined ? { file: o.readFile } : {}),
    ...(o.readRange !== undefined ? { range: o.readRange } : {}),
    ...(o.multiDir !== undefined ? { multiDir: o.multiDir } : {}),
    ...(window !== undefined ? { window } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    filter,
  };
  if (selection.file === undefined && selection.range === undefined && selection.multiDir === undefined)
    throw new UsageError("no input: give -r file|dir, -R dir or -M dirs");
  let r;
  try {
    r = await loadIntoClickHouse({ selection, target, progress: io.progress === true, err: io.err });
  } catch (err) {
    io.err(`tsdump: ${(err as Error).message}\n`);
    io.err("tsdump: what was loaded stays; run the same command again to load the rest\n");
    return EXIT.DATA;
  }
  io.out.write(
    `ClickHouse ${target.display}, table ${target.table}: ${intString(r.inserted)} flows loaded in ` +
      `${r.insertedBatches} batches, ${intString(r.skipped)} flows in ${r.skippedBatches} batches loaded before\n`,
  );
  if (!o.quiet)
    io.out.write(
      summaryLine(
        { flows: r.flows, bytes: r.bytes, packets: r.packets, firstMs: r.firstMs, lastMs: r.lastMs },
        o.plainNumbers,
      ),
    );
  return r.damaged > 0 ? EXIT.DATA : EXIT.OK;
}
