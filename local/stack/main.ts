import { AgentDefinitionError } from "../../packages/agent/index.ts";
import { ConfigError, loadConfig, usesOfflineModel } from "../../packages/config/index.ts";
import { defaultAgent } from "../../packages/default-agent/index.ts";
import { logger } from "../../packages/observability/index.ts";
import { loadAgentModule } from "./load-agent.ts";
import { startLocalStack } from "./stack.ts";

/**
 * `npm start`: run the whole of Stagecast in this process on the embedded default and print
 * how to use it. Stops cleanly on SIGINT / SIGTERM.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let agent: Awaited<ReturnType<typeof loadAgentModule>> | undefined;
  try {
    config = loadConfig();
    agent = config.STAGECAST_AGENT ? await loadAgentModule(config.STAGECAST_AGENT) : undefined;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof AgentDefinitionError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const stack = await startLocalStack(config, agent ? { agent } : {});
  const offline = usesOfflineModel(config);
  const url = stack.url;
  const auth =
    config.AUTH === "off"
      ? "  auth:     OFF (AUTH=off): anyone who can reach this loopback port can start, read and cancel runs.\n"
      : stack.devToken
        ? `  auth:     bearer JWT; a secret was generated for this process. Development token (sub "developer", 30 days):\n\n  export TOKEN=${stack.devToken}\n`
        : "  auth:     bearer JWT (AUTH_JWT_SECRET / AUTH_JWKS_URL)\n";
  const header = config.AUTH === "off" ? "" : ` -H "authorization: Bearer $TOKEN"`;
  console.log(`
Stagecast is running at ${url}
  agent:    ${agent ? `${agent.name} (${config.STAGECAST_AGENT})` : "the built-in agent"}: ${(agent ?? defaultAgent).stages.map((s) => s.name).join(" → ")}
  model:    ${stack.model.model}${offline ? ` (embedded offline model at ${stack.offlineModelUrl}, ${config.OFFLINE_MODEL_TOKENS_PER_SECOND} tokens/s)` : ` via ${config.OPENAI_BASE_URL ?? "OpenAI"}`}
  store:    dynalite ${config.DATA_DIR ? `on disk at ${config.DATA_DIR}` : "in memory"} (table ${config.TABLE_NAME})
  workflow: aws-local-stepfunctions running the state machine's ASL
  page:     ${url}/  (the web client: timeline, progress, answer, cancel, recent runs)

${auth}
Watch a run in the terminal:
  ${config.AUTH === "off" ? "" : "export STAGECAST_TOKEN=$TOKEN; "}${url === "http://127.0.0.1:3000" ? "" : `export STAGECAST_URL=${url}; `}npx stagecast ask "How do I stream progress from Lambda?"

Or with curl:
  RUN=$(curl -s -X POST ${url}/runs -H 'content-type: application/json'${header} -d '{"question":"How do I stream progress from Lambda?"}')
  echo "$RUN"
  curl -N "$(echo "$RUN" | sed -E 's/.*"stream":"([^"]+)".*/\\1/')"
`);
  const shutdown = (signal: string) => {
    logger.info("shutting down", { signal });
    void stack.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((err: unknown) => {
  logger.error("Stagecast failed to start", { error: String(err) });
  process.exit(1);
});
