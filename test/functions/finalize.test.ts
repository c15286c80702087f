import { beforeAll, describe, expect, it } from "vitest";
import { executionStatusChangeEvent } from "../support/lambda-events.ts";
import {
  allEvents,
  appendAll,
  type Functions,
  json,
  lifecycle,
  loadFunctions,
  postRuns,
  STATE_MACHINE_ARN,
  seedRun,
  store,
  useLambdaFunctions,
} from "../support/lambda-functions.ts";

useLambdaFunctions();

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
    await expect(fns.finalize({ runId, error: { Error: "StageFailedError", Cause: "again" } })).resolves.toBe(
      "already_ended",
    );
    expect(await allEvents(runId)).toHaveLength(events.length);
  });

  it("writes a loop's exhausted error as the definition's LoopExhausted Pass state states it (plan_invalid)", async () => {
    const runId = await seedRun();
    const error = {
      Error: "LoopExhausted",
      Cause: "The agent could not produce a valid plan after two repairs.",
      Code: "plan_invalid",
    };
    await expect(fns.finalize({ runId, error })).resolves.toBe("failed");
    const last = (await allEvents(runId)).at(-1);
    const safe = {
      code: "plan_invalid",
      message: "The agent could not produce a valid plan after two repairs.",
    };
    expect(last).toMatchObject({ type: "run.failed", data: { error: safe } });
    expect(await store.runs.get(runId)).toMatchObject({ status: "failed", error: safe });
  });

  it.each([
    // A Catch result has only Error and Cause: a stage's error named LoopExhausted shows nothing of its Cause.
    ["a Catch-shaped LoopExhausted (no Code)", { Error: "LoopExhausted", Cause: "secret: model said so" }],
    [
      "a Code beside another error name",
      { Error: "StageFailedError", Cause: "secret", Code: "plan_invalid" },
    ],
    [
      "a Code that is not a safe code",
      { Error: "LoopExhausted", Cause: "Gave up.", Code: "Not Safe secret" },
    ],
    ["a Cause that is not a sentence", { Error: "LoopExhausted", Cause: { secret: 1 }, Code: "gave_up" }],
  ])("does not trust %s: maps the error name, never shows the Cause", async (_label, error) => {
    const runId = await seedRun();
    await expect(fns.finalize({ runId, error })).resolves.toBe("failed");
    const last = (await allEvents(runId)).at(-1);
    expect(last?.type).toBe("run.failed");
    expect(JSON.stringify(last)).not.toContain("secret");
    expect(JSON.stringify(last)).not.toContain("plan_invalid");
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
