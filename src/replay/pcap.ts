// SPDX-License-Identifier: BSD-3-Clause
// Writes export datagrams as a classic libpcap file (link type raw IPv4), each in an IPv4/UDP packet from
// 127.0.0.1:9996 to 127.0.0.1:<port>, so tshark, tcpreplay and tsflow's tests can read what tsreplay would send.
// Timestamps are the datagrams' sequence numbers in µs from 0: the file depends on the flows only.

const LINKTYPE_RAW = 101;
const BUFFER = 1 << 20;

export class PcapWriter {
  private readonly buf = new Uint8Array(BUFFER);
  private readonly view = new DataView(this.buf.buffer);
  private used = 0;
  private n = 0;
  private readonly out: (bytes: Uint8Array) => void;
  private readonly port: number;

  constructor(out: (bytes: Uint8Array) => void, port: number) {
    this.out = out;
    this.port = port;
    const v = this.view;
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 65535, true);
    v.setUint32(20, LINKTYPE_RAW, true);
    this.used = 24;
  }

  write(d: Uint8Array): void {
    const len = 28 + d.length;
    if (len > 65535) throw new RangeError(`datagram of ${d.length} bytes does not fit an IPv4 packet`);
    if (this.used + 16 + len > BUFFER) this.flush();
    const v = this.view;
    let o = this.used;
    const t = this.n++;
    v.setUint32(o, Math.floor(t / 1e6), true);
    v.setUint32(o + 4, t % 1e6, true);
    v.setUint32(o + 8, len, true);
    v.setUint32(o + 12, len, true);
    o += 16;
    // IPv4 header
    v.setUint8(o, 0x45);
    v.setUint8(o + 1, 0);
    v.setUint16(o + 2, len);
    v.setUint32(o + 4, 0x4000); // id 0, don't fragment
    v.setUint8(o + 8, 64);
    v.setUint8(o + 9, 17);
    v.setUint16(o + 10, 0);
    v.setUint32(o + 12, 0x7f000001);
    v.setUint32(o + 16, 0x7f000001);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += v.getUint16(o + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(o + 10, ~sum & 0xffff);
    // UDP header (checksum 0: none, allowed over IPv4)
    v.setUint16(o + 20, 9996);
    v.setUint16(o + 22, this.port);
    v.setUint16(o + 24, 8 + d.length);
    v.setUint16(o + 26, 0);
    this.buf.set(d, o + 28);
    this.used = o + len;
  }

  flush(): void {
    if (this.used > 0) this.out(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  end(): void {
    this.flush();
  }
}
