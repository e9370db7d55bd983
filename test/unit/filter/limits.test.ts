// Filters a script or an attacker can write: thousands of terms, deep nesting, megabytes of garbage. Each
// compiles or fails with a FilterSyntaxError (tsdump prints it and exits 254), never a stack overflow, and fast.
import { describe, expect, it } from "vitest";
import {
  checkFilter,
  compileFilter,
  FilterSyntaxError,
  MAX_FILTER_LENGTH,
  MAX_FILTER_NESTING,
} from "../../../src/filter/index.js";
import { makeBatch, ROWS } from "./fixture.js";

function errorOf(text: string): FilterSyntaxError {
  try {
    compileFilter(text);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error("no error");
}

describe("filter limits", () => {
  it("20,000 `and` and 20,000 `or` terms compile (nfdump takes them) and filter as the short form", () => {
    const b = makeBatch(ROWS);
    const sel = new Uint32Array(ROWS.length);
    const ands = compileFilter(Array.from({ length: 20_000 }, () => "any").join(" and "));
    expect(ands.scan(b, sel)).toBe(b.length);
    const ports = Array.from({ length: 20_000 }, (_, k) => `src port ${k % 1000}`).join(" or ");
    const short = compileFilter("src port < 1000");
    expect(compileFilter(ports).scan(b, sel)).toBe(short.scan(b, new Uint32Array(ROWS.length)));
    checkFilter(Array.from({ length: 20_000 }, () => "proto tcp").join(" or "));
  });

  it(`nesting up to ${MAX_FILTER_NESTING} levels compiles; deeper is a filter error naming the place`, () => {
    const b = makeBatch(ROWS);
    const sel = new Uint32Array(ROWS.length);
    const n = MAX_FILTER_NESTING;
    expect(compileFilter(`${"(".repeat(n)}any${")".repeat(n)}`).scan(b, sel)).toBe(b.length);
    expect(compileFilter(`${"not ".repeat(n)}any`).scan(b, sel)).toBe(b.length);
    for (const text of [
      `${"(".repeat(2000)}any${")".repeat(2000)}`,
      `${"not ".repeat(100_000)}any`,
      `${"!".repeat(5000)}any`,
      `${"(not ".repeat(400)}any${")".repeat(400)}`,
    ]) {
      const e = errorOf(text);
      expect(e.code).toBe("ERR_FILTER_LIMIT");
      expect(e.message).toMatch(/nested too deep/);
      expect(e.format().length).toBeLessThan(1000);
    }
    // `and`/`or` end a level's nots: many short `not` terms are not deep
    expect(compileFilter(Array.from({ length: 5000 }, () => "not proto udp").join(" and ")).scan(b, sel)).toBe(
      compileFilter("not proto udp").scan(b, new Uint32Array(ROWS.length)),
    );
  });

  it("a filter longer than the limit is refused before parsing", () => {
    const t0 = performance.now();
    const e = errorOf(`proto tcp or ${"x".repeat(MAX_FILTER_LENGTH)}`);
    expect(e.code).toBe("ERR_FILTER_LIMIT");
    expect(e.message).toMatch(/too long/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("a megabyte of garbage is a syntax error at once, shown cut around the place", () => {
    const t0 = performance.now();
    const e = errorOf("a".repeat(1 << 20));
    expect(e.code).toBe("ERR_FILTER_SYNTAX");
    expect(e.suggestion).toBeUndefined();
    expect(e.format().length).toBeLessThan(1000);
    const e2 = errorOf(`proto tcp and ${"src ip 1.2.3.4 and ".repeat(20_000)}bogus 1`);
    expect(e2.format()).toMatch(/\^/);
    expect(e2.format().length).toBeLessThan(1000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
