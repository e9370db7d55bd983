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
// SLACK lets the copy loops move 8 bytes at a time past the end of a literal run or match ("wild copy", as
// the reference LZ4 decoder does); every length, offset and back-reference is still checked, so a damaged
// block returns -1 and never reads or writes outside these regions.
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
  ltU: 0x49,
  gtU: 0x4b,
  geU: 0x4f,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  or: 0x72,
  shrU: 0x76,
} as const;

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
const mem = (code: number): number[] => [code, 0, 0]; // memarg: align 0, offset 0
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

/**
 * Copies `len` bytes from `from` to OP, 16 per step as two 8-byte moves in order (may write up to 15 bytes
 * past; see SLACK). Correct for overlapping matches whose offset is at least 8: each 8-byte load reads only
 * bytes already written.
 */
const move8 = (from: number, at: number): number[] => [
  ...[...get(OP), ...get(K), op.add, ...(at ? [...k(at), op.add] : [])],
  ...[...get(from), ...get(K), op.add, ...(at ? [...k(at), op.add] : []), ...mem(op.i64load)],
  ...mem(op.i64store),
];
const wildCopy = (from: number, len: number): number[] => [
  ...k(0),
  ...set(K),
  op.loop,
  VOID,
  ...move8(from, 0),
  ...move8(from, 8),
  ...[...get(K), ...k(16), op.add, ...tee(K), ...get(len), op.ltU, op.brIf, 0],
  op.end,
];

const body: number[] = [
  ...[...get(SRC), ...set(IP), ...get(DST), ...set(OP)],
  op.loop,
  VOID,
  // end of input: done
  ...[...get(IP), ...get(SRC_END), op.geU, op.if, VOID, ...get(OP), ...get(DST), op.sub, op.return, op.end],
  // token and literal length
  ...[...get(IP), ...mem(op.load8), ...set(TOKEN), ...get(IP), ...k(1), op.add, ...set(IP)],
  ...[...get(TOKEN), ...k(4), op.shrU, ...set(LIT)],
  ...[...get(LIT), ...k(15), op.eq, op.if, VOID, ...extend(LIT), op.end],
  ...[...get(IP), ...get(LIT), op.add, ...get(SRC_END), op.gtU],
  ...[...get(OP), ...get(LIT), op.add, ...get(DST_END), op.gtU],
  ...[op.or, op.if, VOID, ...fail(), op.end],
  ...[...get(LIT), op.if, VOID, ...wildCopy(IP, LIT), op.end],
  ...[...get(IP), ...get(LIT), op.add, ...set(IP), ...get(OP), ...get(LIT), op.add, ...set(OP)],
  // the last sequence has literals only (and a 0 match nibble)
  ...[...get(IP), ...get(SRC_END), op.eq, op.if, VOID],
  ...[...get(TOKEN), ...k(15), op.and, op.if, VOID, ...fail(), op.end],
  ...[...get(OP), ...get(DST), op.sub, op.return, op.end],
  // match offset
  ...[...get(IP), ...k(2), op.add, ...get(SRC_END), op.gtU, op.if, VOID, ...fail(), op.end],
  ...[...get(IP), ...mem(op.load16), ...set(DIST), ...get(IP), ...k(2), op.add, ...set(IP)],
  ...[...get(DIST), op.eqz, ...get(DIST), ...get(OP), ...get(DST), op.sub, op.gtU, op.or],
  ...[op.if, VOID, ...fail(), op.end],
  // match length
  ...[...get(TOKEN), ...k(15), op.and, ...set(LEN)],
  ...[...get(LEN), ...k(15), op.eq, op.if, VOID, ...extend(LEN), op.end],
  ...[...get(LEN), ...k(4), op.add, ...set(LEN)],
  ...[...get(OP), ...get(LEN), op.add, ...get(DST_END), op.gtU, op.if, VOID, ...fail(), op.end],
  ...[...get(OP), ...get(DIST), op.sub, ...set(M)],
  // offset ≥ 8: 8-byte steps never read what they have not yet written; closer: byte by byte (a repeat)
  ...[...get(DIST), ...k(8), op.geU, op.if, VOID],
  ...wildCopy(M, LEN),
  ...[...get(OP), ...get(LEN), op.add, ...set(OP)],
  op.else,
  op.loop,
  VOID,
  ...[...get(OP), ...get(M), ...mem(op.load8), ...mem(op.store8)],
  ...[...get(OP), ...k(1), op.add, ...set(OP), ...get(M), ...k(1), op.add, ...set(M)],
  ...[...get(LEN), ...k(1), op.sub, ...tee(LEN), op.brIf, 0],
  op.end,
  op.end,
  op.br,
  0,
  op.end,
  ...k(-1),
  op.end,
];

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, "ascii")];
}

function assemble(): Uint8Array {
  const locals = [1, ...uleb(9), I32]; // one group: 9 × i32
  const code = [...locals, ...body];
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

let module: object | null | undefined;

/** A new instance with its own memory, or undefined when WebAssembly is not available here. */
export function createLz4Wasm(): Lz4Wasm | undefined {
  if (module === undefined) {
    try {
      module = wasm ? new wasm.Module(assemble()) : null;
    } catch {
      module = null;
    }
  }
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
