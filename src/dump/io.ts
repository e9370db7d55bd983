// SPDX-License-Identifier: BSD-3-Clause
// Where a tsdump run writes: records and tables, diagnostics, and the clock (tests pass their own).

import type { Output } from "../format/index.js";

export interface QueryIO {
  /** Where records and tables go (fd 1 in the CLI). */
  readonly out: Output;
  /** Diagnostics (stderr). */
  readonly err: (text: string) => void;
  readonly now: () => number;
  /** show a progress line on stderr (--progress, default when stderr is a terminal) */
  readonly progress?: boolean;
}
