import { defineConfig } from "vitest/config";

/** Vitest settings: integration tests start real servers (dynalite, HTTP), so timeouts are generous. */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The infra checks need `sst install` and the runtime client: `npm run check:infra` runs them.
    exclude: ["test/infra/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // The Lambda handlers publish EMF metric lines to stdout; tests assert on metrics through a
    // recording meter instead (test/packages/observability/metrics.test.ts), so the raw lines
    // would only be noise.
    env: { POWERTOOLS_METRICS_DISABLED: "true" },
  },
});
