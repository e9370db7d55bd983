// SPDX-License-Identifier: BSD-3-Clause
// LZ4 block decompressor in WebAssembly, assembled here from opcodes (no toolchain, no binary in the tree).
//
// Why: lz4-napi returns a fresh Buffer per call (a page-faulted 1 MiB allocation per nfdump block, then GC work
// for the external memory): about half of its time per block was the kernel's. This module keeps one linear
// memory per reader: the compressed payload is read straight into it, decompressed into a second region of it,
// and the record decoder reads the output there; nothing is allocated per block.
//
// Memory layout (one instance per thread, shared by its readers; 162 pages = 10.1 MiB):
//   [SRC, SRC + MAX_BLOCK + SLACK)   compressed payload (fs.readSync writes here)
//   [DST, DST + MAX_BLOCK + SLACK)   decompressed payload
// SLACK lets the copy loops move 16 bytes at a time past the end of a literal run or match ("wild copy", as
// the reference LZ4 decoder does); every length, offset and back-reference is still checked, so a damaged
// block returns -1 and never reads or writes outside these regions.
//
// Speed (bench/lz4.mjs; nfcapd blocks are mostly short literals and short matches): the fast path below (the
// reference decoder's "shortcut": one 16-byte literal move and three 8-byte match moves, no loop, when both
// buffers have room) avoids checking every length and copying in a counted loop (figures in
// docs/benchmarks.md). SIMD (v128 moves) is used where the engine has it; it gains little over 8-byte moves
// here (the short sequences are bound by their dependent loads, not by the moves).
//
// lz4(src, srcEnd, dst, dstEnd) → bytes written, or -1 when the block is damaged or does not fit.

/** Largest block (compressed or not) an nffile holds: nfdump's BUFFSIZE. */
const MAX_BLOCK = 5 * 1024 * 1024;
const SLACK = 64;
export const LZ4_WASM_SRC = 0;
export const LZ4_WASM_DST = MAX_BLOCK + SLACK;
export const LZ4_WASM_CAPACITY = MAX_BLOCK;
const PAGES = Math.ceil((2 * (MAX_BLOCK + SLACK)) / 65536);

// ── a tiny assembler ────────────────────────────────────────────────────────────────────────────────────
const I32 = 0x7f;
const VOID = 0x40;
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  brIf: 0x0d,
  br: 0x0c,
  return: 0x0f,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i64load: 0x29,
  load8: 0x2d,
  load16: 0x2f,
  i64store: 0x37,
  store8: 0x3a,
  const: 0x41,
  eqz: 0x45,
  eq: 0x46,
  ne: 0x47,
  ltU: 0x49,
  gtS: 0x4a,
  geS: 0x4e,
  gtU: 0x4b,
  geU: 0x4f,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  or: 0x72,
  shrU: 0x76,
} as const;
/** SIMD (0xfd prefix): v128.load / v128.store */
const V128_LOAD = [0xfd, 0x00];
const V128_STORE = [0xfd, 0x0b];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const get = (x: number): number[] => [op.get, x];
const set = (x: number): number[] => [op.set, x];
const tee = (x: number): number[] => [op.tee, x];
const k = (n: number): number[] => [op.const, ...sleb(n)];
/** memory access with memarg align 0 and a constant address offset */
const mem = (code: number | readonly number[], offset = 0): number[] => [
  ...(typeof code === "number" ? [code] : code),
  0,
  ...uleb(offset),
];
const fail = (): number[] => [...k(-1), op.return];

// params
const SRC = 0;
const SRC_END = 1;
const DST = 2;
const DST_END = 3;
// locals
const IP = 4;
const OP = 5;
const TOKEN = 6;
const LIT = 7;
const B = 8;
const DIST = 9;
const LEN = 10;
const M = 11;
const K = 12;
const FAST_IN = 13;
const FAST_OUT = 14;
const LOCALS = 11;

/** `x += next bytes while they are 255` (the LZ4 length extension); fails at the end of the input. */
const extend = (x: number): number[] => [
  op.loop,
  VOID,
  ...[...get(IP), ...get(SRC_END), op.geU, op.if, VOID, ...fail(), op.end],
  ...[...get(IP), ...mem(op.load8), ...set(B)],
  ...[...get(IP), ...k(1), op.add, ...set(IP)],
  ...[...get(x), ...get(B), op.add, ...set(x)],
  ...[...get(B), ...k(255), op.eq, op.brIf, 0],
  op.end,
];

/** bytes [from + at, +8) (or +16 with SIMD) to [OP + at, …): one load, one store */
const move8 = (from: number, at: number): number[] => [
  ...get(OP),
  ...get(from),
  ...mem(op.i64load, at),
  ...mem(op.i64store, at),
];
const move16 = (from: number, at: number): number[] => [
  ...get(OP),
  ...get(from),
  ...mem(V128_LOAD, at),
  ...mem(V128_STORE, at),
];

/**
 * Copies `len` bytes from `from` to OP, 16 per step (may write up to 15 bytes past; see SLACK), as one v128
 * move (`wide`: the source is at least 16 bytes behind OP, or does not overlap) or two 8-byte moves in order
 * (correct for overlapping matches whose offset is at least 8: each 8-byte load reads only bytes already
 * written). FROM and OP advance; K counts down.
 */
const wildCopy = (from: number, len: number, wide: boolean): number[] => [
  ...get(len),
  ...set(K),
  op.loop,
  VOID,
  ...(wide ? move16(from, 0) : [...move8(from, 0), ...move8(from, 8)]),
  ...[...get(OP), ...k(16), op.add, ...set(OP), ...get(from), ...k(16), op.add, ...set(from)],
  ...[...get(K), ...k(16), op.sub, ...tee(K), ...k(0), op.gtS, op.brIf, 0],
  op.end,
];

/**
 * The decoder. Most sequences of flow records are short (literals < 15, matches ≤ 18 bytes at offsets ≥ 8):
 * far from both ends of the buffers they take the fast path (as the reference decoder's "shortcut"): 16 literal
 * bytes and 24 match bytes are copied whatever the lengths, and only the offset is checked. Everything else
 * takes the general path, which checks every length. Both decode every valid or damaged block alike, as
 * decodeLz4Raw does (test/unit/nffile/codecs.test.ts).
 */
function body(simd: boolean): number[] {
  const lit16 = simd
    ? [...get(OP), ...get(IP), ...mem(V128_LOAD), ...mem(V128_STORE)]
    : [...get(OP), ...get(IP), ...mem(op.i64load), ...mem(op.i64store)].concat(
        ...[...get(OP), ...get(IP), ...mem(op.i64load, 8), ...mem(op.i64store, 8)],
      );
  return [
    ...[...get(SRC), ...set(IP), ...get(DST), ...set(OP)],
    // the fast path needs 16 + 2 input bytes and 14 + 24 output bytes ahead (signed: small buffers go negative)
    ...[...get(SRC_END), ...k(32), op.sub, ...set(FAST_IN), ...get(DST_END), ...k(64), op.sub, ...set(FAST_OUT)],
    op.loop,
    VOID,
    // end of input: done
    ...[...get(IP), ...get(SRC_END), op.geU, op.if, VOID, ...get(OP), ...get(DST), op.sub, op.return, op.end],
    // token and literal length
    ...[...get(IP), ...mem(op.load8), ...set(TOKEN), ...get(IP), ...k(1), op.add, ...set(IP)],
    ...[...get(TOKEN), ...k(4), op.shrU, ...set(LIT)],
    op.block, // $match: leaving it goes to the general match path (DIST read, IP past it)
    VOID,
    op.block, // $slow: leaving it goes to the general literal path
    VOID,
    // ── fast path ──
    ...[...get(LIT), ...k(15), op.eq, ...get(IP), ...get(FAST_IN), op.geS, op.or],
    ...[...get(OP), ...get(FAST_OUT), op.geS, op.or, op.brIf, 0],
    ...lit16,
    ...[...get(IP), ...get(LIT), op.add, ...set(IP), ...get(OP), ...get(LIT), op.add, ...set(OP)],
    ...[...get(IP), ...mem(op.load16), ...set(DIST), ...get(IP), ...k(2), op.add, ...set(IP)],
    ...[...get(TOKEN), ...k(15), op.and, ...set(LEN)],
    ...[...get(LEN), ...k(15), op.eq, ...get(DIST), ...k(8), op.ltU, op.or],
    ...[...get(DIST), ...get(OP), ...get(DST), op.sub, op.gtU, op.or, op.brIf, 1],
    ...[...get(OP), ...get(DIST), op.sub, ...set(M)],
    ...move8(M, 0),
    ...move8(M, 8),
    ...move8(M, 16),
    ...[...get(OP), ...get(LEN), op.add, ...k(4), op.add, ...set(OP)],
    op.br,
    2, // next sequence
    op.end, // $slow
    // ── general literals ──
    ...[...get(LIT), ...k(15), op.eq, op.if, VOID, ...extend(LIT), op.end],
    ...[...get(IP), ...get(LIT), op.add, ...get(SRC_END), op.gtU],
    ...[...get(OP), ...get(LIT), op.add, ...get(DST_END), op.gtU],
    ...[op.or, op.if, VOID, ...fail(), op.end],
    // (wildCopy advances IP and OP past the run, and 16 at a time: put them where the run ends)
    ...[...get(IP), ...get(LIT), op.add, ...set(B), ...get(OP), ...get(LIT), op.add, ...set(M)],
    ...[...get(LIT), op.if, VOID, ...wildCopy(IP, LIT, simd), op.end],
    ...[...get(B), ...set(IP), ...get(M), ...set(OP)],
    // the last sequence has literals only (and a 0 match nibble)
    ...[...get(IP), ...get(SRC_END), op.eq, op.if, VOID],
    ...[...get(TOKEN), ...k(15), op.and, op.if, VOID, ...fail(), op.end],
    ...[...get(OP), ...get(DST), op.sub, op.return, op.end],
    // match offset
    ...[...get(IP), ...k(2), op.add, ...get(SRC_END), op.gtU, op.if, VOID, ...fail(), op.end],
    ...[...get(IP), ...mem(op.load16), ...set(DIST), ...get(IP), ...k(2), op.add, ...set(IP)],
    op.end, // $match
    // ── general match ──
    ...[...get(DIST), op.eqz, ...get(DIST), ...get(OP), ...get(DST), op.sub, op.gtU, op.or],
    ...[op.if, VOID, ...fail(), op.end],
    ...[...get(TOKEN), ...k(15), op.and, ...set(LEN)],
    ...[...get(LEN), ...k(15), op.eq, op.if, VOID, ...extend(LEN), op.end],
    ...[...get(LEN), ...k(4), op.add, ...set(LEN)],
    ...[...get(OP), ...get(LEN), op.add, ...get(DST_END), op.gtU, op.if, VOID, ...fail(), op.end],
    ...[...get(OP), ...get(DIST), op.sub, ...set(M), ...get(OP), ...get(LEN), op.add, ...set(B)],
    // offset ≥ 16: 16-byte steps; ≥ 8: 8-byte steps (never reading what is not yet written); closer: bytes
    ...[...get(DIST), ...k(16), op.geU, op.if, VOID, ...wildCopy(M, LEN, simd), op.else],
    ...[...get(DIST), ...k(8), op.geU, op.if, VOID, ...wildCopy(M, LEN, false), op.else],
    op.loop,
    VOID,
    ...[...get(OP), ...get(M), ...mem(op.load8), ...mem(op.store8)],
    ...[...get(OP), ...k(1), op.add, ...set(OP), ...get(M), ...k(1), op.add, ...set(M)],
    ...[...get(LEN), ...k(1), op.sub, ...tee(LEN), op.brIf, 0],
    op.end,
    op.end,
    op.end,
    ...[...get(B), ...set(OP)],
    op.br,
    0,
    op.end,
    ...k(-1),
    op.end,
  ];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, "ascii")];
}

function assemble(simd: boolean): Uint8Array {
  const locals = [1, ...uleb(LOCALS), I32]; // one group of i32
  const code = [...locals, ...body(simd)];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, ...uleb(PAGES)]),
    ...section(7, [2, ...name("lz4"), 0x00, 0, ...name("mem"), 0x02, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

export interface Lz4Wasm {
  /** the instance's memory: compressed input at LZ4_WASM_SRC, output at LZ4_WASM_DST */
  readonly bytes: Uint8Array;
  /** who decompressed last (a shared instance's output belongs to that reader until the next call) */
  owner: unknown;
  /** decompresses bytes[LZ4_WASM_SRC, +size) to bytes[LZ4_WASM_DST…); returns the output length or -1 */
  decode(size: number): number;
}

/** The part of the WebAssembly API used here (the project's TypeScript lib has no DOM/WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** compiled modules by variant (true: SIMD); null when that variant does not compile here */
const modules = new Map<boolean, object | null>();

function moduleOf(simd: boolean): object | null {
  let m = modules.get(simd);
  if (m === undefined) {
    try {
      m = wasm ? new wasm.Module(assemble(simd)) : null;
    } catch {
      m = null;
    }
    modules.set(simd, m);
  }
  return m;
}

/**
 * A new instance with its own memory, or undefined when WebAssembly is not available here. `simd`: with 16-byte
 * SIMD moves (default; Node ≥ 16.4), falling back to the 8-byte variant where the engine rejects SIMD; false
 * asks for the 8-byte variant (tests compare the two).
 */
export function createLz4Wasm(simd = true): Lz4Wasm | undefined {
  const module = (simd ? moduleOf(true) : null) ?? moduleOf(false);
  if (module === null || wasm === undefined) return undefined;
  const inst = new wasm.Instance(module);
  const fn = inst.exports["lz4"] as (a: number, b: number, c: number, d: number) => number;
  const memory = inst.exports["mem"] as { buffer: ArrayBuffer };
  const bytes = new Uint8Array(memory.buffer);
  return {
    bytes,
    owner: undefined,
    decode(size: number): number {
      if (size < 0 || size > MAX_BLOCK) return -1;
      return fn(LZ4_WASM_SRC, LZ4_WASM_SRC + size, LZ4_WASM_DST, LZ4_WASM_DST + LZ4_WASM_CAPACITY);
    },
  };
}

let shared: Lz4Wasm | null | undefined;

/**
 * The thread's shared instance (readers open one after another reuse its 10 MiB instead of making their own);
 * a reader checks `owner` before reusing output it left there.
 */
export function sharedLz4Wasm(): Lz4Wasm | undefined {
  if (shared === undefined) shared = createLz4Wasm() ?? null;
  return shared ?? undefined;
}
