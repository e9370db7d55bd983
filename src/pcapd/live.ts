// SPDX-License-Identifier: BSD-3-Clause
// Live capture and pcap filter expressions through tspcapd's libpcap addon (native/pcap.c). The addon drains
// the interface into a buffer of classic pcap records on each poll (non-blocking), so a poll costs one native
// call however many packets arrived; the records are then handed to the same packet path as capture files.

import { loadNativeAddon } from "../util/native-addon.js";

const ADDON_FILE = "tsflow_pcap.node";
/** the poll buffer: records drained per poll at most (16 MB holds ~10 k full-size packets) */
const POLL_BYTES = 16 * 1024 * 1024;

type Handle = { readonly __pcapHandle: unique symbol };
type FilterHandle = { readonly __bpfHandle: unique symbol };

interface PcapAddon {
  open(iface: string, snaplen: number, promisc: boolean, filter: string): Handle;
  datalink(h: Handle): number;
  poll(h: Handle, out: Uint8Array): number;
  stats(h: Handle): [number, number, number];
  close(h: Handle): void;
  compile(expression: string, link: number, snaplen: number): FilterHandle;
  match(f: FilterHandle, data: Uint8Array, offset: number, caplen: number, wire: number): boolean;
  free(f: FilterHandle): void;
}

function addon(what: string): PcapAddon {
  const a = loadNativeAddon(ADDON_FILE);
  if (typeof a === "string")
    throw new Error(`${what} needs tspcapd's libpcap addon (install libpcap-dev and rebuild): ${a}`);
  return a as PcapAddon;
}

/** A compiled pcap filter expression for one link type. */
export interface PacketFilter {
  matches(buf: Uint8Array, off: number, caplen: number, wire: number): boolean;
  close(): void;
}

/** @throws Error with libpcap's message for a bad expression, or when the addon is missing. */
export function compileFilter(expression: string, link: number, snaplen: number): PacketFilter {
  const a = addon("a pcap filter expression");
  const f = a.compile(expression, link, snaplen);
  return {
    matches: (buf, off, caplen, wire) => a.match(f, buf, off, caplen, wire),
    close: () => {
      a.free(f);
    },
  };
}

export type LivePacketHandler = (
  buf: Uint8Array,
  view: DataView,
  off: number,
  caplen: number,
  wire: number,
  timeMs: number,
  link: number,
) => void;

export interface LiveCapture {
  readonly link: number;
  /** Hands every packet that arrived since the last poll to `handler`; returns how many. */
  poll(handler: LivePacketHandler): number;
  /** libpcap's counters: received, dropped, dropped by the interface */
  stats(): [number, number, number];
  close(): void;
}

/** Opens `iface` (needs CAP_NET_RAW). @throws Error naming the interface with libpcap's message. */
export function openLiveCapture(iface: string, o: { snaplen: number; promisc: boolean; filter: string }): LiveCapture {
  const a = addon(`-i ${iface}`);
  const h = a.open(iface, o.snaplen, o.promisc, o.filter);
  const link = a.datalink(h);
  const snaplen = o.snaplen;
  const buf = new Uint8Array(POLL_BYTES);
  const view = new DataView(buf.buffer);
  let open = true;
  return {
    link,
    poll(handler) {
      let n = 0;
      for (;;) {
        const used = a.poll(h, buf);
        let at = 0;
        while (at + 16 <= used) {
          const caplen = view.getUint32(at + 8, true);
          const timeMs = view.getUint32(at, true) * 1000 + Math.floor(view.getUint32(at + 4, true) / 1000);
          handler(buf, view, at + 16, caplen, view.getUint32(at + 12, true), timeMs, link);
          at += 16 + caplen;
          n++;
        }
        // the addon stops when a record of snaplen bytes might not fit: only then may more be waiting
        if (used + 16 + snaplen <= POLL_BYTES) break;
      }
      return n;
    },
    stats: () => a.stats(h),
    close() {
      if (open) a.close(h);
      open = false;
    },
  };
}
