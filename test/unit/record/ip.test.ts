import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  formatIPv4,
  formatIPv6,
  formatMac,
  maskV4,
  parseAddress,
  parseIPv4,
  parseIPv6,
  parseMac,
  readMac,
} from "../../../src/record/ip.js";

describe("IPv4", () => {
  it.each([
    ["0.0.0.0", 0],
    ["10.0.0.1", 0x0a000001],
    ["255.255.255.255", 0xffffffff],
    ["192.0.2.10", 0xc000020a],
  ])("parses and formats %s", (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatIPv4(value)).toBe(text);
  });

  it.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "01.2.3.4", "1.2.3."])(
    "rejects %j",
    (text) => {
      expect(parseIPv4(text)).toBe(-1);
    },
  );

  it("round-trips every u32 sample", () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (v) => parseIPv4(formatIPv4(v)) === v));
  });

  it("masks", () => {
    expect(maskV4(0)).toBe(0);
    expect(maskV4(8)).toBe(0xff000000);
    expect(maskV4(24)).toBe(0xffffff00);
    expect(maskV4(32)).toBe(0xffffffff);
  });
});

describe("IPv6", () => {
  const w = new Uint32Array(4);
  it.each([
    ["::", [0, 0, 0, 0], "::"],
    ["::1", [0, 0, 0, 1], "::1"],
    ["2001:db8::1", [0x20010db8, 0, 0, 1], "2001:db8::1"],
    ["2001:DB8:0:0:1:0:0:1", [0x20010db8, 0, 0x10000, 1], "2001:db8::1:0:0:1"],
    ["fe80::1%eth0", [0xfe800000, 0, 0, 1], "fe80::1"],
    ["::ffff:192.0.2.1", [0, 0, 0xffff, 0xc0000201], "::ffff:192.0.2.1"],
    ["2001:db8:1:2:3:4:5:6", [0x20010db8, 0x00010002, 0x00030004, 0x00050006], "2001:db8:1:2:3:4:5:6"],
    ["2001:0:0:1::1", [0x20010000, 1, 0, 1], "2001:0:0:1::1"],
  ])("parses %s", (text, words, formatted) => {
    expect(parseIPv6(text, w)).toBe(true);
    expect(Array.from(w)).toEqual(words);
    expect(formatIPv6(w)).toBe(formatted);
  });

  it.each([":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7"])(
    "rejects %j",
    (text) => {
      expect(parseIPv6(text, w)).toBe(false);
    },
  );

  it("round-trips random addresses", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0xffffffff }), { minLength: 4, maxLength: 4 }), (words) => {
        const src = Uint32Array.from(words);
        const out = new Uint32Array(4);
        return parseIPv6(formatIPv6(src), out) && out.every((x, i) => x === src[i]);
      }),
    );
  });

  it("parseAddress tells the families apart", () => {
    expect(parseAddress("10.1.2.3")).toEqual({ v6: false, v4: 0x0a010203 });
    expect(parseAddress("::1")?.v6).toBe(true);
    expect(parseAddress("nonsense")).toBeNull();
  });
});

describe("MAC", () => {
  it("reads, formats and parses 48-bit values exactly", () => {
    const bytes = Uint8Array.from([0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]);
    const v = readMac(bytes, 0);
    expect(v).toBe(0xffeeddccbbaa);
    expect(formatMac(v)).toBe("ff:ee:dd:cc:bb:aa");
    expect(parseMac("ff:ee:dd:cc:bb:aa")).toBe(v);
    expect(parseMac("00-01-02-03-04-05")).toBe(0x000102030405);
    expect(parseMac("00:01:02:03:04")).toBe(-1);
  });
});
