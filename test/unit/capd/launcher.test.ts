import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expandCommand, Launcher } from "../../../src/capd/launcher.js";
import { AllowList, parsePrefix } from "../../../src/capd/allow.js";
import { parseRepeatTarget } from "../../../src/capd/repeater.js";

const vars = {
  file: "/flows/2026/11/23/tscapd.202611231205",
  dir: "/flows",
  time: "202611231205",
  unix: 1795435500,
  ident: "edge 1",
};

describe("-x expansion", () => {
  it("expands every placeholder per word without a shell", () => {
    const { argv, unknown } = expandCommand("/bin/process %f --dir=%d %t %u %i 100%% %q", vars);
    expect(argv).toEqual([
      "/bin/process",
      vars.file,
      "--dir=/flows",
      "202611231205",
      "1795435500",
      "edge 1",
      "100%",
      "%q",
    ]);
    expect(unknown).toEqual(["%q"]);
  });

  it("runs the command with the file name as one argument, even with shell metacharacters", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsflow-x-"));
    const out = join(dir, "out.txt");
    const errors: string[] = [];
    const launcher = new Launcher(
      `${process.execPath} -e require("fs").writeFileSync(process.argv[1],process.argv.slice(2).join("|")) ${out} %f %i`,
      {
        onError: (m) => errors.push(m),
      },
    );
    launcher.launch({ ...vars, file: "/tmp/a b;$(rm -rf x)" });
    await launcher.idle();
    expect(errors).toEqual([]);
    expect(readFileSync(out, "utf8")).toBe("/tmp/a b;$(rm -rf x)|edge 1");
  });

  it("reports a missing program instead of throwing", async () => {
    const errors: string[] = [];
    const launcher = new Launcher("/nonexistent/program %f", { onError: (m) => errors.push(m) });
    launcher.launch(vars);
    await launcher.idle();
    expect(errors[0]).toMatch(/cannot run \/nonexistent\/program/);
  });
});

describe("allow-list", () => {
  it("matches IPv4 and IPv6 prefixes", () => {
    const list = new AllowList(["192.0.2.0/24", "2001:db8::/32", "127.0.0.1"]);
    expect(list.allows(false, 0xc0000263)).toBe(true);
    expect(list.allows(false, 0xc0000363)).toBe(false);
    expect(list.allows(false, 0x7f000001)).toBe(true);
    expect(list.allows(true, 0, [0x20010db8, 1, 2, 3])).toBe(true);
    expect(list.allows(true, 0, [0x20010db9, 0, 0, 0])).toBe(false);
    expect(new AllowList([]).allows(false, 1)).toBe(true);
  });
  it("rejects bad prefixes with the text", () => {
    expect(() => parsePrefix("10.0.0.0/33")).toThrow(/10\.0\.0\.0\/33/);
    expect(() => parsePrefix("nonsense")).toThrow(/nonsense/);
  });
});

describe("-R", () => {
  it("parses host[/port]", () => {
    expect(parseRepeatTarget("127.0.0.1/2056")).toEqual({ host: "127.0.0.1", port: 2056 });
    expect(parseRepeatTarget("::1")).toEqual({ host: "::1", port: 9995 });
    expect(() => parseRepeatTarget("127.0.0.1/0")).toThrow();
  });
});
