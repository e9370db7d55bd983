// Top destination ports by bytes of the TCP flows of one file or directory: node examples/top-ports.mjs <path>
import { openFlows, query } from "tsflow";

const path = process.argv[2];
if (!path) throw new Error("usage: node examples/top-ports.mjs <file|dir>");
const r = query({ file: path, filter: "proto tcp", stats: ["dstport/bytes"], top: 5 });
for (const t of r.tables) {
  console.log(`top ${t.element} by ${t.order}`);
  for (const row of t.rows) console.log(`${row.key}\t${row.bytes}\t${row.flows}`);
}
// the same flows, batch by batch: sum the bytes
let bytes = 0;
for (const { batch, rows, count } of openFlows({ file: path, filter: "proto tcp" }, ["inBytes"])) {
  for (let j = 0; j < count; j++) bytes += batch.cols.inBytes[rows[j]];
}
console.log(`total\t${bytes}\t${r.counts.passed}`);
