// SPDX-License-Identifier: BSD-3-Clause
// Loads tscapd's native receive addon (native/recv.c, built by scripts/build-native.mjs). It is looked for
// beside the program — dist/native/ from dist/bin/tscapd.js and dist/capd/ — and in native/build/Release/
// (tests run from src/). When it is not there (not built, another platform) the caller falls back to node:dgram.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

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

let loaded: RecvAddon | string | undefined;

/** The addon, or why it cannot be used. */
export function loadRecvAddon(): RecvAddon | string {
  if (loaded !== undefined) return loaded;
  if (process.platform !== "linux") return (loaded = `not available on ${process.platform}`);
  const candidates = [`../native/${ADDON_FILE}`, `../../native/build/Release/${ADDON_FILE}`].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) return (loaded = "native addon not built");
  try {
    const module = { exports: {} as RecvAddon };
    process.dlopen(module, path);
    loaded = module.exports;
  } catch (err) {
    loaded = `native addon failed to load: ${(err as Error).message}`;
  }
  return loaded;
}
