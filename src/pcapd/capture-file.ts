// SPDX-License-Identifier: BSD-3-Clause
// Capture files: classic pcap (either byte order, µs or ns timestamps) and pcapng (section header, interface
// description, enhanced/simple/obsolete packet blocks; per-interface link type and time resolution), plain or
// gzip-compressed (node:zlib), read as a stream in chunks: memory stays bounded by the largest record.
//
//   pcap:   global header (24) │ record header (16: sec, µs|ns, caplen, wire length) │ caplen bytes │ …
//   pcapng: block (type u32, total length u32, body, total length u32) │ …
//
// Damage is never thrown: a bad magic, a record longer than any snaplen, or a file that ends inside a record is
// recorded with its offset (in the uncompressed stream) and parsing stops there; every packet before it has
// been handed on, so the flows before the damage are kept.

import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";

/** Called for each packet: `caplen` bytes at `off` of `buf` (viewed by `view`), captured at `timeMs`. */
export type PacketHandler = (
  buf: Uint8Array,
  view: DataView,
  off: number,
  caplen: number,
  wireLength: number,
  timeMs: number,
  link: number,
) => void;

export interface CaptureDamage {
  readonly offset: number;
  readonly message: string;
}

/** Records longer than this are damage, whatever the header's snaplen says (libpcap's own limit is 256 KiB). */
const MAX_RECORD = 16 * 1024 * 1024;
const PCAPNG_SHB = 0x0a0d0d0a;
/** bytes of a new chunk copied behind the left-over bytes to complete the record cut by the chunk boundary */
const BRIDGE = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** pcapng interfaces per section at most (their link types and time units are kept) */
const MAX_INTERFACES = 65536;
const PCAPNG_MAGIC = 0x1a2b3c4d;

type Format = "unknown" | "pcap" | "pcapng";

/** Incremental parser: push() chunks in order, then end(). */
export class CaptureParser {
  private readonly onPacket: PacketHandler;
  private format: Format = "unknown";
  private le = true;
  private nano = false;
  private link = 0;
  private snaplen = 0;
  /** pcapng interfaces: link type and time units per second */
  private readonly ifLink: number[] = [];
  private readonly ifUnits: number[] = [];
  private rest: Uint8Array = EMPTY;
  /** stream offset of rest[0] */
  private base = 0;
  packets = 0;
  damage: CaptureDamage | null = null;
  /** the link type of the first interface (pcap: the file's) */
  firstLink = -1;

  constructor(onPacket: PacketHandler) {
    this.onPacket = onPacket;
  }

  get stopped(): boolean {
    return this.damage !== null;
  }

  private fail(offset: number, message: string): void {
    this.damage ??= { offset, message };
  }

  push(chunk: Uint8Array): void {
    if (this.damage !== null || chunk.length === 0) return;
    if (this.rest.length > 0 && this.format !== "unknown" && chunk.length > BRIDGE) {
      // the record cut by the chunk boundary: the left-over bytes and the chunk's head parsed on their own, then
      // the chunk in place (not a copy of the whole chunk). `rest` never holds a complete record, so either the
      // first record completes inside the head or nothing was consumed.
      const restLength = this.rest.length;
      const bridge = new Uint8Array(restLength + BRIDGE);
      bridge.set(this.rest, 0);
      bridge.set(chunk.subarray(0, BRIDGE), restLength);
      const used = this.parse(bridge, 0);
      if (this.damage !== null) return;
      if (used > restLength) {
        this.base += restLength;
        this.rest = EMPTY;
        this.consume(chunk, used - restLength);
        return;
      }
      // a record longer than the bridge: the whole chunk is copied below
    }
    let buf: Uint8Array;
    if (this.rest.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest, 0);
      buf.set(chunk, this.rest.length);
    }
    let used = 0;
    if (this.format === "unknown") {
      if (buf.length < 24) {
        this.rest = buf.slice();
        return;
      }
      used = this.header(new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
      if (this.damage !== null) return;
    }
    this.consume(buf, used);
  }

  /** Parses `buf` from `at` (stream offset `base + at`); what is left becomes `rest`. */
  private consume(buf: Uint8Array, at: number): void {
    const used = this.parse(buf, at);
    this.base += used;
    this.rest = used < buf.length ? buf.slice(used) : EMPTY;
  }

  /** Hands every complete record of `buf` from `at` to the handler; returns the end of the last one. */
  private parse(buf: Uint8Array, at: number): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return this.format === "pcap" ? this.pcapRecords(buf, view, at) : this.pcapngBlocks(buf, view, at);
  }

  /** The byte stream itself failed (a damaged gzip member) after the bytes pushed so far. */
  streamError(message: string): void {
    this.fail(this.base + this.rest.length, message);
  }

  /** The stream ended: bytes left over are a cut record. */
  end(): void {
    if (this.damage !== null) return;
    if (this.format === "unknown") {
      this.fail(0, `file too short for a capture header (${this.rest.length} bytes)`);
      return;
    }
    if (this.rest.length > 0) {
      this.fail(
        this.base,
        `the file ends inside a ${this.format === "pcap" ? "packet record" : "block"} (${this.rest.length} bytes left)`,
      );
    }
  }

  private header(v: DataView): number {
    const magic = v.getUint32(0, true);
    if (magic === PCAPNG_SHB) {
      this.format = "pcapng";
      return 0;
    }
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.le = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.le = false;
    else {
      this.fail(0, `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, "0")})`);
      return 0;
    }
    this.format = "pcap";
    this.nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.snaplen = v.getUint32(16, this.le);
    // the upper bits may carry FCS information (pcap-linktype(7)); the link type is the low 16 bits
    this.link = v.getUint32(20, this.le) & 0xffff;
    this.firstLink = this.link;
    return 24;
  }

  private pcapRecords(buf: Uint8Array, v: DataView, at: number): number {
    const le = this.le;
    const limit = Math.max(this.snaplen, 262144);
    const div = this.nano ? 1e6 : 1e3;
    const link = this.link;
    let o = at;
    const n = buf.length;
    while (o + 16 <= n) {
      const caplen = v.getUint32(o + 8, le);
      if (caplen > limit || caplen > MAX_RECORD) {
        this.fail(
          this.base + o,
          `packet record ${this.packets + 1}: captured length ${caplen} exceeds the snaplen ${this.snaplen}`,
        );
        return o;
      }
      if (o + 16 + caplen > n) break;
      const timeMs = v.getUint32(o, le) * 1000 + Math.floor(v.getUint32(o + 4, le) / div);
      this.packets++;
      this.onPacket(buf, v, o + 16, caplen, v.getUint32(o + 12, le), timeMs, link);
      o += 16 + caplen;
    }
    return o;
  }

  private pcapngBlocks(buf: Uint8Array, v: DataView, at: number): number {
    let o = at;
    const n = buf.length;
    while (o + 12 <= n) {
      const rawType = v.getUint32(o, true);
      if (rawType === PCAPNG_SHB) {
        // a section header fixes the byte order of its section
        if (o + 12 > n) break;
        const bom = v.getUint32(o + 8, true);
        if (bom === PCAPNG_MAGIC) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else {
          this.fail(this.base + o, `pcapng section header with a bad byte-order magic 0x${bom.toString(16)}`);
          return o;
        }
        this.ifLink.length = 0;
        this.ifUnits.length = 0;
      }
      const le = this.le;
      const type = v.getUint32(o, le);
      const len = v.getUint32(o + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
        this.fail(this.base + o, `pcapng block of type ${type} with a bad length ${len}`);
        return o;
      }
      if (o + len > n) break;
      if (v.getUint32(o + len - 4, le) !== len) {
        this.fail(this.base + o, `pcapng block of type ${type}: trailing length differs from ${len}`);
        return o;
      }
      // the fixed part of each block type must fit its length (a short block would read past it)
      const min = type === 1 ? 20 : type === 6 ? 32 : type === 2 ? 32 : type === 3 ? 16 : 12;
      if (len < min) {
        this.fail(this.base + o, `pcapng block of type ${type} shorter (${len}) than its fixed part (${min})`);
        return o;
      }
      if (type === 1 && this.ifLink.length >= MAX_INTERFACES) {
        this.fail(this.base + o, `pcapng section with more than ${MAX_INTERFACES} interfaces`);
        return o;
      }
      if (type === 1) this.interfaceBlock(v, o, len);
      else if (type === 6 || type === 2) {
        const iface = type === 6 ? v.getUint32(o + 8, le) : v.getUint16(o + 8, le);
        const caplen = v.getUint32(o + 20, le);
        if (28 + caplen > len || iface >= this.ifLink.length) {
          this.fail(
            this.base + o,
            iface >= this.ifLink.length
              ? `pcapng packet block for undeclared interface ${iface}`
              : `pcapng packet block: captured length ${caplen} exceeds the block (${len})`,
          );
          return o;
        }
        const ts = v.getUint32(o + 12, le) * 4294967296 + v.getUint32(o + 16, le);
        const units = this.ifUnits[iface]!;
        const timeMs = units === 1000 ? ts : Math.floor((ts / units) * 1000);
        this.packets++;
        this.onPacket(buf, v, o + 28, caplen, v.getUint32(o + 24, le), timeMs, this.ifLink[iface]!);
      } else if (type === 3) {
        if (this.ifLink.length === 0) {
          this.fail(this.base + o, "pcapng simple packet block before any interface");
          return o;
        }
        const wire = v.getUint32(o + 8, le);
        const caplen = Math.min(wire, len - 16);
        this.packets++;
        // simple packet blocks carry no time
        this.onPacket(buf, v, o + 12, caplen, wire, 0, this.ifLink[0]!);
      }
      o += len;
    }
    return o;
  }

  private interfaceBlock(v: DataView, o: number, len: number): void {
    const le = this.le;
    const link = v.getUint16(o + 8, le);
    let units = 1e6;
    // options: code u16, length u16, value padded to 4
    let p = o + 16;
    const end = o + len - 4;
    while (p + 4 <= end) {
      const code = v.getUint16(p, le);
      const olen = v.getUint16(p + 2, le);
      if (code === 0) break;
      if (code === 9 && olen >= 1 && p + 5 <= end) {
        const r = v.getUint8(p + 4);
        units = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    if (this.firstLink < 0) this.firstLink = link;
    this.ifLink.push(link);
    this.ifUnits.push(units);
  }
}

/** True when the file starts with the gzip magic. */
function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(2);
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams a capture file (gzip detected by its magic) through `parser`; resolves when the file is read or the
 * parser stopped at damage. `between` runs after each chunk (the caller's chance to write blocks and rotate).
 * @throws when the file cannot be opened or is not valid gzip (with the path).
 */
export async function readCaptureFile(path: string, parser: CaptureParser, between?: () => void): Promise<void> {
  const gz = isGzip(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? file.pipe(createGunzip({ chunkSize: 1 << 20 })) : file;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.push(chunk);
      if (between) between();
      if (parser.stopped) break;
    }
  } catch (err) {
    // a damaged gzip stream is damage like any other: the packets before it count
    if (!gz) throw err;
    parser.streamError(`gzip: ${(err as Error).message}`);
  } finally {
    file.destroy();
  }
  parser.end();
}
