import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    globalSetup: ["test/global-setup.ts"],
    // Rate-limit tests measure real time windows; two workers on a 2-core machine keep them honest.
    maxWorkers: 2,
  },
});
