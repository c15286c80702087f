import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SQSBatchResponse } from "aws-lambda";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamTokens } from "../../packages/auth/index.ts";
import { type Invocation, invokeBundle, splitPrelude } from "../../scripts/infra/lambda-runtime.ts";
import { SYNTH_DIR } from "../../scripts/infra/synth.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { functionUrlEvent, httpApiEvent, sqsRecord } from "../support/lambda-events.ts";
import { startFakeSfn } from "./fake-sfn.ts";
import { loadSynthesis } from "./synthesis.ts";

const ci = loadSynthesis("ci");
const OWNER = "user-1";
let dynamo: TestDynamo;
let sfn: Awaited<ReturnType<typeof startFakeSfn>>;
const report: Record<string, { bundleBytes: number; zipBytes: number; initMs: number; durationMs: number }> =
  {};

/** The function's code as Lambda receives it: its synthesized code.zip, unzipped. */
function unpack(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `stagecast-${name}-`));
  execFileSync("unzip", ["-q", path.join(SYNTH_DIR, "ci/artifacts", name, "code.zip"), "-d", dir]);
  return dir;
}

/** Invoke a synthesized function's bundle with its synthesized environment, pointed at the local services. */
async function invoke(
  name: string,
  event: unknown,
  options: Partial<Parameters<typeof invokeBundle>[0]> = {},
) {
  const fn = ci.fn(name).inputs;
  const environment = {
    ...(fn.environment as { variables: Record<string, string> }).variables,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.dynalite.endpoint,
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    ...options.environment,
  };
  const result = await invokeBundle({
    taskRoot: unpack(name),
    handler: String(fn.handler),
    environment,
    event,
    functionName: String(fn.name),
    timeoutMs: Number(fn.timeout) * 1000,
    ...(options.onChunk ? { onChunk: options.onChunk } : {}),
  });
  const zip = path.join(SYNTH_DIR, "ci/artifacts", name, "code.zip");
  report[name] = {
    bundleBytes: ci.builds[name]?.bytes ?? 0,
    zipBytes: Number(execFileSync("stat", ["-c", "%s", zip]).toString().trim()),
    initMs: Math.round(result.initMs),
    durationMs: Math.round(result.durationMs),
  };
  return result;
}

const json = (result: Invocation) => JSON.parse(result.body.toString("utf8"));

beforeAll(async () => {
  const tableName = (ci.fn("Stage").inputs.environment as { variables: Record<string, string> }).variables
    .TABLE_NAME;
  dynamo = await startTestDynamo(String(tableName));
  sfn = await startFakeSfn();
});

afterAll(async () => {
  await dynamo?.close();
  await sfn?.close();
  // Bundle sizes and cold starts, for the check's summary (scripts/infra/check.ts prints them).
  writeFileSync(path.join(SYNTH_DIR, "bundle-report.json"), JSON.stringify(report, null, 2));
});

describe("bundled handlers under the real Lambda runtime interface client", () => {
  it("API: answers a POST /runs event from API Gateway and starts the execution", async () => {
    const event = httpApiEvent({
      method: "POST",
      path: "/runs",
      routeKey: "ANY /runs",
      headers: { "content-type": "application/json" },
      body: { question: "Does the bundle start a run?" },
    });
    const result = await invoke("ApiHandler", event);
    expect(result.error).toBeUndefined();
    expect(result.mode).toBe("buffered");
    const response = json(result) as { statusCode: number; body: string; headers: Record<string, string> };
    expect(response.statusCode).toBe(202);
    const { runId } = JSON.parse(response.body) as { runId: string };
    const start = sfn.calls.find((c) => c.operation === "StartExecution" && c.input.name === runId);
    expect(start?.input.stateMachineArn).toBe("arn:aws:states:us-east-1:123456789012:stateMachine:Workflow");
    expect((await dynamo.store.runs.get(runId))?.owner).toBe(OWNER);
  });

  it("stream: sends the prelude, 8 NUL bytes and SSE frames incrementally, before the run has ended", async () => {
    const runId = ulid();
    await dynamo.store.runs.create(runId, { question: "stream me" }, OWNER);
    const log = dynamo.store.events.log(runId);
    await log.append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question: "stream me" },
    });
    await log.append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    const token = (await new StreamTokens(ci.secrets.StreamTokenSecret ?? "", 900).mint(runId, OWNER)).token;

    let terminalWrittenAt = Number.POSITIVE_INFINITY;
    let received = "";
    let ending: Promise<void> | undefined;
    const result = await invoke(
      "Stream",
      functionUrlEvent({ method: "GET", path: `/runs/${runId}/stream`, query: `token=${token}` }),
      {
        environment: { STREAM_HEARTBEAT_MS: "200" },
        // The run ends only after the first frames reached the Runtime API.
        onChunk: (chunk) => {
          received += chunk.bytes.toString("utf8");
          if (!ending && received.includes("id: 2")) {
            ending = (async () => {
              await new Promise((r) => setTimeout(r, 300));
              terminalWrittenAt = performance.now();
              await log.append({ type: "run.cancelled", progress: 100, message: "Cancelled.", data: {} });
            })();
          }
        },
      },
    );
    await ending;
    expect(result.error).toBeUndefined();
    expect(result.mode).toBe("streaming");
    const { prelude, rest } = splitPrelude(result.body);
    expect(prelude.statusCode).toBe(200);
    expect(prelude.headers?.["content-type"]).toMatch(/^text\/event-stream/);
    expect(prelude.headers?.["transfer-encoding"]).toBeUndefined();

    const frames: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => frames.push(e) });
    parser.feed(rest.toString("utf8"));
    const ids = frames.filter((f) => f.id).map((f) => Number(f.id));
    expect(ids).toEqual([1, 2, 3]);
    expect(frames.find((f) => f.id === "3")?.event).toBe("run.cancelled");
    // Incremental: the chunk with seq 2 arrived well before the terminal event even existed.
    const firstFrameAt = result.chunks.find((c) => c.bytes.toString("utf8").includes("id: 2"));
    expect(firstFrameAt).toBeDefined();
    expect(result.chunks.length).toBeGreaterThan(2);
    expect(terminalWrittenAt).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it("stage: runs the context stage of a run and returns the new state", async () => {
    const runId = ulid();
    await dynamo.store.runs.create(runId, { question: "What is 2 + 2?" }, OWNER);
    await dynamo.store.events.log(runId).append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question: "What is 2 + 2?" },
    });
    const result = await invoke("Stage", { runId, stage: "context", state: {} });
    expect(result.error).toBeUndefined();
    expect(typeof json(result)).toBe("object");
    const { events } = await dynamo.store.events.read(runId, 0, 100);
    const types = events.map((e) => `${e.type}${e.stage ? `:${e.stage}` : ""}`);
    expect(types).toContain("stage.started:context");
    expect(types).toContain("stage.completed:context");
    // Metrics leave as CloudWatch EMF lines on stdout: one per invocation plus one per stage duration.
    const emf = result.logs
      .split("\n")
      .filter((line) => line.includes('"_aws"'))
      .map(
        (line) =>
          JSON.parse(line) as Record<string, unknown> & {
            _aws: { CloudWatchMetrics: { Namespace: string }[] };
          },
      );
    expect(emf.length).toBeGreaterThanOrEqual(2);
    expect(emf.every((m) => m._aws.CloudWatchMetrics[0]?.Namespace === "Stagecast")).toBe(true);
    const appended = emf.find((m) => "EventsAppended" in m)?.EventsAppended;
    const total = Array.isArray(appended) ? appended.reduce((a: number, b: number) => a + b, 0) : appended;
    expect(total).toBe(events.length - 1);
    expect(emf.find((m) => "StageDuration" in m)?.stage).toBe("context");
  });

  it("trigger: starts the good message's run and reports only the bad message as a batch item failure", async () => {
    const good = sqsRecord(JSON.stringify({ question: "from the queue" }));
    const bad = sqsRecord("{not json");
    const before = sfn.calls.filter((c) => c.operation === "StartExecution").length;
    const result = await invoke("Trigger", { Records: [good, bad] });
    expect(result.error).toBeUndefined();
    expect(json(result) as SQSBatchResponse).toEqual({
      batchItemFailures: [{ itemIdentifier: bad.messageId }],
    });
    expect(sfn.calls.filter((c) => c.operation === "StartExecution").length).toBe(before + 1);
  });

  it("finalize and sweep: load and answer (a foreign execution is ignored; nothing to sweep)", async () => {
    const finalize = await invoke("Finalize", {
      "detail-type": "Step Functions Execution Status Change",
      source: "aws.states",
      detail: { name: "not-a-run", status: "FAILED" },
    });
    expect(json(finalize)).toBe("ignored");
    const sweep = await invoke("SweepHandler", {});
    expect(sweep.error).toBeUndefined();
    expect(json(sweep)).toMatchObject({ timedOut: [] });
  });

  it("a stage that throws reports the error by name to the Runtime API: the name Retry/Catch match on", async () => {
    const result = await invoke("Stage", { runId: "not-a-ulid", stage: "context", state: {} });
    expect(result.error?.errorType).toBe("StageFailedError");
    expect(result.error?.errorMessage).toBe("The stage received an invalid input.");
  });
});
