import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import OpenAI from "openai";
import {
  type Agent,
  AgentDefinitionError,
  type AgentDeps,
  createDefaultTools,
  ModelClient,
} from "../agent/index.ts";
import { CORS_POLICY, type Config, ConfigError, parseOrigins } from "../config/index.ts";
import { DEFAULT_AGENT_NAME } from "../default-agent/index.ts";
import type { RunEvent } from "../events/index.ts";
import type { LogFn } from "../observability/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { FlushStrategy, StreamSettings } from "../stream/index.ts";

/** Seconds in a day, for RETENTION_DAYS → TTL seconds. */
const DAY_SECONDS = 86_400;

/**
 * The progress store for a configuration. The DynamoDB client honours the SDK's own
 * settings (region, credentials, AWS_ENDPOINT_URL_DYNAMODB) unless `client` is given;
 * `onEventStored` sees every event the store writes (metrics on AWS).
 */
export function createStore(
  config: Config,
  client: DynamoDBClient = new DynamoDBClient({}),
  onEventStored?: (event: RunEvent) => void,
): Store {
  return openStore({
    client,
    tableName: config.TABLE_NAME,
    retentionSeconds: config.RETENTION_DAYS * DAY_SECONDS,
    ...(onEventStored ? { onEventStored } : {}),
  });
}

/**
 * The model client: OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL, or `baseURL` when the
 * caller started the embedded offline model. Timeout and SDK retries are explicit
 * (MODEL_TIMEOUT_MS, MODEL_MAX_RETRIES, default 0): the state machine retries a stage that
 * fails transiently, visibly (stage.retrying), and two hidden layers would multiply the wait.
 */
export function createModelClient(config: Config, offlineBaseUrl?: string): ModelClient {
  const openai = new OpenAI({
    baseURL: offlineBaseUrl ?? config.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    apiKey: offlineBaseUrl ? "offline" : (config.OPENAI_API_KEY ?? "not-needed"),
    timeout: config.MODEL_TIMEOUT_MS,
    maxRetries: config.MODEL_MAX_RETRIES,
  });
  const model = config.OPENAI_MODEL ?? (offlineBaseUrl ? "offline" : "gpt-4o-mini");
  return new ModelClient({ openai, model, timeoutMs: config.MODEL_TIMEOUT_MS });
}

/** The built-in agent's name: the only agent the OPENAI_MODEL_<STAGE> shorthand applies to. */
const BUILT_IN_AGENT = DEFAULT_AGENT_NAME;

/** The OPENAI_MODEL_<STAGE> settings by stage name: the built-in agent's shorthand. */
function builtInStageSettings(config: Config): Readonly<Record<string, string | undefined>> {
  return {
    analyzing: config.OPENAI_MODEL_ANALYZING,
    planning: config.OPENAI_MODEL_PLANNING,
    execution: config.OPENAI_MODEL_EXECUTION,
    memory: config.OPENAI_MODEL_MEMORY,
  };
}

/** `table[key]` when `table` has that key itself (not one inherited, such as `constructor`). */
function entry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Model name by stage of `agent`, most specific first: `STAGE_MODELS[agent][stage]`; for the
 * built-in agent (`default`) only, its shorthand `OPENAI_MODEL_<STAGE>` (analyzing, planning,
 * execution, memory); the stage definition's `model`. Stages with none of these are absent and
 * use the default model (OPENAI_MODEL). Settings are keyed by agent, so two agents with a stage
 * of the same name never share a model setting.
 * @throws ConfigError when STAGE_MODELS names a stage `agent` does not have (a typo would
 * otherwise silently leave the stage on its default model).
 */
export function stageModels(config: Config, agent: Agent): Map<string, string> {
  const byStage = entry(config.STAGE_MODELS, agent.name) ?? {};
  for (const stage of Object.keys(byStage)) {
    if (!agent.stage(stage))
      throw new ConfigError(
        `invalid configuration: STAGE_MODELS.${agent.name}.${stage}: agent ${agent.name} has no stage ${stage}`,
      );
  }
  const shorthand = agent.name === BUILT_IN_AGENT ? builtInStageSettings(config) : {};
  const models = new Map<string, string>();
  for (const stage of agent.stages) {
    const model = entry(byStage, stage.name) ?? entry(shorthand, stage.name) ?? stage.model;
    if (model) models.set(stage.name, model);
  }
  return models;
}

/**
 * The stage runner's dependencies for a configuration and agent: models per stage (see
 * {@link stageModels}), the built-in tools, delta bounds.
 */
export function createAgentDeps(
  config: Config,
  store: Store,
  model: ModelClient,
  agent: Agent,
  log?: LogFn,
): AgentDeps {
  const models = stageModels(config, agent);
  const tools = createDefaultTools({
    httpGet: {
      allowlist: config.HTTP_GET_ALLOWLIST.split(",")
        .map((p) => p.trim())
        .filter(Boolean),
      timeoutMs: config.HTTP_GET_TIMEOUT_MS,
      maxBytes: config.HTTP_GET_MAX_BYTES,
    },
  });
  for (const tool of agent.tools) {
    if (tools.get(tool.name))
      throw new AgentDefinitionError(`agent ${agent.name}: tool ${tool.name} is a built-in tool's name`);
    tools.register(tool);
  }
  return {
    agent,
    store,
    model,
    models,
    tools,
    delta: { intervalMs: config.LLM_DELTA_INTERVAL_MS, maxChars: config.LLM_DELTA_MAX_CHARS },
    cancelCheckMs: config.CANCEL_CHECK_MS,
    ...(log ? { log } : {}),
  };
}

/**
 * Stream tunables from a configuration. `defaultFlush` is the composition root's choice when
 * STREAM_FLUSH is unset (Lambda: `pad`; local: `off`).
 */
export function streamSettings(config: Config, defaultFlush: FlushStrategy = "off"): StreamSettings {
  return {
    pollMinMs: config.STREAM_POLL_MIN_MS,
    pollMaxMs: config.STREAM_POLL_MAX_MS,
    pollHoldMs: config.STREAM_POLL_HOLD_MS,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
    maxDurationMs: config.STREAM_MAX_DURATION_MS,
    retryMs: config.STREAM_RETRY_MS,
    flush: config.STREAM_FLUSH ?? defaultFlush,
    padBytes: config.STREAM_PAD_BYTES,
    maxBytes: config.STREAM_MAX_BYTES,
    sharePolling: config.STREAM_SHARE_POLLING,
    longPollWaitMs: config.LONG_POLL_WAIT_MS,
  };
}

/**
 * CORS settings for hono/cors from CORS_ORIGINS: only the listed origins, credentials not
 * needed (tokens travel in headers or the stream URL). None by default: the local page is
 * same-origin and needs no CORS.
 */
export function corsOrigins(config: Config) {
  const origins = parseOrigins(config.CORS_ORIGINS);
  return {
    origin: (origin: string) => (origins.includes(origin) ? origin : null),
    allowMethods: [...CORS_POLICY.allowMethods],
    allowHeaders: [...CORS_POLICY.allowHeaders],
    exposeHeaders: [...CORS_POLICY.exposeHeaders],
    maxAge: CORS_POLICY.maxAgeSeconds,
  };
}

/** The path of GET /runs/{runId}/poll (packages/stream/poll-route.ts), the one route a CDN caches. */
const POLL_PATH = /^\/runs\/[^/]+\/poll$/;

/**
 * The CORS middleware both roots apply: hono/cors with {@link corsOrigins}, except on the poll
 * route. hono/cors answers a listed Origin with that origin and `Vary: Origin`, so a CDN would
 * either keep one copy per Origin or (ignoring Vary) serve one origin's allowance to another.
 * The poll's credential is in its URL and its response carries no cookie, so any page holding
 * the URL may read it: with CORS_ORIGINS set, the poll answers `Access-Control-Allow-Origin: *`
 * (never valid with credentials, and the same for every Origin: no Vary); with none set, no CORS
 * header at all, as on every other route.
 */
export function corsMiddleware(config: Config): MiddlewareHandler {
  const listed = cors(corsOrigins(config));
  const anyOrigin =
    parseOrigins(config.CORS_ORIGINS).length > 0
      ? cors({
          origin: "*",
          allowMethods: ["GET", "OPTIONS"],
          exposeHeaders: [...CORS_POLICY.exposeHeaders],
          maxAge: CORS_POLICY.maxAgeSeconds,
        })
      : undefined;
  return async (c, next) => {
    if (!POLL_PATH.test(c.req.path)) return listed(c, next);
    return anyOrigin ? anyOrigin(c, next) : next();
  };
}
