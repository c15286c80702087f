import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import OpenAI from "openai";
import { type AgentDeps, createDefaultTools, defaultAgent, ModelClient } from "../agent/index.ts";
import { CORS_POLICY, type Config, parseOrigins } from "../config/index.ts";
import type { RunEvent, Stage } from "../events/index.ts";
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

/** The stage runner's dependencies for a configuration: models per stage, the built-in tools, delta bounds. */
export function createAgentDeps(config: Config, store: Store, model: ModelClient, log?: LogFn): AgentDeps {
  const models: Partial<Record<Stage, string>> = {};
  if (config.OPENAI_MODEL_ANALYZING) models.analyzing = config.OPENAI_MODEL_ANALYZING;
  if (config.OPENAI_MODEL_PLANNING) models.planning = config.OPENAI_MODEL_PLANNING;
  if (config.OPENAI_MODEL_EXECUTION) models.execution = config.OPENAI_MODEL_EXECUTION;
  if (config.OPENAI_MODEL_MEMORY) models.memory = config.OPENAI_MODEL_MEMORY;
  const tools = createDefaultTools({
    httpGet: {
      allowlist: config.HTTP_GET_ALLOWLIST.split(",")
        .map((p) => p.trim())
        .filter(Boolean),
      timeoutMs: config.HTTP_GET_TIMEOUT_MS,
      maxBytes: config.HTTP_GET_MAX_BYTES,
    },
  });
  return {
    agent: defaultAgent,
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
