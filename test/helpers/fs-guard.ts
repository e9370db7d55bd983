// SPDX-License-Identifier: BSD-3-Clause
// Vitest setup file (every test file, unit and end-to-end): the tests may read only the repository, the temp
// directory, the system's own trees (/proc, /sys, /dev, /usr, /etc, /lib) and Node's installation. Any other
// path - a corpus or tool beside the checkout, a user's home - throws, so a test that depends on something
// outside the repository fails here, not only on a fresh clone. Child processes (nfdump, tshark) are not
// affected.

import fs from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { syncBuiltinESMExports } from "node:module";
import { SERVICE_ROOT } from "./service-root.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return p;
  }
}

const ALLOWED: readonly string[] = [
  ...new Set([
    REPO_ROOT,
    realOrSelf(REPO_ROOT),
    tmpdir(),
    realOrSelf(tmpdir()),
    SERVICE_ROOT,
    "/proc",
    "/sys",
    "/dev",
    "/usr",
    "/etc",
    "/lib",
    "/lib64",
    // playwright-core (the browser tests) checks whether it runs under WSL when it loads
    "/run/WSL",
    // Node's installation (bin/node, lib/node_modules, include)
    dirname(dirname(process.execPath)),
    dirname(dirname(realOrSelf(process.execPath))),
  ]),
];

/** Thrown for a read outside the allowed trees. */
export class OutsideRepositoryError extends Error {
  readonly code = "ERR_READ_OUTSIDE_REPOSITORY";
  readonly path: string;
  constructor(path: string, call: string) {
    super(
      `${call}: ${path} is outside the repository (${REPO_ROOT}); tests may read only the repository and the temp directory`,
    );
    this.path = path;
  }
}

/** The absolute path an fs call names, or undefined for file descriptors and other non-path arguments. */
function pathOf(p: unknown): string | undefined {
  if (typeof p === "string") return isAbsolute(p) ? resolve(p) : resolve(process.cwd(), p);
  if (p instanceof URL) return p.protocol === "file:" ? fileURLToPath(p) : undefined;
  if (Buffer.isBuffer(p)) return pathOf(p.toString());
  return undefined;
}

export function isAllowedPath(path: string): boolean {
  return ALLOWED.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
}

function check(p: unknown, call: string): void {
  const path = pathOf(p);
  if (path !== undefined && !isAllowedPath(path)) throw new OutsideRepositoryError(path, call);
}

type AnyFn = (...args: unknown[]) => unknown;

function guard(target: object, name: string, label: string, paths: number): void {
  const t = target as Record<string, AnyFn>;
  const original = t[name];
  if (typeof original !== "function" || (original as { fsGuarded?: boolean }).fsGuarded) return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    for (let i = 0; i < paths; i++) check(args[i], label);
    return original.apply(this, args);
  };
  Object.assign(wrapped, original, { fsGuarded: true });
  t[name] = wrapped;
}

/** Async variants reject instead of throwing synchronously. */
function guardAsync(target: object, name: string, label: string): void {
  const t = target as Record<string, AnyFn>;
  const original = t[name];
  if (typeof original !== "function" || (original as { fsGuarded?: boolean }).fsGuarded) return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const path = pathOf(args[0]);
    if (path !== undefined && !isAllowedPath(path)) return Promise.reject(new OutsideRepositoryError(path, label));
    return original.apply(this, args);
  };
  Object.assign(wrapped, { fsGuarded: true });
  t[name] = wrapped;
}

const SYNC: readonly (readonly [string, number])[] = [
  ["readFileSync", 1],
  ["openSync", 1],
  ["opendirSync", 1],
  ["readdirSync", 1],
  ["statSync", 1],
  ["lstatSync", 1],
  ["existsSync", 1],
  ["accessSync", 1],
  ["readlinkSync", 1],
  ["copyFileSync", 1],
  ["cpSync", 1],
  ["createReadStream", 1],
  // callback forms
  ["readFile", 1],
  ["open", 1],
  ["opendir", 1],
  ["readdir", 1],
  ["stat", 1],
  ["lstat", 1],
  ["exists", 1],
  ["access", 1],
  ["copyFile", 1],
];
const PROMISES = ["readFile", "open", "opendir", "readdir", "stat", "lstat", "access", "copyFile", "cp"];

for (const [name, paths] of SYNC) guard(fs, name, `fs.${name}`, paths);
for (const name of PROMISES) guardAsync(fs.promises, name, `fs.promises.${name}`);
// `import { readFileSync } from "node:fs"` (and node:fs/promises) bindings follow the patched functions
syncBuiltinESMExports();
