// SPDX-License-Identifier: BSD-3-Clause
// Files `tscapd.current.<pid>.<n>` left by a killed writer (tscapd or tspcapd): the footer is rebuilt from the
// complete blocks and the file takes the name of the slot it was created in, beside any file of that slot.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { FlowFileReader, flowFilePath, recover, slotStart } from "../store/index.js";
import type { Logger } from "../util/log.js";

export const CURRENT_PREFIX = "tscapd.current.";

export interface LeftoverLayout {
  /** rotation interval in seconds */
  readonly interval: number;
  readonly zoneInName: boolean;
  readonly subdirLayout: number;
}

/** Recovers and renames the `.current` files of dead processes in `dir`; files of live processes stay. */
export function recoverLeftovers(dir: string, layout: LeftoverLayout, log: Logger): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(CURRENT_PREFIX)) continue;
    const pid = Number(name.slice(CURRENT_PREFIX.length).split(".")[0]);
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue; // another writer's file
    const path = join(dir, name);
    try {
      // created but never written (the disk was full): nothing to recover, and not worth a warning per restart
      if (statSync(path).size === 0) {
        unlinkSync(path);
        log.info(`removed ${path}: empty file left by a writer that could not write it`);
        continue;
      }
      const r = recover(path);
      const reader = FlowFileReader.open(path);
      const created = reader.header().created;
      reader.close();
      const slot = slotStart(created, layout.interval);
      const target = flowFilePath(dir, slot, {
        interval: layout.interval,
        zone: "local",
        appendZone: layout.zoneInName,
        subdirLevel: layout.subdirLayout,
      });
      mkdirSync(join(target, ".."), { recursive: true });
      let final = target;
      for (let n = 1; existsSync(final); n++) final = `${target}.${n}`;
      renameSync(path, final);
      log.warn(
        `recovered ${path}: ${r.blocks} blocks, ${r.rows} flows${r.truncatedBytes ? `, ${r.truncatedBytes} bytes of a partial block cut` : ""} → ${final}`,
      );
    } catch (err) {
      log.error(`cannot recover ${path}: ${(err as Error).message}; left in place`);
    }
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
