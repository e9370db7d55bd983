#!/usr/bin/env node
// SPDX-License-Identifier: BSD-3-Clause
// tsdump: query tsflow (and nfdump) flow files with nfdump's option letters.

import { Command } from "commander";
import { VERSION } from "../cli/common.js";

const program = new Command("tsdump")
  .description("filter, list, aggregate and summarise stored flows")
  .version(VERSION, "-V, --version")
  .helpOption("-h, --help");

program.parse();
process.stderr.write("tsdump: the query engine is not built yet; see the README\n");
process.exitCode = 1;
