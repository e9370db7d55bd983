// SPDX-License-Identifier: BSD-3-Clause
// Picks the receiver: the native one (native-receiver.ts) when its addon is built, else node:dgram
// (receiver.ts JsReceiver). -R and -J stay on node:dgram (the repeater and multicast membership are JS), and
// TSCAPD_RECEIVER=js asks for it. One log line says which runs and why.

import type { Logger } from "../util/log.js";
import { ExporterFilter } from "./allow.js";
import { loadRecvAddon } from "./native.js";
import { NativeReceiver } from "./native-receiver.js";
import type { CollectorOptions } from "./options.js";
import { JsReceiver, type PacketReceiver } from "./receiver.js";
import type { RingBuffers } from "./ring.js";

export function createReceiver(options: CollectorOptions, log: Logger, ring: RingBuffers): PacketReceiver {
  const filter = ExporterFilter.forOptions(options);
  let why: string;
  if (process.env["TSCAPD_RECEIVER"] === "js") why = "TSCAPD_RECEIVER=js";
  else if (options.repeaters.length > 0) why = "-R repeats from node:dgram";
  else if (options.multicast !== undefined) why = "-J joins from node:dgram";
  else {
    const addon = loadRecvAddon();
    if (typeof addon !== "string") {
      log.info("receiver: native (recvmmsg thread)");
      return new NativeReceiver(options, log, ring, filter, addon);
    }
    why = addon;
  }
  log.info(`receiver: node:dgram (${why})`);
  return new JsReceiver(options, log, ring, filter);
}
