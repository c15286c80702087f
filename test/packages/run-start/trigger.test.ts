import type { EventBridgeEvent, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminalType } from "../../../packages/events/index.ts";
import {
  handleEventBridge,
  handleSqsBatch,
  InvalidTriggerMessageError,
  type TriggerDeps,
} from "../../../packages/run-start/index.ts";
import { DEFAULT_AGENT as defaultAgent } from "../../support/agents.ts";
import { sqsRecord as record } from "../../support/lambda-events.ts";
import { startTestStack } from "../../support/stack.ts";

/**
 * The trigger's start path over the real local parts (dynalite, the local workflow runner and
 * the offline model), with realistic SQS and EventBridge events.
 */
let stack: Awaited<ReturnType<typeof startTestStack>>;
let deps: TriggerDeps;
beforeAll(async () => {
  stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "0" });
  deps = {
    store: stack.store,
    workflow: stack.workflow,
    agent: defaultAgent,
    maxActiveRuns: 100,
    owner: "trigger",
    log: () => {},
  };
});
afterAll(async () => {
  await stack?.stop();
});

/** The runs owned by the trigger principal, newest first. */
const triggerRuns = () => stack.store.runs.listIds("trigger", 50);

async function finished(runId: string): Promise<string | undefined> {
  await stack.workflow.idle();
  const { events } = await stack.store.events.read(runId, 0, 1000);
  return events.filter((e) => isTerminalType(e.type)).at(-1)?.type;
}

describe("SQS batches", () => {
  it("starts one run per good message and reports only the bad ones as batch item failures", async () => {
    const before = (await triggerRuns()).length;
    const good = record(JSON.stringify({ question: "Started from a queue", projectId: "queue" }));
    const event: SQSEvent = {
      Records: [
        good,
        record("{not json"),
        record(JSON.stringify({ question: "" })),
        record(JSON.stringify({ question: "typo field", qestion: "x" })),
        record(JSON.stringify({ question: "Another good one" })),
      ],
    };
    const result = await handleSqsBatch(deps, event);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.slice(1, 4).map((r) => r.messageId),
    );
    const runs = await triggerRuns();
    expect(runs.length).toBe(before + 2);
    for (const runId of runs.slice(0, 2)) expect(await finished(runId)).toBe("run.completed");
    expect((await stack.store.runs.get(runs[1] ?? ""))?.owner).toBe("trigger");
  });

  it("reports a batch whose every record fails as batch item failures, without throwing (each record keeps its own receive count)", async () => {
    const before = (await triggerRuns()).length;
    const event: SQSEvent = { Records: [record("{not json"), record(JSON.stringify({ question: "" }))] };
    const result = await handleSqsBatch(deps, event);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.map((r) => r.messageId),
    );
    expect((await triggerRuns()).length).toBe(before);
  });

  it("never starts a second run for a redelivered message (same message id) or a repeated idempotency key", async () => {
    const message = record(JSON.stringify({ question: "Deliver me twice" }));
    await handleSqsBatch(deps, { Records: [message] });
    const afterFirst = await triggerRuns();
    const again = await handleSqsBatch(deps, {
      Records: [{ ...message, attributes: { ...message.attributes, ApproximateReceiveCount: "2" } }],
    });
    expect(again.batchItemFailures).toEqual([]);
    expect(await triggerRuns()).toEqual(afterFirst);

    const keyed = JSON.stringify({ question: "Keyed", idempotencyKey: "order-4711" });
    await handleSqsBatch(deps, { Records: [record(keyed), record(keyed)] });
    const afterKeyed = await triggerRuns();
    expect(afterKeyed.length).toBe(afterFirst.length + 1);
  });
});

describe("EventBridge events", () => {
  const event = (detail: unknown, id: string): EventBridgeEvent<string, unknown> => ({
    version: "0",
    id,
    "detail-type": "Stagecast Run Requested",
    source: "com.example.orders",
    account: "123456789012",
    time: "2026-11-21T12:00:00Z",
    region: "us-east-1",
    resources: [],
    detail,
  });

  it("starts a run from the event detail, once per event id, and refuses a bad detail", async () => {
    const started = await handleEventBridge(
      deps,
      event({ question: "Started by an event" }, "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
    );
    expect(started.replayed).toBe(false);
    const repeat = await handleEventBridge(
      deps,
      event({ question: "Started by an event" }, "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
    );
    expect(repeat).toEqual({ runId: started.runId, replayed: true });
    expect(await finished(started.runId)).toBe("run.completed");
    await expect(handleEventBridge(deps, event({ prompt: "wrong field" }, "b3c1"))).rejects.toBeInstanceOf(
      InvalidTriggerMessageError,
    );
  });
});
