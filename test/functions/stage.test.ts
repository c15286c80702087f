import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  type Functions,
  json,
  loadFunctions,
  postRuns,
  store,
  useLambdaFunctions,
} from "../support/lambda-functions.ts";

useLambdaFunctions();

describe("functions/stage.ts (the stage Task)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("runs the context stage of a run created through the API and returns the state with the question", async () => {
    const question = "Summarise last week's incidents.";
    const created = json<{ runId: string }>(await fns.api(postRuns({ question })));
    const state = await fns.stage({ runId: created.runId, stage: "context", state: {} });
    expect(state).toMatchObject({ question, outputs: { context: { memories: [], turns: [] } } });

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
      { runId: ulid(), stage: "Dreaming!", state: {} },
      { runId: ulid(), stage: "context", state: { loops: { validation: -1 } } },
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

  it("fails a run with unknown_stage for a well-formed stage name its agent does not have, writing nothing else", async () => {
    const created = json<{ runId: string }>(await fns.api(postRuns({ question: "Which stage?" })));
    const error = await fns.stage({ runId: created.runId, stage: "dreaming", state: {} }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.name).toBe("StageFailedError");
    expect(error?.code).toBe("unknown_stage");
    const events = await allEvents(created.runId);
    expect(events.map((e) => e.type)).toEqual(["run.queued", "run.failed"]);
    expect(events[1]).toMatchObject({ data: { error: { code: "unknown_stage" } } });
  });
});
