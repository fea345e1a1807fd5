import { defineConfig } from "vitest/config"

// One config for every package: unit tests live next to their package (packages/*/test),
// cross-package and real-service tests in tests/. Files share machine services (Postgres,
// s3rver, Prism), so they run one at a time; tests inside a file may run concurrently.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "tests/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["tests/support/global-setup.ts"]
  }
})
