// tsweb end to end: the built program on a free loopback port over tscapd-style 5-minute files; its tables and
// CSV downloads against tsdump's output for the same words, its bounds and its answers to hostile URLs; then
// the pages in headless Chromium (Debian's, driven by playwright-core): no console errors, graphs drawn, the
// tables equal tsdump's, the filter box shows tsdump's caret error, a drag on a graph changes the URL's t=.
// Screenshots of failing browser tests go to the test's temp directory.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import type * as RunnerModule from "../../src/web/runner.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/nfdump.js";
import { tsdump } from "../helpers/programs.js";
import { writeSlotFiles } from "../helpers/web-data.js";

const TSWEB = join(REPO_ROOT, "dist/bin/tsweb.js");
const CHROMIUM = "/usr/bin/chromium";
/** 2026-01-01 00:00 UTC: two hours of 5-minute files */
const START = 1_767_225_600;
const SLOTS = 24;

interface Web {
  readonly url: string;
  readonly proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

async function startTsweb(args: readonly string[], env: Record<string, string> = {}): Promise<Web> {
  const proc = spawn(process.execPath, [TSWEB, "-p", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TZ: "UTC", ...env },
  });
  let log = "";
  proc.stdout.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((ok) => {
    proc.on("exit", () => {
      ok();
    });
  });
  const deadline = Date.now() + 15_000;
  let m: RegExpExecArray | null;
  while (!(m = /listening on (http:\/\/\S+)\//.exec(log))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`tsweb did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: m[1]!,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
    },
  };
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A raw GET (the path is sent as given, unnormalised). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        ok({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on("error", fail);
    req.end();
  });
}

const decode = (s: string): string =>
  s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");

/** The body rows of the page's tables as cell texts. */
function tableRows(html: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/g;
  const rows: string[][] = [];
  for (let m = body.exec(html); m; m = body.exec(html)) {
    for (const tr of m[1]!.split("</tr>")) {
      const cells = [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => decode(c[1]!));
      if (cells.length > 0) rows.push(cells);
    }
  }
  return rows;
}

/** tsdump's text lines as comparable word lists: blanks, "->" and the percent parentheses are layout. */
const words = (line: string): string =>
  line
    .replace(/->|[()]/g, " ")
    .trim()
    .split(/\s+/)
    .join(" ");
const dataLines = (text: string): string[] => text.split("\n").filter((l) => /^\d{4}-\d\d-\d\d /.test(l));

const dir = mkdtempSync(join(tmpdir(), "tsweb-e2e-"));
const data = join(dir, "flows");
const shots = join(dir, "screenshots");
let web: Web;

beforeAll(async () => {
  writeSlotFiles({ dir: data, start: START, slots: SLOTS, flowsPerSlot: 1000 });
  web = await startTsweb(["-R", data]);
});

afterAll(async () => {
  await web?.stop();
  if (!process.env["TSWEB_KEEP"]) rmSync(dir, { recursive: true, force: true });
});

const WINDOW = "2026/01/01.00:30:00-2026/01/01.01:15:00";

describe("tsweb answers in tsdump's words", () => {
  it("statistics: the table and the CSV equal tsdump -s for the same words", async () => {
    const cases = [
      { s: ["srcip/bytes"], n: "10", t: "", filter: "" },
      { s: ["dstport/flows", "proto/packets"], n: "5", t: WINDOW, filter: "proto tcp or proto udp" },
    ];
    for (const c of cases) {
      const q = new URLSearchParams();
      for (const s of c.s) q.append("s", s);
      q.set("n", c.n);
      if (c.t) q.set("t", c.t);
      if (c.filter) q.set("filter", c.filter);
      const args = ["-R", data, ...c.s.flatMap((s) => ["-s", s]), "-n", c.n, ...(c.t ? ["-t", c.t] : [])];
      const page = await get(web.url, `/stats?${q.toString()}`);
      expect(page.status).toBe(200);
      const want = await tsdump([...args, ...(c.filter ? [c.filter] : [])]);
      expect(want.code).toBe(0);
      const rows = dataLines(want.stdout).map(words);
      expect(rows.length).toBeGreaterThan(c.s.length);
      expect(tableRows(page.body).map((r) => r.join(" "))).toEqual(rows);
      const csv = await get(web.url, `/stats.csv?${q.toString()}`);
      expect(csv.status).toBe(200);
      expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
      const wantCsv = await tsdump([...args, "-o", "csv", ...(c.filter ? [c.filter] : [])]);
      expect(csv.body).toBe(wantCsv.stdout);
    }
  });

  it("flows: the listing equals tsdump's line output (-c n), the CSV tsdump -o csv", async () => {
    const q = `filter=${encodeURIComponent("dst port 443 and bytes > 2000")}&t=${encodeURIComponent(WINDOW)}&n=50`;
    const page = await get(web.url, `/flows?${q}`);
    expect(page.status).toBe(200);
    const args = ["-R", data, "-t", WINDOW, "-c", "50", "dst port 443 and bytes > 2000"];
    const want = dataLines((await tsdump(args)).stdout).map(words);
    expect(want).toHaveLength(50);
    expect(tableRows(page.body).map((r) => r.join(" "))).toEqual(want);
    const csv = await get(web.url, `/flows.csv?${q}`);
    expect(csv.body).toBe((await tsdump([...args.slice(0, -1), "-o", "csv", args.at(-1)!])).stdout);
  });

  it("aggregation: -A/-O/-n equal tsdump's, table and CSV", async () => {
    const q = `A=srcip,dstport&O=bytes&n=15&filter=${encodeURIComponent("proto udp")}`;
    const page = await get(web.url, `/aggregate?${q}`);
    expect(page.status).toBe(200);
    const args = ["-R", data, "-A", "srcip,dstport", "-O", "bytes", "-n", "15"];
    const want = dataLines((await tsdump([...args, "proto udp"])).stdout).map(words);
    expect(want).toHaveLength(15);
    expect(tableRows(page.body).map((r) => r.join(" "))).toEqual(want);
    const csv = await get(web.url, `/aggregate.csv?${q}`);
    expect(csv.body).toBe((await tsdump([...args, "-o", "csv", "proto udp"])).stdout);
  });

  it("overview: the footers' totals equal tsdump's summary of the same window", async () => {
    for (const t of ["", WINDOW]) {
      const r = await get(web.url, `/api/overview${t ? `?t=${encodeURIComponent(t)}` : ""}`);
      expect(r.status).toBe(200);
      const o = JSON.parse(r.body) as {
        files: number;
        step: number;
        times: number[];
        totals: { flows: number; packets: number; bytes: number };
        proto: { flows: (number | null)[][] };
        exporter: { names: string[] };
      };
      expect(o.step).toBe(300);
      expect(o.exporter.names).toEqual(["192.0.2.1/1", "192.0.2.2/2", "192.0.2.3/3"]);
      if (t === "") {
        expect(o.files).toBe(SLOTS);
        expect(o.times[0]).toBe(START);
        const sum = await tsdump(["-R", data, "-q", "-N", "-o", "fmt:%fl %pkt %byt"]);
        const tot = sum.stdout
          .trim()
          .split("\n")
          .reduce(
            (a, l) => {
              const [f, p, b] = l.trim().split(/\s+/).map(Number);
              return { flows: a.flows + f!, packets: a.packets + p!, bytes: a.bytes + b! };
            },
            { flows: 0, packets: 0, bytes: 0 },
          );
        expect(o.totals).toEqual(tot);
        // tcp flows per second of the first slot = its tcp flows / 300
        const first = await tsdump([
          "-R",
          data,
          "-q",
          "-N",
          "-o",
          "fmt:%fl",
          "-t",
          "2026/01/01.00:00:00-2026/01/01.00:04:59",
          "proto tcp",
        ]);
        expect(first.code).toBe(0);
      } else expect(o.files).toBeLessThan(SLOTS);
    }
  });

  it("overview: a file closed after start-up shows up (footers re-read only for new or changed files)", async () => {
    const own = join(dir, "growing");
    writeSlotFiles({ dir: own, start: START, slots: 3, flowsPerSlot: 250 });
    const w = await startTsweb(["-R", own]);
    try {
      const files = async (t: string): Promise<number> =>
        (JSON.parse((await get(w.url, `/api/overview?t=${encodeURIComponent(t)}`)).body) as { files: number }).files;
      expect(await files("2026/01/01")).toBe(3);
      // the collector closes the next slot's file (the writer's rename into place)
      writeSlotFiles({ dir: join(dir, "next"), start: START + 900, slots: 1, flowsPerSlot: 250, seed: 9 });
      const name = "2026/01/01/tscapd.202601010015";
      mkdirSync(join(own, "2026/01/01"), { recursive: true });
      renameSync(join(dir, "next", name), join(own, name));
      expect(await files("2026/01/01.00:00")).toBe(4);
    } finally {
      await w.stop();
    }
  });

  it("a filter error is tsdump's caret text under the box (400)", async () => {
    const page = await get(web.url, `/flows?filter=${encodeURIComponent("port prot tcp")}`);
    expect(page.status).toBe(400);
    const want = await tsdump(["-R", data, "port prot tcp"]);
    expect(want.code).toBe(254);
    const shown = /<pre id="filter-error"[^>]*>([\s\S]*?)<\/pre>/.exec(page.body)?.[1];
    expect(decode(shown ?? "")).toBe(want.stderr.trimEnd());
  });
});

describe("tsweb's safety", () => {
  it("answers hostile and malformed URLs without running anything", async () => {
    const cases: [string, number][] = [
      ["/assets/../../../../etc/passwd", 404],
      ["/assets/%2e%2e/%2e%2e/etc/passwd", 404],
      ["/..%2f..%2fetc%2fpasswd", 404],
      ["/flows?t=yesterday", 400],
      ["/flows?t=2026/13/01", 400],
      ["/stats?s=srcip/bytes&n=-1", 400],
      ["/stats?s=srcip/bytes&n=1e9", 400],
      ["/stats?s=<script>alert(1)</script>", 400],
      ["/stats?s=nosuchelement/bytes", 400],
      ["/aggregate?A=srcip;rm%20-rf", 400],
      ["/flows?filter=a&filter=b", 400],
      [`/flows?filter=${"x".repeat(5000)}`, 400],
      ["/flows?filter=%00any", 400],
      ["/flows?filter=%zz", 400],
      [`/?t=${"9".repeat(9000)}`, 414],
      ["/nosuchpage", 404],
      ["//evil.example/stats", 404],
    ];
    for (const [path, status] of cases) {
      const r = await get(web.url, path);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.body).not.toContain("root:x:");
      expect(r.body).not.toContain("<script>alert");
      expect(r.headers["content-security-policy"]).toContain("default-src 'none'");
    }
    // read-only
    for (const m of ["POST", "PUT", "DELETE"]) expect((await get(web.url, "/stats", {}, m)).status).toBe(405);
    // a loopback server answers loopback names only (DNS rebinding)
    expect((await get(web.url, "/", { host: "evil.example:8080" })).status).toBe(403);
    expect((await get(web.url, "/", { host: "localhost:8080" })).status).toBe(200);
    // still serving
    expect((await get(web.url, "/stats?s=proto")).status).toBe(200);
  });

  it("--auth: a token (Bearer or basic password) or user:password, 401 otherwise", async () => {
    const tok = await startTsweb(["-R", data, "--auth", "s3cret-token"]);
    const basic = await startTsweb(["-R", data], { TSWEB_AUTH: "ann:pass-word" });
    try {
      expect((await get(tok.url, "/")).status).toBe(401);
      expect((await get(tok.url, "/")).headers["www-authenticate"]).toContain("Basic");
      expect((await get(tok.url, "/", { authorization: "Bearer wrong-token" })).status).toBe(401);
      expect((await get(tok.url, "/", { authorization: "Bearer s3cret-token" })).status).toBe(200);
      const b64 = (s: string): string => Buffer.from(s).toString("base64");
      expect((await get(tok.url, "/assets/app.js", { authorization: `Basic ${b64("x:s3cret-token")}` })).status).toBe(
        200,
      );
      expect((await get(basic.url, "/", { authorization: `Basic ${b64("ann:pass-word")}` })).status).toBe(200);
      expect((await get(basic.url, "/", { authorization: `Basic ${b64("bob:pass-word")}` })).status).toBe(401);
      expect((await get(basic.url, "/", { authorization: "Bearer pass-word" })).status).toBe(401);
    } finally {
      await tok.stop();
      await basic.stop();
    }
  });

  it("bounds each query: time (504), few at a time (503 beyond the queue), memory (error, still serving)", async () => {
    const slow = await startTsweb(["-R", data, "--timeout", "0.001"]);
    const one = await startTsweb(["-R", data, "--queries", "1", "--queue", "0"]);
    try {
      const r = await get(slow.url, "/stats?s=srcip");
      expect(r.status).toBe(504);
      expect(r.body).toContain("query ran longer than");
      const all = await Promise.all([1, 2, 3, 4].map(() => get(one.url, "/aggregate?A=srcip,dstip,srcport,dstport")));
      const statuses = all.map((x) => x.status).sort();
      expect(statuses[0]).toBe(200);
      expect(statuses.at(-1)).toBe(503);
      expect(all.find((x) => x.status === 503)!.headers["retry-after"]).toBe("5");
      expect((await get(one.url, "/stats?s=proto")).status).toBe(200);
    } finally {
      await slow.stop();
      await one.stop();
    }
  });

  it("a query whose client went away is stopped (its worker terminated)", async () => {
    // the built runner: its worker (dist/web/web-worker.js) sits beside it
    const { QueryRunner, RunError } = (await import(join(REPO_ROOT, "dist/web/runner.js"))) as typeof RunnerModule;
    const runner = new QueryRunner({ concurrent: 1, queued: 1, timeoutMs: 60_000, memoryMb: 128 });
    const job = {
      kind: "aggregate" as const,
      selection: { range: data },
      aggregate: "srcip,dstip,srcport,dstport",
      maxRows: 10,
      memoryLimit: 64 << 20,
      csv: false,
    };
    const gone = new AbortController();
    const first = runner.run(job, () => undefined, gone.signal);
    // the second waits for the slot; the client of the first leaves
    const replies: unknown[] = [];
    const second = runner.run(job, (r) => replies.push(r), new AbortController().signal);
    setTimeout(() => {
      gone.abort();
    }, 5);
    await expect(first).rejects.toBeInstanceOf(RunError);
    await expect(first).rejects.toMatchObject({ reason: "aborted" });
    await second;
    expect(replies).toHaveLength(1);
    expect(runner.active).toBe(0);
    // the statistics tables' memory bound: an error reply, not a dead server
    const small: unknown[] = [];
    await runner.run({ ...job, memoryLimit: 4096 }, (r) => small.push(r), new AbortController().signal);
    expect(small).toEqual([
      expect.objectContaining({ type: "error", message: expect.stringContaining("memory limit") }),
    ]);
  });
});

// CI installs chromium (.ci/run): there a missing browser fails instead of skipping
describe.skipIf(!existsSync(CHROMIUM) && process.env["CI"] !== "true")("tsweb in a browser (headless Chromium)", () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A fresh page in UTC that collects console errors; a screenshot when `body` fails. */
  async function withPage(name: string, body: (p: Page, errors: string[]) => Promise<void>): Promise<void> {
    const ctx = await browser.newContext({ timezoneId: "UTC", viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await body(page, errors);
    } catch (err) {
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true }).catch(() => undefined);
      throw new Error(
        `${(err as Error).message}\nconsole: ${JSON.stringify(errors)}\n(screenshot: ${join(shots, `${name}.png`)})`,
        { cause: err },
      );
    } finally {
      await ctx.close();
    }
  }

  it("every page renders without console errors", async () => {
    await withPage("pages", async (page, errors) => {
      for (const path of [
        "/",
        "/?by=exporter",
        "/stats?s=srcip/bytes&n=10",
        "/flows?n=100",
        "/aggregate?A=srcip,dstip&O=bytes&n=20",
        "/sankey?n=30",
      ]) {
        const r = await page.goto(`${web.url}${path}`);
        expect(r?.status()).toBe(200);
        await page.waitForLoadState("networkidle");
        expect(await page.locator("h1").count()).toBe(1);
      }
      expect(errors).toEqual([]);
    });
  });

  it("the overview draws its graphs (non-empty canvases) and a drag changes the URL's t=", async () => {
    await withPage("overview", async (page, errors) => {
      await page.goto(`${web.url}/`);
      await page.waitForSelector("#charts canvas");
      const canvases = page.locator("#charts canvas");
      expect(await canvases.count()).toBe(3);
      const painted = await canvases.first().evaluate((el) => {
        const c = el as unknown as {
          width: number;
          height: number;
          getContext(kind: "2d"): {
            getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
          };
        };
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      });
      expect(painted).toBeGreaterThan(1000);
      expect(await page.locator("#overview-summary").textContent()).toContain(`${SLOTS} files`);
      const box = (await page.locator("#charts .u-over").first().boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 8 });
      await page.mouse.up();
      await page.waitForURL(/[?&]t=/);
      const t = new URL(page.url()).searchParams.get("t")!;
      // a quarter of the graph's width from a quarter on: inside the two hours of files
      const m = /^2026\/01\/01\.(\d\d):(\d\d):(\d\d)-2026\/01\/01\.(\d\d):(\d\d):(\d\d)$/.exec(t)!;
      expect(m).not.toBeNull();
      const [a, b] = [
        Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]),
        Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]),
      ];
      expect(a).toBeGreaterThan(10 * 60);
      expect(b - a).toBeGreaterThan(15 * 60);
      expect(b).toBeLessThan(90 * 60);
      await page.waitForSelector("#charts canvas");
      expect(await page.inputValue("#t")).toBe(t);
      const files = Number(/(\d+) files/.exec((await page.locator("#overview-summary").textContent())!)![1]);
      expect(files).toBeGreaterThan(4);
      expect(files).toBeLessThan(SLOTS);
      expect(errors).toEqual([]);
    });
  });

  it("the statistics form: words typed in the boxes give tsdump's table, and the URL holds them", async () => {
    await withPage("stats", async (page, errors) => {
      await page.goto(`${web.url}/stats`);
      await page.fill("#s", "dstip/packets");
      await page.fill("#n", "7");
      await page.fill("#filter", "not proto icmp");
      await page.press("#filter", "Control+Enter").catch(() => undefined);
      await page.click("button[type=submit]");
      await page.waitForSelector("table tbody tr");
      const u = new URL(page.url());
      expect(u.pathname).toBe("/stats");
      expect(u.searchParams.get("s")).toBe("dstip/packets");
      expect(u.searchParams.get("filter")).toBe("not proto icmp");
      const cells = await page
        .locator("table tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => (tr as unknown as { innerText: string }).innerText.split("\t").join(" ")),
        );
      const want = dataLines(
        (await tsdump(["-R", data, "-s", "dstip/packets", "-n", "7", "not proto icmp"])).stdout,
      ).map(words);
      expect(cells).toEqual(want);
      expect(await page.locator("table caption").textContent()).toContain("Top 7 Dst IP Addr ordered by packets");
      expect(await page.locator("th[scope=col]").count()).toBe(13);
      expect(errors).toEqual([]);
    });
  });

  it("the src → port → dst picture: an SVG drawn from a table equal to tsdump -N -A srcip,dstport,dstip -O bytes", async () => {
    await withPage("sankey", async (page, errors) => {
      await page.goto(`${web.url}/sankey?n=12&filter=${encodeURIComponent("proto tcp")}`);
      await page.waitForSelector("#sankey svg path");
      expect(await page.locator("#sankey svg rect").count()).toBeGreaterThan(3);
      const cells = await page
        .locator("table tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => (tr as unknown as { innerText: string }).innerText.split("\t").join(" ")),
        );
      const args = ["-R", data, "-N", "-A", "srcip,dstport,dstip", "-O", "bytes", "-n", "12", "proto tcp"];
      expect(cells).toEqual(dataLines((await tsdump(args)).stdout).map(words));
      expect(errors).toEqual([]);
    });
  });

  it("the filter box shows tsdump's caret error", async () => {
    await withPage("filter-error", async (page) => {
      await page.goto(`${web.url}/flows?n=10`);
      await page.fill("#filter", "src ip 10.0.0.1 and prot tcp");
      await page.click("button[type=submit]");
      const err = page.locator("#filter-error");
      await err.waitFor();
      const want = await tsdump(["-R", data, "src ip 10.0.0.1 and prot tcp"]);
      expect(await err.textContent()).toBe(want.stderr.trimEnd());
      expect(await err.textContent()).toContain("^");
      expect(await page.getAttribute("#filter", "aria-invalid")).toBe("true");
    });
  });
});
