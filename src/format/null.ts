// SPDX-License-Identifier: BSD-3-Clause
// `-o null`: no records, only the summary. In a module of its own: a run with -o null never loads the other
// formatters (format/index.ts).

import type { Formatter } from "./index.js";

export class NullFormatter implements Formatter {
  readonly summary = "text" as const;
  prolog(): void {
    // -o null prints only the summary
  }
  record(): void {
    // no records
  }
  records(): void {
    // no records
  }
  epilog(): void {
    // nothing
  }
}
