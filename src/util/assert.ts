// SPDX-License-Identifier: BSD-3-Clause
// invariant(): for programmer errors only — never for input checks (input errors are FlowErrors or statuses).

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant failed: ${message}`);
}
