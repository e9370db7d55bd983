// Real ClickHouse servers for the tests (Debian's clickhouse-server, 18.16 here): each in a temp directory
// with its own XML config on free loopback ports (HTTP, native TCP, interserver), optionally with a cluster
// `tsflow` whose shards are the servers of the same group. Root may run it (the Debian build does not refuse).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function which(tool: string): string | undefined {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool], { encoding: "utf8" });
  const path = r.stdout?.trim() ?? "";
  return r.status === 0 && path.startsWith("/") ? path : undefined;
}

export const CLICKHOUSE_SERVER = which("clickhouse-server");
/** Why ClickHouse tests skip (CI installs the package, so they run there). */
export const CLICKHOUSE_MISSING: string | undefined = CLICKHOUSE_SERVER
  ? undefined
  : "clickhouse-server not installed (apt-get install -y clickhouse-server clickhouse-client)";

/** A free TCP port on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) =>
    srv.close(() => {
      ok();
    }),
  );
  return port;
}

export interface ClickHouse {
  readonly http: number;
  readonly tcp: number;
  readonly url: string;
  /** runs a statement over HTTP; resolves with the response text (throws on an error answer) */
  query(sql: string): Promise<string>;
  /** (re)starts the server process */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stops and removes the directory */
  destroy(): Promise<void>;
}

interface Ports {
  http: number;
  tcp: number;
  inter: number;
}

function configXml(dir: string, p: Ports, cluster: readonly Ports[]): string {
  const shards = cluster
    .map((s) => `<shard><replica><host>127.0.0.1</host><port>${s.tcp}</port></replica></shard>`)
    .join("");
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${p.http}</http_port>
  <tcp_port>${p.tcp}</tcp_port>
  <interserver_http_port>${p.inter}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  ${cluster.length > 0 ? `<remote_servers><tsflow>${shards}</tsflow></remote_servers>` : ""}
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function ports(): Promise<Ports> {
  return { http: await freeTcpPort(), tcp: await freeTcpPort(), inter: await freeTcpPort() };
}

/** Starts `count` servers; with `cluster`, each knows the cluster `tsflow` with one shard per server. */
export async function startClickHouses(count: number, cluster = false): Promise<ClickHouse[]> {
  const all: Ports[] = [];
  for (let i = 0; i < count; i++) all.push(await ports());
  const servers = all.map((p) => makeServer(p, cluster ? all : []));
  await Promise.all(servers.map((s) => s.start()));
  return servers;
}

/** A server with its ports reserved and its config written, not started. */
export async function makeClickHouse(): Promise<ClickHouse> {
  return makeServer(await ports(), []);
}

function makeServer(p: Ports, cluster: readonly Ports[]): ClickHouse {
  const dir = mkdtempSync(join(tmpdir(), "tsflow-clickhouse-"));
  for (const d of ["data", "tmp", "user_files", "format_schemas"]) mkdirSync(join(dir, d));
  writeFileSync(join(dir, "config.xml"), configXml(dir, p, cluster));
  writeFileSync(join(dir, "users.xml"), USERS);
  let proc: ChildProcess | null = null;
  let log = "";
  const url = `http://127.0.0.1:${p.http}/`;
  const query = async (sql: string): Promise<string> => {
    const res = await fetch(url, { method: "POST", body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`clickhouse: ${text}`);
    return text;
  };
  const server: ClickHouse = {
    http: p.http,
    tcp: p.tcp,
    url,
    query,
    async start() {
      if (!CLICKHOUSE_SERVER) throw new Error(CLICKHOUSE_MISSING);
      const child = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(dir, "config.xml")}`], {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: dir,
      });
      proc = child;
      child.stdout.on("data", (d: Buffer) => (log += d.toString()));
      child.stderr.on("data", (d: Buffer) => (log += d.toString()));
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          if ((await query("SELECT 1")).trim() === "1") return;
        } catch {
          // not yet
        }
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`clickhouse-server did not start:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const child = proc;
      proc = null;
      if (child === null || child.exitCode !== null) return;
      const exited = new Promise<void>((ok) =>
        child.on("exit", () => {
          ok();
        }),
      );
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
