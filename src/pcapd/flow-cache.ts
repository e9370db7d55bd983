// SPDX-License-Identifier: BSD-3-Clause
// The flow cache: packets → uniflows keyed by (protocol, addresses, ports), all in typed arrays.
//
//   slots   Int32Array, open addressing with linear probing, 2^k ≥ 2 × capacity; value = entry + 1 (0 = free);
//           deletion shifts the following run back (no tombstones)
//   entries key (10 u32: src[4] dst[4] ports proto|v6), hash, slot, counters, first/last, flags, ToS, VLAN,
//           MACs, MPLS labels; two intrusive doubly linked lists over entry numbers:
//             idle list  least recently seen first (inactive expiry, and the victim when the cache is full)
//             age list   oldest first seen first (active expiry)
// Capacity is fixed (-B): a new flow in a full cache expires the least recently seen one early and counts it.
// Expiry runs on packet time (`advance(nowMs)`), so a capture file gives the same flows however fast it is read.
// A TCP packet with FIN or RST ends its flow after it is counted.

import type { RecordBatch } from "../record/batch.js";
import { V6_BIT } from "../record/schema.js";
import type { PacketInfo } from "./packet.js";

/** Where expired flows go: rows appended to `batch`; `flush()` when it is full. */
export interface FlowSink {
  batch: RecordBatch;
  flush(): void;
}

export interface FlowCacheOptions {
  /** flows held at most */
  readonly capacity: number;
  /** a flow older than this (ms since its first packet) is exported and starts again */
  readonly activeMs: number;
  /** a flow idle this long (ms) is exported */
  readonly inactiveMs: number;
}

export interface FlowCacheCounters {
  flows: number;
  packets: number;
  bytes: number;
  /** flows exported before their time because the cache was full */
  earlyExpired: number;
  activeExpired: number;
  inactiveExpired: number;
  finExpired: number;
  /** most flows held at once */
  peak: number;
}

const KEY_WORDS = 10;
const NIL = -1;
const FIN_RST = 0x05;
/** v6Flags of an IPv6 flow: source and destination address */
const V6_BITS = V6_BIT.srcAddr | V6_BIT.dstAddr;

export class FlowCache {
  readonly capacity: number;
  private readonly mask: number;
  private readonly slots: Int32Array;
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly slotOf: Int32Array;
  private readonly first: Float64Array;
  private readonly last: Float64Array;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  private readonly flags: Uint8Array;
  private readonly tos: Uint8Array;
  private readonly vlan: Uint16Array;
  private readonly srcMac: Float64Array;
  private readonly dstMac: Float64Array;
  private readonly mpls: Uint32Array;
  private readonly idlePrev: Int32Array;
  private readonly idleNext: Int32Array;
  private readonly agePrev: Int32Array;
  private readonly ageNext: Int32Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private idleHead = NIL;
  private idleTail = NIL;
  private ageHead = NIL;
  private ageTail = NIL;
  private readonly activeMs: number;
  private readonly inactiveMs: number;
  private readonly sink: FlowSink;
  /** flows held now */
  size = 0;
  /** packet clock: the latest packet time seen (ms) */
  now = 0;
  readonly counters: FlowCacheCounters = {
    flows: 0,
    packets: 0,
    bytes: 0,
    earlyExpired: 0,
    activeExpired: 0,
    inactiveExpired: 0,
    finExpired: 0,
    peak: 0,
  };
  /** the records' received time; 0 = the packet clock */
  receivedMs = 0;

  constructor(options: FlowCacheOptions, sink: FlowSink) {
    const cap = options.capacity;
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`flow cache: bad capacity ${cap}`);
    this.capacity = cap;
    let size = 16;
    while (size < cap * 2) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(size);
    this.keys = new Uint32Array(cap * KEY_WORDS);
    this.hashes = new Uint32Array(cap);
    this.slotOf = new Int32Array(cap);
    this.first = new Float64Array(cap);
    this.last = new Float64Array(cap);
    this.packets = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.flags = new Uint8Array(cap);
    this.tos = new Uint8Array(cap);
    this.vlan = new Uint16Array(cap);
    this.srcMac = new Float64Array(cap);
    this.dstMac = new Float64Array(cap);
    this.mpls = new Uint32Array(cap * 3);
    this.idlePrev = new Int32Array(cap);
    this.idleNext = new Int32Array(cap);
    this.agePrev = new Int32Array(cap);
    this.ageNext = new Int32Array(cap);
    this.free = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.freeTop = cap;
    this.activeMs = options.activeMs;
    this.inactiveMs = options.inactiveMs;
    this.sink = sink;
  }

  /** Accounts one decoded packet seen at `timeMs`. */
  add(p: PacketInfo, timeMs: number): void {
    if (timeMs > this.now) this.now = timeMs;
    const s = p.src;
    const d = p.dst;
    const ports = ((p.srcPort << 16) | p.dstPort) >>> 0;
    const protoKey = p.proto | (p.v6 ? 0x100 : 0);
    let h = Math.imul(ports ^ protoKey, 0x9e3779b1);
    h = Math.imul(h ^ s[0]!, 0x85ebca6b);
    h = Math.imul(h ^ d[0]!, 0xc2b2ae35);
    if (p.v6) {
      for (let k = 1; k < 4; k++) {
        h = Math.imul(h ^ s[k]!, 0x85ebca6b);
        h = Math.imul(h ^ d[k]!, 0xc2b2ae35);
      }
    }
    h = (h ^ (h >>> 16)) >>> 0;
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    let e = NIL;
    for (;;) {
      const v = slots[i]!;
      if (v === 0) break;
      const c = v - 1;
      if (this.hashes[c] === h) {
        const o = c * KEY_WORDS;
        if (
          keys[o + 8] === ports &&
          keys[o + 9] === protoKey &&
          keys[o] === s[0] &&
          keys[o + 4] === d[0] &&
          keys[o + 1] === s[1] &&
          keys[o + 2] === s[2] &&
          keys[o + 3] === s[3] &&
          keys[o + 5] === d[1] &&
          keys[o + 6] === d[2] &&
          keys[o + 7] === d[3]
        ) {
          e = c;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    if (e === NIL) {
      if (this.freeTop === 0) {
        // full: the least recently seen flow goes early; the slot found above may move, so probe again
        this.counters.earlyExpired++;
        this.expire(this.idleHead);
        this.add(p, timeMs);
        return;
      }
      e = this.free[--this.freeTop]!;
      slots[i] = e + 1;
      this.slotOf[e] = i;
      this.hashes[e] = h;
      const o = e * KEY_WORDS;
      for (let k = 0; k < 4; k++) {
        keys[o + k] = s[k]!;
        keys[o + 4 + k] = d[k]!;
      }
      keys[o + 8] = ports;
      keys[o + 9] = protoKey;
      this.first[e] = timeMs;
      this.last[e] = timeMs;
      this.packets[e] = 0;
      this.bytes[e] = 0;
      this.flags[e] = 0;
      this.tos[e] = p.tos;
      this.vlan[e] = p.vlan;
      this.srcMac[e] = p.srcMac;
      this.dstMac[e] = p.dstMac;
      const m = e * 3;
      const mc = p.mplsCount;
      this.mpls[m] = mc > 0 ? p.mpls[0]! : 0;
      this.mpls[m + 1] = mc > 1 ? p.mpls[1]! : 0;
      this.mpls[m + 2] = mc > 2 ? p.mpls[2]! : 0;
      // age list: append (creation order = first-seen order for packets in time order)
      this.agePrev[e] = this.ageTail;
      this.ageNext[e] = NIL;
      if (this.ageTail !== NIL) this.ageNext[this.ageTail] = e;
      else this.ageHead = e;
      this.ageTail = e;
      this.idlePrev[e] = this.idleTail;
      this.idleNext[e] = NIL;
      if (this.idleTail !== NIL) this.idleNext[this.idleTail] = e;
      else this.idleHead = e;
      this.idleTail = e;
      this.size++;
      if (this.size > this.counters.peak) this.counters.peak = this.size;
    } else {
      if (timeMs < this.first[e]!) this.first[e] = timeMs;
      if (timeMs > this.last[e]!) this.last[e] = timeMs;
      // idle list: move to the tail
      if (this.idleTail !== e) {
        const pr = this.idlePrev[e]!;
        const nx = this.idleNext[e]!;
        if (pr !== NIL) this.idleNext[pr] = nx;
        else this.idleHead = nx;
        this.idlePrev[nx] = pr;
        this.idlePrev[e] = this.idleTail;
        this.idleNext[e] = NIL;
        this.idleNext[this.idleTail] = e;
        this.idleTail = e;
      }
    }
    this.packets[e]! += 1;
    this.bytes[e]! += p.bytes;
    this.flags[e]! |= p.tcpFlags;
    this.counters.packets++;
    this.counters.bytes += p.bytes;
    if (p.proto === 6 && (p.tcpFlags & FIN_RST) !== 0) {
      this.counters.finExpired++;
      this.expire(e);
    }
  }

  /**
   * Moves the packet clock to `nowMs` (never backwards) and exports flows idle for longer than the inactive
   * timeout and flows older than the active timeout.
   */
  advance(nowMs: number): void {
    if (nowMs > this.now) this.now = nowMs;
    const now = this.now;
    const idleBefore = now - this.inactiveMs;
    while (this.idleHead !== NIL && this.last[this.idleHead]! < idleBefore) {
      this.counters.inactiveExpired++;
      this.expire(this.idleHead);
    }
    const oldBefore = now - this.activeMs;
    while (this.ageHead !== NIL && this.first[this.ageHead]! < oldBefore) {
      this.counters.activeExpired++;
      this.expire(this.ageHead);
    }
  }

  /** Exports every flow (end of input, shutdown), oldest first. */
  flushAll(): void {
    while (this.ageHead !== NIL) this.expire(this.ageHead);
  }

  /** Exports entry `e` into the sink and frees it. */
  private expire(e: number): void {
    this.emit(e);
    // unlink from both lists
    const ip = this.idlePrev[e]!;
    const inx = this.idleNext[e]!;
    if (ip !== NIL) this.idleNext[ip] = inx;
    else this.idleHead = inx;
    if (inx !== NIL) this.idlePrev[inx] = ip;
    else this.idleTail = ip;
    const ap = this.agePrev[e]!;
    const an = this.ageNext[e]!;
    if (ap !== NIL) this.ageNext[ap] = an;
    else this.ageHead = an;
    if (an !== NIL) this.agePrev[an] = ap;
    else this.ageTail = ap;
    // backward-shift deletion from the hash
    const slots = this.slots;
    const mask = this.mask;
    let hole = this.slotOf[e]!;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = slots[j]!;
      if (v === 0) break;
      const c = v - 1;
      const home = this.hashes[c]! & mask;
      // move c into the hole when its home is not cyclically inside (hole, j]
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = v;
        this.slotOf[c] = hole;
        hole = j;
      }
    }
    slots[hole] = 0;
    this.free[this.freeTop++] = e;
    this.size--;
  }

  private emit(e: number): void {
    let batch = this.sink.batch;
    if (batch.full) {
      this.sink.flush();
      batch = this.sink.batch;
    }
    const row = batch.addRow();
    const c = batch.cols;
    const o = e * KEY_WORDS;
    const k = this.keys;
    const protoKey = k[o + 9]!;
    const proto = protoKey & 0xff;
    c.msecFirst[row] = this.first[e]!;
    c.msecLast[row] = this.last[e]!;
    c.msecReceived[row] = this.receivedMs === 0 ? this.now : this.receivedMs;
    if ((protoKey & 0x100) !== 0) {
      const s6 = c.srcAddr6;
      const d6 = c.dstAddr6;
      for (let w = 0; w < 4; w++) {
        s6[row * 4 + w] = k[o + w]!;
        d6[row * 4 + w] = k[o + 4 + w]!;
      }
      c.v6Flags[row] = V6_BITS;
    } else {
      c.srcAddr[row] = k[o]!;
      c.dstAddr[row] = k[o + 4]!;
    }
    const ports = k[o + 8]!;
    c.srcPort[row] = ports >>> 16;
    c.dstPort[row] = ports & 0xffff;
    if (proto === 1 || proto === 58) {
      c.icmpType[row] = (ports >>> 8) & 0xff;
      c.icmpCode[row] = ports & 0xff;
    }
    c.proto[row] = proto;
    c.tcpFlags[row] = this.flags[e]!;
    c.srcTos[row] = this.tos[e]!;
    c.inPackets[row] = this.packets[e]!;
    c.inBytes[row] = this.bytes[e]!;
    c.flows[row] = 1;
    c.srcVlan[row] = this.vlan[e]!;
    c.inSrcMac[row] = this.srcMac[e]!;
    c.outDstMac[row] = this.dstMac[e]!;
    const m = e * 3;
    c.mpls1[row] = this.mpls[m]!;
    c.mpls2[row] = this.mpls[m + 1]!;
    c.mpls3[row] = this.mpls[m + 2]!;
    this.counters.flows++;
  }
}
