import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { ulid } from "ulid";
import { afterAll, beforeAll, beforeEach, vi } from "vitest";
import type { DynaliteHandle } from "../../local/stack/dynalite.ts";
import { StreamTokens } from "../../packages/auth/index.ts";
import type { EventInput, RunEvent } from "../../packages/events/index.ts";
import type { Store } from "../../packages/store/index.ts";
import { installAwsLambda } from "./awslambda.ts";
import { startTestDynamo } from "./dynamo.ts";
import { httpApiEvent, lambdaContext } from "./lambda-events.ts";

/*
 * The Lambda entry points in functions/ driven the way Lambda drives them (test/functions/*):
 * realistic HTTP API / Function URL / EventBridge events, the response-streaming runtime's
 * `awslambda` global (a faithful stand-in, test/support/awslambda.ts), DynamoDB = dynalite, and
 * Step Functions' StartExecution mocked (its control plane cannot run here). Each suite
 * re-imports the functions after setting the environment, because functions/aws.ts reads its
 * configuration at import.
 */

const TABLE = "stagecast-lambda-test";
export const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:stagecast";
export const STREAM_BASE_URL = "https://abc.lambda-url.us-east-1.on.aws";
export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const BASE_ENV: Record<string, string> = {
  TABLE_NAME: TABLE,
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIDTESTFAKE",
  AWS_SECRET_ACCESS_KEY: "fake-secret",
  AWS_EC2_METADATA_DISABLED: "true",
  // Belt and braces: if the SFN mock ever stopped applying, fail fast on loopback instead of calling AWS.
  AWS_ENDPOINT_URL_SFN: "http://127.0.0.1:9",
  STATE_MACHINE_ARN,
  STREAM_BASE_URL,
  STREAM_POLL_MIN_MS: "5",
  STREAM_POLL_MAX_MS: "20",
  // A broken tail ends after 10 s (with a retry hint) instead of hanging the suite.
  STREAM_MAX_DURATION_MS: "10000",
  // Frames only, so the chunk-level checks below see nothing but frames; the flush suites set it.
  STREAM_FLUSH: "off",
  AUTH_JWT_SECRET: "lambda-test-secret-of-at-least-32-bytes!",
  STREAM_TOKEN_SECRET: "lambda-test-secret-of-at-least-32-bytes!",
  // Runs seeded here never end; the active-run limit has its own test.
  MAX_ACTIVE_RUNS: "100000",
  POWERTOOLS_LOG_LEVEL: "SILENT",
};
/** Variables a suite may set on top of BASE_ENV; cleared before every import. */
const SUITE_VARS = ["STREAM_PAD_BYTES", "STREAM_HEARTBEAT_MS", "STREAM_RETRY_MS"];
/** Variables a suite may REMOVE from BASE_ENV (to see the Lambda default). */
export const UNSET = "<unset>";

let dynalite: DynaliteHandle;
let client: DynamoDBClient;
export let store: Store;
let uninstallAwsLambda: () => void;
const savedEnv = new Map<string, string | undefined>();
export const sfnMock = mockClient(SFNClient);

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
export interface Functions {
  api: ApiHandler;
  stream: unknown;
  stage: (event: unknown) => Promise<Record<string, unknown>>;
  finalize: (event: unknown) => Promise<string>;
  trigger: (event: unknown) => Promise<unknown>;
}

/** Set the environment, drop the module cache and import the four entry points afresh (aws.ts reads env at import). */
export async function loadFunctions(env: Record<string, string> = {}): Promise<Functions> {
  for (const key of [...Object.keys(BASE_ENV), ...SUITE_VARS, ...Object.keys(env)]) {
    if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
  }
  for (const key of SUITE_VARS) delete process.env[key];
  Object.assign(process.env, BASE_ENV, { AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint }, env);
  for (const [key, value] of Object.entries(env)) if (value === UNSET) delete process.env[key];
  vi.resetModules();
  const api = await import("../../functions/api.ts");
  const stream = await import("../../functions/stream.ts");
  const stage = await import("../../functions/stage.ts");
  const finalize = await import("../../functions/finalize.ts");
  const trigger = await import("../../functions/trigger.ts");
  return {
    api: (event) =>
      // hono types the v2 event's body as `string | null`; @types/aws-lambda as `string | undefined`.
      api.handler(
        event as never,
        lambdaContext({ functionName: "stagecast-api" }),
      ) as Promise<APIGatewayProxyStructuredResultV2>,
    stream: stream.handler,
    stage: (event) => stage.handler(event) as Promise<Record<string, unknown>>,
    finalize: (event) => finalize.handler(event) as Promise<string>,
    trigger: (event) => trigger.handler(event as never),
  };
}

/**
 * The file's dynalite and `awslambda` global (before its tests), the StartExecution mock (reset
 * before each test), and the environment and module cache put back after the file.
 */
export function useLambdaFunctions(): void {
  beforeAll(async () => {
    ({ dynalite, client, store } = await startTestDynamo(TABLE));
    // The runtime defines the global before it loads the handler module (streamHandle needs it at import).
    uninstallAwsLambda = installAwsLambda();
  });

  afterAll(async () => {
    sfnMock.restore();
    uninstallAwsLambda?.();
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    vi.resetModules();
    client?.destroy();
    await dynalite?.close();
  });

  beforeEach(() => {
    sfnMock.reset();
    sfnMock.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; name: string }) => ({
      executionArn: `${input.stateMachineArn.replace(":stateMachine:", ":execution:")}:${input.name}`,
      startDate: new Date(),
    }));
  });
}

export async function countItems(): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: TABLE, Select: "COUNT", ExclusiveStartKey: start, ConsistentRead: true }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return count;
}

export async function allEvents(runId: string): Promise<RunEvent[]> {
  return (await store.events.read(runId, 0, 1000)).events;
}

export function json<T = Record<string, unknown>>(res: APIGatewayProxyStructuredResultV2): T {
  return JSON.parse(res.body ?? "null") as T;
}

export const postRuns = (
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
) => httpApiEvent({ method: "POST", path: "/runs", routeKey: "POST /runs", headers, body });

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A run created the way the API creates one: the run item and run.queued at seq 1. */
export async function seedRun(question = "How do SSE streams survive proxies?"): Promise<string> {
  const runId = ulid();
  await store.runs.create(runId, { question }, OWNER);
  tokens.set(runId, (await streamTokens.mint(runId, OWNER)).token);
  await store.events
    .log(runId)
    .append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question } });
  return runId;
}

const usage = { promptTokens: 12, completionTokens: 30, totalTokens: 42 };

/** Events after run.queued of a small, complete run (schema-valid; the last one is terminal). */
export function lifecycle(runId: string): EventInput[] {
  return [
    { type: "run.started", progress: 0, message: "Run started.", data: { executionName: runId } },
    {
      type: "stage.started",
      stage: "context",
      attempt: 0,
      progress: 1,
      message: "Loading context…",
      data: { index: 0, total: 6 },
    },
    {
      type: "stage.progress",
      stage: "context",
      attempt: 0,
      progress: 5,
      message: "Loaded the question.",
      data: { memories: 0 },
    },
    {
      type: "llm.delta",
      stage: "execution",
      attempt: 0,
      progress: 60,
      message: "Writing the answer…",
      data: { text: "Send heartbeats\nand no-transform.", model: "offline" },
    },
    {
      type: "stage.completed",
      stage: "execution",
      attempt: 0,
      progress: 90,
      message: "Executed.",
      data: { durationMs: 12 },
    },
    completedEvent(),
  ];
}

function completedEvent(): EventInput {
  return {
    type: "run.completed",
    progress: 100,
    message: "Run completed.",
    data: {
      answer: "Send heartbeats and no-transform.",
      models: ["offline"],
      usage,
      usageByStage: { execution: usage },
      durationMs: 1234,
    },
  };
}

export async function appendAll(runId: string, inputs: EventInput[]): Promise<RunEvent[]> {
  const log = store.events.log(runId);
  const out: RunEvent[] = [];
  for (const input of inputs) out.push(await log.append(input));
  return out;
}

/** The principal the authorizer claims carry (see httpApiEvent) and seeded runs belong to. */
export const OWNER = "user-1";
export const SECRET = "lambda-test-secret-of-at-least-32-bytes!";
export const streamTokens = new StreamTokens(SECRET, 900);
/** Stream tokens of seeded runs, so building a stream request stays synchronous. */
export const tokens = new Map<string, string>();
