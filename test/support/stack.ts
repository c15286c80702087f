import {
  LOCAL_ARNS,
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from "../../local/stack/stack.ts";
import { checkAgent } from "../../packages/agent/index.ts";
import { type Config, loadConfig } from "../../packages/config/config.ts";
import { buildDefinition } from "../../packages/workflow/index.ts";
import { DEFAULT_AGENT as defaultAgent } from "./agents.ts";

/**
 * Start the real local stack (dynalite, aws-local-stepfunctions, offline model, HTTP) on a
 * free port, quiet, with the model fast enough for tests but slow enough that the answer
 * arrives as several llm.delta events.
 */
export async function startTestStack(
  env: Record<string, string> = {},
  options: Pick<LocalStackOptions, "agent" | "stages" | "instrumentDynamo" | "onTask"> = {},
): Promise<LocalStack & { config: Config }> {
  const config = loadConfig({
    PORT: "0",
    // Most suites test other things; test/packages/auth/index.test.ts runs with AUTH=jwt.
    AUTH: "off",
    TABLE_NAME: "stagecast-test",
    OFFLINE_MODEL_TOKENS_PER_SECOND: "300",
    LLM_DELTA_INTERVAL_MS: "50",
    STREAM_POLL_MIN_MS: "5",
    STREAM_POLL_MAX_MS: "50",
    // Tests inject model failures and stalls through /_offline/knobs.
    OFFLINE_MODEL_TEST_CONTROLS: "true",
    ...env,
  });
  // No real backoff sleeps in tests: every retrying state waits 0 s.
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(
      buildDefinition(options.agent ? checkAgent(options.agent) : defaultAgent, LOCAL_ARNS).States,
    ).map((s) => [s, 0]),
  );
  const stack = await startLocalStack(config, { retryIntervalOverrides, log: () => {}, ...options });
  return { ...stack, config };
}

/** POST /runs and return the parsed 202 body. */
export async function startRun(
  url: string,
  body: unknown,
): Promise<{ runId: string; links: { self: string; events: string; stream: string } }> {
  const res = await fetch(`${url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /runs answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as never;
}
