// SPDX-License-Identifier: BSD-3-Clause
// tscapd's native receive addon (native/recv.c), loaded by util/native-addon.ts. When it is not there (not
// built, another platform) the caller falls back to node:dgram.

import { loadNativeAddon } from "../util/native-addon.js";

export const ADDON_FILE = "tsflow_recv.node";

/** The addon's functions (native/recv.c); `Handle` is an opaque external. */
export interface RecvAddon {
  create(
    control: Int32Array,
    data: Int32Array,
    allow: Uint8Array,
    sources: Uint8Array,
    onEvent: (event: number) => void,
  ): RecvHandle;
  /** 0, or a negative errno */
  bind(h: RecvHandle, family: 4 | 6, address: string, port: number, v6only: boolean): number;
  /** 0, or a negative errno */
  setRecvBuffer(h: RecvHandle, socket: number, bytes: number): number;
  recvBuffer(h: RecvHandle, socket: number): number;
  address(h: RecvHandle, socket: number): [string, number];
  start(h: RecvHandle): void;
  /** fills [datagrams received, dropped (ring full), not allowed, recvmmsg batches, consumer wake-ups] */
  stats(h: RecvHandle, out: Float64Array): void;
  close(h: RecvHandle): void;
}
export type RecvHandle = { readonly __recvHandle: unique symbol };

/** The receiving thread's event for the main thread: EVENT_WAKE, or n > 0: the ring was full, n dropped so far. */
export const EVENT_WAKE = 0;

/** The addon, or why it cannot be used. */
export function loadRecvAddon(): RecvAddon | string {
  return loadNativeAddon(ADDON_FILE) as RecvAddon | string;
}
