import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    // every test file: reading outside the repository and the temp directory throws (test/helpers/fs-guard.ts)
    setupFiles: ["test/helpers/fs-guard.ts"],
    // nfdump pins TZ for its golden tests; so do we (also set in the npm script).
    env: { TZ: "UTC" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: the end-to-end and fuzz suites are heavy, keep parallelism modest.
    maxWorkers: 2,
  },
});
