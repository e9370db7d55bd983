// The compiled row writers (src/format/rows.ts) against the per-field text writers: every predefined column
// format, `csv` and `csv:` lists print the same bytes through records() (one generated loop per block) as
// line() / the csv text path print field by field, on rows with the usual values and the rare ones the
// generated code hands to the byte writers (IPv6, ICMP, scaled and ≥ 2^53 counters, odd times and durations).
import { describe, expect, it } from "vitest";
import { RecordBatch } from "../../../src/record/batch.js";
import { createFormatter, PREDEFINED_FORMATS, type Output } from "../../../src/format/index.js";
import { compileFmt } from "../../../src/format/fmt.js";
import { CsvFormatter } from "../../../src/format/csv.js";
import { BufferedOutput, StringOutput } from "../../../src/format/out.js";
import { putIPv6 } from "../../../src/format/rows.js";
import { condenseV6, formatIPv6 } from "../../../src/format/text.js";
import { TWO53 } from "../../../src/record/u64.js";

let seed = 0x2545f491;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const V6_SAMPLES: readonly (readonly number[])[] = [
  [0, 0, 0, 0],
  [0, 0, 0, 1],
  [0, 0, 0, 0xc0000201], // ::192.0.2.1
  [0, 0, 0xffff, 0xc0000201], // ::ffff:192.0.2.1
  [0, 0, 0xfffe, 0xc0000201],
  [0x20010db8, 0, 0, 0],
  [0x20010db8, 0, 0, 1],
  [0x20010db8, 0x00010000, 0, 0x00000001],
  [0x20010db8, 0x00000001, 0, 0x00010000],
  [0xfe800000, 0, 0x02aabbff, 0xfecc0001],
  [0x2a000012, 0x00120000, 0x00000000, 0x00120000],
  [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
  [0x00010000, 0x00010000, 0x00010000, 0x00010000],
  [0, 0x00010000, 0, 0],
];

function randomV6(): number[] {
  if (rnd() < 0.5) return [...pick(V6_SAMPLES)];
  // random groups with zero runs of random length
  const w: number[] = [];
  for (let k = 0; k < 4; k++) {
    const hi = rnd() < 0.4 ? 0 : Math.floor(rnd() * 65536);
    const lo = rnd() < 0.4 ? 0 : Math.floor(rnd() * 65536);
    w.push(((hi << 16) | lo) >>> 0);
  }
  return w;
}

const TIMES = [1767225600123, 0, 999, 1000, -1, -1500, 8.64e15, 8.64e15 + 5000, 1.5e17];
const COUNTERS = [0, 1, 999999, 1000000, 123456789, 4294967295, 4294967296, 2 ** 40 + 3, TWO53 - 1, TWO53, 1.5e19];

/** A batch of `n` rows: mostly ordinary IPv4 TCP/UDP flows, some IPv6, ICMP and extreme values. */
function batch(n: number): RecordBatch {
  const b = new RecordBatch(n);
  const v6 = new Uint8Array(16);
  const dv = new DataView(v6.buffer);
  for (let k = 0; k < n; k++) {
    const r = b.addRow();
    const c = b.cols;
    const odd = rnd() < 0.3;
    const first = odd ? pick(TIMES) : 1767225600000 + Math.floor(rnd() * 3600000);
    c.msecFirst[r] = first;
    c.msecLast[r] = odd && rnd() < 0.5 ? pick(TIMES) : first + pick([0, 1, 999, 61234, 86399999, 86400000, 3e9]);
    c.msecReceived[r] = odd ? pick(TIMES) : first + 61000;
    c.proto[r] = pick([6, 6, 6, 17, 17, 1, 58, 47, 0, 200]);
    c.srcPort[r] = Math.floor(rnd() * 65536);
    c.dstPort[r] = pick([443, 80, 53, 0, 65535, 0x0303, Math.floor(rnd() * 65536)]);
    if (rnd() < 0.2) {
      c.icmpType[r] = Math.floor(rnd() * 256);
      c.icmpCode[r] = Math.floor(rnd() * 16);
    }
    for (const col of ["srcAddr", "dstAddr", "nextHop", "exporterAddr", "bgpNextHop"] as const) {
      if (rnd() < 0.25) {
        const w = randomV6();
        for (let j = 0; j < 4; j++) dv.setUint32(j * 4, w[j]!);
        b.setV6(col, r, v6, 0);
      } else b.setV4(col, r, Math.floor(rnd() * 4294967296) >>> 0);
    }
    for (const col of ["inPackets", "inBytes", "outPackets", "outBytes"] as const) {
      c[col][r] = odd ? pick(COUNTERS) : Math.floor(rnd() * 1e4);
    }
    if (odd && c.inBytes[r]! >= TWO53) c.inBytesFix[r] = 7;
    c.flows[r] = pick([0, 1, 1, 3, 4294967296]);
    c.tcpFlags[r] = Math.floor(rnd() * 256);
    c.srcTos[r] = Math.floor(rnd() * 256);
    c.input[r] = Math.floor(rnd() * 4294967296);
    c.output[r] = pick([0, 7, 4294967295]);
    c.srcAs[r] = pick([0, 64512, 4294967295]);
    c.dstAs[r] = Math.floor(rnd() * 70000);
    c.srcMask[r] = Math.floor(rnd() * 129);
    c.dstMask[r] = Math.floor(rnd() * 33);
  }
  return b;
}

/** An Output that is not a BufferedOutput: formatters take their text paths. */
function textOutput(): Output & { text: string } {
  return {
    text: "",
    stopped: false,
    write(s: string): void {
      this.text += s;
    },
    writeBytes(bytes: Uint8Array): void {
      this.text += Buffer.from(bytes).toString("utf8");
    },
    flush(): void {
      // nothing buffered
    },
  };
}

/** Rows in a scrambled selection order, some twice, as a filter's selection never is but records() allows. */
function selection(n: number): Uint32Array {
  const sel = new Uint32Array(n);
  for (let k = 0; k < n; k++) sel[k] = Math.floor(rnd() * n);
  return sel;
}

describe("putIPv6", () => {
  it("prints what formatIPv6 (+ condenseV6, padding) prints", () => {
    const buf = new Uint8Array(64);
    for (let k = 0; k < 20000; k++) {
      const w = randomV6();
      const full = formatIPv6(w, 0);
      for (const [width, condense] of [
        [0, false],
        [16, true],
        [39, false],
      ] as const) {
        const end = putIPv6(buf, 3, w, 0, width, condense);
        const want = (condense ? condenseV6(full) : full).padStart(width);
        expect(Buffer.from(buf.subarray(3, end)).toString("latin1")).toBe(want);
      }
    }
  });
});

describe("records(): the compiled rows print what the field writers print", () => {
  const b = batch(3000);
  const sel = selection(3000);
  const names = [
    ...PREDEFINED_FORMATS.map(([n]) => n),
    "fmt:%ts %te %tr %sa %da %nh %ra %sp %dp %in %out %sas %das %tos %flg",
  ];
  for (const name of names) {
    for (const opts of [{}, { plain: true }, { longV6: true }]) {
      it(`${name} ${JSON.stringify(opts)}`, () => {
        const f = compileFmt(name.startsWith("fmt:") ? name.slice(4) : `%${name}`, opts);
        let want = "";
        for (let j = 0; j < sel.length; j++) want += `${f.line(b, sel[j]!)}\n`;
        const out = new StringOutput();
        const fm = createFormatter(name, { ...opts, quiet: true });
        fm.records(b, sel, sel.length, out);
        expect(out.text()).toBe(want);
        // one row at a time (record()) and the whole batch without a selection agree too
        const one = new StringOutput();
        for (let j = 0; j < sel.length; j++) fm.record(b, sel[j]!, one);
        expect(one.text()).toBe(want);
        const all = new StringOutput();
        fm.records(b, null, 50, all);
        let first50 = "";
        for (let i = 0; i < 50; i++) first50 += `${f.line(b, i)}\n`;
        expect(all.text()).toBe(first50);
      });
    }
  }

  for (const spec of [
    "csv",
    "csv:%ts,%te,%tr,%td,%pr,%sa,%da,%nh,%ra,%sp,%dp,%pkt,%byt,%opkt,%obyt,%fl,%in,%out,%sas,%das",
    "csv:%sn,%dn,%flg,%tos,%bps,%pps,%bpp,%tsr,%ter,%eng",
  ]) {
    it(spec, () => {
      const f = createFormatter(spec);
      const text = textOutput();
      f.records(b, sel, sel.length, text);
      const out = new StringOutput();
      f.records(b, sel, sel.length, out);
      expect(out.text()).toBe(text.text);
      expect(text.text.split("\n").length).toBe(sel.length + 1);
    });
  }

  it("csv with csv-stringify prints the same rows", () => {
    const out = new StringOutput();
    new CsvFormatter(undefined, "direct").records(b, sel, 500, out);
    const ref = new StringOutput();
    new CsvFormatter(undefined, "stringify").records(b, sel, 500, ref);
    expect(out.text()).toBe(ref.text());
  });
});

describe("records() and the output buffer", () => {
  it("drains in chunks across a block and stops at EPIPE", () => {
    const b = batch(2000);
    const chunks: number[] = [];
    let text = "";
    const out = new BufferedOutput((c) => {
      chunks.push(c.length);
      text += Buffer.from(c).toString("latin1");
    }, 4096);
    const f = createFormatter("line", { quiet: true });
    f.records(b, null, b.length, out);
    out.flush();
    expect(chunks.length).toBeGreaterThan(10);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(4096 + 16384);
    expect(text.split("\n").length).toBe(b.length + 1);

    let calls = 0;
    const gone = new BufferedOutput(() => {
      calls++;
      throw Object.assign(new Error("pipe"), { code: "EPIPE" });
    }, 4096);
    f.records(b, null, b.length, gone);
    expect(gone.stopped).toBe(true);
    expect(calls).toBe(1);
  });
});
