// Truth tables per primitive (nfdump's nftest): each expression against the hand-built batch of fixture.ts,
// expecting exactly the listed rows — from the compiled scan and from the interpreter.
import { describe, expect, it } from "vitest";
import { checkFilter, compileFilter, FilterSyntaxError } from "../../../src/filter/index.js";
import { UNKNOWN_ZONE } from "../../../src/record/zone.js";
import { makeBatch, ROWS } from "./fixture.js";

const batch = makeBatch(ROWS);
const ALL = [0, 1, 2, 3, 4, 5, 6, 7];
const but = (...rows: number[]): number[] => ALL.filter((r) => !rows.includes(r));

function run(expr: string, ident?: string): { compiled: number[]; interpreted: number[] } {
  const f = compileFilter(expr);
  const sel = new Uint32Array(batch.length);
  const k = f.scan(batch, sel, ident);
  const interpreted: number[] = [];
  for (let i = 0; i < batch.length; i++) if (f.matchRow(batch, i, ident)) interpreted.push(i);
  return { compiled: [...sel.subarray(0, k)], interpreted };
}

const TABLE: [string, number[]][] = [
  ["any", ALL],
  ["not any", []],
  ["", ALL],
  ["  # only a comment", ALL],
  // protocol and family
  ["proto tcp", [0, 3, 5]],
  ["proto udp", [1, 4]],
  ["proto icmp", [2]],
  ["proto icmp6", [7]],
  ["proto 47", [6]],
  ["proto gre", [6]],
  ["proto TCP", [0, 3, 5]],
  ["ipv4", [0, 1, 2, 5, 6]],
  ["inet", [0, 1, 2, 5, 6]],
  ["ipv6", [3, 4, 7]],
  ["inet6", [3, 4, 7]],
  // addresses
  ["ip 10.0.0.1", [0, 1]],
  ["host 10.0.0.1", [0, 1]],
  ["src ip 10.0.0.1", [0]],
  ["dst host 10.0.0.1", [1]],
  ["src and dst ip 10.0.0.1", []],
  ["src or dst ip 10.0.0.1", [0, 1]],
  ["ip 2001:db8::1", [3, 4]],
  ["src ip 2001:db8::1", [3]],
  ["dst ip 2001:db8::1", [4]],
  ["ip 0.0.0.0", [6]],
  ["ip 255.255.255.255", [6]],
  ["net 10.0.0.0/8", [0, 1, 2, 5]],
  ["src net 10.0.0.0/8", [0, 2]],
  ["dst net 10.0.0.0/8", [1, 5]],
  ["src and dst net 10.0.0.0/8", []],
  ["dst and src net 10.0.0.0/8", []],
  ["src or dst net 10.0.0.0/24", [0, 1, 5]],
  ["net 10.0.0.0 255.255.255.0", [0, 1, 5]],
  ["src net 10.0.0.0 255.0.0.0", [0, 2]],
  ["net 0.0.0.0/0", [0, 1, 2, 5, 6]],
  ["net 0.0.0.0/8", [6]],
  ["net 2001:db8::/32", [3, 4]],
  ["dst net 2001:db8:1::/48", [3]],
  ["net ::/0", [3, 4, 7]],
  ["net fe80::/10", [4]],
  ["dst net ff00::/8", [7]],
  ["ip in [10.0.0.1 8.8.8.8]", [0, 1, 2]],
  ["src ip in [10.0.0.0/16, 2001:db8::/32]", [0, 3]],
  ["dst ip in [2001:db8::/32 255.255.255.255]", [3, 4, 6]],
  ["ip in [::1]", [7]],
  ["ip in [0.0.0.0/8]", [6]],
  ["host in [192.168.1.1]", [0, 1]],
  // ports
  ["port 443", [0]],
  ["port 123", [4]],
  ["src port 53", [1]],
  ["dst port < 1024", [0, 4, 5, 6]],
  ["port > 1023", [0, 1, 2, 3, 5, 7]],
  ["src and dst port 123", [4]],
  ["port in [53 80]", [1, 3, 5]],
  ["dst port in [80, 443]", [0, 5]],
  ["src port in [123 40000]", [4, 5]],
  ["port 0", [2, 6, 7]],
  ["port eq 80", [3, 5]],
  ["port ge 50000", [3]],
  ["port in [1 2 3 4 5 6 7 8 9 10 11 12 443]", [0]],
  // flags (imply tcp; under `not` nfdump tests "any listed flag set")
  ["flags S", [0, 3]],
  ["flags SA", [0]],
  ["flags AS", [0]],
  ["flags F", [5]],
  ["flags X", []],
  ["not flags S", [1, 2, 4, 5, 6, 7]],
  ["not flags AS", [1, 2, 4, 6, 7]],
  ["not not flags AS", [0]],
  ["flags 0x12", [0]],
  ["flags > 16", [0, 5]],
  ["flags 2", [3]],
  // tos
  ["tos 0", [0, 2, 4, 6, 7]],
  ["dst tos 4", [0]],
  ["tos > 50", [1, 5]],
  ["src and dst tos 72", [5]],
  // counters
  ["packets > 5", [0, 3]],
  ["packets 1", [1, 6, 7]],
  ["bytes > 1k", [0, 3, 5]],
  ["bytes >= 1M", [3]],
  ["bytes > 2999999", [3]],
  ["bytes < 100", [1, 7]],
  ["in bytes 1500", [0]],
  ["out bytes > 0", [0, 5]],
  ["out packets 5", [5]],
  ["flows 3", [5]],
  ["flows > 1", [5]],
  ["bytes > 0xfff", [3, 5]],
  // derived values (nfdump integer arithmetic)
  ["duration 0", [1, 6]],
  ["duration > 1000", [2, 3]],
  ["duration >= 1000", [0, 2, 3, 5]],
  ["pps > 9", [0, 3, 7]],
  ["pps 0", [1, 6]],
  ["pps 33", [3]],
  ["bps > 100k", [3, 7]],
  ["bps < 1000", [1, 2, 6]],
  ["bps 3648", [4]],
  ["bpp > 100", [0, 3, 5]],
  ["bpp 100", [6]],
  ["bpp 76", [4]],
  // interfaces, AS, masks, VLAN, MAC
  ["in if 1", [0, 4]],
  ["out if 1", [1, 4]],
  ["if 1", [0, 1, 4]],
  ["if 10", [5]],
  ["as 64500", [0, 2]],
  ["src as 64500", [0, 2]],
  ["dst as 64501", [0, 3]],
  ["as in [15169 3320]", [3, 5]],
  ["dst as in [3320]", [5]],
  ["prev as 3320", [0]],
  ["previous as 3320", [0]],
  ["next as 174", [0]],
  ["src as > 60000", [0, 2]],
  ["mask 24", [0, 1]],
  ["src mask 48", [3]],
  ["dst mask 16", [0]],
  ["vlan 100", [0, 1]],
  ["src vlan 300", [4]],
  ["dst vlan 200", [0]],
  ["mac 00:11:22:33:44:55", [0, 1, 5]],
  ["in src mac 00:11:22:33:44:55", [0]],
  ["in mac 00:11:22:33:44:55", [0, 1]],
  ["out mac 00:11:22:33:44:55", [5]],
  ["src mac 00:11:22:33:44:55", [0, 5]],
  ["dst mac 00:11:22:33:44:55", [1]],
  ["out dst mac 66:77:88:99:aa:bb", [0]],
  // MPLS
  ["mpls label1 100", [0]],
  ["mpls label1 > 100", [1]],
  ["mpls exp1 3", [0]],
  ["mpls exp1 7", [1]],
  ["mpls label2 200", [0]],
  ["mpls eos 200", [0]],
  ["mpls eos 300", [1]],
  ["mpls eos > 1000", [2, 3, 4, 5, 6, 7]],
  ["mpls any 300", [1]],
  ["mpls any 100", [0]],
  // routing / exporter
  ["next ip 192.0.2.1", [0]],
  ["next ip 2001:db8::fffe", [3]],
  ["next ip in [192.0.2.0/24]", [0, 2]],
  ["bgpnext ip 192.0.2.254", [0]],
  ["bgp next ip 192.0.2.254", [0]],
  ["router ip 127.0.0.1", [0, 2]],
  ["router ip ::1", [3]],
  ["exporter ip 127.0.0.2", [1]],
  ["engine-type 1", [1]],
  ["engine type 0", but(1)],
  ["engine-id 7", [0]],
  ["engine id > 0", [0, 3]],
  ["sysid 1", [0, 2]],
  ["exporter id 3", [3, 4]],
  ["exporter sysid 2", [1]],
  ["nfversion 9", [0]],
  ["nfversion 5", [1]],
  ["observation domain id 99", [0]],
  ["sampler 100", [1]],
  ["sampler > 0", [0, 1]],
  // ICMP (implies proto icmp / icmp6)
  ["icmp-type 8", [2]],
  ["icmp type 128", [7]],
  ["icmp-code 0", [2, 7]],
  ["icmp code 0", [2, 7]],
  // status and direction
  ["fwdstat 16", [1]],
  ["fwdstat Drop", [1]],
  ["fwdstat forw", [0]],
  ["fwdstat 0", [2, 3, 4, 5, 6, 7]],
  ["flowdir 1", [1]],
  ["flowdir egress", [1]],
  ["flowdir ingress", but(1)],
  ["dir 0", but(1)],
  // NAT / NSEL
  ["src nip 203.0.113.9", [5]],
  ["src xip 203.0.113.9", [5]],
  ["nip 203.0.113.9", [5]],
  ["src nat ip 203.0.113.9", [5]],
  ["xnet 203.0.113.0/24", [5]],
  ["nat net 203.0.113.0/24", [5]],
  ["src nport 1024", [5]],
  ["xport 1024", [5]],
  ["nat event add", [5]],
  ["nat event 1", [5]],
  ["nat event > 0", [5]],
  ["asa event delete", [5]],
  ["asa event term", [5]],
  ["asa event 2", [5]],
  ["asa xevent 1001", [5]],
  ["pblock start 1000", [5]],
  ["pblock end > 1500", [5]],
  ["ingress vrf 10", [0]],
  ["egress vrf 5", [5]],
  // time (TZ=UTC)
  ["first seen >= 2024-07-11T09:15:00", but(5)],
  ["first seen < 2024-07-11T09", [5]],
  ["last seen > '2024-07-11T09:18'", [4]],
  ['first seen > "2024"', ALL],
  ["first seen > 2024-07-11T09:14:59.999", but(5)],
  ["min ttl 60", [0]],
  ["max ttl > 63", [0]],
  // operators and precedence
  ["proto udp or proto tcp and port 443", [0, 1, 4]],
  ["not proto tcp and port 53", [1]],
  ["(proto udp or proto tcp) and port 80", [3, 5]],
  ["!(port 53)", but(1)],
  ["! port 53", but(1)],
  ["port 80 && proto tcp", [3, 5]],
  ["port 80 || port 443", [0, 3, 5]],
  ["PROTO TCP AND PORT 80", [3, 5]],
  ["not not proto tcp", [0, 3, 5]],
  ["proto tcp and not (port 80 or port 443)", []],
  ["proto tcp\n# a comment line\nand port 443 # trailing\n", [0]],
  ["any and not any", []],
  ["any or port 1", ALL],
];

describe("filter truth tables", () => {
  it.each(TABLE)("%j", (expr, rows) => {
    const r = run(expr);
    expect(r.compiled).toEqual(rows);
    expect(r.interpreted).toEqual(rows);
  });

  it("ident compares with the ident passed at scan time", () => {
    expect(run("ident foo", "foo").compiled).toEqual(ALL);
    expect(run("ident foo", "bar").compiled).toEqual([]);
    expect(run("ident foo").compiled).toEqual([]);
    expect(run("ident foo or port 443", "bar").compiled).toEqual([0]);
    expect(run("not ident foo", "bar").interpreted).toEqual(ALL);
  });

  it("marks filters that match everything or nothing", () => {
    expect(compileFilter("any").matchesAll).toBe(true);
    expect(compileFilter("").matchesAll).toBe(true);
    expect(compileFilter("port 80 or any").matchesAll).toBe(true);
    expect(compileFilter("not any").matchesNone).toBe(true);
    expect(compileFilter("port 80").matchesAll).toBe(false);
  });

  it("splices only column names and numbers into the generated scan", () => {
    const f = compileFilter("ident evil_ident or ip in [10.0.0.1 2001:db8::1] or port in [1 2 3 4 5 6 7 8 9 10]");
    expect(f.source).not.toContain("evil");
    expect(f.source).not.toContain("2001");
    expect(f.source).toMatch(/const k0 = K\[0\];/);
  });

  it("reports the columns the scan reads", () => {
    expect([...compileFilter("proto tcp and src port 80").columns].sort()).toEqual(["proto", "srcPort"]);
    expect(compileFilter("ip 2001:db8::1").columns).toContain("srcAddr6");
  });

  it("is conservative with a zone map that knows nothing", () => {
    for (const [expr] of TABLE)
      expect(compileFilter(expr).mayMatch(UNKNOWN_ZONE) || compileFilter(expr).matchesNone, expr).toBe(true);
  });

  it("lets the file ident decide in the zone predicate", () => {
    expect(compileFilter("ident foo and port 80").mayMatch(UNKNOWN_ZONE, "bar")).toBe(false);
    expect(compileFilter("ident foo and port 80").mayMatch(UNKNOWN_ZONE, "foo")).toBe(true);
    expect(compileFilter("not ident foo").mayMatch(UNKNOWN_ZONE, "foo")).toBe(false);
    expect(compileFilter("ident foo or port 80").mayMatch(UNKNOWN_ZONE, "bar")).toBe(true);
    expect(compileFilter("ident foo").mayMatch(UNKNOWN_ZONE)).toBe(true);
  });

  it("refuses a selection vector shorter than the batch", () => {
    expect(() => compileFilter("any").scan(batch, new Uint32Array(2))).toThrow(RangeError);
  });

  it("checkFilter only checks (tsdump -Z)", () => {
    expect(() => {
      checkFilter("proto tcp and port 80");
    }).not.toThrow();
    expect(() => {
      checkFilter("proto tcp and port 80000");
    }).toThrow(FilterSyntaxError);
  });

  it("explains the compiled tree for -X", () => {
    const f = compileFilter("proto tcp and (port 80 or not ip 10.0.0.1)");
    expect(f.explain).toBe(
      [
        "AND",
        "  proto eq 6",
        "  OR",
        "    srcPort eq 80",
        "    dstPort eq 80",
        "    NOT",
        "      OR",
        "        srcAddr & 0xffffffff == 0x0a000001",
        "        dstAddr & 0xffffffff == 0x0a000001",
      ].join("\n"),
    );
    expect(f.source).toContain("for (let i = 0; i < n; i++)");
  });
});
