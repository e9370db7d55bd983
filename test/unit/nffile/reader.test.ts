// NfdumpFileReader on hand-built nffile V2 files: header checks (layout 1, 1.8 layout 3, encryption, bad
// magic), V3 record → column mapping (IPv4/IPv6, ICMP, counters, MAC, MPLS, NAT, later-element-wins), the
// appendix (ident, stat record), a killed collector's file (NumBlocks 0, no appendix, a cut last block) and
// damaged records. Layout: reference/nfdump.md §5.1.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressSync } from "lz4-napi";
import { afterAll, describe, expect, it } from "vitest";
import { FlowFileReader } from "../../../src/store/reader.js";
import type { StoreError } from "../../../src/store/errors.js";
import {
  NfdumpFileReader,
  openAnyFlowFile,
  sniffFlowFile,
  type FlowFileSource,
} from "../../../src/store/nffile/index.js";

const TMP = mkdtempSync(join(tmpdir(), "nffile-unit-"));
afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
});

// FlowFileReader must satisfy FlowFileSource structurally (checked by tsc).
export const asSource: (p: string) => FlowFileSource = (p) => FlowFileReader.open(p);

/** Little-endian byte writer. */
class W {
  b: number[] = [];
  u8(v: number): this {
    this.b.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number): this {
    return this.u32(v % 4294967296).u32(Math.floor(v / 4294967296));
  }
  bytes(a: ArrayLike<number>): this {
    for (let i = 0; i < a.length; i++) this.u8(a[i]!);
    return this;
  }
  get length(): number {
    return this.b.length;
  }
}

function header(
  o: {
    layout?: number;
    compression?: number;
    encryption?: number;
    appendixBlocks?: number;
    offAppendix?: number;
    numBlocks?: number;
    magic?: number;
  } = {},
): W {
  return new W()
    .u16(o.magic ?? 0xa50c)
    .u16(o.layout ?? 2)
    .u32(0x01070100)
    .u64(1795435200)
    .u8(o.compression ?? 0)
    .u8(o.encryption ?? 0)
    .u16(o.appendixBlocks ?? 0)
    .u32(1)
    .u64(o.offAppendix ?? 0)
    .u32(0)
    .u32(o.numBlocks ?? 0);
}

function element(id: number, payload: W): W {
  return new W()
    .u16(id)
    .u16(payload.length + 4)
    .bytes(payload.b);
}

function v3(elements: W[], o: { engType?: number; engId?: number; sysid?: number; nfv?: number } = {}): W {
  const body = new W();
  for (const e of elements) body.bytes(e.b);
  return new W()
    .u16(11)
    .u16(12 + body.length)
    .u16(elements.length)
    .u8(o.engType ?? 0)
    .u8(o.engId ?? 0)
    .u16(o.sysid ?? 1)
    .u8(0)
    .u8(o.nfv ?? 9)
    .bytes(body.b);
}

function block(records: W[]): W {
  const body = new W();
  for (const r of records) body.bytes(r.b);
  return new W().u32(records.length).u32(body.length).u16(3).u16(0).bytes(body.b);
}

const generic = (o: {
  first: number;
  last: number;
  pk: number;
  by: number;
  sp: number;
  dp: number;
  proto: number;
  flags?: number;
}): W =>
  element(
    1,
    new W()
      .u64(o.first)
      .u64(o.last)
      .u64(o.first + 5000)
      .u64(o.pk)
      .u64(o.by)
      .u16(o.sp)
      .u16(o.dp)
      .u8(o.proto)
      .u8(o.flags ?? 0)
      .u8(0)
      .u8(0),
  );

/** IPv6 as nfdump stores it: two host-order u64, high half first. */
function ipv6(words: [number, number, number, number]): W {
  return new W().u32(words[1]).u32(words[0]).u32(words[3]).u32(words[2]);
}

function exporterInfo(sysid: number, v4: number): W {
  return new W().u16(7).u16(32).u32(9).u64(0).u32(v4).u32(0).u16(2).u16(sysid).u32(42);
}

function appendix(ident: string, stat: number[]): W {
  const id = Buffer.from(`${ident}\0`);
  const idRec = new W()
    .u16(0x8001)
    .u16(4 + id.length + (id.length % 2))
    .bytes(id);
  if (id.length % 2) idRec.u8(0);
  const st = new W().u16(0x8002).u16(4 + 18 * 8);
  for (let k = 0; k < 18; k++) st.u64(stat[k] ?? 0);
  return block([idRec, st]);
}

function write(name: string, parts: W[]): string {
  const file = join(TMP, name);
  writeFileSync(file, Uint8Array.from(parts.flatMap((p) => p.b)));
  return file;
}

const REC_V4 = v3(
  [
    generic({
      first: 1795435489403,
      last: 1795435499403,
      pk: 10,
      by: 5000 + 3 * 4294967296,
      sp: 51234,
      dp: 443,
      proto: 6,
      flags: 0x1b,
    }),
    element(2, new W().u32(0xc000020a).u32(0xc6336414)),
    element(4, new W().u32(1).u32(2).u8(24).u8(16).u8(1).u8(7).u8(0).u8(3).u8(0).u8(0)),
    element(7, new W().u32(64500).u32(64501)),
    element(10, new W().u32(0xc0000201)),
    element(12, new W().u32(0x7f000001)),
    element(99, new W().u32(0xdeadbeef)), // unknown element: skipped by length
  ],
  { engType: 1, engId: 2, sysid: 3, nfv: 9 },
);

const REC_V6 = v3(
  [
    element(3, ipv6([0x20010db8, 0, 0, 1]).bytes(ipv6([0x20010db8, 0, 0, 2]).b)),
    generic({ first: 1795435490000, last: 1795435491000, pk: 1, by: 84, sp: 0, dp: 0x0301, proto: 58 }),
    element(5, new W().u64(4).u64(7).u64(900)),
    element(15, new W().u64(0x001122334455).u64(0x66778899aabb).u64(0).u64(0)),
    element(
      14,
      new W()
        .u32((20006 << 4) | 0)
        .u32((524275 << 4) | 1)
        .bytes(new Array<number>(32).fill(0)),
    ),
    element(13, ipv6([0xfe800000, 0, 0, 9])),
    element(20, new W().u32(0x0a000001).u32(0x0a000002)),
    element(22, new W().u16(1000).u16(2000)),
    element(6, new W().u32(100).u32(200)),
  ],
  { sysid: 1, nfv: 10 },
);

describe("NfdumpFileReader: headers", () => {
  it("rejects a 1.6 layout 1 file with ERR_STORE_NFFILE_V1 and the conversion hint", () => {
    const file = write("v1", [new W().u16(0xa50c).u16(1).u32(0).u32(0).bytes(new Array<number>(128).fill(0))]);
    expect(() => NfdumpFileReader.open(file)).toThrow(
      expect.objectContaining({
        code: "ERR_STORE_NFFILE_V1",
        message: expect.stringContaining("nfdump 1.6 layout 1 file: convert it with nfdump 1.7 -r in -w out first"),
      }),
    );
    expect(() => openAnyFlowFile(file)).toThrow(expect.objectContaining({ code: "ERR_STORE_NFFILE_V1" }));
  });

  it("rejects 1.8 (layout 3), encrypted files, unknown codecs, garbage magic and short files", () => {
    expect(() => NfdumpFileReader.open(write("v3", [header({ layout: 3 })]))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_NFFILE_V3" }),
    );
    expect(() => NfdumpFileReader.open(write("enc", [header({ encryption: 1 })]))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_NFFILE_ENCRYPTED" }),
    );
    expect(() => NfdumpFileReader.open(write("codec", [header({ compression: 9 })]))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_CODEC" }),
    );
    const garbage = write("garbage", [new W().bytes(Buffer.from("hello, this is not a flow file at all......"))]);
    expect(() => openAnyFlowFile(garbage)).toThrow(
      expect.objectContaining({ code: "ERR_STORE_BAD_MAGIC", file: garbage }),
    );
    expect(() => NfdumpFileReader.open(garbage)).toThrow(expect.objectContaining({ code: "ERR_STORE_BAD_MAGIC" }));
    expect(() => NfdumpFileReader.open(write("short", [new W().u16(0xa50c).u16(2).u32(0)]))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_TRUNCATED" }),
    );
    expect(() => openAnyFlowFile(join(TMP, "does-not-exist"))).toThrow(
      expect.objectContaining({ code: "ERR_STORE_IO" }),
    );
  });

  it("sniffs tsflow and nffile magics", () => {
    expect(sniffFlowFile(Buffer.from("TSFL"))).toBe("tsflow");
    expect(sniffFlowFile(Uint8Array.of(0x0c, 0xa5, 2, 0))).toBe("nffile");
    expect(sniffFlowFile(Uint8Array.of(1, 2, 3, 4))).toBe("unknown");
  });
});

describe("NfdumpFileReader: records", () => {
  const data = block([exporterInfo(3, 0x7f000001), REC_V4, REC_V6]);
  const stat = [
    2,
    5000 + 3 * 4294967296 + 84,
    11,
    1,
    0,
    1,
    0,
    5000 + 3 * 4294967296,
    0,
    84,
    0,
    10,
    0,
    1,
    0,
    1795435489403,
    1795435499403,
    0,
  ];
  const offAppendix = 40 + data.length;
  const file = write("good", [
    header({ appendixBlocks: 1, offAppendix, numBlocks: 1, compression: 0 }),
    data,
    appendix("router-a", stat),
  ]);

  it("maps V3 elements onto the schema columns", () => {
    const r = NfdumpFileReader.open(file);
    expect(r.hasFooter).toBe(true);
    expect(r.blockCount).toBe(1);
    expect(r.blockInfo(0)).toMatchObject({ offset: 40, rows: 3 });
    const b = r.readBlock(0)!;
    expect(r.errors).toEqual([]);
    expect(b.length).toBe(2);
    const c = b.cols;
    // row 0: IPv4
    expect([c.msecFirst[0], c.msecLast[0], c.msecReceived[0]]).toEqual([1795435489403, 1795435499403, 1795435494403]);
    expect([c.inPackets[0], c.inBytes[0], c.flows[0]]).toEqual([10, 5000 + 3 * 4294967296, 1]);
    expect([c.srcPort[0], c.dstPort[0], c.proto[0], c.tcpFlags[0]]).toEqual([51234, 443, 6, 0x1b]);
    expect([c.srcAddr[0], c.dstAddr[0], c.nextHop[0], c.exporterAddr[0], c.v6Flags[0]]).toEqual([
      0xc000020a, 0xc6336414, 0xc0000201, 0x7f000001, 0,
    ]);
    expect([
      c.input[0],
      c.output[0],
      c.srcMask[0],
      c.dstMask[0],
      c.direction[0],
      c.dstTos[0],
      c.flowEndReason[0],
    ]).toEqual([1, 2, 24, 16, 1, 7, 3]);
    expect([c.srcAs[0], c.dstAs[0], c.engineType[0], c.engineId[0], c.exporterId[0], c.nfVersion[0]]).toEqual([
      64500, 64501, 1, 2, 3, 9,
    ]);
    // row 1: IPv6, ICMPv6 type 3 code 1 kept in dstPort as nfdump does, counters, MAC, MPLS, NAT, VLAN
    expect(b.isV6("srcAddr", 1) && b.isV6("dstAddr", 1) && b.isV6("exporterAddr", 1)).toBe(true);
    expect([...c.srcAddr6.subarray(4, 8)]).toEqual([0x20010db8, 0, 0, 1]);
    expect([...c.dstAddr6.subarray(4, 8)]).toEqual([0x20010db8, 0, 0, 2]);
    expect([...c.exporterAddr6.subarray(4, 8)]).toEqual([0xfe800000, 0, 0, 9]);
    expect([c.dstPort[1], c.icmpType[1], c.icmpCode[1]]).toEqual([0x0301, 3, 1]);
    expect([c.flows[1], c.outPackets[1], c.outBytes[1]]).toEqual([4, 7, 900]);
    expect([c.inSrcMac[1], c.outDstMac[1]]).toEqual([0x001122334455, 0x66778899aabb]);
    expect([c.mpls1[1], c.mpls2[1], c.mpls3[1]]).toEqual([20006 << 4, ((524275 << 4) | 1) >>> 0, 0]);
    expect([c.xlateSrcAddr[1], c.xlateDstAddr[1], c.xlateSrcPort[1], c.xlateDstPort[1]]).toEqual([
      0x0a000001, 0x0a000002, 1000, 2000,
    ]);
    expect([c.srcVlan[1], c.dstVlan[1], c.nfVersion[1]]).toEqual([100, 200, 10]);
    expect(r.zoneMap(0)).toBeDefined();
    expect([...r.batches()].map((x) => x.length)).toEqual([2]);
    r.close();
  });

  it("header ident and stats come from the appendix, exporters from record 7", () => {
    const r = NfdumpFileReader.open(file);
    expect(r.header()).toMatchObject({
      version: 2,
      codec: "none",
      creator: "nfcapd",
      ident: "router-a",
      created: 1795435200000,
      nfdVersion: 0x01070100,
    });
    const s = r.stats();
    expect([s.totalFlows, s.totalBytes, s.totalPackets]).toEqual([2, 5000 + 3 * 4294967296 + 84, 11]);
    expect(s.flows).toEqual([1, 0, 1, 0]);
    expect([s.msecFirst, s.msecLast]).toEqual([1795435489403, 1795435499403]);
    expect(s.exporters).toEqual([expect.objectContaining({ address: "127.0.0.1", id: 3, domain: 42, version: 9 })]);
    r.close();
  });

  it("the later of an ipv4Flow and an ipv6Flow element wins (nfdump keeps both in one union)", () => {
    const rec = v3([
      element(2, new W().u32(0x01020304).u32(0x05060708)),
      element(3, ipv6([0, 0, 0, 0]).bytes(ipv6([0, 0, 0, 0]).b)),
    ]);
    const f = write("both", [header(), block([rec])]);
    const r = NfdumpFileReader.open(f);
    const b = r.readBlock(0)!;
    expect(b.isV6("srcAddr", 0)).toBe(true);
    expect(b.cols.srcAddr[0]).toBe(0);
    r.close();
  });

  it("a killed collector's file (NumBlocks 0, no appendix, last block cut): whole blocks read, cut located, stats from rows", () => {
    const b1 = block([REC_V4, REC_V6]);
    const b2 = block([REC_V4]);
    const cut = new W().bytes(b2.b.slice(0, 30));
    const f = write("current", [header(), b1, b2, cut]);
    const errors: StoreError[] = [];
    const r = NfdumpFileReader.open(f, { onError: (e) => errors.push(e) });
    expect(r.hasFooter).toBe(false);
    expect(r.blockCount).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: "ERR_STORE_TRUNCATED",
      file: f,
      block: 2,
      offset: 40 + b1.length + b2.length,
    });
    expect(errors[0]!.message).toContain(`${f} block 2 offset ${40 + b1.length + b2.length}`);
    const s = r.stats();
    expect(s.rows).toBe(3);
    expect(s.totalFlows).toBe(1 + 4 + 1);
    expect(s.flows).toEqual([2, 0, 4, 0]);
    expect(r.header().ident).toBe("");
    r.close();
  });

  it("damaged records and blocks: located errors, earlier rows kept, later blocks still read", () => {
    const badRec = new W().bytes(REC_V4.b);
    badRec.b[12 + 2] = 0xff; // first element length runs past the record
    const badSize = new W().bytes(REC_V6.b);
    const b1 = block([REC_V4, badRec, REC_V4]);
    const b2 = block([badSize]);
    b2.b[12 + 2] = 0xff; // record size past the payload
    b2.b[12 + 3] = 0x7f;
    const b3 = block([REC_V6]);
    const bogus = new W().u32(1).u32(0x7fffffff).u16(3).u16(0); // implausible block header: resync on b3
    const f = write("damaged", [header(), b1, b2, bogus, b3]);
    const errors: StoreError[] = [];
    const r = NfdumpFileReader.open(f, { onError: (e) => errors.push(e) });
    expect(errors).toEqual([
      expect.objectContaining({ code: "ERR_STORE_BAD_LENGTH", offset: 40 + b1.length + b2.length }),
    ]);
    expect(r.blockCount).toBe(3);
    const x1 = r.readBlock(0)!;
    expect(x1.length).toBe(1);
    expect(errors[1]).toMatchObject({ code: "ERR_STORE_CORRUPT", block: 0, offset: 40 });
    expect(errors[1]!.message).toContain("record 1 at payload offset");
    expect(r.zoneMap(0)).toBeUndefined();
    expect(r.readBlock(1)!.length).toBe(0);
    expect(errors[2]).toMatchObject({ code: "ERR_STORE_CORRUPT", block: 1 });
    expect(r.readBlock(2)!.length).toBe(1);
    expect(errors).toHaveLength(3);
    r.close();
  });

  it("a cut compressed payload is reported, not thrown", () => {
    const body = Buffer.from([0xf0, 1, 2, 3]); // LZ4 token promising 15+ literals, then nothing
    const blk = new W().u32(1).u32(body.length).u16(3).u16(0).bytes(body);
    const f = write("lz4bad", [header({ compression: 3 }), blk]);
    const errors: StoreError[] = [];
    const r = NfdumpFileReader.open(f, { onError: (e) => errors.push(e) });
    expect(r.readBlock(0)).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ code: "ERR_STORE_CORRUPT", block: 0, offset: 52 })]);
    r.close();
  });

  it("never throws on random byte damage (200 mutants of a 3-block file, every codec id)", () => {
    const good = [
      header({ appendixBlocks: 1, numBlocks: 3 }),
      block([exporterInfo(3, 0x7f000001), REC_V4, REC_V6]),
      block([REC_V6, REC_V4]),
      block([REC_V4]),
    ];
    const bytes = Uint8Array.from(good.flatMap((p) => p.b));
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let m = 0; m < 200; m++) {
      const mutant = bytes.slice(0, 40 + rnd(bytes.length - 40) + 1);
      for (let k = 0; k < 1 + rnd(6); k++) mutant[40 + rnd(mutant.length - 40)] = rnd(256);
      mutant[16] = rnd(5);
      const f = write(`mutant${m}`, [new W().bytes(mutant)]);
      const r = NfdumpFileReader.open(f, { onError: () => undefined });
      for (let i = 0; i < r.blockCount; i++) r.readBlock(i);
      r.stats();
      r.close();
    }
  });
});

describe("NfdumpFileReader: generated layout decoders and column selection", () => {
  it("a row of a smaller layout reads zeros where an earlier block's layout wrote (no batch zeroing)", () => {
    // block 0: the IPv6 record with MAC, MPLS, NAT, VLAN, counters; block 1: the IPv4 record without them
    const f = write("layouts", [header(), block([REC_V6, REC_V6]), block([REC_V4])]);
    const r = NfdumpFileReader.open(f);
    r.readBlock(0);
    const b = r.readBlock(1)!;
    const fresh = NfdumpFileReader.open(write("layouts-v4", [header(), block([REC_V4])])).readBlock(0)!;
    for (const [name, arr] of Object.entries(b.cols)) {
      const want = (fresh.cols as unknown as Record<string, ArrayLike<number>>)[name]!;
      const width = name.endsWith("6") && !name.startsWith("mpls") ? 4 : 1;
      for (let k = 0; k < width; k++) expect([name, arr[k]]).toEqual([name, want[k]]);
    }
    expect([b.cols.inSrcMac[0], b.cols.mpls1[0], b.cols.srcVlan[0], b.cols.xlateSrcPort[0]]).toEqual([0, 0, 0, 0]);
    expect([b.cols.flows[0], b.cols.outBytes[0], b.isV6("srcAddr", 0), b.isV6("exporterAddr", 0)]).toEqual([
      1,
      0,
      false,
      false,
    ]);
    r.close();
  });

  it("makes its batch once per file, sized for the largest block, however the block sizes grow", () => {
    // a new batch means new generated decoders compiled and warmed up again: growing it block by block cost the
    // bench file 7 batches and ~40 % more walk time in the first pass
    const many = (n: number): W[] => Array.from({ length: n }, () => REC_V4);
    const f = write("growing", [header(), block(many(10)), block(many(6000)), block(many(9000))]);
    const r = NfdumpFileReader.open(f);
    const b0 = r.readBlock(0)!;
    const cols0 = b0.cols.inBytes;
    const b1 = r.readBlock(1)!;
    const b2 = r.readBlock(2)!;
    expect([b1 === b0, b2 === b0, b2.cols.inBytes === cols0]).toEqual([true, true, true]);
    expect([b2.length, b2.cols.inBytes[8999], b2.cols.srcAddr[8999], b2.cols.dstPort[0]]).toEqual([
      9000,
      5000 + 3 * 4294967296,
      0xc000020a,
      443,
    ]);
    r.close();
  });

  it("decodes only the selected columns, lists the rest as absent, and a wider second read fills them in", () => {
    const f = write("select", [header(), block([REC_V4, REC_V6, REC_V4])]);
    const r = NfdumpFileReader.open(f);
    const few = r.readBlock(0, new Set(["dstPort", "srcAddr"]))!;
    expect(few.length).toBe(3);
    expect([...few.cols.dstPort.subarray(0, 3)]).toEqual([443, 0x0301, 443]);
    expect([few.cols.srcAddr[0], few.isV6("srcAddr", 1)]).toEqual([0xc000020a, true]);
    expect(few.absent.has("inBytes") && few.absent.has("srcAs") && !few.absent.has("srcAddr6")).toBe(true);
    expect(r.readBlock(0, new Set(["dstPort"]))).toBe(few); // fewer columns of the same block: as it is
    const all = r.readBlock(0)!;
    expect(all.absent.size).toBe(0);
    const ref = NfdumpFileReader.open(f).readBlock(0)!;
    expect([...all.cols.inBytes.subarray(0, 3)]).toEqual([...ref.cols.inBytes.subarray(0, 3)]);
    expect([...all.cols.srcAs.subarray(0, 3)]).toEqual([64500, 0, 64500]);
    expect(r.readBlocks).toBe(2); // one read + decompression, two decodes
    r.close();
  });
});

describe("NfdumpFileReader: the generated block decoder (runs of records of the recent layouts)", () => {
  const g = (k: number): W =>
    generic({ first: 1795435489403 + k, last: 1795435499403 + k, pk: k, by: 1000 + k, sp: k, dp: 80 + k, proto: 6 });
  const v4 = (k: number): W => element(2, new W().u32(0x0a000000 + k).u32(0xc0a80000 + k));
  // six layouts (more than a block decoder takes inline), interleaved, new ones appearing mid-block, between
  // exporter records and a record of an unknown type
  const records = (n: number): W[] => {
    const out: W[] = [];
    for (let k = 0; k < n; k++) {
      const kind = (k * 7) % 13;
      if (kind === 0) out.push(REC_V6);
      else if (kind === 1) out.push(REC_V4);
      else if (kind === 2) out.push(v3([v4(k), g(k)], { sysid: 2 }));
      else if (kind === 3) out.push(v3([g(k)], { sysid: 4 }));
      else if (kind === 4 && k > n / 2) out.push(exporterInfo(5, 0x7f000002));
      else if (kind === 5 && k > n / 3)
        out.push(new W().u16(42).u16(8).u32(7)); // unknown record type: skipped
      else if (kind === 6) out.push(v3([g(k), v4(k), element(7, new W().u32(k).u32(k + 1))], { sysid: 6 }));
      else out.push(v3([g(k), v4(k)], { sysid: 1 }));
    }
    return out;
  };

  for (const [name, cols] of [
    ["every column", undefined],
    ["a few columns", new Set(["inBytes", "srcAddr", "srcAs", "dstPort"])],
  ] as const) {
    it(`decodes every row as a reader decoding that record alone (${name})`, () => {
      const recs = records(150);
      const r = NfdumpFileReader.open(write(`block-${name}`, [header(), block(recs), block(recs.slice(7))]));
      for (const bi of [0, 1]) {
        const b = r.readBlock(bi, cols)!;
        let row = 0;
        for (const rec of bi === 0 ? recs : recs.slice(7)) {
          if ((rec.b[0]! | (rec.b[1]! << 8)) !== 11) continue;
          const one = NfdumpFileReader.open(write("one", [header(), block([rec])])).readBlock(0, cols)!;
          const got: unknown[] = [];
          const want: unknown[] = [];
          for (const [col, arr] of Object.entries(one.cols)) {
            if (one.absent.has(col as never)) continue;
            const all = (b.cols as unknown as Record<string, ArrayLike<number>>)[col]!;
            const width = col.endsWith("6") && !col.startsWith("mpls") ? 4 : 1;
            for (let k = 0; k < width; k++) {
              got.push(col, all[row * width + k]);
              want.push(col, arr[k]);
            }
          }
          expect([bi, row, ...got]).toEqual([bi, row, ...want]);
          row++;
        }
        expect(b.length).toBe(row);
      }
      expect(r.errors).toEqual([]);
      r.close();
    });
  }

  it("stops at a damaged record inside a run: the rows before it kept, the damage located", () => {
    const recs = records(60).filter((w) => (w.b[0]! | (w.b[1]! << 8)) === 11);
    const bad = new W().bytes(recs[40]!.b);
    bad.b[2] = 0xff; // record size 0x..ff: runs past the payload
    bad.b[3] = 0x7f;
    const errs: string[] = [];
    const r = NfdumpFileReader.open(
      write("block-bad", [header(), block([...recs.slice(0, 40), bad, ...recs.slice(41)])]),
      {
        onError: (e) => errs.push(e.message),
      },
    );
    expect(r.readBlock(0)!.length).toBe(40);
    expect(errs.length).toBe(1);
    expect(errs[0]).toMatch(/block 0.*record 40 at payload offset \d+: bad size 32767/);
    r.close();
  });
});

describe("NfdumpFileReader.readRows (late materialisation of the rows a filter passed)", () => {
  it("completes every column of the listed rows; the next read decodes the block again", () => {
    const f = write("rows", [header(), block([REC_V4, REC_V6, REC_V4])]);
    const r = NfdumpFileReader.open(f);
    expect(r.readBlock(0, new Set(["dstPort"]))!.absent.has("outBytes")).toBe(true);
    const b = r.readRows(0, Uint32Array.of(1), 1)!;
    expect(b.absent.size).toBe(0);
    expect([b.cols.outBytes[1], b.cols.inSrcMac[1], b.cols.flows[1], b.cols.srcVlan[1]]).toEqual([
      900, 0x001122334455, 4, 100,
    ]);
    expect([...b.cols.dstPort.subarray(0, 3)]).toEqual([443, 0x0301, 443]);
    const all = r.readBlock(0)!;
    expect([all.cols.srcAs[0], all.cols.srcAs[2], all.cols.flows[0]]).toEqual([64500, 64500, 1]);
    expect(r.readBlocks).toBe(2);
    r.close();
  });
  it("completes a row whose layout the layout cache has evicted since (more layouts in one block than it keeps)", () => {
    // 4100 records, each with its own unknown element id (skipped, but part of its layout): the cache drops its
    // layouts at 4096, so row 0's layout id no longer resolves and is found again from the record
    const recs = Array.from({ length: 4100 }, (_, k) =>
      v3([
        generic({ first: 1000 + k, last: 2000 + k, pk: 1 + k, by: 100 + k, sp: k, dp: 443, proto: 6 }),
        element(2, new W().u32(0x0a000000 + k).u32(0x0a000001)),
        element(100 + k, new W().u32(k)),
      ]),
    );
    const r = NfdumpFileReader.open(write("evicted", [header(), block(recs)]));
    expect(r.readBlock(0, new Set(["dstPort"]))!.length).toBe(4100);
    const b = r.readRows(0, Uint32Array.of(0, 4099), 2)!;
    expect([b.cols.inBytes[0], b.cols.srcAddr[0], b.cols.srcPort[0]]).toEqual([100, 0x0a000000, 0]);
    expect([b.cols.inBytes[4099], b.cols.srcAddr[4099], b.cols.srcPort[4099]]).toEqual([4199, 0x0a000000 + 4099, 4099]);
    r.close();
  });
});

describe("NfdumpFileReader: LZ4 files (one WebAssembly memory per thread, shared by the readers)", () => {
  /** an LZ4 block: lz4-napi's output without its u32 size prefix is what nfcapd -y writes */
  const lz4Block = (records: W[]): W => {
    const body = new W();
    for (const r of records) body.bytes(r.b);
    const packed = new Uint8Array(compressSync(Buffer.from(body.b))).subarray(4);
    return new W().u32(records.length).u32(packed.length).u16(3).u16(0).bytes(packed);
  };

  it("two readers interleaved: each one's kept payload stays its own", () => {
    const a = NfdumpFileReader.open(write("lz4-a", [header({ compression: 3 }), lz4Block([REC_V4, REC_V4])]));
    const b = NfdumpFileReader.open(write("lz4-b", [header({ compression: 3 }), lz4Block([REC_V6])]));
    expect(a.readBlock(0, new Set(["dstPort"]))!.cols.dstPort[1]).toBe(443);
    expect(b.readBlock(0)!.cols.outBytes[0]).toBe(900); // decompresses into the shared memory
    const rows = a.readRows(0, Uint32Array.of(0, 1), 2)!; // must read a's payload again
    expect([rows.cols.srcAs[0], rows.cols.srcAs[1], rows.cols.outBytes[1], rows.isV6("srcAddr", 1)]).toEqual([
      64500,
      64500,
      0,
      false,
    ]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    a.close();
    b.close();
  });
});

/** Exporter statistics record (8): per exporter u32 sysid | u32 sequence failures | u64 packets | u64 flows. */
function exporterStats(stats: [number, number, number, number][]): W {
  const w = new W()
    .u16(8)
    .u16(8 + 24 * stats.length)
    .u32(stats.length);
  for (const [sysid, seq, pk, fl] of stats) w.u32(sysid).u32(seq).u64(pk).u64(fl);
  return w;
}

/** Sampler record (15): u16 sysid | u16 algorithm | i64 id | u32 packet interval | u32 packet space. */
function sampler(sysid: number, alg: number, id: number, pi: number, ps: number): W {
  return new W()
    .u16(15)
    .u16(24)
    .u16(sysid)
    .u16(alg)
    .u32(id >>> 0)
    .u32(id < 0 ? 0xffffffff : 0)
    .u32(pi)
    .u32(ps);
}

/** Legacy sampler record (9): i32 id | u32 interval | u16 algorithm | u16 sysid. */
function samplerLegacy(sysid: number, alg: number, id: number, interval: number): W {
  return new W()
    .u16(9)
    .u16(16)
    .u32(id >>> 0)
    .u32(interval)
    .u16(alg)
    .u16(sysid);
}

describe("NfdumpFileReader.listExporters (tsdump -E)", () => {
  // exporter 3 is first seen in block 70: a scan of the first and last blocks (and a few after the first)
  // does not find its info record
  const blocks: W[] = [block([exporterInfo(1, 0x7f000001), exporterInfo(2, 0x7f000002), REC_V4])];
  for (let i = 1; i < 70; i++) blocks.push(block([REC_V4]));
  blocks.push(block([exporterInfo(3, 0x0a000003), sampler(3, 0, -1, 1, 99), REC_V6]));
  blocks.push(
    block([
      samplerLegacy(1, 2, 5, 100), // → packet interval 1, space 99
      sampler(3, 0, -1, 1, 99), // the same sampler again: listed once
      sampler(9, 0, 1, 1, 9), // unknown exporter: skipped (nfdump: "not found")
      REC_V4,
    ]),
  );
  blocks.push(
    block([
      exporterStats([
        [1, 0, 10, 70],
        [2, 1, 20, 0],
        [3, 2, 30, 1],
        [7, 0, 1, 1],
      ]),
    ]),
  );
  const file = write("exporters", [header(), ...blocks]);

  it("walks every block: all three exporters with their counters and samplers, sorted by SysID", () => {
    const r = NfdumpFileReader.open(file);
    const list = r.listExporters();
    expect(list.map((x) => [x.exporter.id, x.exporter.address, x.exporter.flows, x.exporter.packets])).toEqual([
      [1, "127.0.0.1", 70, 10],
      [2, "127.0.0.2", 0, 20],
      [3, "10.0.0.3", 1, 30],
    ]);
    expect(list[1]!.exporter.sequenceErrors).toBe(1);
    expect(list[0]!.samplers).toEqual([{ id: 5, algorithm: 2, packetInterval: 1, spaceInterval: 99 }]);
    expect(list[2]!.samplers).toEqual([{ id: -1, algorithm: 0, packetInterval: 1, spaceInterval: 99 }]);
    expect(list[2]!.exporter.samplingInterval).toBe(100);
    r.close();
  });
});
