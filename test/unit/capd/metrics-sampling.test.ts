// SPDX-License-Identifier: BSD-3-Clause
import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../../../src/capd/metrics.js";

describe("metrics: sampling per exporter", () => {
  it("reports the rate in force per sampler with its options template, unscaled flows and refused rates", async () => {
    const registry = createMetricsRegistry(() => ({
      datagrams: 3,
      notAllowed: 0,
      flowsStored: 10,
      filesWritten: 0,
      exporters: [
        {
          exporter: "192.0.2.1/0",
          packets: 3,
          flows: 10,
          badPackets: 0,
          sequenceErrors: 0,
          templateMisses: 0,
          flowsUnscaled: 4,
          ratesRejected: 1,
          optionsMismatch: 2,
          lengthOverruns: 1,
          samplers: [{ id: -1, rate: 100, templateId: 256 }],
        },
      ],
    }));
    const text = await registry.metrics();
    expect(text).toContain('tscapd_exporter_sampling_rate{exporter="192.0.2.1/0",sampler="-1",template="256"} 100');
    expect(text).toContain('tscapd_exporter_flows_unscaled_total{exporter="192.0.2.1/0"} 4');
    expect(text).toContain('tscapd_exporter_sampling_rates_rejected_total{exporter="192.0.2.1/0"} 1');
    expect(text).toContain('tscapd_exporter_options_mismatch_total{exporter="192.0.2.1/0"} 2');
    expect(text).toContain('tscapd_exporter_length_overruns_total{exporter="192.0.2.1/0"} 1');
  });
});
