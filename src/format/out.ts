// SPDX-License-Identifier: BSD-3-Clause
// BufferedOutput: the one writer every formatter prints through.
//
// Output goes into a 64 KiB byte buffer and is handed to the sink when full, so a listing of a million flows
// makes a few thousand write(2) calls, not a million. Hot formatters write ASCII bytes straight into `buf` at
// `pos` (after `ensure(n)`); others hand over strings with write(). `tsdump … | head` closes the pipe early:
// the write fails with EPIPE, the output turns itself off (`stopped`), later writes are dropped, and the caller
// ends the scan and exits 0 — nfdump dies silently on SIGPIPE, we stop quietly instead.
//
// Sinks: an fd (fs.writeSync, retrying EAGAIN on non-blocking pipes) or any function (tests, in-memory use).

import { writeSync } from "node:fs";

/** Default chunk size handed to the sink. */
export const OUTPUT_CHUNK = 64 * 1024;

/** Where the bytes go. Throws an error with `code` "EPIPE" when the reader left. The chunk is reused after. */
export type OutputSink = (chunk: Uint8Array) => void;

/** The common interface of every output (formatters depend only on this). */
export interface Output {
  /** True after the reader went away (EPIPE); callers stop producing and exit 0. */
  readonly stopped: boolean;
  write(text: string): void;
  /** Bytes already formatted (e.g. a scan worker's piece of the listing). */
  writeBytes(bytes: Uint8Array): void;
  flush(): void;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** A sink writing synchronously to a file descriptor; waits and retries while a non-blocking pipe is full. */
export function fdSink(fd: number): OutputSink {
  return (chunk: Uint8Array): void => {
    let off = 0;
    while (off < chunk.length) {
      let n: number;
      try {
        n = writeSync(fd, chunk, off, chunk.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
          Atomics.wait(sleepCell, 0, 0, 1); // the pipe is full: give the reader a millisecond
          continue;
        }
        throw err;
      }
      off += n;
    }
  };
}

function isEpipe(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED";
}

/** Most bytes a writer may reserve with ensure() for one record. */
export const OUTPUT_RECORD_MAX = 16384;

export class BufferedOutput implements Output {
  /** The byte buffer; hot writers fill `buf[pos…]` after ensure(). */
  buf: Buffer;
  pos: number;
  private readonly sink: OutputSink;
  /** Bytes buffered before they go to the sink (the buffer keeps OUTPUT_RECORD_MAX more for one record). */
  readonly chunk: number;
  stopped: boolean;
  /** Bytes handed to the sink so far (diagnostics, tests). */
  written: number;

  /** `target`: a file descriptor (1 = stdout) or a sink function. */
  constructor(target: number | OutputSink, chunk: number = OUTPUT_CHUNK) {
    this.sink = typeof target === "number" ? fdSink(target) : target;
    this.chunk = Math.max(16, chunk);
    // room for one maximal record beyond the chunk size, so ensure() never has to grow the buffer
    // (its own memory, never a slice of Node's pool: BytesOutput hands its buffer to another thread)
    this.buf = Buffer.from(new ArrayBuffer(this.chunk + OUTPUT_RECORD_MAX));
    this.pos = 0;
    this.stopped = false;
    this.written = 0;
  }

  /** Makes room for `n` more bytes at `pos` (n ≤ OUTPUT_RECORD_MAX; larger texts go through write()). */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length || this.pos >= this.chunk) this.drain();
  }

  write(text: string): void {
    if (this.stopped) return;
    const max = text.length * 3;
    if (this.pos + max > this.buf.length) {
      this.drain();
      if (max > this.buf.length) {
        this.emit(Buffer.from(text, "utf8"));
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos, "utf8");
    if (this.pos >= this.chunk) this.drain();
  }

  /** write() for text known to be ASCII (formatter output): skips UTF-8 transcoding. */
  writeAscii(text: string): void {
    if (this.stopped) return;
    if (this.pos + text.length > this.buf.length) {
      this.drain();
      if (text.length > this.buf.length) {
        this.emit(Buffer.from(text, "latin1"));
        return;
      }
    }
    this.pos += this.buf.write(text, this.pos, "latin1");
    if (this.pos >= this.chunk) this.drain();
  }

  /** Appends bytes; a piece larger than the room left goes to the sink as it is, after what is buffered. */
  writeBytes(bytes: Uint8Array): void {
    if (this.stopped) return;
    if (this.pos + bytes.length <= this.chunk) {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    this.drain();
    if (bytes.length > 0) this.emit(bytes);
  }

  /** Hands everything buffered to the sink. Never throws on EPIPE (sets `stopped`). */
  flush(): void {
    if (this.pos > 0) this.drain();
  }

  private drain(): void {
    const n = this.pos;
    this.pos = 0;
    if (this.stopped || n === 0) return;
    this.emit(this.buf.subarray(0, n));
  }

  private emit(bytes: Uint8Array): void {
    try {
      this.sink(bytes);
      this.written += bytes.length;
    } catch (err) {
      if (isEpipe(err)) {
        this.stopped = true;
        return;
      }
      throw err;
    }
  }
}

/** An output that keeps everything in memory (tests, building a string). */
export class StringOutput extends BufferedOutput {
  private parts: string[];
  constructor() {
    const parts: string[] = [];
    super((chunk) => parts.push(Buffer.from(chunk).toString("utf8")));
    this.parts = parts;
  }
  text(): string {
    this.flush();
    const s = this.parts.join("");
    this.parts.length = 0;
    this.parts.push(s);
    return s;
  }
}

/**
 * An output kept in memory and taken out as byte arrays of their own (transferable to another thread): a scan
 * worker's pieces of the listing. The chunk is large, so a piece of a few blocks is formatted straight into
 * one buffer, handed over whole by take(), and the next piece goes into a buffer given back with recycle() (or a
 * new one): no copy, and no new memory per piece for the garbage collector to account for.
 */
export class BytesOutput extends BufferedOutput {
  private readonly parts: Uint8Array[];
  private readonly pool: ArrayBuffer[] = [];
  constructor(chunk: number = 4 * 1024 * 1024) {
    const parts: Uint8Array[] = [];
    // a piece larger than the chunk: copies of the drained chunks (the buffer is reused; Buffer's slice() would
    // not copy)
    super((bytes) => parts.push(new Uint8Array(bytes)), chunk);
    this.parts = parts;
  }

  /** Everything written since the last take(): a view at offset 0 of an ArrayBuffer of its own. */
  take(): Uint8Array<ArrayBuffer> {
    if (this.parts.length === 0 && this.pos === 0) return new Uint8Array(0);
    if (this.parts.length === 0) {
      const bytes = new Uint8Array(this.buf.buffer as ArrayBuffer, this.buf.byteOffset, this.pos);
      this.pos = 0;
      // the buffer goes with the piece: continue in a recycled one
      const size = this.buf.length;
      const next = this.pool.pop() ?? new ArrayBuffer(size);
      this.buf = Buffer.from(next, 0, size);
      return bytes;
    }
    this.flush();
    const all = new Uint8Array(this.parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of this.parts) {
      all.set(p, off);
      off += p.length;
    }
    this.parts.length = 0;
    return all;
  }

  /** Takes back the ArrayBuffer of a piece once it has been written (kept when it has this output's size). */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.buf.length && this.pool.length < 8) this.pool.push(buffer);
  }
}

/** Writes formatter text known to be ASCII (latin1 fast path on a BufferedOutput). */
export function writeAsciiTo(out: Output, text: string): void {
  if (out instanceof BufferedOutput) out.writeAscii(text);
  else out.write(text);
}
