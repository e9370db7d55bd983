// Builds dist/ (Peggy grammar + tsc) once before the tests: the end-to-end tests run the real programs
// (dist/bin/tscapd.js, dist/bin/tsdump.js), and the filter tests import the generated parser.
// With CI=true the reference tools must be installed: the compatibility tests would otherwise skip and CI pass
// without comparing anything with nfdump.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * The reference tools CI requires (nfdump's package brings nfcapd; tshark made the golden decodes;
 * clickhouse-server runs the ClickHouse tests).
 */
const REFERENCE_TOOLS = ["nfdump", "nfcapd", "tshark", "clickhouse-server"];

function onPath(tool: string): boolean {
  return (process.env["PATH"] ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, tool)));
}

export default function setup(): void {
  if (process.env["CI"] === "true" || process.env["CI"] === "1") {
    const missing = REFERENCE_TOOLS.filter((t) => !onPath(t));
    if (missing.length > 0)
      throw new Error(
        `CI=true: ${missing.join(", ")} not installed (apt-get install -y nfdump tshark clickhouse-server)`,
      );
  }
  const root = resolve(import.meta.dirname, "../..");
  if (process.env["TSFLOW_SKIP_BUILD"] === "1") return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
}
