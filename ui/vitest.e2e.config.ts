import { defineConfig } from "vitest/config";

// End-to-end: drives the system Chromium (playwright-core, no browser download) against a
// running server that serves the built UI. One file, tests in order, one shared browser.
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.test.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
