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
