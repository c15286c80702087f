/**
 * `npm run example:react`: the React example and the local stack it talks to, in one process.
 * The example is served on EXAMPLE_PORT (default 5173; 0 picks a free port), the stack on PORT
 * (default 3000) with the example's origins added to CORS_ORIGINS; every other setting of the
 * stack is read from the environment as `npm start` reads it. Ctrl-C (or kill <pid>) stops both.
 */

import { type LocalStack, startLocalStack } from "../../local/stack/index.ts";
import { ConfigError, loadConfig } from "../../packages/config/index.ts";
import type { ExamplePageConfig } from "./page-config.ts";
import { type ExampleServer, serveExample } from "./serve.ts";

async function main(): Promise<void> {
  let page: ExamplePageConfig | undefined;
  const example: ExampleServer = await serveExample({
    port: Number(process.env.EXAMPLE_PORT ?? 5173),
    stack: () => page,
  });
  let stack: LocalStack;
  try {
    const origins = [process.env.CORS_ORIGINS, ...example.origins].filter(Boolean).join(",");
    stack = await startLocalStack(loadConfig({ ...process.env, CORS_ORIGINS: origins }));
  } catch (err) {
    await example.close();
    throw err;
  }
  page = { baseUrl: stack.url, ...(stack.devToken ? { token: stack.devToken } : {}) };
  console.log(`
The React example is at ${example.url}
  source:  examples/react-app (useStartRun + useRun from packages/react)
  stack:   ${stack.url} (the local stack: offline model, dynalite, the same state machine)
  auth:    ${stack.devToken ? "the page uses this process's development token" : "as configured (AUTH)"}

Ctrl-C stops both.
`);
  const stop = () => {
    void Promise.all([example.close(), stack.stop()]).then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
