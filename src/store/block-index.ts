// SPDX-License-Identifier: BSD-3-Clause
// The block index of a flow file: from the footer (found through the trailer), or, when there is no valid footer
// (collector killed, footer damaged), by walking the blocks from the header on; a damaged block is reported and
// the walk resynchronises on the next block magic whose header CRC holds.

import { STORE_ERROR, StoreError, type StoreErrorCode } from "./errors.js";
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BlockHeaderFault,
  FOOTER_MAGIC,
  TRAILER_BYTES,
  blockLength,
  crcOf,
  decodeFooter,
  pad8,
  parseBlockHeader,
  parseTrailer,
  type BlockInfo,
  type FileStats,
} from "./format.js";
import { readFully } from "./io.js";
import { BlockZoneMap } from "./zone-map.js";

/** The open file the index is loaded from, and where damage goes. */
export interface IndexSource {
  fd: number;
  size: number;
  path: string;
  headerLength: number;
  /** columns of the file's directory, and their ids by name (for the zone maps) */
  columnCount: number;
  ids: ReadonlyMap<string, number>;
  report(code: StoreErrorCode, block: number, offset: number, msg: string): void;
  reportError(err: StoreError): void;
}

export interface BlockIndex {
  index: BlockInfo[];
  /** true when the index came from a valid footer */
  footer: boolean;
  /** byte offset just after the last complete block */
  dataEnd: number;
  /** the footer's statistics record (footer only) */
  stats?: FileStats;
}

/**
 * Finds the blocks of a flow file: through trailer + footer, else by scanning from the end of the header.
 * Damage is reported through `src.report`; nothing is thrown for it.
 */
export function loadBlockIndex(src: IndexSource): BlockIndex {
  return new IndexLoader(src).load();
}

class IndexLoader {
  private readonly src: IndexSource;
  private readonly fd: number;
  private readonly size: number;
  constructor(src: IndexSource) {
    this.src = src;
    this.fd = src.fd;
    this.size = src.size;
  }

  load(): BlockIndex {
    const start = this.src.headerLength;
    if (this.size >= start + TRAILER_BYTES) {
      const t = new Uint8Array(TRAILER_BYTES);
      readFully(this.fd, t, this.size - TRAILER_BYTES);
      const trailer = parseTrailer(t);
      if (trailer !== undefined) {
        const fo = trailer.footerOffset;
        if (fo >= start && fo + trailer.footerLength + TRAILER_BYTES === this.size && trailer.footerLength >= 16) {
          const fb = new Uint8Array(trailer.footerLength);
          readFully(this.fd, fb, fo);
          try {
            const { stats, blocks } = decodeFooter(fb, this.src.path, fo);
            let okIndex = true;
            let prevEnd = start;
            for (let i = 0; i < blocks.length; i++) {
              const b = blocks[i]!;
              if (b.offset < prevEnd || b.offset % 8 !== 0 || b.offset + b.length > fo) {
                this.src.report(
                  STORE_ERROR.BAD_LENGTH,
                  i,
                  fo,
                  `footer index: block at ${b.offset} (+${b.length}) is impossible`,
                );
                okIndex = false;
                break;
              }
              prevEnd = b.offset + b.length;
            }
            if (okIndex) return { index: blocks, footer: true, dataEnd: fo, stats };
          } catch (err) {
            if (!(err instanceof StoreError)) throw err;
            this.src.reportError(err);
          }
        } else {
          this.src.report(
            STORE_ERROR.BAD_LENGTH,
            -1,
            this.size - TRAILER_BYTES,
            `trailer points to a footer at ${fo} (+${trailer.footerLength}) outside the file`,
          );
        }
      }
    }
    this.src.report(
      STORE_ERROR.NO_FOOTER,
      -1,
      this.size,
      "no valid footer (collector killed or file damaged); blocks found by scanning",
    );
    return this.scan(start);
  }

  /** Walks blocks from `start`; resynchronises on damage; stops at a truncated block. */
  private scan(start: number): BlockIndex {
    const index: BlockInfo[] = [];
    let pos = start;
    let dataEnd = start;
    const head = new Uint8Array(BLOCK_HEADER_BYTES);
    while (pos + BLOCK_HEADER_BYTES <= this.size) {
      readFully(this.fd, head, pos);
      const p = parseBlockHeader(head, 0);
      const bi = index.length;
      if (!(p instanceof BlockHeaderFault)) {
        const len = blockLength(p);
        if (pos + len > this.size) {
          // a footer can follow the last block; a block cut short is where a killed writer stopped
          this.src.report(
            STORE_ERROR.TRUNCATED,
            bi,
            pos,
            `block of ${len} bytes cut short by the end of the file at ${this.size}`,
          );
          break;
        }
        const hz = new Uint8Array(BLOCK_HEADER_BYTES + p.zoneLength);
        readFully(this.fd, hz, pos);
        const crc = crcOf(hz, 8);
        if (crc === p.hdrCrc) {
          const z = new BlockZoneMap(p.rows, this.src.columnCount, this.src.ids, hz.subarray(BLOCK_HEADER_BYTES));
          index.push({
            offset: pos,
            length: len,
            rows: p.rows,
            msecFirst: z.min("msecFirst") ?? 0,
            msecLast: z.max("msecLast") ?? 0,
          });
          pos += len;
          dataEnd = pos;
          continue;
        }
        this.src.report(
          STORE_ERROR.CHECKSUM,
          bi,
          pos,
          `header checksum 0x${hex(crc)} does not match stored 0x${hex(p.hdrCrc)}; resynchronising`,
        );
      } else {
        const magic = new DataView(head.buffer).getUint32(0, true);
        if (magic === FOOTER_MAGIC) break; // a footer whose trailer is missing or damaged
        this.src.report(p.code, bi, pos, `${p.message}; resynchronising`);
      }
      const next = this.resync(pos + 8);
      if (next < 0) {
        pos = this.size;
        break;
      }
      pos = next;
    }
    if (pos < this.size && pos + BLOCK_HEADER_BYTES > this.size) {
      const tail = new Uint8Array(Math.min(4, this.size - pos));
      readFully(this.fd, tail, pos);
      const isFooter = tail.length === 4 && new DataView(tail.buffer).getUint32(0, true) === FOOTER_MAGIC;
      if (!isFooter)
        this.src.report(
          STORE_ERROR.TRUNCATED,
          index.length,
          pos,
          `${this.size - pos} trailing bytes: a block header cut short`,
        );
    }
    return { index, footer: false, dataEnd };
  }

  /** Next 8-aligned offset ≥ from holding a block magic whose header CRC holds; -1 when none. */
  private resync(from: number): number {
    const chunk = new Uint8Array(1 << 20);
    const view = new DataView(chunk.buffer);
    let base = pad8(from);
    while (base + BLOCK_HEADER_BYTES <= this.size) {
      const len = Math.min(chunk.length, this.size - base);
      readFully(this.fd, chunk.subarray(0, len), base);
      for (let o = 0; o + 4 <= len; o += 8) {
        if (view.getUint32(o, true) !== BLOCK_MAGIC) continue;
        const at = base + o;
        const head = new Uint8Array(BLOCK_HEADER_BYTES);
        if (at + BLOCK_HEADER_BYTES > this.size) return -1;
        readFully(this.fd, head, at);
        const p = parseBlockHeader(head, 0);
        if (p instanceof BlockHeaderFault || at + BLOCK_HEADER_BYTES + p.zoneLength > this.size) continue;
        const hz = new Uint8Array(BLOCK_HEADER_BYTES + p.zoneLength);
        readFully(this.fd, hz, at);
        if (crcOf(hz, 8) === p.hdrCrc) return at;
      }
      base += len - 8 > 0 ? len - (len % 8 === 0 ? 0 : len % 8) : 8;
    }
    return -1;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
