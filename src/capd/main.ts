#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tscapd: the flow collector (nfcapd's option letters). The receive path lands with the collector work.

import { Command } from "commander";
import { VERSION } from "../cli/common.js";

const program = new Command("tscapd")
  .description("collect NetFlow v1/v5/v7/v9, IPFIX and sFlow v5 into rotated tsflow files")
  .version(VERSION, "-V, --version")
  .helpOption("-h, --help");

program.parse();
process.stderr.write("tscapd: the collector is not built yet; see the README\n");
process.exitCode = 1;
