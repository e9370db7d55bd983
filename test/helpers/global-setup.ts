// Builds dist/ (Peggy grammar + tsc) once before the tests: the end-to-end tests run the real programs
// (dist/bin/tscapd.js, dist/bin/tsdump.js), and the filter tests import the generated parser.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  const root = resolve(import.meta.dirname, "../..");
  if (process.env["TSFLOW_SKIP_BUILD"] === "1") return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
}
