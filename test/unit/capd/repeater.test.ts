// SPDX-License-Identifier: BSD-3-Clause
// -R: the repeater re-sends each datagram unchanged, and close() lets the repeats already handed to it go out.

import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { Repeater, parseRepeatTarget } from "../../../src/capd/repeater.js";

describe("Repeater", () => {
  it("sends every datagram handed to it before close(), even when close() comes at once", async () => {
    const sink = createSocket("udp4");
    await new Promise<void>((ok) => sink.bind(0, "127.0.0.1", ok));
    const got: Buffer[] = [];
    const all = new Promise<void>((ok) =>
      sink.on("message", (m) => {
        got.push(m);
        if (got.length === 50) ok();
      }),
    );
    const r = new Repeater([parseRepeatTarget(`127.0.0.1/${sink.address().port}`)]);
    const sent = Array.from({ length: 50 }, (_, i) => Uint8Array.from({ length: 20 + i }, (_, k) => (i + k) & 255));
    for (const d of sent) r.repeat(d);
    r.close(); // the sends are still in their address lookup here
    await all;
    sink.close();
    expect(got.map((b) => b.toString("hex"))).toEqual(sent.map((d) => Buffer.from(d).toString("hex")));
    expect(r.sent).toBe(50);
    expect(r.errors).toBe(0);
  });

  it("parses host[/port] and refuses bad ones", () => {
    expect(parseRepeatTarget("::1/2055")).toEqual({ host: "::1", port: 2055 });
    expect(parseRepeatTarget("127.0.0.1")).toEqual({ host: "127.0.0.1", port: 9995 });
    expect(() => parseRepeatTarget("127.0.0.1/0")).toThrow(/bad repeater/);
  });
});
