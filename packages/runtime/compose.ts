import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import OpenAI from "openai";
import { type AgentDeps, ModelClient } from "../agent/index.ts";
import type { StreamSettings } from "../http/stream-app.ts";
import { ProgressStore } from "../store/index.ts";
import type { Config } from "./config.ts";

/** Seconds in a day, for RETENTION_DAYS → TTL seconds. */
const DAY_SECONDS = 86_400;

/**
 * The progress store for a configuration. The DynamoDB client honours the SDK's own
 * settings (region, credentials, AWS_ENDPOINT_URL_DYNAMODB) unless `client` is given.
 */
export function createStore(config: Config, client: DynamoDBClient = new DynamoDBClient({})): ProgressStore {
  return new ProgressStore({
    client,
    tableName: config.TABLE_NAME,
    retentionSeconds: config.RETENTION_DAYS * DAY_SECONDS,
  });
}

/**
 * The model client: OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL, or `baseURL` when the
 * caller started the embedded offline model. SDK-level retries are kept to one: the state
 * machine already retries a stage that fails transiently, and two layers of three tries
 * would multiply the wait.
 */
export function createModelClient(config: Config, offlineBaseUrl?: string): ModelClient {
  const openai = new OpenAI({
    baseURL: offlineBaseUrl ?? config.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    apiKey: offlineBaseUrl ? "offline" : (config.OPENAI_API_KEY ?? "not-needed"),
    maxRetries: 1,
  });
  const model = config.OPENAI_MODEL ?? (offlineBaseUrl ? "offline" : "gpt-4o-mini");
  return new ModelClient({ openai, model });
}

/** The stage runner's dependencies for a configuration. */
export function createAgentDeps(config: Config, store: ProgressStore, model: ModelClient): AgentDeps {
  return {
    store,
    model,
    delta: { intervalMs: config.LLM_DELTA_INTERVAL_MS, maxChars: config.LLM_DELTA_MAX_CHARS },
  };
}

/** Stream tunables from a configuration. */
export function streamSettings(config: Config): StreamSettings {
  return {
    pollMinMs: config.STREAM_POLL_MIN_MS,
    pollMaxMs: config.STREAM_POLL_MAX_MS,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
    maxDurationMs: config.STREAM_MAX_DURATION_MS,
    retryMs: config.STREAM_RETRY_MS,
    padBytes: config.STREAM_PAD_BYTES,
  };
}
