// SPDX-License-Identifier: BSD-3-Clause
// Hand-built export datagrams for decoder unit tests (big-endian, no checks: tests build bad ones too).

export type Field = readonly [id: number, length: number, pen?: number];

/** Concatenates byte arrays. */
export function cat(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** An unsigned big-endian integer of `len` bytes (len ≤ 8; values up to 2^53). */
export function be(value: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** An unsigned 64-bit big-endian integer (any u64, e.g. 2n ** 64n - 1n). */
export function be64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = value;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

/** IPv6 from 8 groups written out (no "::"), e.g. "2001:db8:0:0:0:0:0:1". */
export function ip6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  text.split(":").forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(":").map((h) => parseInt(h, 16)));
}

/** A set / flowset: id u16, length u16 (header included), body, optional padding. */
export function set(id: number, body: Uint8Array, padding = 0): Uint8Array {
  return cat(be(id, 2), be(4 + body.length + padding, 2), body, new Uint8Array(padding));
}

/** Template records (v9 flowset 0 / IPFIX set 2 body). */
export function templates(ipfix: boolean, ...tpls: { id: number; fields: readonly Field[] }[]): Uint8Array {
  return cat(
    ...tpls.map((t) =>
      cat(
        be(t.id, 2),
        be(t.fields.length, 2),
        ...t.fields.map(([id, len, pen]) =>
          ipfix && pen !== undefined ? cat(be(id | 0x8000, 2), be(len, 2), be(pen, 4)) : cat(be(id, 2), be(len, 2)),
        ),
      ),
    ),
  );
}

/** One options template (v9 flowset 1 / IPFIX set 3 body). */
export function optionsTemplate(
  ipfix: boolean,
  id: number,
  scope: readonly Field[],
  fields: readonly Field[],
): Uint8Array {
  const f = (list: readonly Field[]): Uint8Array => cat(...list.map(([fid, len]) => cat(be(fid, 2), be(len, 2))));
  return ipfix
    ? cat(be(id, 2), be(scope.length + fields.length, 2), be(scope.length, 2), f(scope), f(fields))
    : cat(be(id, 2), be(scope.length * 4, 2), be(fields.length * 4, 2), f(scope), f(fields));
}

export function v9(
  header: { uptime?: number; secs?: number; seq?: number; source?: number },
  ...sets: Uint8Array[]
): Uint8Array {
  return cat(
    be(9, 2),
    be(sets.length, 2),
    be(header.uptime ?? 0, 4),
    be(header.secs ?? 0, 4),
    be(header.seq ?? 0, 4),
    be(header.source ?? 0, 4),
    ...sets,
  );
}

export function ipfix(header: { time?: number; seq?: number; domain?: number }, ...sets: Uint8Array[]): Uint8Array {
  const body = cat(...sets);
  return cat(
    be(10, 2),
    be(16 + body.length, 2),
    be(header.time ?? 0, 4),
    be(header.seq ?? 0, 4),
    be(header.domain ?? 0, 4),
    body,
  );
}

export interface V5Record {
  src?: string;
  dst?: string;
  nextHop?: string;
  input?: number;
  output?: number;
  packets?: number;
  bytes?: number;
  first?: number;
  last?: number;
  srcPort?: number;
  dstPort?: number;
  flags?: number;
  proto?: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
  srcMask?: number;
  dstMask?: number;
}

export function v5Record(r: V5Record, version: 1 | 5 | 7 = 5): Uint8Array {
  const head = cat(
    ip4(r.src ?? "0.0.0.0"),
    ip4(r.dst ?? "0.0.0.0"),
    ip4(r.nextHop ?? "0.0.0.0"),
    be(r.input ?? 0, 2),
    be(r.output ?? 0, 2),
    be(r.packets ?? 0, 4),
    be(r.bytes ?? 0, 4),
    be(r.first ?? 0, 4),
    be(r.last ?? 0, 4),
    be(r.srcPort ?? 0, 2),
    be(r.dstPort ?? 0, 2),
  );
  if (version === 1) return cat(head, [0, 0, r.proto ?? 0, r.tos ?? 0, r.flags ?? 0, 0, 0, 0], new Uint8Array(4));
  const tail = cat([0, r.flags ?? 0, r.proto ?? 0, r.tos ?? 0], be(r.srcAs ?? 0, 2), be(r.dstAs ?? 0, 2), [
    r.srcMask ?? 0,
    r.dstMask ?? 0,
    0,
    0,
  ]);
  return version === 7 ? cat(head, tail, new Uint8Array(4)) : cat(head, tail);
}

export function v5(
  header: {
    version?: 1 | 5 | 7;
    uptime?: number;
    secs?: number;
    nsecs?: number;
    seq?: number;
    engineType?: number;
    engineId?: number;
    sampling?: number;
    count?: number;
  },
  ...records: V5Record[]
): Uint8Array {
  const version = header.version ?? 5;
  const common = cat(
    be(version, 2),
    be(header.count ?? records.length, 2),
    be(header.uptime ?? 0, 4),
    be(header.secs ?? 0, 4),
    be(header.nsecs ?? 0, 4),
  );
  const extra =
    version === 1
      ? new Uint8Array(0)
      : version === 5
        ? cat(be(header.seq ?? 0, 4), [header.engineType ?? 0, header.engineId ?? 0], be(header.sampling ?? 0, 2))
        : cat(be(header.seq ?? 0, 4), new Uint8Array(4));
  return cat(common, extra, ...records.map((r) => v5Record(r, version)));
}
