// SPDX-License-Identifier: BSD-3-Clause
// `-o null`: no records, only the summary. In a module of its own: a run with -o null never loads the other
// formatters (format/index.ts, whose Formatter interface it meets; not imported here, which would make a cycle).

export class NullFormatter {
  readonly summary = "text" as const;
  /** reads no column */
  readonly columns: ReadonlySet<string> = new Set<string>();
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
