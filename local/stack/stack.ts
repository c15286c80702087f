import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Hono } from "hono";
import type { AgentDefinition, ModelClient, StageImpl } from "../../packages/agent/index.ts";
import { compose, devToken, generateSecret, isLoopback, type Parts } from "../../packages/compose/index.ts";
import { type Config, ConfigError, usesOfflineModel } from "../../packages/config/index.ts";
import type { RunEvent } from "../../packages/events/index.ts";
import { type AppEnv, errorResponse, HttpError } from "../../packages/http/index.ts";
import { type LogFn, logFn } from "../../packages/observability/index.ts";
import { endOrphanedRuns, ensureTable, type Store } from "../../packages/store/index.ts";
import { buildDefinition, type WorkflowArns } from "../../packages/workflow/index.ts";
import { createOfflineModelApp } from "../offline-model/index.ts";
import { startDynalite } from "./dynalite.ts";
import { LocalWorkflow, type LocalWorkflowOptions } from "./local-workflow.ts";
import { loopbackHostOnly } from "./loopback-host.ts";
import { type Served, serveApp } from "./serve.ts";

/**
 * Function ARNs the local definition names. They are never called: the local runner maps them
 * to in-process handlers. They are well-formed so the runner's ARN validation passes, as on AWS.
 */
export const LOCAL_ARNS: WorkflowArns = {
  stageFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:stagecast-stage",
  finalizeFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:stagecast-finalize",
};

/** The running embedded default: one process holding every part. */
export interface LocalStack {
  /** Base URL of the API, the stream and the page (e.g. http://127.0.0.1:3000). */
  url: string;
  store: Store;
  workflow: LocalWorkflow;
  model: ModelClient;
  /** A development token (sub `developer`), when the secret was generated for this process. */
  devToken?: string;
  /** Where the embedded offline model listens, when it runs. */
  offlineModelUrl?: string;
  /** Stop accepting work, abort executions and close every server. */
  stop(): Promise<void>;
}

/** Options for tests and the benchmark. */
export interface LocalStackOptions {
  /** Retry waits (s) per state name; tests pass 0 to skip real backoff. */
  retryIntervalOverrides?: Record<string, number>;
  log?: LogFn;
  /**
   * Run this agent instead of the built-in one (its stages, weights, timeouts and code); the
   * state machine is generated from it too. Checked at start: AgentDefinitionError if invalid.
   */
  agent?: AgentDefinition;
  /** Replace some of the agent's stage implementations by stage name (fault tests, the benchmark). */
  stages?: Readonly<Record<string, StageImpl>>;
  /** Sees the DynamoDB client before first use: where the benchmark counts requests (middleware). */
  instrumentDynamo?: (client: DynamoDBClient) => void;
  /** Called once for each event the store wrote (see StoreOptions.onEventStored). */
  onEventStored?: (event: RunEvent) => void;
  /** Sees every Task's input and output (see LocalWorkflowOptions.onTask): tests measure payloads. */
  onTask?: LocalWorkflowOptions["onTask"];
}

/**
 * Start the embedded default (docs/design.md, "The picture on one machine"): dynalite for DynamoDB,
 * aws-local-stepfunctions running the same ASL, the offline model on loopback when no
 * OPENAI_BASE_URL / OPENAI_API_KEY is set, and the same Hono apps served by @hono/node-server.
 * This is the local composition root: the only place that knows it is not on AWS. The parts
 * are wired by `compose`, the same function the AWS root (functions/aws.ts) calls.
 * @throws ConfigError / StoreError / listen errors (port in use) — nothing is left running then.
 */
export async function startLocalStack(config: Config, options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? logFn();
  const loopback = isLoopback(config.HOST);
  if (config.AUTH === "off" && !loopback) {
    throw new ConfigError(`AUTH=off is only allowed on a loopback interface, not ${config.HOST}`);
  }
  // No secret configured: generate one for this process; on loopback only, also mint a
  // development token and offer it on the page (elsewhere anyone reaching the page would get it).
  const generatedSecret =
    config.AUTH === "jwt" && !config.AUTH_JWT_SECRET && !config.AUTH_JWKS_URL ? generateSecret() : undefined;
  const developerToken = generatedSecret && loopback ? await devToken(config, generatedSecret) : undefined;
  const closers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const client = await startLocalDynamo(config, closers, options);
    const offline = usesOfflineModel(config) ? await serveOfflineModel(config, log) : undefined;
    const parts = compose<LocalWorkflow>(config, {
      dynamo: client,
      workflow: (p) => localWorkflow(p, log, options),
      ...(offline ? { offlineModelUrl: `${offline.url}/v1` } : {}),
      authOffAllowed: loopback,
      ...(generatedSecret ? { generatedSecret } : {}),
      ...(developerToken ? { devToken: developerToken } : {}),
      defaultFlush: "off",
      log,
      ...(options.onEventStored ? { onEventStored: options.onEventStored } : {}),
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.stages ? { stages: options.stages } : {}),
    });
    if (config.DATA_DIR) await endOrphaned(parts.store, log);
    const { workflow } = parts;
    // Reversed at stop: abort executions, stop the model (calls in flight fail fast), then wait
    // for the Task handlers still running, so none touches the store after it closes.
    closers.push(async () => workflow.drain(5000));
    if (offline) closers.push(offline.close);
    closers.push(async () => workflow.abortAll());
    const http = await serveApp(localApp(parts, loopback), config.PORT, config.HOST, log);
    closers.push(http.close);
    closers.push(startSweeper(parts, log));
    return {
      url: http.url,
      store: parts.store,
      workflow,
      model: parts.agent.model,
      ...(offline ? { offlineModelUrl: offline.url } : {}),
      ...(developerToken ? { devToken: developerToken } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** dynalite (in memory, or in DATA_DIR), a client for it, and the table; their closers pushed. */
async function startLocalDynamo(
  config: Config,
  closers: Array<() => Promise<void>>,
  options: LocalStackOptions,
): Promise<DynamoDBClient> {
  const dynamo = await startDynalite(config.DATA_DIR ? { path: config.DATA_DIR } : {});
  closers.push(dynamo.close);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  closers.push(async () => client.destroy());
  options.instrumentDynamo?.(client);
  await ensureTable(client, config.TABLE_NAME);
  return client;
}

/** The embedded offline model, served on loopback. */
async function serveOfflineModel(config: Config, log: LogFn): Promise<Served> {
  const model = createOfflineModelApp({
    tokensPerSecond: config.OFFLINE_MODEL_TOKENS_PER_SECOND,
    testControls: config.OFFLINE_MODEL_TEST_CONTROLS === "true",
  });
  // It listens on loopback: like the API, it refuses a foreign Host (DNS rebinding), so a
  // web page cannot reach it through a name of its own.
  return serveApp(new Hono().use(loopbackHostOnly()).route("/", model), 0, "127.0.0.1", log);
}

/** The Workflow adapter locally: the same ASL, each Task's body called in process. */
function localWorkflow(parts: Parts<LocalWorkflow>, log: LogFn, options: LocalStackOptions): LocalWorkflow {
  return new LocalWorkflow({
    // Generated from the agent this process runs, so the ASL and the stage code always agree.
    definition: buildDefinition(parts.agent.agent, LOCAL_ARNS),
    arns: LOCAL_ARNS,
    stage: (input) => parts.runStage(input),
    finalize: (input) => parts.finalize(input),
    ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
    ...(options.onTask ? { onTask: options.onTask } : {}),
    log,
  });
}

/**
 * This process owns its data directory alone: a run still active now was left by a previous
 * process that died (kill, crash, power loss). End it at once rather than after
 * RUN_SILENCE_MS, so its clients see the end and its owner's active-run slot is free.
 */
async function endOrphaned(store: Store, log: LogFn): Promise<void> {
  const orphaned = await endOrphanedRuns(store);
  if (orphaned.timedOut.length > 0) {
    log({ level: "warn", msg: "ended runs a previous process left unfinished", runs: orphaned.timedOut });
  }
}

/** One server for the stream app, the API app and the page, as one origin. */
function localApp(parts: Parts<LocalWorkflow>, loopback: boolean): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // On loopback, answer only requests addressed to a loopback name: a web page cannot reach
  // this server through DNS rebinding (its Host header would be the attacker's name).
  if (loopback) app.use(loopbackHostOnly());
  app.use(parts.cors());
  app.route("/", parts.streamApp());
  app.route("/", parts.apiApp());
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
  return app;
}

/**
 * Runs whose stage died while this process lives end as timed out after a silence: a sweep
 * every RUN_SWEEP_MS, one at a time. Returns its closer (stops the timer, waits for a sweep).
 */
function startSweeper(parts: Parts<LocalWorkflow>, log: LogFn): () => Promise<void> {
  let sweeping: Promise<unknown> = Promise.resolve();
  let busy = false;
  const sweep = () => {
    if (busy) return;
    busy = true;
    sweeping = parts
      .sweep()
      .then(
        (r) => r.timedOut.length && log({ msg: "ended silent runs", timedOut: r.timedOut }),
        (err: unknown) => log({ level: "warn", msg: "sweep failed", error: String(err) }),
      )
      .finally(() => {
        busy = false;
      });
  };
  sweep();
  const sweeper = setInterval(sweep, parts.config.RUN_SWEEP_MS);
  return async () => {
    clearInterval(sweeper);
    await sweeping;
  };
}
