import { StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { SignJWT } from "jose";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { httpApiEvent } from "../support/lambda-events.ts";
import {
  allEvents,
  appendAll,
  countItems,
  type Functions,
  json,
  lifecycle,
  loadFunctions,
  OWNER,
  postRuns,
  SECRET,
  STATE_MACHINE_ARN,
  STREAM_BASE_URL,
  seedRun,
  sfnMock,
  store,
  streamTokens,
  ULID_RE,
  useLambdaFunctions,
} from "../support/lambda-functions.ts";

useLambdaFunctions();

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
