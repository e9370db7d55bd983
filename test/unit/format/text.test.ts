import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  condenseV6,
  durationPlain,
  durationString,
  fixed1,
  flagsString,
  formatIPv6,
  formatNumber,
  intString,
  localDateTimeT,
  localTimeMs,
  macString,
  maskV6Net,
  mplsString,
  protoString,
} from "../../../src/format/text.js";
import { parseIPv6 } from "../../../src/record/ip.js";

describe("formatNumber (nfdump format_number)", () => {
  it.each([
    [0, "   0"],
    [7, "   7"],
    [999, " 999"],
    [1000, "1000"],
    [999999, "999999"],
    [1000000, "  1.0 M"],
    [1049999, "  1.0 M"],
    [1050000, "  1.1 M"], // 1.05 is just above 1.05 in binary
    [1250000, "  1.2 M"], // exact tie: glibc rounds half to even
    [1350000, "  1.4 M"], // 1.35 is just above in binary
    [1750000, "  1.8 M"], // exact tie, even
    [999949999, "999.9 M"],
    [999950000, "1000.0 M"],
    [1000000000, "  1.0 G"],
    [2500000000, "  2.5 G"],
    [1e12, "  1.0 T"],
    [123456789012345, "123.5 T"],
  ])("%d → %j (fixed width)", (n, want) => {
    expect(formatNumber(n, false, true)).toBe(want);
  });

  it("variable width and plain", () => {
    expect(formatNumber(2223822, false, false)).toBe("2.2 M");
    expect(formatNumber(12, false, false)).toBe("12");
    expect(formatNumber(175610740, true, false)).toBe("175610740");
    expect(formatNumber(2 ** 53, true, true)).toBe("9007199254740992");
  });

  it('fixed1 rounds like C printf("%.1f") (checked against Python\'s correctly rounded %-formatting)', () => {
    const values = fc.sample(
      fc.oneof(
        fc.integer({ min: 0, max: 4_000_000 }).map((m) => m / 4), // exact ties at .25/.75
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 1_000_000, max: 2 ** 40 }).map((n) => n / 1e6),
      ),
      3000,
    );
    const py = execFileSync("python3", ["-c", "import sys,json\nfor x in json.load(sys.stdin): print('%.1f' % x)"], {
      input: JSON.stringify(values),
    })
      .toString()
      .trim()
      .split("\n");
    const ours = values.map(fixed1);
    expect(ours).toEqual(py);
  });
});

describe("durations", () => {
  it.each([
    [0, "    00:00:00.000"],
    [3957, "    00:00:03.957"],
    [59_000, "    00:00:59.000"],
    [3_599_999, "    00:59:59.999"],
    [86_399_999, "    23:59:59.999"],
    [86_400_000, " 1d 00:00:00.000"],
    [12 * 86_400_000 + 3_723_004, "12d 01:02:03.004"],
    // negative spans wrap on uint64 like nfdump's
    [-12_726, "-2147483648d -2147483648:-2147483648:18446744073709540.000"],
  ])("%d ms → %j", (ms, want) => {
    expect(durationString(ms)).toBe(want);
  });
  it("-N prints %16.3f seconds", () => {
    expect(durationPlain(3957)).toBe("           3.957");
    expect(durationPlain(247_336)).toBe("         247.336");
  });
});

describe("time", () => {
  it("local time with ms (TZ=UTC in tests)", () => {
    expect(localTimeMs(1767225583603)).toBe("2025-12-31 23:59:43.603");
    expect(localTimeMs(0)).toBe("1970-01-01 00:00:00.000");
    expect(localTimeMs(1767225583003)).toBe("2025-12-31 23:59:43.003");
  });
});

describe("protocol names and flags", () => {
  it.each([
    [1, "ICMP"],
    [6, "TCP"],
    [17, "UDP"],
    [47, "GRE"],
    [50, "ESP"],
    [58, "ICMP6"],
    [0, "0"],
    [99, "99"],
    [132, "SCTP"],
    [137, "MPLS"],
    [138, "138  "],
    [255, "255  "],
  ])("%d → %j", (p, want) => {
    expect(protoString(p, false)).toBe(want);
  });
  it("-N prints numbers left-aligned in 5", () => {
    expect(protoString(6, true)).toBe("6    ");
  });
  it.each([
    [0, "........"],
    [0x1b, "...AP.SF"],
    [0x02, "......S."],
    [0xff, "CEUAPRSF"],
    [0x110, "...A...."], // only the low 8 bits are printed
  ])("flags %d → %s", (f, want) => {
    expect(flagsString(f)).toBe(want);
  });
});

describe("addresses", () => {
  const v6 = (s: string): string => {
    const w = new Uint32Array(4);
    expect(parseIPv6(s, w)).toBe(true);
    return formatIPv6(w, 0);
  };
  it.each([
    ["2001:db8::1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"], // longest run wins
    ["2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"], // first of equal runs
    ["2001:db8:1:0:1:1:1:1", "2001:db8:1:0:1:1:1:1"], // single zero group stays
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::192.0.2.1", "::192.0.2.1"], // IPv4-compatible, as glibc prints it
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ])("%s → %s (glibc inet_ntop)", (text, want) => {
    expect(v6(text)).toBe(want);
  });
  it("condenses to 16 chars like CondenseV6", () => {
    expect(condenseV6("2001:620:1000:cafe:20e:35ff:fec0:fed5")).toBe("2001:62..c0:fed5");
    expect(condenseV6("2001:db8:1::db2")).toBe("2001:db8:1::db2");
    expect(condenseV6("2001:db8:1::1c6a")).toBe("2001:db8:1::1c6a");
    expect(condenseV6("2001:db8:1::1c6ab")).toBe("2001:db..::1c6ab");
  });
  it("nfdump's IPv6 network masking (64-bit halves, /0 keeps the upper half)", () => {
    const w = new Uint32Array(4);
    parseIPv6("fe80::1:2:3:4", w);
    const out = new Uint32Array(4);
    expect(formatIPv6(maskV6Net(w, 0, 0, out), 0)).toBe("fe80::");
    expect(formatIPv6(maskV6Net(w, 0, 16, out), 0)).toBe("fe80::");
    expect(formatIPv6(maskV6Net(w, 0, 96, out), 0)).toBe("fe80::1:2:0:0");
    expect(formatIPv6(maskV6Net(w, 0, 128, out), 0)).toBe("fe80::1:2:3:4");
  });
  it("MAC and MPLS", () => {
    expect(macString(0xc014fef6c365)).toBe("c0:14:fe:f6:c3:65");
    expect(macString(0)).toBe("00:00:00:00:00:00");
    expect(mplsString((524250 << 4) | 1, 8)).toBe("  524250-0-1");
    expect(mplsString((20005 << 4) | (5 << 1), 0)).toBe("20005-5-0");
  });
});

describe("times beyond Date's range (corrupt or hostile 64-bit timestamps)", () => {
  it("print the proleptic Gregorian date, never NaN", () => {
    // 146,097 days are exactly 400 years: 10^6 of them after the epoch is 400001970-01-01
    const sec = 146097 * 86400 * 1e6;
    expect(localTimeMs(sec * 1000)).toBe("400001970-01-01 00:00:00.000"); // (ms beyond 2^53 step by 2048)
    expect(localDateTimeT(sec + 86400 * 59 + 3724)).toBe("400001970-03-01T01:02:04");
    const max = localTimeMs(2 ** 64 - 1);
    expect(max).toMatch(/^584556019-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    expect(localTimeMs(8.64e15)).toBe("275760-09-13 00:00:00.000");
    expect(localTimeMs(8.64e15 + 86_400_000)).toBe("275760-09-14 00:00:00.000");
  });
});

describe("counters and sums from 2^53 on", () => {
  it("print the double's exact digits, wrapped to 64 bits as nfdump's uint64 — never exponent notation", () => {
    expect(intString(2 ** 53)).toBe("9007199254740992");
    expect(intString(2 ** 63 + 2 ** 11)).toBe("9223372036854777856");
    expect(intString(2 ** 70)).toBe("0");
    expect(intString(9.8e33)).not.toMatch(/e/);
    expect(intString(9.8e33)).toBe((BigInt(9.8e33) % (1n << 64n)).toString());
    expect(formatNumber(9.8e33, false, false)).toMatch(/^\d+\.\d T$/);
    expect(formatNumber(2 ** 64 + 2 ** 20, true, false)).toBe("1048576");
  });
});
