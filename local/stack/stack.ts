import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Hono } from "hono";
import { cors } from "hono/cors";
import {
  finalizeRun,
  type ModelClient,
  runStage,
  STAGE_IMPLS,
  type StageImpl,
} from "../../packages/agent/index.ts";
import { createApiApp } from "../../packages/api/index.ts";
import {
  authSettings,
  corsOrigins,
  createAgentDeps,
  createModelClient,
  createStore,
  devToken,
  generateSecret,
  isLoopback,
  streamSettings,
} from "../../packages/compose/index.ts";
import { type Config, ConfigError, usesOfflineModel } from "../../packages/config/index.ts";
import type { RunEvent, Stage } from "../../packages/events/index.ts";
import { type AppEnv, errorResponse, HttpError } from "../../packages/http/index.ts";
import { type LogFn, logFn } from "../../packages/observability/index.ts";
import { endOrphanedRuns, ensureTable, type Store, sweepSilentRuns } from "../../packages/store/index.ts";
import { createStreamApp } from "../../packages/stream/index.ts";
import { buildDefinition, type WorkflowArns } from "../../packages/workflow/index.ts";
import { createOfflineModelApp } from "../offline-model/index.ts";
import { startDynalite } from "./dynalite.ts";
import { LocalWorkflow } from "./local-workflow.ts";
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

/** Extra knobs for tests. */
export interface LocalStackOptions {
  /** Retry waits (s) per state name; tests pass 0 to skip real backoff. */
  retryIntervalOverrides?: Record<string, number>;
  log?: LogFn;
  /** Replace some of the built-in stage implementations (custom agents, fault tests). */
  stages?: Partial<Record<Stage, StageImpl>>;
  /** Sees the DynamoDB client before first use: where the benchmark counts requests (middleware). */
  instrumentDynamo?: (client: DynamoDBClient) => void;
  /** Called once for each event the store wrote (see StoreOptions.onEventStored). */
  onEventStored?: (event: RunEvent) => void;
}

/**
 * Start the embedded default (docs/design.md, "The picture on one machine"): dynalite for DynamoDB,
 * aws-local-stepfunctions running the same ASL, the offline model on loopback when no
 * OPENAI_BASE_URL / OPENAI_API_KEY is set, and the same Hono apps served by @hono/node-server.
 * This is the local composition root: the only place that knows it is not on AWS.
 * @throws ConfigError / StoreError / listen errors (port in use) — nothing is left running then.
 */
export async function startLocalStack(config: Config, options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? logFn();
  if (config.AUTH === "off" && !isLoopback(config.HOST)) {
    throw new ConfigError(`AUTH=off is only allowed on a loopback interface, not ${config.HOST}`);
  }
  // No secret configured: generate one for this process; on loopback only, also mint a
  // development token and offer it on the page (elsewhere anyone reaching the page would get it).
  const generatedSecret =
    config.AUTH === "jwt" && !config.AUTH_JWT_SECRET && !config.AUTH_JWKS_URL ? generateSecret() : undefined;
  const loopback = isLoopback(config.HOST);
  const auth = authSettings(config, generatedSecret ? { generatedSecret } : {});
  const developerToken = generatedSecret && loopback ? await devToken(config, generatedSecret) : undefined;
  const closers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
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
    const store = createStore(config, client, options.onEventStored);
    if (config.DATA_DIR) {
      // This process owns its data directory alone: a run still active now was left by a
      // previous process that died (kill, crash, power loss). End it at once rather than after
      // RUN_SILENCE_MS, so its clients see the end and its owner's active-run slot is free.
      const orphaned = await endOrphanedRuns(store);
      if (orphaned.timedOut.length > 0) {
        log({ level: "warn", msg: "ended runs a previous process left unfinished", runs: orphaned.timedOut });
      }
    }

    let offline: Served | undefined;
    if (usesOfflineModel(config)) {
      const model = createOfflineModelApp({
        tokensPerSecond: config.OFFLINE_MODEL_TOKENS_PER_SECOND,
        testControls: config.OFFLINE_MODEL_TEST_CONTROLS === "true",
      });
      // It listens on loopback: like the API, it refuses a foreign Host (DNS rebinding), so a
      // web page cannot reach it through a name of its own.
      offline = await serveApp(new Hono().use(loopbackHostOnly()).route("/", model), 0, "127.0.0.1", log);
    }
    const model = createModelClient(config, offline ? `${offline.url}/v1` : undefined);
    const agent = createAgentDeps(config, store, model, log);
    if (options.stages) agent.stages = { ...STAGE_IMPLS, ...options.stages };

    const workflow = new LocalWorkflow({
      definition: buildDefinition(LOCAL_ARNS),
      arns: LOCAL_ARNS,
      stage: (input) => runStage(input, agent),
      finalize: (input) => finalizeRun(input, store, log),
      ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
      log,
    });
    // Reversed at stop: abort executions, stop the model (calls in flight fail fast), then wait
    // for the Task handlers still running, so none touches the store after it closes.
    closers.push(async () => workflow.drain(5000));
    if (offline) closers.push(offline.close);
    closers.push(async () => workflow.abortAll());

    const app = new Hono<AppEnv>();
    // On loopback, answer only requests addressed to a loopback name: a web page cannot reach
    // this server through DNS rebinding (its Host header would be the attacker's name).
    if (loopback) app.use(loopbackHostOnly());
    app.use(cors(corsOrigins(config)));
    app.route(
      "/",
      createStreamApp({
        store,
        settings: streamSettings(config),
        auth,
        start: { workflow, maxActiveRuns: config.MAX_ACTIVE_RUNS },
        log,
      }),
    );
    app.route(
      "/",
      createApiApp({
        store,
        workflow,
        auth,
        maxActiveRuns: config.MAX_ACTIVE_RUNS,
        ...(developerToken ? { devToken: developerToken } : {}),
        log,
        ...(config.STREAM_BASE_URL ? { streamBaseUrl: config.STREAM_BASE_URL } : {}),
      }),
    );
    app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
    const http = await serveApp(app, config.PORT, config.HOST, log);
    closers.push(http.close);

    // Runs whose stage died while this process lives end as timed out after a silence.
    let sweeping: Promise<unknown> = Promise.resolve();
    let busy = false;
    const sweep = () => {
      if (busy) return; // one sweep at a time
      busy = true;
      sweeping = sweepSilentRuns(store, config.RUN_SILENCE_MS)
        .then(
          (r) => r.timedOut.length && log({ msg: "ended silent runs", timedOut: r.timedOut }),
          (err: unknown) => log({ level: "warn", msg: "sweep failed", error: String(err) }),
        )
        .finally(() => {
          busy = false;
        });
    };
    sweep();
    const sweeper = setInterval(sweep, config.RUN_SWEEP_MS);
    closers.push(async () => {
      clearInterval(sweeper);
      await sweeping;
    });

    return {
      url: http.url,
      store,
      workflow,
      model,
      ...(offline ? { offlineModelUrl: offline.url } : {}),
      ...(developerToken ? { devToken: developerToken } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
