// SPDX-License-Identifier: BSD-3-Clause
// Peggy build of the nfdump filter grammar (scripts/build-grammar.mjs); output is build output, never edited.
export default {
  input: "filter.peggy",
  output: "../src/filter/parser.generated.js",
  allowedStartRules: ["Filter"],
};
