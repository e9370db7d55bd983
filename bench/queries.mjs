// SPDX-License-Identifier: BSD-3-Clause
// The queries of the tsdump/nfdump comparison (bench/compare-nfdump.mjs) and of bench/tsdump-ab.mjs.

// [label, arguments after -R DIR, output file or null]
export const QUERIES = [
  ["scan `-o null`", ["-o", "null"]],
  ["needle `'src ip 10.0.3.77'`", ["src ip 10.0.3.77"]],
  [
    "needle in a window `-t 2026/01/01.23:00:00-2026/01/01.23:30:00 'src ip 10.0.3.77'`",
    ["-t", "2026/01/01.23:00:00-2026/01/01.23:30:00", "src ip 10.0.3.77"],
  ],
  ["`-s ip/bytes`", ["-s", "ip/bytes"]],
  ["`-s dstport/bytes 'proto tcp and bytes > 1000'`", ["-s", "dstport/bytes", "proto tcp and bytes > 1000"]],
  ["`-s srcas/bytes`", ["-s", "srcas/bytes"]],
  ["`-A srcip,dstip -O bytes -n 20`", ["-A", "srcip,dstip", "-O", "bytes", "-n", "20"]],
  ["`-o csv 'dst port 443' > file`", ["-o", "csv", "dst port 443"]],
];
