// SPDX-License-Identifier: BSD-3-Clause
// Marks the package.json `bin` entries executable after tsc emitted them (tsc keeps the shebang, not the mode).
import { chmodSync, existsSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
for (const file of Object.values(pkg.bin ?? {})) {
  const path = new URL(`../${file}`, import.meta.url);
  if (existsSync(path)) chmodSync(path, 0o755);
}
