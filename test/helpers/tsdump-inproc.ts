// Runs tsdump's query driver in this process (no build, no child): parses argv as the CLI does and returns what
// the run wrote. Worker threads need the built bundles, so callers pass `-W 1` unless they test the bundles.
import { StringOutput } from "../../src/format/index.js";
import { buildProgram, parseQueryOptions } from "../../src/dump/options.js";
import { runQuery } from "../../src/dump/query.js";

export async function tsdumpInProcess(
  argv: readonly string[],
  now = Date.now,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new StringOutput();
  let stderr = "";
  const o = parseQueryOptions(buildProgram().exitOverride(), argv);
  const code = await runQuery(o, {
    out,
    err: (t) => {
      stderr += t;
    },
    now,
  });
  return { code, stdout: out.text(), stderr };
}
