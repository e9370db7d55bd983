// SPDX-License-Identifier: BSD-3-Clause
// Preloaded by bench/tsdump-ab.mjs --runq (node -r): at exit, writes the main thread's time spent runnable but
// waiting for a CPU (Linux /proc/thread-self/schedstat, ns) to stderr as `runq NS`. On a shared machine the wall
// time minus that estimates the wall time on a quiet one (the time the main thread ran or waited for its own
// reasons: I/O, the read-ahead thread).
"use strict";
// eslint-disable-next-line @typescript-eslint/no-require-imports -- preloaded with node -r: CommonJS
const fs = require("node:fs");
process.on("exit", () => {
  try {
    const f = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    process.stderr.write(`runq ${f[1]}\n`);
  } catch {
    // not Linux: nothing
  }
});
