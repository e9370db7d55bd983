// SPDX-License-Identifier: BSD-3-Clause
// The example systemd unit: the settings an operator relies on when installing it as shipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const unit = readFileSync(join(import.meta.dirname, "../../../contrib/tscapd.service"), "utf8");
const service = (key: string): string[] =>
  unit
    .slice(unit.indexOf("[Service]"), unit.indexOf("[Install]"))
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe("contrib/tscapd.service", () => {
  it("creates flow and template files unreadable by other users (UMask=0027)", () => {
    expect(service("UMask")).toEqual(["0027"]);
  });

  it("stops with SIGTERM (files closed and renamed) and runs unprivileged", () => {
    expect(service("KillSignal")).toEqual(["SIGTERM"]);
    expect(service("User")).toEqual(["tsflow"]);
  });
});
