// SPDX-License-Identifier: BSD-3-Clause
// A throw-away ClickHouse server for the benchmarks: Debian's clickhouse-server in a temp directory on free
// loopback ports (HTTP, native TCP, interserver), optionally at a lower CPU priority (`nice`).

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** Starts a server; resolves when it answers. `nice` (0–19) lowers its priority. */
export async function startClickHouse({ nice = 0 } = {}) {
  const home = mkdtempSync(join(tmpdir(), "tsflow-bench-ch-"));
  for (const d of ["data", "tmp", "user_files", "format_schemas"]) mkdirSync(join(home, d));
  const http = await freePort();
  const tcp = await freePort();
  const inter = await freePort();
  writeFileSync(
    join(home, "config.xml"),
    `<?xml version="1.0"?><yandex><logger><level>warning</level><console>1</console></logger>
<http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><interserver_http_port>${inter}</interserver_http_port>
<listen_host>127.0.0.1</listen_host><path>${home}/data/</path><tmp_path>${home}/tmp/</tmp_path>
<user_files_path>${home}/user_files/</user_files_path><format_schema_path>${home}/format_schemas/</format_schema_path>
<mark_cache_size>268435456</mark_cache_size><users_config>${home}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database><timezone>UTC</timezone></yandex>`,
  );
  writeFileSync(
    join(home, "users.xml"),
    `<?xml version="1.0"?><yandex><profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas></yandex>`,
  );
  const argv = [`--config-file=${join(home, "config.xml")}`];
  const server =
    nice > 0
      ? spawn("nice", ["-n", String(nice), "clickhouse-server", ...argv], { stdio: "ignore" })
      : spawn("clickhouse-server", argv, { stdio: "ignore" });
  const url = `http://127.0.0.1:${http}/`;
  const query = async (sql) => {
    // no keep-alive: the event loop may sleep in execFileSync between queries, and an idle socket goes stale unseen
    const res = await fetch(url, { method: "POST", body: sql, headers: { Connection: "close" } });
    const text = await res.text();
    if (!res.ok) throw new Error(text);
    return text.trim();
  };
  for (let i = 0; ; i++) {
    try {
      await query("SELECT 1");
      break;
    } catch {
      if (i > 300) throw new Error("clickhouse-server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const tick = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
  return {
    url,
    tcp,
    pid: server.pid,
    query,
    /** CPU seconds the server has used so far (nice exec()s the server: same pid) */
    cpu() {
      const f = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(f[11]) + Number(f[12])) / tick;
    },
    async stop() {
      server.kill("SIGTERM");
      await new Promise((r) => server.on("exit", r));
      rmSync(home, { recursive: true, force: true });
    },
  };
}
