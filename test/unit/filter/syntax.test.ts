// The examples of reference/nfdump.md §3.5 (valid and rejected), error messages with carets and
// "did you mean", ERR_FILTER_UNSUPPORTED for nfdump primitives over fields we do not store, @include and -f.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkFilter,
  compileFilter,
  FilterFileError,
  FilterSyntaxError,
  FilterUnsupportedError,
  parseFilter,
  readFilterFile,
} from "../../../src/filter/index.js";
import type { RawExpr } from "../../../src/filter/ast.js";
import { FlowError } from "../../../src/util/errors.js";
import { VALID_BOTH, makeBatch, ROWS } from "./fixture.js";

function errorOf(text: string): FilterSyntaxError {
  try {
    compileFilter(text);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

const UNSUPPORTED_BOTH = [
  "count < 5",
  "ingress acl 10",
  "client latency > 10",
  'payload content "GET"',
  'payload regex "GET|POST" i',
  "payload ja3 defined",
];
const VALID_MASTER = [
  "first seen > 2024-07-11T09:15:00",
  "last seen <= '2024-07-11T10:00'",
  "bgp next ip 192.0.2.1",
  "exporter sysid 2",
  "engine type 0",
  "icmp type 8",
  "min ttl < 5",
  "src nat ip 10.0.0.1",
  "nat pblock start > 1000",
  "flags =S",
  "flags EC",
  "proto ipv6",
  "ip in [10.0.0.1 10.0.0.2, 192.168.0.0/16]",
];
const UNSUPPORTED_MASTER = [
  "ttl > 10",
  "ttl equal",
  "ethertype 0x86dd",
  "tun ip 10.0.0.1",
  "port in nat pblock",
  "asa denied ingress",
  "asa user bob",
  "payload dns name example",
  "payload tls sni example.com",
  "pf action pass",
];
const VALID_171 = [
  "port 80 && proto tcp",
  "port 80 || port 443",
  "inet",
  "inet6",
  "bgpnext ip 192.0.2.1",
  "sysid 2",
  "nfversion 9",
  "src and dst net 192.0.2.0/24",
  "src or dst port 53",
  "src xip 10.0.0.1",
  "src nport 1024",
  "pblock start > 1000",
];
const UNSUPPORTED_171 = ["tunip 10.0.0.1", "port in pblock", "flowlabel abc", "src geo DE", "dst tunip 10.0.0.1"];

const REJECTED: [string, string, RegExp][] = [
  ["port 80-443", "ERR_FILTER_SYNTAX", /expected in, number but "80-443" found/],
  ["portrange 80-443", "ERR_FILTER_SYNTAX", /but "portrange" found/],
  ["tcp and port 80", "ERR_FILTER_SYNTAX", /but "tcp" found/],
  ["ip 10.0.0.256", "ERR_FILTER_VALUE", /cannot parse ip address "10\.0\.0\.256"/],
  ["net 10.0.0.0/33", "ERR_FILTER_VALUE", /too many netbits/],
  ["net 2001:db8::/129", "ERR_FILTER_VALUE", /too many netbits/],
  ["port 70000", "ERR_FILTER_VALUE", /port 70000 out of range 0\.\.65535/],
  ["port in [80 70000]", "ERR_FILTER_VALUE", /port 70000 out of range/],
  ["proto foo", "ERR_FILTER_VALUE", /unknown protocol "foo"/],
  ["proto 256", "ERR_FILTER_VALUE", /protocol number 256 out of range/],
  ["src ip", "ERR_FILTER_SYNTAX", /but end of filter found/],
  ["port 80 and", "ERR_FILTER_SYNTAX", /but end of filter found/],
  ["foo", "ERR_FILTER_SYNTAX", /but "foo" found/],
  ["vlan > 10", "ERR_FILTER_SYNTAX", /expected number but ">" found/],
  ["if > 3", "ERR_FILTER_SYNTAX", /expected number but ">" found/],
  ["mask > 24", "ERR_FILTER_SYNTAX", /expected number but ">" found/],
  ["src ip 10.0.0.1 dst ip 10.0.0.2", "ERR_FILTER_SYNTAX", /but "dst" found/],
  ["last seen < 1700000000", "ERR_FILTER_VALUE", /invalid ISO8601 time string/],
  ["flags 64", "ERR_FILTER_VALUE", /flags 64 out of range 0\.\.63/],
  ["flags SZ", "ERR_FILTER_VALUE", /unknown tcp flag "Z"/],
  ["tos 256", "ERR_FILTER_VALUE", /tos 256 out of range/],
  ["mac 00:11:22:33:44", "ERR_FILTER_VALUE", /invalid mac address/],
  ["in ip 10.0.0.1", "ERR_FILTER_VALUE", /direction "in" is not allowed with ip/],
  ["src packets > 1", "ERR_FILTER_VALUE", /direction "src" is not allowed with packets/],
  ["prev port 80", "ERR_FILTER_VALUE", /direction "prev" is not allowed/],
  ["ip example.com", "ERR_FILTER_VALUE", /host names are not resolved/],
  ["net 2001:db8:: ffff::", "ERR_FILTER_VALUE", /netmask syntax valid only for ipv4/],
  ["mpls label11 5", "ERR_FILTER_VALUE", /mpls label out of range 1\.\.10/],
  ["mpls exp1 8", "ERR_FILTER_VALUE", /mpls exp value 8 out of range/],
  ["ident 'a b'", "ERR_FILTER_VALUE", /illegal ident string/],
  ["fwdstat Nope", "ERR_FILTER_VALUE", /unknown forwarding status/],
  ["(port 80", "ERR_FILTER_SYNTAX", /expected and, or, \), .* but end of filter found/],
  ["port 80)", "ERR_FILTER_SYNTAX", /but "\)" found/],
  ["ip in [10.0.0.1, ]", "ERR_FILTER_SYNTAX", /found/],
  ["bytes > 1 k", "ERR_FILTER_SYNTAX", /but "k" found/],
  ["proto (tcp)", "ERR_FILTER_SYNTAX", /found/],
];

describe("reference §3.5 examples", () => {
  it.each([...VALID_BOTH, ...VALID_MASTER, ...VALID_171])("accepts %j", (text) => {
    const f = compileFilter(text);
    expect(typeof f.source).toBe("string");
    // and the compiled filter runs
    const batch = makeBatch(ROWS);
    expect(f.scan(batch, new Uint32Array(batch.length), "testsrc")).toBeGreaterThanOrEqual(0);
    expect(() => {
      checkFilter(text);
    }).not.toThrow();
  });

  it.each([...UNSUPPORTED_BOTH, ...UNSUPPORTED_MASTER, ...UNSUPPORTED_171])("says %j is not supported yet", (text) => {
    const err = errorOf(text);
    expect(err).toBeInstanceOf(FilterUnsupportedError);
    expect(err.code).toBe("ERR_FILTER_UNSUPPORTED");
    expect(err.message).toMatch(/not supported yet/);
    expect(err.location.start.offset).toBe(0);
  });

  it.each(REJECTED)("rejects %j", (text, code, message) => {
    const err = errorOf(text);
    expect(err).toBeInstanceOf(FlowError);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message[0]).toBe(err.message[0]!.toLowerCase());
  });
});

describe("grammar", () => {
  const shape = (text: string): unknown => {
    const strip = (e: RawExpr): unknown =>
      e.type === "prim"
        ? `${e.dir ? `${e.dir.s} ` : ""}${e.prim}${e.cmp ? ` ${e.cmp}` : ""}${e.value && e.value.kind !== "list" && e.value.kind !== "prefix" ? ` ${e.value.kind === "num" ? e.value.v : e.value.s}` : ""}`
        : e.type === "not"
          ? { not: strip(e.expr) }
          : { [e.type]: [strip(e.left), strip(e.right)] };
    return strip(parseFilter(text).tree);
  };

  it.each([
    ["port 1 or port 2 and port 3", { or: ["port 1", { and: ["port 2", "port 3"] }] }],
    ["not port 1 and port 2", { and: [{ not: "port 1" }, "port 2"] }],
    ["port 1 or port 2 or port 3", { or: [{ or: ["port 1", "port 2"] }, "port 3"] }],
    ["not not port 1", { not: { not: "port 1" } }],
    ["(port 1 or port 2) and port 3", { and: [{ or: ["port 1", "port 2"] }, "port 3"] }],
    ["src and dst port gt 1k", "src and dst port gt 1000"],
    ["dst or src ip 1.2.3.4", "src or dst ip 1.2.3.4"],
    ["bytes >= 0x10", "bytes ge 16"],
    ["packets == 2m", "packets eq 2000000"],
    ["icmp-type 8", "icmptype 8"],
    ["in src mac 00:11:22:33:44:55", "in src mac 00:11:22:33:44:55"],
    ["previous as 1", "prev as 1"],
    ["Src IP 10.0.0.1", "src ip 10.0.0.1"],
  ])("parses %j", (text, want) => {
    expect(shape(text)).toEqual(want);
  });
});

describe("error messages", () => {
  it("puts a caret under the offending value", () => {
    expect(errorOf("src port 70000 and proto tcp").format()).toBe(
      [
        "filter: line 1, column 10: port 70000 out of range 0..65535",
        "  src port 70000 and proto tcp",
        "           ^^^^^",
      ].join("\n"),
    );
  });

  it("names the line and column of multi-line filters", () => {
    const err = errorOf("proto tcp\n  and port 80\n  and net 10.0.0.0/40");
    expect(err.location.start).toEqual({ offset: 43, line: 3, column: 20 });
    expect(err.format()).toBe(
      [
        "filter: line 3, column 20: too many netbits for this ip address: /40 (max 32)",
        "    and net 10.0.0.0/40",
        "                     ^^",
      ].join("\n"),
    );
  });

  it("lists what was expected for syntax errors", () => {
    const err = errorOf("src port > ");
    expect(err.code).toBe("ERR_FILTER_SYNTAX");
    expect(err.expected).toContain("number");
    expect(err.format()).toBe(
      [
        "filter: line 1, column 12: syntax error: expected number but end of filter found",
        "  src port > ",
        "             ^",
      ].join("\n"),
    );
  });

  it.each([
    ["prot tcp", "proto"],
    ["hots 10.0.0.1", "host"],
    ["scr port 80", "src"],
    ["port 80 adn proto tcp", "and"],
    ["tcp and port 80", "proto tcp"],
    ["proto tcp and byts > 10", "bytes"],
    ["dts port 53", "dst"],
  ])("suggests a near-miss keyword for %j", (text, suggestion) => {
    const err = errorOf(text);
    expect(err.suggestion).toBe(suggestion);
    expect(err.format()).toContain(`did you mean "${suggestion}"?`);
  });

  it("suggests near-miss values", () => {
    expect(errorOf("proto tpc").suggestion).toBe("proto tcp");
    expect(errorOf("proto udpp").format()).toContain('did you mean "proto udp"?');
    expect(errorOf("fwdstat drpo").suggestion).toBe("fwdstat drop");
  });

  it("gives no suggestion for words far from any keyword", () => {
    expect(errorOf("xyzzyplugh 5").suggestion).toBeUndefined();
  });
});

describe("filter files and @include", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsflow-filter-"));

  it("reads a multi-line filter file with comments", () => {
    const path = join(dir, "web.flt");
    writeFileSync(path, "# web traffic\nproto tcp\n  and port in [80 443] # http(s)\n");
    const f = compileFilter(readFilterFile(path));
    const batch = makeBatch(ROWS);
    const sel = new Uint32Array(batch.length);
    expect([...sel.subarray(0, f.scan(batch, sel))]).toEqual([0, 3, 5]);
  });

  it("fails with ERR_FILTER_FILE when the file cannot be read", () => {
    expect(() => readFilterFile(join(dir, "missing.flt"))).toThrow(FilterFileError);
    try {
      readFilterFile(join(dir, "missing.flt"));
    } catch (err) {
      expect((err as FilterFileError).code).toBe("ERR_FILTER_FILE");
      expect((err as Error).message).toMatch(/^filter: cannot read filter file .*missing\.flt: ENOENT$/);
    }
  });

  it("expands @include (relative to the including file, nested)", () => {
    writeFileSync(join(dir, "inner.flt"), "port 443 # inner\n");
    writeFileSync(join(dir, "outer.flt"), "proto tcp and\n@include inner.flt\n");
    const f = compileFilter(`@include ${join(dir, "outer.flt")} or proto udp`);
    const batch = makeBatch(ROWS);
    const sel = new Uint32Array(batch.length);
    expect([...sel.subarray(0, f.scan(batch, sel))]).toEqual([0, 1, 4]);
    // from a -f file: relative to its folder
    expect(compileFilter("@include outer.flt", { baseDir: dir }).tree).toEqual(
      compileFilter("proto tcp and port 443").tree,
    );
  });

  it("rejects missing and too deeply nested includes", () => {
    const missing = errorOf(`proto tcp and @include ${join(dir, "nope.flt")}`);
    expect(missing.code).toBe("ERR_FILTER_INCLUDE");
    expect(missing.message).toMatch(/cannot open include file .*nope\.flt: ENOENT/);
    const self = join(dir, "self.flt");
    writeFileSync(self, `@include ${self}\n`);
    const deep = errorOf(`@include ${self}`);
    expect(deep.code).toBe("ERR_FILTER_INCLUDE");
    expect(deep.message).toMatch(/nested more than 10 deep/);
  });
});
