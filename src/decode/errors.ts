// SPDX-License-Identifier: BSD-3-Clause
// Decode status codes and DecodeError.
//
// Malformed input is a *return value*: every decoder returns a numeric `DecodeStatus` and bumps a per-exporter
// counter; nothing is thrown on bad packets. `DecodeError` is built only on demand (for a rate-limited log
// line, or by callers that want an exception) from the reused `DecodeDiagnostics` of the decoder state.

import { FlowError } from "../util/errors.js";

/** Numeric decode outcomes. 0 is success; everything else names the first problem met in the datagram. */
export const DecodeStatus = {
  OK: 0,
  /** Datagram shorter than its header, or a header/record/set length runs past the end. */
  TRUNCATED: 1,
  /** The version field names no protocol we decode. */
  BAD_VERSION: 2,
  /** A set/flowset length that is smaller than its header or not consistent with the datagram. */
  BAD_SET_LENGTH: 3,
  /** A template record that is malformed (zero fields, bad scope, field runs past the set). */
  BAD_TEMPLATE: 4,
  /** Data set for a template we do not know (held for later when possible; not an error in nfdump's sense). */
  NO_TEMPLATE: 5,
  /** The exporter table is full; the datagram was dropped. */
  EXPORTER_LIMIT: 6,
  /** A record count in a fixed-format header (v1/v5/v7, sFlow) does not fit the datagram. */
  BAD_COUNT: 7,
  /** A reserved or invalid set id (4..255 in IPFIX, 2..255 in v9). */
  BAD_SET_ID: 8,
  /** sFlow: an unknown address type or a sample/record length that does not fit. */
  BAD_SAMPLE: 9,
  /** A template was rejected because the per-exporter cache is full (it evicted nothing: see TemplateCache). */
  TEMPLATE_LIMIT: 10,
  /** Empty datagram. */
  EMPTY: 11,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

/** Number of status codes (size of the per-exporter `malformed` counter array). */
export const DECODE_STATUS_COUNT = 12;

/** Stable error codes of DecodeError, indexed by DecodeStatus. */
export const DECODE_ERROR_CODE: readonly string[] = [
  "ERR_DECODE_OK",
  "ERR_DECODE_TRUNCATED",
  "ERR_DECODE_BAD_VERSION",
  "ERR_DECODE_BAD_SET_LENGTH",
  "ERR_DECODE_BAD_TEMPLATE",
  "ERR_DECODE_NO_TEMPLATE",
  "ERR_DECODE_EXPORTER_LIMIT",
  "ERR_DECODE_BAD_COUNT",
  "ERR_DECODE_BAD_SET_ID",
  "ERR_DECODE_BAD_SAMPLE",
  "ERR_DECODE_TEMPLATE_LIMIT",
  "ERR_DECODE_EMPTY",
];

/** Lower-case status names for counters and metrics labels. */
export const DECODE_STATUS_NAME: readonly string[] = [
  "ok",
  "truncated",
  "bad_version",
  "bad_set_length",
  "bad_template",
  "no_template",
  "exporter_limit",
  "bad_count",
  "bad_set_id",
  "bad_sample",
  "template_limit",
  "empty",
];

export type DecodeProtocol =
  "netflow v1" | "netflow v5" | "netflow v7" | "netflow v9" | "ipfix" | "sflow v5" | "unknown";

/** A decode failure as an exception (built on demand from DecodeDiagnostics; decoders never throw it). */
export class DecodeError extends FlowError {
  readonly status: DecodeStatus;
  readonly protocol: DecodeProtocol;
  readonly exporter: string;
  readonly domainId: number;
  readonly templateId: number;
  readonly offset: number;

  constructor(
    status: DecodeStatus,
    protocol: DecodeProtocol,
    exporter: string,
    domainId: number,
    templateId: number,
    offset: number,
    detail: string,
  ) {
    const tpl = templateId >= 0 ? `template ${templateId} ` : "";
    super(
      DECODE_ERROR_CODE[status] ?? "ERR_DECODE_UNKNOWN",
      `${protocol}: ${tpl}from ${exporter}/${domainId}: ${detail} at offset ${offset}`,
    );
    this.status = status;
    this.protocol = protocol;
    this.exporter = exporter;
    this.domainId = domainId;
    this.templateId = templateId;
    this.offset = offset;
  }
}

/**
 * The details of the last problem, reused (no allocation per bad packet). `detail` is a constant string
 * chosen by the decoder; numbers are kept separately and only formatted in `toError()`.
 */
export class DecodeDiagnostics {
  status: DecodeStatus = DecodeStatus.OK;
  protocol: DecodeProtocol = "unknown";
  exporter = "";
  domainId = 0;
  templateId = -1;
  offset = 0;
  detail = "";
  /** Two numbers the detail refers to (e.g. "need" and "have"); -1 when unused. */
  a = -1;
  b = -1;

  reset(): void {
    this.status = DecodeStatus.OK;
    this.protocol = "unknown";
    this.exporter = "";
    this.domainId = 0;
    this.templateId = -1;
    this.offset = 0;
    this.detail = "";
    this.a = -1;
    this.b = -1;
  }

  /** Builds the DecodeError for the recorded problem (for logging). */
  toError(): DecodeError {
    let detail = this.detail;
    if (this.a >= 0 && this.b >= 0) detail += ` (expected ${this.a}, available ${this.b})`;
    else if (this.a >= 0) detail += ` (${this.a})`;
    return new DecodeError(
      this.status,
      this.protocol,
      this.exporter,
      this.domainId,
      this.templateId,
      this.offset,
      detail,
    );
  }
}
