import { defineConfig } from "vitest/config";

/** Vitest settings: integration tests start real servers (dynalite, HTTP), so timeouts are generous. */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
