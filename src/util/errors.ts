// SPDX-License-Identifier: BSD-3-Clause
// FlowError: the one base class of tsflow's errors. Every error has a stable `code`
// (ERR_<AREA>_<WHAT>, never changed once released) and a lowercase message prefixed with its domain.

export class FlowError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad command line; the programs print it with their usage hint and exit 1. */
export class UsageError extends FlowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_USAGE", message, options);
  }
}
