import { z } from "zod";

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/**
 * An agent name, as packages/agent's AgentNameSchema checks it (config is a leaf and imports
 * no other package, so the pattern is repeated here; a test keeps the two equal).
 */
export const AGENT_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,47}$/;
/** A stage name, as packages/events' STAGE_NAME_PATTERN (repeated here; a test keeps them equal). */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/** Parse a setting's JSON text, reporting a syntax error as an issue of the setting. */
const jsonText = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `not JSON (${(error as Error).message})` });
    return z.NEVER;
  }
});

/**
 * STAGE_MODELS: JSON text of an object `{ "<agent>": { "<stage>": "<model>" } }`. Every agent
 * and stage name must match its pattern and every model be a non-empty string (≤ 200
 * characters, like a stage definition's `model`); an issue's path names the bad entry
 * (`STAGE_MODELS.<agent>.<stage>`).
 */
export const StageModelsSchema = jsonText.pipe(
  z.record(z.string(), z.record(z.string(), z.string().min(1).max(200))).superRefine((models, ctx) => {
    for (const [agent, stages] of Object.entries(models)) {
      if (!AGENT_NAME_PATTERN.test(agent))
        ctx.addIssue({
          code: "custom",
          path: [agent],
          message: "an agent name is a lower-case letter, then letters, digits, _ or - (≤ 48)",
        });
      for (const stage of Object.keys(stages))
        if (!STAGE_NAME_PATTERN.test(stage))
          ctx.addIssue({
            code: "custom",
            path: [agent, stage],
            message: "a stage name is a lower-case letter, then letters, digits or _ (≤ 32)",
          });
    }
  }),
);

/** Models by agent and stage (STAGE_MODELS parsed): `models[agent][stage]` is a model name. */
export type StageModels = z.infer<typeof StageModelsSchema>;

/**
 * Every setting Stagecast reads from the environment, with its default. One schema, so the
 * README's configuration table, the local stack and the Lambda functions cannot disagree.
 * Units are in the names: _MS milliseconds, _SECONDS seconds, _DAYS days, _CHARS characters.
 */
export const ConfigSchema = z.object({
  /** HTTP port of the local stack; 0 picks a free one. */
  PORT: int(3000),
  /** Interface the local stack listens on. */
  HOST: z.string().default("127.0.0.1"),
  /** DynamoDB table name (the local stack creates it; on AWS infra sets it). */
  TABLE_NAME: z.string().min(3).default("stagecast"),
  /**
   * Local stack only: the module of the agent to run (a path, relative to the working
   * directory; its default export is `defineAgent(…)`). Unset: the built-in agent.
   */
  STAGECAST_AGENT: z.string().min(1).optional(),
  /** Local stack only: keep dynalite's data in this folder (LevelDB) instead of memory. */
  DATA_DIR: z.string().optional(),
  /** Days run, event and memory items live before TTL deletes them. */
  RETENTION_DAYS: z.coerce.number().positive().default(7),
  /** OpenAI-compatible base URL (OpenAI, Ollama /v1, vLLM, LiteLLM). Unset with no key: the embedded offline model. */
  OPENAI_BASE_URL: z.string().url().optional(),
  /** API key for OPENAI_BASE_URL (or OpenAI itself). */
  OPENAI_API_KEY: z.string().optional(),
  /** Model name sent to the API; defaults to `offline` for the embedded model, `gpt-4o-mini` otherwise. */
  OPENAI_MODEL: z.string().optional(),
  /**
   * Model for the built-in agent's analyzing stage: shorthand for `STAGE_MODELS` =
   * `{"default":{"analyzing":…}}`, kept so deployments from before STAGE_MODELS keep their
   * models. Applies to the built-in agent (`default`) only, never to another agent's stage of
   * the same name; STAGE_MODELS wins when both name the stage.
   */
  OPENAI_MODEL_ANALYZING: z.string().optional(),
  /** Model for the built-in agent's planning stage (see OPENAI_MODEL_ANALYZING). */
  OPENAI_MODEL_PLANNING: z.string().optional(),
  /** Model for the built-in agent's execution stage, which writes the answer (see OPENAI_MODEL_ANALYZING). */
  OPENAI_MODEL_EXECUTION: z.string().optional(),
  /** Model for the built-in agent's memory stage (see OPENAI_MODEL_ANALYZING). */
  OPENAI_MODEL_MEMORY: z.string().optional(),
  /**
   * Models by agent and stage, a JSON object `{"<agent>":{"<stage>":"<model>"}}`, e.g.
   * `{"default":{"execution":"gpt-4o"},"k8s":{"diagnose":"o3-mini"}}`. A stage's model is this
   * entry, else the stage definition's `model`, else OPENAI_MODEL (see StageModelsSchema).
   */
  STAGE_MODELS: StageModelsSchema.default({}),
  /** Time limit of one model call (ms); a timeout is transient and retried by the workflow. */
  MODEL_TIMEOUT_MS: int(120_000, 1000),
  /** Retries inside the openai SDK before a stage fails; 0 leaves every retry to the workflow, where it is visible. */
  MODEL_MAX_RETRIES: int(0),
  /** Comma-separated URL prefixes the http_get tool may fetch; empty = http_get is off. */
  HTTP_GET_ALLOWLIST: z.string().default(""),
  /** Time limit of one http_get fetch (ms). */
  HTTP_GET_TIMEOUT_MS: int(5000, 100),
  /** Most bytes of a response http_get reads. */
  HTTP_GET_MAX_BYTES: int(100_000, 1),
  /** Speed of the embedded offline model (tokens per second; 0 = unpaced). */
  OFFLINE_MODEL_TOKENS_PER_SECOND: z.coerce.number().min(0).default(30),
  /**
   * Serve the embedded offline model's test controls (`/_offline/knobs`, `/_offline/stats`), with
   * which tests inject failures and stalls: `true` or `false` (default). Off for everyone else,
   * so nothing but a test can make the model fail (docs/security.md).
   */
  OFFLINE_MODEL_TEST_CONTROLS: z.enum(["true", "false"]).default("false"),
  /** Minimum time between two llm.delta writes of a run (ms): bounds writes per second. */
  LLM_DELTA_INTERVAL_MS: int(100),
  /** Most characters one llm.delta event carries. */
  LLM_DELTA_MAX_CHARS: int(4096, 2),
  /**
   * A run with no new event for this long (ms) whose workflow is gone is ended with
   * run.timed_out by the sweeper. Must exceed the longest stage time limit (execution: 15 min).
   */
  RUN_SILENCE_MS: int(1_200_000, 100),
  /** How often the local stack sweeps for silent runs (ms); it also sweeps at start-up. */
  RUN_SWEEP_MS: int(60_000, 50),
  /** How often a running stage checks whether its run was ended from outside (cancel), in ms. */
  CANCEL_CHECK_MS: int(500, 50),
  /**
   * Fastest store poll of a stream with recent activity (ms). 10 ms keeps the median event
   * latency under 20 ms with 100 watchers (docs/benchmarks.md); each active stream on Lambda
   * then reads up to 100 times a second (docs/deploy.md §7 prices it).
   */
  STREAM_POLL_MIN_MS: int(10, 1),
  /** Slowest store poll of an idle stream (ms): an idle watcher reads at most 1000/this per second. */
  STREAM_POLL_MAX_MS: int(250, 1),
  /**
   * How long a stream keeps polling at STREAM_POLL_MIN_MS after the newest event (ms) before
   * it starts doubling: llm.delta bursts (one event per 100 ms) are then seen within one short
   * interval instead of after a doubled one (docs/benchmarks.md).
   */
  STREAM_POLL_HOLD_MS: int(1000, 0),
  /**
   * Heartbeat frame interval while nothing else is sent (ms). 2.5 s stays under common client
   * read timeouts (httpx: 5 s) and proxy idle timeouts. With STREAM_FLUSH=pad every heartbeat
   * is padded to STREAM_PAD_BYTES + 64 (16,448 bytes ≈ 6.6 KB/s, 23.7 MB/h at the defaults);
   * the 14-minute deadline then comes first (≈ 5.5 MB), well before STREAM_MAX_BYTES (docs/api.md).
   */
  STREAM_HEARTBEAT_MS: int(2500, 100),
  /** A stream closes cleanly after this long (ms) with a `reconnect` frame; keep it below the Lambda timeout. */
  STREAM_MAX_DURATION_MS: int(840_000, 1000),
  /** Reconnect delay the stream suggests to clients (`retry:`, ms). */
  STREAM_RETRY_MS: int(1000, 0),
  /**
   * What the stream writes after each batch of frames to push it through front ends that hold
   * back small writes: off | pad | trailer (see packages/stream/flush.ts). Unset: `pad` on Lambda
   * (the safest reported), `off` locally (loopback holds nothing back).
   */
  STREAM_FLUSH: z.enum(["off", "pad", "trailer"]).optional(),
  /** The size `pad` brings each batch up to (bytes); 16 KiB covers the most reported threshold. */
  STREAM_PAD_BYTES: int(16_384),
  /**
   * A stream ends (with a `reconnect` frame) after this many bytes: 190,000,000 by default, 5%
   * under Lambda's 200 MB cap on a streamed response (raised from 20 MB in July 2025; Lambda
   * quotas, "Response streaming"), so the stream ends itself with a resume hint instead of being
   * cut. At most 200,000,000. The 14-minute deadline ends an ordinary stream long before
   * (≈ 5.5 MB padded); the cap matters only for a stream that writes over 226 KB/s for 14 minutes.
   */
  STREAM_MAX_BYTES: int(190_000_000, 1024).pipe(z.number().max(200_000_000)),
  /**
   * Whether the streams and polls of one process share one store poller per run (`true`,
   * default) or each request polls the store on its own (`false` or `0`), as one Lambda
   * invocation does: the local stack then costs the store per watcher what AWS does (the
   * benchmark compares the two). `true`/`1` or `false`/`0`.
   */
  STREAM_SHARE_POLLING: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((value) => value === "true" || value === "1"),
  /**
   * Longest wait of a GET /runs/{runId}/poll at the live edge for an event to be appended (ms); 0
   * answers at once. At most 25,000: below CloudFront's default origin response timeout (30 s,
   * CloudFront Developer Guide, "Response timeout") and API Gateway's integration timeout
   * (30 s for HTTP APIs, "Amazon API Gateway quotas"), so a waiting poll always gets its answer.
   */
  LONG_POLL_WAIT_MS: int(20_000, 0).pipe(z.number().max(25_000)),
  /**
   * Window of watch tokens (s): every watcher of a run gets the same watch token within one window,
   * and it expires one window after its window ends (so it lives W to 2W). At most 86,400 (a day).
   */
  WATCH_TOKEN_WINDOW_SECONDS: int(3600, 60).pipe(z.number().max(86_400)),
  /**
   * Public base URL of the stream endpoint (the Function URL on AWS); unset = same origin as the
   * API. A trailing slash is fine (AWS prints Function URLs with one).
   */
  STREAM_BASE_URL: z.string().url().optional(),
  /**
   * `jwt` (default): callers send a bearer JWT; `off`: no authentication, allowed only when the
   * local stack listens on loopback (it says so loudly at start-up).
   */
  AUTH: z.enum(["jwt", "off"]).default("jwt"),
  /** HS256 secret (≥ 32 bytes) for callers' JWTs; unset locally = generated at start-up with a printed dev token. */
  AUTH_JWT_SECRET: z.string().min(32).optional(),
  /** JWKS URL for callers' JWTs (RS256/ES256/…), instead of AUTH_JWT_SECRET. */
  AUTH_JWKS_URL: z.string().url().optional(),
  /** Required `iss` of callers' JWTs, when set. */
  AUTH_ISSUER: z.string().optional(),
  /** Required `aud` of callers' JWTs, when set. */
  AUTH_AUDIENCE: z.string().optional(),
  /** HS256 secret (≥ 32 bytes) for stream tokens; unset = AUTH_JWT_SECRET (locally: generated). */
  STREAM_TOKEN_SECRET: z.string().min(32).optional(),
  /** Lifetime of a stream token (s). */
  STREAM_TOKEN_TTL_SECONDS: int(900, 10).pipe(z.number().max(3600)),
  /** Most runs one principal may have running at once (429 with Retry-After beyond it). */
  MAX_ACTIVE_RUNS: int(10, 1),
  /** Comma-separated origins allowed by CORS on the API and the stream (none by default). */
  CORS_ORIGINS: z.string().default(""),
  /** The principal that owns runs started by SQS messages and EventBridge events. */
  TRIGGER_OWNER: z.string().min(1).max(256).default("trigger"),
  /** Step Functions state machine ARN (AWS only). */
  STATE_MACHINE_ARN: z.string().optional(),
});

/** Parsed configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** A configuration value was present but invalid; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parse configuration from an environment (default `process.env`).
 * @throws ConfigError naming every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set" (a common way to unset one in shells and CI).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = ConfigSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return result.data;
}

/** True when the embedded offline model must be used (neither OPENAI_BASE_URL nor OPENAI_API_KEY set). */
export const usesOfflineModel = (config: Config): boolean =>
  !config.OPENAI_BASE_URL && !config.OPENAI_API_KEY;
