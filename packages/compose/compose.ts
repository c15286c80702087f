import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context, MiddlewareHandler } from "hono";
import {
  type AgentDefinition,
  type AgentDeps,
  checkAgent,
  finalizeRun,
  runStage,
  type StageImpl,
  withStageCode,
} from "../agent/index.ts";
import { createApiApp } from "../api/index.ts";
import { type Config, ConfigError } from "../config/index.ts";
import { defaultAgent } from "../default-agent/index.ts";
import type { RunEvent } from "../events/index.ts";
import type { AuthSettings } from "../http/index.ts";
import type { LogFn, Meter } from "../observability/index.ts";
import type { TriggerDeps } from "../run-start/index.ts";
import { type Store, sweepSilentRuns } from "../store/index.ts";
import { createStreamApp, type FlushStrategy } from "../stream/index.ts";
import type { Workflow } from "../workflow/index.ts";
import { authSettings } from "./auth.ts";
import {
  corsMiddleware,
  createAgentDeps,
  createModelClient,
  createStore,
  streamSettings,
} from "./build-parts.ts";

/**
 * What differs between the two composition roots (functions/aws.ts, local/stack/stack.ts).
 * Everything else is built the same way by {@link compose}.
 */
export interface Platform<W extends Workflow = Workflow> {
  /** The DynamoDB client. Default: the SDK's own chain (Lambda role, AWS_REGION). Local: dynalite's endpoint. */
  dynamo?: DynamoDBClient;
  /**
   * The Workflow adapter, built on first use. It gets the composed parts because the local
   * runner calls the stage and Finalize bodies in process; on AWS it is Step Functions.
   */
  workflow: (parts: Parts<W>) => W;
  /** Base URL (`…/v1`) of an embedded offline model the root started; unset: OPENAI_* settings. */
  offlineModelUrl?: string;
  /** Whether AUTH=off may be used here: only on a loopback interface, never on AWS. */
  authOffAllowed: boolean;
  /** A caller-token secret generated for this process (local, no secret configured). */
  generatedSecret?: string;
  /** The caller's id when a front end already verified them (API Gateway's JWT authorizer). */
  upstreamCaller?: (c: Context) => string | undefined;
  /** STREAM_FLUSH when unset: `pad` behind the Function URL's buffering, `off` locally. */
  defaultFlush: FlushStrategy;
  log: LogFn;
  /** Metrics sink for streams (CloudWatch EMF on AWS); none locally. */
  meter?: Meter;
  /** Sees every event the store writes (metrics on AWS, request counts in the benchmark). */
  onEventStored?: (event: RunEvent) => void;
  /**
   * The agent to run instead of the built-in one (checked on first use: an invalid definition
   * throws AgentDefinitionError then). The workflow's state machine must be built from the
   * same agent (`parts.agent.agent`).
   */
  agent?: AgentDefinition;
  /** Replace some of the agent's stage implementations by name (fault tests, the benchmark). */
  stages?: Readonly<Record<string, StageImpl>>;
  /** A development token the page offers (local, loopback only). */
  devToken?: string;
  /** Time left in the current invocation (ms), so a stream ends before Lambda cuts it. */
  remainingMs?: (c: Context) => number | undefined;
}

/**
 * The parts of Stagecast for one configuration and platform. Each is built on first use and
 * then reused (warm Lambda invocations, one local process): a Lambda function builds only what
 * its entry point touches, so the stage function never needs STATE_MACHINE_ARN.
 */
export interface Parts<W extends Workflow = Workflow> {
  readonly config: Config;
  readonly store: Store;
  readonly agent: AgentDeps;
  readonly workflow: W;
  readonly auth: AuthSettings;
  /** The Stage Task's body: run one stage (see runStage). */
  runStage(input: unknown): ReturnType<typeof runStage>;
  /** The Finalize Task's body (see finalizeRun). */
  finalize(input: unknown): ReturnType<typeof finalizeRun>;
  /** CORS for CORS_ORIGINS (hono/cors; the poll route's is origin-independent, see corsMiddleware), applied once per served app by the root. */
  cors(): MiddlewareHandler;
  /** The API app (routes only; the root adds CORS and serves it). */
  apiApp(): ReturnType<typeof createApiApp>;
  /** The stream app (routes only; the root adds CORS and serves it). */
  streamApp(): ReturnType<typeof createStreamApp>;
  /** What the SQS / EventBridge trigger needs (TRIGGER_OWNER starts the runs). */
  triggerDeps(): TriggerDeps;
  /** End runs silent for RUN_SILENCE_MS (the sweeper: a schedule on AWS, a timer locally). */
  sweep(): ReturnType<typeof sweepSilentRuns>;
}

/** A getter that builds its value on first use. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

/**
 * The one composition function both roots call: from a configuration and what the platform
 * provides, the store, model client, agent, workflow, auth and both HTTP apps, wired the same
 * way on AWS and locally.
 * @throws ConfigError (from a part's first use) when the configuration cannot build it, e.g.
 *   AUTH=jwt without a secret or key set.
 */
export function compose<W extends Workflow>(config: Config, platform: Platform<W>): Parts<W> {
  const log = platform.log;
  const store = once(() => createStore(config, platform.dynamo, platform.onEventStored));
  const agent = once(() => {
    const checked = checkAgent(platform.agent ?? defaultAgent);
    const chosen = platform.stages ? withStageCode(checked, platform.stages) : checked;
    const model = createModelClient(config, platform.offlineModelUrl);
    return createAgentDeps(config, store(), model, chosen, log);
  });
  const auth = once(() => {
    if (config.AUTH === "off" && !platform.authOffAllowed) {
      throw new ConfigError("AUTH=off is only allowed on a loopback interface");
    }
    return authSettings(config, {
      ...(platform.generatedSecret ? { generatedSecret: platform.generatedSecret } : {}),
      ...(platform.upstreamCaller ? { upstream: platform.upstreamCaller } : {}),
    });
  });
  const parts: Parts<W> = {
    config,
    get store() {
      return store();
    },
    get agent() {
      return agent();
    },
    get workflow() {
      return workflow();
    },
    get auth() {
      return auth();
    },
    runStage: (input) => runStage(input, agent()),
    finalize: (input) => finalizeRun(input, store(), log),
    cors: () => corsMiddleware(config),
    apiApp: () => apiApp(parts, platform),
    streamApp: () => streamApp(parts, platform),
    triggerDeps: () => ({
      store: store(),
      workflow: workflow(),
      agent: agent().agent,
      maxActiveRuns: config.MAX_ACTIVE_RUNS,
      owner: config.TRIGGER_OWNER,
      log,
    }),
    sweep: () => sweepSilentRuns(store(), config.RUN_SILENCE_MS),
  };
  const workflow = once(() => platform.workflow(parts));
  return parts;
}

function apiApp<W extends Workflow>(parts: Parts<W>, platform: Platform<W>) {
  const { config } = parts;
  return createApiApp({
    store: parts.store,
    workflow: parts.workflow,
    agent: parts.agent.agent,
    auth: parts.auth,
    maxActiveRuns: config.MAX_ACTIVE_RUNS,
    log: platform.log,
    ...(platform.devToken ? { devToken: platform.devToken } : {}),
    ...(config.STREAM_BASE_URL ? { streamBaseUrl: config.STREAM_BASE_URL } : {}),
  });
}

function streamApp<W extends Workflow>(parts: Parts<W>, platform: Platform<W>) {
  const { config } = parts;
  return createStreamApp({
    store: parts.store,
    settings: streamSettings(config, platform.defaultFlush),
    auth: parts.auth,
    start: { workflow: parts.workflow, agent: parts.agent.agent, maxActiveRuns: config.MAX_ACTIVE_RUNS },
    log: platform.log,
    ...(platform.meter ? { meter: platform.meter } : {}),
    ...(platform.remainingMs ? { remainingMs: platform.remainingMs } : {}),
  });
}
