import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferedOutput, BytesOutput, OUTPUT_CHUNK } from "../../../src/format/out.js";

describe("BufferedOutput", () => {
  it("hands the sink chunks of about 64 KiB and everything on flush", () => {
    const chunks: string[] = [];
    const out = new BufferedOutput((c) => chunks.push(Buffer.from(c).toString("latin1")));
    const line = `${"x".repeat(99)}\n`;
    for (let i = 0; i < 2000; i++) out.write(line);
    expect(chunks.length).toBe(Math.floor((2000 * 100) / OUTPUT_CHUNK));
    for (const c of chunks) expect(c.length).toBeGreaterThanOrEqual(OUTPUT_CHUNK);
    out.flush();
    expect(chunks.join("")).toBe(line.repeat(2000));
    expect(out.written).toBe(200000);
  });

  it("turns EPIPE into a quiet stop and drops later writes", () => {
    let calls = 0;
    const out = new BufferedOutput(() => {
      calls++;
      throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    }, 16);
    out.write("0123456789abcdefXYZ");
    expect(out.stopped).toBe(true);
    out.write("more text that is never written");
    out.flush();
    expect(calls).toBe(1);
  });

  it("other write errors propagate (ENOSPC on /dev/full)", () => {
    const fd = openSync("/dev/full", "w");
    try {
      const out = new BufferedOutput(fd);
      out.write("hello\n");
      expect(() => {
        out.flush();
      }).toThrow(/ENOSPC/);
    } finally {
      closeSync(fd);
    }
  });

  it("writes UTF-8 to a file descriptor", () => {
    const path = join(tmpdir(), `tsflow-out-${process.pid}.txt`);
    const fd = openSync(path, "w");
    const out = new BufferedOutput(fd, 8);
    out.write("größe ");
    out.write("→ 1.0 M\n");
    out.flush();
    closeSync(fd);
    expect(readFileSync(path, "utf8")).toBe("größe → 1.0 M\n");
    rmSync(path);
  });
});

describe("writeBytes and BytesOutput (a scan worker's piece of a listing)", () => {
  it("writeBytes keeps the order with text: small pieces buffered, large ones straight to the sink", () => {
    const chunks: string[] = [];
    const out = new BufferedOutput((c) => chunks.push(Buffer.from(c).toString("latin1")), 64);
    out.write("a\n");
    out.writeBytes(Buffer.from("b\n"));
    expect(chunks).toEqual([]);
    const big = "c".repeat(200);
    out.writeBytes(Buffer.from(big));
    expect(chunks).toEqual(["a\nb\n", big]);
    out.write("d\n");
    out.flush();
    expect(chunks.join("")).toBe(`a\nb\n${big}d\n`);
  });

  it("take() returns everything since the last take as an array of its own", () => {
    const out = new BytesOutput(32);
    out.write("0123456789\n");
    const one = out.take();
    expect(Buffer.from(one).toString()).toBe("0123456789\n");
    // beyond the chunk: drained chunks are copies, joined once
    for (let i = 0; i < 10; i++) out.write(`line ${i}\n`);
    const two = out.take();
    expect(Buffer.from(two).toString()).toBe(Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join(""));
    expect(one.byteOffset).toBe(0);
    expect(two.byteOffset).toBe(0);
    expect(two.buffer).not.toBe(one.buffer);
    expect(Buffer.from(one).toString()).toBe("0123456789\n");
    expect(out.take().length).toBe(0);
  });

  it("formats the next piece into a recycled buffer", () => {
    const out = new BytesOutput(64);
    out.write("first\n");
    const one = out.take();
    out.write("second\n");
    const two = out.take();
    expect(two.buffer).not.toBe(one.buffer);
    expect(Buffer.from(one).toString()).toBe("first\n");
    out.recycle(one.buffer);
    out.write("third\n");
    const three = out.take();
    out.write("fourth\n");
    const four = out.take();
    expect(four.buffer).toBe(one.buffer);
    expect(Buffer.from(three).toString()).toBe("third\n");
    expect(Buffer.from(four).toString()).toBe("fourth\n");
    // a buffer of another size is not taken
    out.recycle(new ArrayBuffer(10));
    out.write("x");
    expect(out.take().buffer.byteLength).toBe(one.buffer.byteLength);
  });
});
