import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { SignJWT } from "jose";
import { ulid } from "ulid";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { DynaliteHandle } from "../local/stack/dynalite.ts";
import { StreamTokens } from "../packages/auth/index.ts";
import type { EventInput, RunEvent } from "../packages/events/index.ts";
import type { Store } from "../packages/store/index.ts";
import { PAD_OVER } from "../packages/stream/flush.ts";
import {
  DEFAULT_STREAM_CONTENT_TYPE,
  HANDLER_STREAMING,
  HTTP_INTEGRATION_CONTENT_TYPE,
  HttpResponseStream,
  installAwsLambda,
  invokeStreaming,
  type RecordedChunk,
  ResponseStream,
  type StreamingResult,
  startStreaming,
  streamifyResponse,
} from "./support/awslambda.ts";
import { startTestDynamo } from "./support/dynamo.ts";
import {
  executionStatusChangeEvent,
  functionUrlEvent,
  httpApiEvent,
  lambdaContext,
} from "./support/lambda-events.ts";

/*
 * The Lambda entry points in functions/ driven the way Lambda drives them: realistic HTTP API /
 * Function URL / EventBridge events, the response-streaming runtime's `awslambda` global (a
 * faithful stand-in, test/support/awslambda.ts), DynamoDB = dynalite, and Step Functions'
 * StartExecution mocked (its control plane cannot run here). Each suite re-imports the functions
 * after setting the environment, because functions/aws.ts reads its configuration at import.
 */

const TABLE = "stagecast-lambda-test";
const STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:stagecast";
const STREAM_BASE_URL = "https://abc.lambda-url.us-east-1.on.aws";
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

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
const UNSET = "<unset>";

let dynalite: DynaliteHandle;
let client: DynamoDBClient;
let store: Store;
let uninstallAwsLambda: () => void;
const savedEnv = new Map<string, string | undefined>();
const sfnMock = mockClient(SFNClient);

type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
interface Functions {
  api: ApiHandler;
  stream: unknown;
  stage: (event: unknown) => Promise<Record<string, unknown>>;
  finalize: (event: unknown) => Promise<string>;
  trigger: (event: unknown) => Promise<unknown>;
}

/** Set the environment, drop the module cache and import the four entry points afresh (aws.ts reads env at import). */
async function loadFunctions(env: Record<string, string> = {}): Promise<Functions> {
  for (const key of [...Object.keys(BASE_ENV), ...SUITE_VARS, ...Object.keys(env)]) {
    if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
  }
  for (const key of SUITE_VARS) delete process.env[key];
  Object.assign(process.env, BASE_ENV, { AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint }, env);
  for (const [key, value] of Object.entries(env)) if (value === UNSET) delete process.env[key];
  vi.resetModules();
  const api = await import("../functions/api.ts");
  const stream = await import("../functions/stream.ts");
  const stage = await import("../functions/stage.ts");
  const finalize = await import("../functions/finalize.ts");
  const trigger = await import("../functions/trigger.ts");
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

// ---------------------------------------------------------------------------------------------
// helpers

async function countItems(): Promise<number> {
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

async function allEvents(runId: string): Promise<RunEvent[]> {
  return (await store.events.read(runId, 0, 1000)).events;
}

function json<T = Record<string, unknown>>(res: APIGatewayProxyStructuredResultV2): T {
  return JSON.parse(res.body ?? "null") as T;
}

const postRuns = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
  httpApiEvent({ method: "POST", path: "/runs", routeKey: "POST /runs", headers, body });

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A run created the way the API creates one: the run item and run.queued at seq 1. */
async function seedRun(question = "How do SSE streams survive proxies?"): Promise<string> {
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
function lifecycle(runId: string): EventInput[] {
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

async function appendAll(runId: string, inputs: EventInput[]): Promise<RunEvent[]> {
  const log = store.events.log(runId);
  const out: RunEvent[] = [];
  for (const input of inputs) out.push(await log.append(input));
  return out;
}

/**
 * The frames of a stream body, its opening frame (a heartbeat carrying `retry:`) apart:
 * `retries` are the `retry:` values after the opening one, i.e. the closing `reconnect` hint.
 */
function parseSse(body: string) {
  const frames: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  let openingRetry: number | undefined;
  const parser = createParser({
    onEvent: (e) => frames.push(e),
    onComment: (c) => comments.push(c),
    // The retry line precedes its frame's dispatch: with no frame yet, it is the opening's.
    onRetry: (r) => {
      if (frames.length === 0) openingRetry = r;
      else retries.push(r);
    },
  });
  parser.feed(body);
  const opening = frames.shift();
  expect(opening?.event).toBe("heartbeat");
  expect(opening?.id).toBeUndefined();
  expect(openingRetry).toEqual(expect.any(Number));
  return { frames, comments, retries, opening };
}

/** The principal the authorizer claims carry (see httpApiEvent) and seeded runs belong to. */
const OWNER = "user-1";
const SECRET = "lambda-test-secret-of-at-least-32-bytes!";
const streamTokens = new StreamTokens(SECRET, 900);
/** Stream tokens of seeded runs, so building a stream request stays synchronous. */
const tokens = new Map<string, string>();

/** A Function URL GET of the run's stream, carrying its stream token (query) unless `token: null`. */
const streamRequest = (
  runId: string,
  options: { headers?: Record<string, string>; query?: string; token?: string | null } = {},
) => {
  const token = options.token === undefined ? tokens.get(runId) : options.token;
  const query = [options.query, token ? `token=${token}` : undefined].filter(Boolean).join("&");
  return functionUrlEvent({
    method: "GET",
    path: `/runs/${runId}/stream`,
    ...(query ? { query } : {}),
    headers: { ...options.headers },
  });
};

const text = (c: RecordedChunk) => c.data.toString("utf8");
/** A chunk holding (part of) an SSE frame: it has a field line. */
const isFrameChunk = (c: RecordedChunk) => /^(data|event|id):/m.test(text(c));
/** A chunk of SSE comment lines only. */
const isCommentChunk = (c: RecordedChunk) =>
  text(c)
    .split("\n")
    .every((line) => line === "" || line.startsWith(":"));

function expectEventStreamPrelude(result: StreamingResult) {
  expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
  const prelude = result.prelude;
  expect(prelude?.statusCode).toBe(200);
  const headers = prelude?.headers ?? {};
  for (const name of Object.keys(headers)) expect(name).toBe(name.toLowerCase());
  expect(headers["content-type"]).toBe("text/event-stream");
  expect(headers["cache-control"]).toBe("no-cache, no-transform");
  expect(headers["x-accel-buffering"]).toBe("no");
  // Transport headers must not reach the Function URL prelude: the front end frames the stream itself.
  expect(headers).not.toHaveProperty("transfer-encoding");
  expect(headers).not.toHaveProperty("connection");
}

function expectFrames(frames: EventSourceMessage[], events: RunEvent[]) {
  expect(frames.map((f) => f.id)).toEqual(events.map((e) => String(e.seq)));
  expect(frames.map((f) => f.event)).toEqual(events.map((e) => e.type));
  expect(frames.map((f) => JSON.parse(f.data))).toEqual(events);
}

// ---------------------------------------------------------------------------------------------

describe("the awslambda stand-in (test harness)", () => {
  it("marks streamified handlers with the runtime's symbol and returns the same function", () => {
    const fn = async () => {};
    const out = streamifyResponse(fn);
    expect(out).toBe(fn);
    expect((out as unknown as Record<symbol, unknown>)[HANDLER_STREAMING]).toBe("response");
  });

  it("writes the prelude and 8 NUL bytes lazily, right before the first write", async () => {
    const stream = new ResponseStream();
    expect(stream.contentType).toBe(DEFAULT_STREAM_CONTENT_TYPE);
    const http = HttpResponseStream.from(stream, { statusCode: 201, headers: { a: "b" } });
    expect(http.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
    await new Promise((r) => setImmediate(r));
    expect(stream.chunks).toHaveLength(0);
    http.write("hello");
    http.write(" world");
    http.end();
    await new Promise((r) => stream.once("finish", r));
    expect(stream.chunks.map((c) => c.data)).toEqual([
      Buffer.from(JSON.stringify({ statusCode: 201, headers: { a: "b" } })),
      Buffer.alloc(8),
      Buffer.from("hello"),
      Buffer.from(" world"),
    ]);
    expect(() => stream.setContentType("text/plain")).toThrow(/too late/);
  });

  it("invokeStreaming returns prelude and body, and refuses handlers that break the contract", async () => {
    const good = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      const http = HttpResponseStream.from(s, { statusCode: 200, headers: {} });
      http.write("body");
      http.end();
    });
    const result = await invokeStreaming(good, {});
    expect(result.prelude).toEqual({ statusCode: 200, headers: {} });
    expect(result.body).toBe("body");
    expect(result.ended).toBe(true);

    await expect(invokeStreaming(async () => {}, {})).rejects.toThrow(/not marked/);
    const neverEnds = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      s.write("x");
    });
    await expect(invokeStreaming(neverEnds, {}, undefined, { finishTimeoutMs: 50 })).rejects.toThrow(
      /not finished/,
    );
    const noDelimiter = streamifyResponse(async (_e: unknown, s: ResponseStream) => {
      s.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
      s.write('{"statusCode":200}');
      s.end("body");
    });
    await expect(invokeStreaming(noDelimiter, {})).rejects.toThrow(/delimiter/);
  });
});

describe("functions/api.ts (API Gateway HTTP API, payload 2.0)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("POST /runs answers 202 with a ULID run id, stores the run and run.queued, and starts the execution named after it", async () => {
    const question = "Plan a migration of our cron jobs to Step Functions.";
    const res = await fns.api(postRuns({ question, projectId: "ops" }));
    expect(res.statusCode).toBe(202);
    expect(res.headers?.["content-type"]).toMatch(/^application\/json/);
    const body = json<{ runId: string; status: string; streamToken: string; links: Record<string, string> }>(
      res,
    );
    expect(body.runId).toMatch(ULID_RE);
    expect(body.status).toBe("queued");
    // The stream link carries the run-scoped stream token (EventSource cannot send headers).
    expect(body.links.stream).toBe(`${STREAM_BASE_URL}/runs/${body.runId}/stream?token=${body.streamToken}`);
    expect(await streamTokens.verify(body.streamToken, body.runId)).toBe(OWNER);
    const apiOrigin = "https://r3pmxmplak.execute-api.us-east-1.amazonaws.com";
    expect(body.links.self).toBe(`${apiOrigin}/runs/${body.runId}`);
    expect(res.headers?.location).toBe(body.links.self);

    const run = await store.runs.get(body.runId);
    expect(run).toMatchObject({ runId: body.runId, status: "queued", question, projectId: "ops" });
    expect(run?.executionArn).toBe(`arn:aws:states:us-east-1:123456789012:execution:stagecast:${body.runId}`);
    const events = await allEvents(body.runId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      seq: 1,
      type: "run.queued",
      runId: body.runId,
      data: { question, projectId: "ops" },
    });

    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.name).toBe(body.runId);
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(JSON.parse(input?.input ?? "null")).toMatchObject({ runId: body.runId });
  });

  it("GET /runs/{runId} answers 200 with the run's status and no internal fields", async () => {
    const created = json<{ runId: string }>(await fns.api(postRuns({ question: "What changed?" })));
    const res = await fns.api(
      httpApiEvent({
        method: "GET",
        path: `/runs/${created.runId}`,
        routeKey: "GET /runs/{runId}",
        pathParameters: { runId: created.runId },
      }),
    );
    expect(res.statusCode).toBe(200);
    const view = json(res);
    expect(view).toMatchObject({
      runId: created.runId,
      status: "queued",
      question: "What changed?",
      lastSeq: 1,
      progress: 0,
      links: { stream: `${STREAM_BASE_URL}/runs/${created.runId}/stream` },
    });
    expect(view).not.toHaveProperty("executionArn");
    expect(view).not.toHaveProperty("expiresAt");

    const missing = await fns.api(httpApiEvent({ method: "GET", path: `/runs/${ulid()}` }));
    expect(missing.statusCode).toBe(404);
    expect(json<{ error: { code: string } }>(missing).error.code).toBe("run_not_found");
  });

  it("GET /runs/{runId}/events pages the log for polling clients", async () => {
    const runId = await seedRun();
    const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
    const res = await fns.api(
      httpApiEvent({ method: "GET", path: `/runs/${runId}/events`, query: "after=2&limit=3" }),
    );
    expect(res.statusCode).toBe(200);
    const page = json<{ events: RunEvent[]; nextAfter: number; hasMore: boolean; ended: boolean }>(res);
    expect(page.events).toEqual(stored.slice(2, 5));
    expect(page.nextAfter).toBe(5);
    expect(page.ended).toBe(false);
    const rest = json<{ events: RunEvent[]; ended: boolean }>(
      await fns.api(httpApiEvent({ method: "GET", path: `/runs/${runId}/events`, query: "after=5" })),
    );
    expect(rest.events.map((e) => e.seq)).toEqual([6, 7]);
    expect(rest.ended).toBe(true);
  });

  const badRequests: [string, () => APIGatewayProxyEventV2, number, string][] = [
    ["invalid JSON", () => postRuns('{"question": "unterminated'), 400, "invalid_json"],
    ["an empty body", () => postRuns(""), 400, "invalid_json"],
    ["a missing question", () => postRuns({ projectId: "ops" }), 400, "invalid_request"],
    ["a blank question", () => postRuns({ question: "   " }), 400, "invalid_request"],
    ["an unknown field", () => postRuns({ qestion: "typo" }), 400, "invalid_request"],
    ["a bad projectId", () => postRuns({ question: "q", projectId: "no spaces" }), 400, "invalid_request"],
    [
      "a text/plain content type",
      () => postRuns(JSON.stringify({ question: "q" }), { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    ],
    ["no content type", () => postRuns({ question: "q" }, {}), 415, "unsupported_media_type"],
    ["a body over 64 KiB", () => postRuns({ question: "x".repeat(70_000) }), 413, "payload_too_large"],
  ];

  for (const [what, event, status, code] of badRequests) {
    it(`POST /runs with ${what} answers ${status} ${code}, writes nothing and starts nothing`, async () => {
      const before = await countItems();
      const res = await fns.api(event());
      expect(res.statusCode).toBe(status);
      expect(res.headers?.["content-type"]).toMatch(/^application\/json/);
      const body = json<{ error: { code: string; message: string; requestId: string } }>(res);
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error.code).toBe(code);
      expect(body.error.message).toEqual(expect.any(String));
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(body.error.requestId).toEqual(expect.any(String));
      expect(body.error.requestId.length).toBeGreaterThan(0);
      expect(res.body).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
      expect(await countItems()).toBe(before);
      expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });
  }

  it("answers 401 when no authorizer claims and no bearer token come with the request", async () => {
    const res = await fns.api(
      httpApiEvent({
        method: "POST",
        path: "/runs",
        routeKey: "POST /runs",
        headers: { "content-type": "application/json" },
        body: { question: "who am I?" },
        authorizerSub: null,
      }),
    );
    expect(res.statusCode).toBe(401);
    expect(json<{ error: { code: string } }>(res).error.code).toBe("missing_token");
    // A bearer JWT signed with AUTH_JWT_SECRET works where no authorizer ran.
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("direct-caller")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(SECRET));
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:y`, startDate: new Date() });
    const ok = await fns.api(
      httpApiEvent({
        method: "POST",
        path: "/runs",
        routeKey: "POST /runs",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: { question: "who am I?" },
        authorizerSub: null,
      }),
    );
    expect(ok.statusCode).toBe(202);
    expect((await store.runs.get(json<{ runId: string }>(ok).runId))?.owner).toBe("direct-caller");
  });

  it("frees an Idempotency-Key after a 503, so the client's retry with it starts a run", async () => {
    const headers = { "content-type": "application/json", "idempotency-key": `retry-${Date.now()}` };
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("down"), { name: "ServiceUnavailable" }));
    const failed = await fns.api(postRuns({ question: "Start me eventually" }, headers));
    expect(failed.statusCode).toBe(503);
    const failedRunId = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.name;

    sfnMock.reset();
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:x`, startDate: new Date() });
    const retried = await fns.api(postRuns({ question: "Start me eventually" }, headers));
    expect(retried.statusCode).toBe(202);
    expect(retried.headers?.["idempotent-replayed"]).toBeUndefined();
    const { runId } = json<{ runId: string }>(retried);
    expect(runId).not.toBe(failedRunId);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe(runId);
    // A second retry now replays the started run.
    const replay = await fns.api(postRuns({ question: "Start me eventually" }, headers));
    expect(json<{ runId: string }>(replay).runId).toBe(runId);
    expect(replay.headers?.["idempotent-replayed"]).toBe("true");
  });

  it("answers 503 workflow_unavailable without SDK detail when StartExecution fails, and ends the run with run.failed", async () => {
    const sdkError = Object.assign(
      new Error("Service unavailable at states.us-east-1.amazonaws.com secret-sdk-detail RequestId abc-123"),
      { name: "ServiceUnavailable", $fault: "server", $metadata: { httpStatusCode: 503 } },
    );
    sfnMock.on(StartExecutionCommand).rejects(sdkError);
    const res = await fns.api(postRuns({ question: "Will this start?" }));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.["retry-after"]).toBe("5");
    const body = json<{ error: { code: string; message: string; requestId: string } }>(res);
    expect(body.error.code).toBe("workflow_unavailable");
    expect(body.error.requestId).toEqual(expect.any(String));
    for (const leak of [
      "secret-sdk-detail",
      "ServiceUnavailable",
      "amazonaws.com",
      "abc-123",
      STATE_MACHINE_ARN,
    ]) {
      expect(res.body).not.toContain(leak);
    }

    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const runId = calls[0]?.args[0].input.name ?? "";
    expect(runId).toMatch(ULID_RE);
    const events = await allEvents(runId);
    expect(events.map((e) => e.type)).toEqual(["run.queued", "run.failed"]);
    const failed = events.at(-1);
    expect(failed).toMatchObject({ seq: 2, data: { error: { code: "workflow_unavailable" } } });
    expect(JSON.stringify(failed)).not.toContain("secret-sdk-detail");
    expect(await store.runs.get(runId)).toMatchObject({
      status: "failed",
      error: { code: "workflow_unavailable" },
    });
  });
});

describe("functions/api.ts with STREAM_BASE_URL as AWS reports a Function URL (trailing slash)", () => {
  let fns: Functions;
  beforeAll(async () => {
    // GetFunctionUrlConfig / CreateFunctionUrlConfig (and infra outputs built from them) return
    // the Function URL with a trailing slash: `https://<url-id>.lambda-url.<region>.on.aws/`.
    fns = await loadFunctions({ STREAM_BASE_URL: `${STREAM_BASE_URL}/` });
  });

  it("links the stream without a double slash, at the path the stream function serves", async () => {
    const res = await fns.api(postRuns({ question: "Where do I stream from?" }));
    expect(res.statusCode).toBe(202);
    const body = json<{ runId: string; streamToken: string; links: { stream: string } }>(res);
    // The stream link carries the run-scoped stream token (EventSource cannot send headers).
    expect(body.links.stream).toBe(`${STREAM_BASE_URL}/runs/${body.runId}/stream?token=${body.streamToken}`);
    expect(await streamTokens.verify(body.streamToken, body.runId)).toBe(OWNER);
    expect(new URL(body.links.stream).pathname).toBe(`/runs/${body.runId}/stream`);
  });
});

describe("functions/stream.ts (Function URL, RESPONSE_STREAM, via the awslambda runtime)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("is a streaming handler as the runtime sees it", () => {
    expect((fns.stream as Record<symbol, unknown>)[HANDLER_STREAMING]).toBe("response");
  });

  it("replays a finished run as SSE behind an http-integration prelude and ends the response stream", async () => {
    const runId = await seedRun();
    const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
    expect(stored.at(-1)?.type).toBe("run.completed");

    const inv = startStreaming(fns.stream, streamRequest(runId));
    const result = await inv.done;
    expectEventStreamPrelude(result);
    const { frames, comments, retries } = parseSse(result.body);
    expectFrames(frames, stored);
    expect(frames.at(-1)?.event).toBe("run.completed");
    // It ended because of the terminal event, not at its deadline (which sends a `retry:` hint).
    expect(retries).toEqual([]);
    expect(result.body.endsWith(`id: ${stored.at(-1)?.seq}\n\n`)).toBe(true);
    // The stream opens with a comment at once: status and headers do not wait for the first event.
    expect(result.bodyChunks[0] && isCommentChunk(result.bodyChunks[0])).toBe(true);
    expect(comments[0]).toContain(runId);
    // Without STREAM_PAD_BYTES there is no padding: no comment beyond the opening one.
    expect(comments).toHaveLength(1);
    expect(result.bodyChunks.every((c) => c.data.length < 4096)).toBe(true);
    expect(result.ended).toBe(true);
    expect(inv.stream.endCalls).toBeGreaterThanOrEqual(1);
  });

  it("resumes after Last-Event-ID, after ?after=, and prefers the header over the query", async () => {
    const runId = await seedRun();
    const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];

    const byHeader = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": "2" } }),
    );
    expectEventStreamPrelude(byHeader);
    const headerFrames = parseSse(byHeader.body).frames;
    expect(headerFrames[0]?.id).toBe("3");
    expectFrames(headerFrames, stored.slice(2));

    const byQuery = await invokeStreaming(fns.stream, streamRequest(runId, { query: "after=4" }));
    expectFrames(parseSse(byQuery.body).frames, stored.slice(4));

    const both = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": "5" }, query: "after=1" }),
    );
    expectFrames(parseSse(both.body).frames, stored.slice(5));
  });

  it("answers 204 with an empty body to a resume at the terminal event", async () => {
    const runId = await seedRun();
    const stored = await appendAll(runId, lifecycle(runId));
    const last = String(stored.at(-1)?.seq);
    const result = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": last } }),
    );
    expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
    expect(result.prelude?.statusCode).toBe(204);
    expect(result.body).toBe("");
    expect(result.ended).toBe(true);
  });

  it("answers 400 with a JSON error for a malformed ?after= and for a malformed Last-Event-ID", async () => {
    const runId = await seedRun();
    for (const req of [
      streamRequest(runId, { query: "after=abc" }),
      streamRequest(runId, { headers: { "last-event-id": "-1" } }),
    ]) {
      const result = await invokeStreaming(fns.stream, req);
      expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
      expect(result.prelude?.statusCode).toBe(400);
      expect(result.prelude?.headers["content-type"]).toMatch(/^application\/json/);
      const body = JSON.parse(result.body) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe("invalid_cursor");
      expect(body.error.requestId).toEqual(expect.any(String));
      expect(result.body).not.toContain("data:");
      expect(result.ended).toBe(true);
    }
  });

  it("answers 401 with a JSON error before any SSE byte without a valid stream token", async () => {
    const runId = await seedRun();
    for (const token of [null, "not-a-jwt", (await streamTokens.mint(ulid(), OWNER)).token]) {
      const res = await invokeStreaming(fns.stream, streamRequest(runId, { token }));
      expect(res.prelude?.statusCode).toBe(401);
      expect(res.prelude?.headers?.["content-type"]).toMatch(/^application\/json/);
      expect(res.body).not.toContain("event:");
      expect(["missing_token", "invalid_token"]).toContain(JSON.parse(res.body).error.code);
    }
  });

  it("answers 404 for an unknown run and 400 for a run id that is not a ULID", async () => {
    const unknownId = ulid();
    const token = (await streamTokens.mint(unknownId, OWNER)).token;
    const unknown = await invokeStreaming(fns.stream, streamRequest(unknownId, { token }));
    expect(unknown.prelude?.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: "run_not_found" } });
    expect(unknown.ended).toBe(true);

    const invalid = await invokeStreaming(fns.stream, streamRequest("not-a-run"));
    expect(invalid.prelude?.statusCode).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ error: { code: "invalid_run_id" } });
  });

  it("tails a live run: events appended while the invocation runs all arrive, in order, and the stream ends after the terminal one", async () => {
    const runId = await seedRun();
    const inv = startStreaming(fns.stream, streamRequest(runId));
    // The prelude and the opening comment are out before anything else happens in the run.
    await waitFor(() => inv.stream.chunks.length >= 3, "the stream to open");
    await waitFor(() => inv.stream.bytes().includes('"type":"run.queued"'), "run.queued to be streamed");
    expect(inv.stream.ended).toBe(false);

    const [first, ...rest] = lifecycle(runId);
    const appended: RunEvent[] = [];
    await new Promise((r) => setTimeout(r, 100));
    appended.push(...(await appendAll(runId, first ? [first] : [])));
    await waitFor(() => inv.stream.bytes().includes('"type":"run.started"'), "run.started to be streamed");
    expect(inv.stream.ended).toBe(false);
    appended.push(...(await appendAll(runId, rest)));

    const result = await inv.done;
    expectEventStreamPrelude(result);
    const stored = await allEvents(runId);
    expect(stored).toHaveLength(1 + appended.length);
    const { frames, retries } = parseSse(result.body);
    expectFrames(frames, stored);
    expect(retries).toEqual([]);
    expect(result.ended).toBe(true);
  });
});

describe("functions/stream.ts flush strategies at the adapter boundary", () => {
  const PAD = 4096;
  /** Frames (stored events with `id:`, or heartbeats) — everything that is not a comment or a retry hint. */
  const isFrame = (c: RecordedChunk | undefined) => c !== undefined && isFrameChunk(c);

  /**
   * Split the body's chunks (what the runtime hands the front end, write by write) into batches:
   * the opening comment, then each run of frame chunks; return each batch with the chunk that
   * follows it (undefined at the end).
   */
  function batches(chunks: RecordedChunk[]): Array<{ bytes: number; after: RecordedChunk | undefined }> {
    const out: Array<{ bytes: number; after: RecordedChunk | undefined }> = [];
    const first = chunks[0];
    expect(first && isCommentChunk(first)).toBe(true);
    // The opening batch: the comment and the opening frame (a heartbeat carrying `retry:`).
    let opened = 1;
    let openingBytes = first?.data.length ?? 0;
    while (isFrame(chunks[opened])) openingBytes += (chunks[opened++] as RecordedChunk).data.length;
    expect(opened).toBeGreaterThan(1);
    out.push({ bytes: openingBytes, after: chunks[opened] });
    chunks.forEach((chunk, i) => {
      if (i < opened || !isFrame(chunk)) return;
      const start = i > opened && isFrame(chunks[i - 1]) ? -1 : i;
      if (start === -1) return;
      let j = i;
      let bytes = 0;
      while (isFrame(chunks[j])) bytes += (chunks[j++] as RecordedChunk).data.length;
      out.push({ bytes, after: chunks[j] });
    });
    return out;
  }

  describe("pad (STREAM_FLUSH=pad, STREAM_PAD_BYTES=4096)", () => {
    let fns: Functions;
    beforeAll(async () => {
      fns = await loadFunctions({
        STREAM_FLUSH: "pad",
        STREAM_PAD_BYTES: String(PAD),
        STREAM_HEARTBEAT_MS: "100",
      });
    });

    /** Every batch is followed at once by a comment chunk that brings it up to at least PAD bytes. */
    function expectPaddedBatches(bodyChunks: RecordedChunk[]) {
      const all = batches(bodyChunks);
      for (const b of all) {
        expect(b.after && isCommentChunk(b.after)).toBe(true);
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeGreaterThanOrEqual(PAD);
        // "up to": the padding is no larger than it needs to be.
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeLessThanOrEqual(
          Math.max(PAD, b.bytes) + PAD_OVER + 8,
        );
      }
      return all.length;
    }

    it("pads after the replay batch of a finished run, and the padding does not disturb the frames", async () => {
      const runId = await seedRun();
      const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      expectEventStreamPrelude(result);
      expectPaddedBatches(result.bodyChunks);
      const { frames } = parseSse(result.body);
      expectFrames(frames, stored);
      expect(result.ended).toBe(true);
    });

    it("pads after every live batch and every heartbeat while tailing", async () => {
      const runId = await seedRun();
      const inv = startStreaming(fns.stream, streamRequest(runId));
      // The opening frame is a heartbeat too: wait for one sent after it, while idle.
      await waitFor(
        () => inv.stream.bytes().toString("utf8").split("event: heartbeat").length > 2,
        "a heartbeat frame after the opening one",
      );
      const events = lifecycle(runId);
      await appendAll(runId, events.slice(0, 2));
      await waitFor(() => inv.stream.bytes().includes('"type":"stage.started"'), "the first live batch");
      await appendAll(runId, events.slice(2));

      const result = await inv.done;
      expectEventStreamPrelude(result);
      const batches = expectPaddedBatches(result.bodyChunks);
      // run.queued (replay), at least one heartbeat, and the two live bursts were separate writes.
      expect(batches).toBeGreaterThanOrEqual(3);
      const { frames } = parseSse(result.body);
      const stored = await allEvents(runId);
      expectFrames(
        frames.filter((f) => f.event !== "heartbeat"),
        stored,
      );
      const beat = frames.find((f) => f.event === "heartbeat");
      expect(beat?.id).toBeUndefined();
      expect(JSON.parse(beat?.data ?? "{}")).toMatchObject({ runId, lastSeq: 1 });
      // Ended by the terminal event (a deadline close would add a `retry:` hint).
      expect(frames.at(-1)?.event).toBe("run.completed");
      expect(parseSse(result.body).retries).toEqual([]);
      expect(result.ended).toBe(true);
    });
  });

  describe("trailer (STREAM_FLUSH=trailer)", () => {
    it("follows every batch with a separate 2-byte comment line and nothing else", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: "trailer" });
      const runId = await seedRun();
      const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      const all = batches(result.bodyChunks);
      expect(all.length).toBeGreaterThanOrEqual(2);
      for (const b of all) expect(b.after ? text(b.after) : undefined).toBe(":\n");
      expectFrames(parseSse(result.body).frames, stored);
    });
  });

  describe("off (STREAM_FLUSH=off)", () => {
    it("writes frames only: no comment after the opening one", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: "off" });
      const runId = await seedRun();
      await appendAll(runId, lifecycle(runId));
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      expect(result.bodyChunks.slice(1).some((c) => isCommentChunk(c))).toBe(false);
    });
  });

  describe("default on Lambda (STREAM_FLUSH unset)", () => {
    it("is pad to 16 KiB, and ?flush= picks another strategy per stream", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: UNSET });
      const runId = await seedRun();
      await appendAll(runId, lifecycle(runId));
      const padded = await invokeStreaming(fns.stream, streamRequest(runId));
      for (const b of batches(padded.bodyChunks)) {
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeGreaterThanOrEqual(16_384);
      }
      const trailer = await invokeStreaming(fns.stream, streamRequest(runId, { query: "flush=trailer" }));
      for (const b of batches(trailer.bodyChunks)) expect(b.after ? text(b.after) : undefined).toBe(":\n");
      const bad = await invokeStreaming(fns.stream, streamRequest(runId, { query: "flush=sometimes" }));
      expect(bad.prelude?.statusCode).toBe(400);
    });
  });
});

describe("functions/stream.ts deadline (STREAM_MAX_DURATION_MS)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions({ STREAM_MAX_DURATION_MS: "1000", STREAM_RETRY_MS: "2500" });
  });

  it("closes a stream on a run that does not end with a retry hint, ending the response so the client resumes", async () => {
    const runId = await seedRun();
    const result = await invokeStreaming(fns.stream, streamRequest(runId));
    expectEventStreamPrelude(result);
    const { frames, retries } = parseSse(result.body);
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.event)).toEqual(["run.queued"]);
    expect(retries).toEqual([2500]);
    expect(result.body.endsWith("retry: 2500\n\n")).toBe(true);
    expect(result.ended).toBe(true);
    // The run itself is untouched: closing a stream is not ending a run.
    expect((await allEvents(runId)).map((e) => e.type)).toEqual(["run.queued"]);
  });
});

describe("functions/stream.ts deadline from the Lambda context", () => {
  let fns: Functions;
  beforeAll(async () => {
    // A long configured maximum: only the invocation's own time limit can end this stream.
    fns = await loadFunctions({ STREAM_MAX_DURATION_MS: "600000", STREAM_RETRY_MS: "1500" });
  });

  it("ends before getRemainingTimeInMillis runs out, with a retry hint, when the function timeout is below the setting", async () => {
    const runId = await seedRun();
    const started = Date.now();
    // 3 s left in this invocation: the stream must close about 2 s (DEADLINE_MARGIN_MS) before that.
    const result = await invokeStreaming(fns.stream, streamRequest(runId), lambdaContext({}, 3000));
    expect(Date.now() - started).toBeLessThan(3000);
    expectEventStreamPrelude(result);
    expect(parseSse(result.body).retries).toEqual([1500]);
    expect(result.ended).toBe(true);
  });
});

describe("functions/stage.ts (the stage Task)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("runs the context stage of a run created through the API and returns the state with the question", async () => {
    const question = "Summarise last week's incidents.";
    const created = json<{ runId: string }>(await fns.api(postRuns({ question })));
    const state = await fns.stage({ runId: created.runId, stage: "context", state: {} });
    expect(state).toMatchObject({ question, memories: [] });

    const events = await allEvents(created.runId);
    expect(events.map((e) => e.type)).toEqual([
      "run.queued",
      "run.started",
      "stage.started",
      "stage.progress",
      "stage.completed",
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events.slice(2).every((e) => e.stage === "context" && e.attempt === 0)).toBe(true);
    expect(events[2]).toMatchObject({ type: "stage.started", data: { index: 0, total: 6 } });
    expect((await store.runs.get(created.runId))?.status).toBe("running");
  });

  it("rejects an invalid input with a StageFailedError (the name the state machine's Catch matches)", async () => {
    for (const input of [
      { runId: "not-a-ulid", stage: "context", state: {} },
      { runId: ulid(), stage: "dreaming", state: {} },
      { runId: ulid(), stage: "context", state: { repairs: -1 } },
      null,
    ]) {
      const error = await fns.stage(input).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.name).toBe("StageFailedError");
      expect(error?.code).toBe("invalid_input");
    }
  });
});

describe("functions/finalize.ts (Catch and EventBridge)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("ends a run with a safe run.failed on an EventBridge FAILED status change, once", async () => {
    const created = json<{ runId: string }>(await fns.api(postRuns({ question: "Fail me." })));
    const runId = created.runId;
    const event = executionStatusChangeEvent({
      name: runId,
      status: "FAILED",
      error: "X",
      cause: "secret stack trace at Object.<anonymous> (/var/task/index.mjs:1:1)",
    });
    expect(event["detail-type"]).toBe("Step Functions Execution Status Change");
    expect(event.detail.stateMachineArn).toBe(STATE_MACHINE_ARN);

    await expect(fns.finalize(event)).resolves.toBe("failed");
    const events = await allEvents(runId);
    const last = events.at(-1);
    expect(last?.type).toBe("run.failed");
    expect(last?.seq).toBe(events.length);
    expect(JSON.stringify(last)).not.toContain("secret");
    expect(last?.message).not.toContain("secret");
    expect(JSON.stringify(await store.runs.get(runId))).not.toContain("secret");
    expect((await store.runs.view(runId))?.status).toBe("failed");

    // Catch, the EventBridge rule and retries may all call Finalize: the second call is a no-op.
    await expect(fns.finalize(event)).resolves.toBe("already_ended");
    expect(await allEvents(runId)).toHaveLength(events.length);
    await expect(fns.finalize({ runId, error: { Error: "PlanInvalid", Cause: "again" } })).resolves.toBe(
      "already_ended",
    );
    expect(await allEvents(runId)).toHaveLength(events.length);
  });

  it("maps the Catch shape's error name to a safe code (PlanInvalid → plan_invalid)", async () => {
    const runId = await seedRun();
    const cause = JSON.stringify({ errorMessage: "plan had 0 steps: secret internals", trace: ["at x"] });
    await expect(fns.finalize({ runId, error: { Error: "PlanInvalid", Cause: cause } })).resolves.toBe(
      "failed",
    );
    const last = (await allEvents(runId)).at(-1);
    expect(last).toMatchObject({ type: "run.failed", data: { error: { code: "plan_invalid" } } });
    expect(JSON.stringify(last)).not.toContain("secret");
    expect(await store.runs.get(runId)).toMatchObject({ status: "failed", error: { code: "plan_invalid" } });
  });

  it("ends a run whose execution TIMED_OUT with run.timed_out, keeping the last stage and progress", async () => {
    const runId = await seedRun();
    const log = store.events.log(runId);
    await log.append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    await log.append({
      type: "stage.started",
      stage: "planning",
      attempt: 0,
      progress: 40,
      message: "Planning…",
      data: { index: 2, total: 6 },
    });
    // The execution-level timeout (definition.ts: "reaching it ends the run with run.timed_out"):
    // the event model has a terminal type for it, which GET /runs shows as status timed_out.
    await fns.finalize(executionStatusChangeEvent({ name: runId, status: "TIMED_OUT" }));
    const events = await allEvents(runId);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "run.timed_out", seq: 4, stage: "planning", progress: 40 });
    const data = (last?.data ?? {}) as { error?: { code?: string; message?: string } };
    expect(data.error?.code).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(data.error?.message).toEqual(expect.any(String));
    expect((await store.runs.view(runId))?.status).toBe("timed_out");
    // Exactly one terminal event: a second delivery changes nothing.
    await expect(
      fns.finalize(executionStatusChangeEvent({ name: runId, status: "TIMED_OUT" })),
    ).resolves.toBe("already_ended");
    expect(await allEvents(runId)).toHaveLength(events.length);
  });

  it("leaves a completed run alone", async () => {
    const runId = await seedRun();
    await appendAll(runId, lifecycle(runId));
    const before = await allEvents(runId);
    await expect(fns.finalize(executionStatusChangeEvent({ name: runId, status: "ABORTED" }))).resolves.toBe(
      "already_ended",
    );
    expect(await allEvents(runId)).toEqual(before);
  });
});

describe("functions/trigger.ts (SQS subscriber)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("starts runs through StartExecution and reports the bad message as a batch item failure", async () => {
    sfnMock.reset();
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:t`, startDate: new Date() });
    const sqs = (messageId: string, body: string) => ({
      messageId,
      receiptHandle: `AQEB${messageId}`,
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "1",
        SenderId: "AIDA",
        ApproximateFirstReceiveTimestamp: "1",
      },
      messageAttributes: {},
      md5OfBody: "x",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:stagecast-runs",
      awsRegion: "us-east-1",
    });
    const good = "a1b2c3d4-0000-4000-8000-000000000001";
    const bad = "a1b2c3d4-0000-4000-8000-000000000002";
    const result = (await fns.trigger({
      Records: [sqs(good, '{"question":"From the queue"}'), sqs(bad, "[]")],
    })) as { batchItemFailures: Array<{ itemIdentifier: string }> };
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad }]);
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const runId = calls[0]?.args[0].input.name ?? "";
    expect((await store.runs.get(runId))?.owner).toBe("trigger");
  });
});
