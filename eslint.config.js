// SPDX-License-Identifier: BSD-3-Clause
// Flat config: typescript-eslint strictTypeChecked, plus the module boundaries between src/ folders.
import tseslint from "typescript-eslint";

const restrict = (...folders) => ({
  "no-restricted-imports": [
    "error",
    {
      patterns: folders.map((f) => ({
        group: [`**/${f}/*`, `../${f}/*`],
        message: `this folder may not import ${f}/`,
      })),
    },
  ],
});

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "**/*.generated.*",
      "coverage/**",
      "bench/data/**",
      "bench/out/**",
      "vitest.config.ts",
    ],
  },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unnecessary-condition": "off",
      "no-console": "error",
    },
  },
  // Hot modules may use `!` after a bounds check in the same function.
  {
    files: [
      "src/decode/**",
      "src/store/**",
      "src/filter/**",
      "src/format/**",
      "src/stats/**",
      "src/record/**",
      "src/capd/**",
      "src/dump/**",
      "src/replay/**",
      "src/engine/**",
      "src/pcapd/**",
      "src/monitor/**",
      "src/clickhouse/**",
      "src/web/**",
    ],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["src/record/**", "src/util/**"],
    rules: restrict("decode", "store", "filter", "stats", "format", "capd", "dump", "cli", "engine"),
  },
  { files: ["src/decode/**", "src/store/**"], rules: restrictExcept("record") },
  { files: ["src/filter/**", "src/stats/**", "src/format/**"], rules: restrictExcept("record") },
  { files: ["src/cli/**", "bench/**", "scripts/**", "test/**", "examples/**"], rules: { "no-console": "off" } },
  {
    files: ["test/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
    },
  },
  { files: ["**/*.js", "**/*.mjs"], extends: [tseslint.configs.disableTypeChecked] },
);

function restrictExcept(allowed) {
  const all = ["record", "decode", "store", "filter", "stats", "format", "capd", "dump", "cli", "engine"];
  return restrict(...all.filter((f) => f !== allowed));
}
