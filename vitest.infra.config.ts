import { defineConfig } from "vitest/config";

/**
 * The offline infrastructure checks (`npm run check:infra`): a global setup synthesizes the SST
 * stack for two stages under Pulumi mocks, then the tests assert on the resources and run
 * every bundle under the real Lambda runtime interface client.
 */
export default defineConfig({
  test: {
    include: ["test/infra/**/*.test.ts"],
    globalSetup: ["test/infra/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
