// SPDX-License-Identifier: BSD-3-Clause
// FormatError: bad output format names and format strings (codes ERR_FORMAT_<WHAT>).
import { FlowError } from "../util/errors.js";

export class FormatError extends FlowError {
  declare readonly code: `ERR_FORMAT_${string}`;
}
