import { describe, expect, it } from "vitest";
import {
  applyEvent,
  elapsedMs,
  formatDuration,
  initialRunProgress,
  type RunEvent,
  remainingMs,
  STAGE_DATA_MAX_BYTES,
} from "../../../packages/client/index.ts";
import type { EventInput } from "../../../packages/events/index.ts";
import { syntheticRun } from "../../../packages/stream/synthetic-run.ts";
import { DEFAULT_STAGES as STAGES } from "../../support/agents.ts";

const RUN = "01JZ0000000000000000000000";
const T0 = Date.parse("2026-11-21T10:00:00.000Z");

/** A log from inputs: seq 1.., one second apart from T0. */
function log(inputs: EventInput[]): RunEvent[] {
  return inputs.map(
    (input, i) =>
      ({ ...input, runId: RUN, seq: i + 1, ts: new Date(T0 + i * 1000).toISOString() }) as RunEvent,
  );
}

/** run.queued of a run of `agent` with these stages (names in order, weight 1 each). */
const queuedWith = (stages: readonly string[], agent = "default"): EventInput => ({
  type: "run.queued",
  progress: 0,
  message: "Run queued.",
  data: { question: "Why?", agent, stages: stages.map((name) => ({ name, weight: 1 })) },
});
const queued = queuedWith(STAGES);
const started = (stage: string, attempt = 0, stages: readonly string[] = STAGES): EventInput => ({
  type: "stage.started",
  stage,
  attempt,
  progress: 10,
  message: `${stage} started`,
  data: { index: Math.max(0, stages.indexOf(stage)), total: stages.length },
});
const completed = (stage: string, progress: number): EventInput => ({
  type: "stage.completed",
  stage,
  attempt: 0,
  progress,
  message: `${stage} done`,
  data: { durationMs: 1000 },
});
const delta = (text: string, attempt = 0): EventInput => ({
  type: "llm.delta",
  stage: "execution",
  attempt,
  progress: 60,
  message: "Writing the answer…",
  data: { text },
});

describe("applyEvent (what clients show of a run)", () => {
  it("folds the synthetic run into a completed timeline, the answer, the tool call and the outcome", () => {
    const view = initialRunProgress(RUN);
    for (const event of syntheticRun(RUN, T0)) applyEvent(view, event);
    expect(view.status).toBe("completed");
    expect(view.terminal).toBe("run.completed");
    expect(view.stages.map((s) => s.state)).toEqual(STAGES.map(() => "done"));
    expect(view.stages.every((s) => typeof s.durationMs === "number" && s.durationMs > 0)).toBe(true);
    expect(view.answer).toBe("Streaming works: this is a synthetic run, no model was called.");
    expect(view.tools).toEqual([
      {
        callId: "synthetic-1",
        name: "calculator",
        stage: "execution",
        input: { expression: "6 * 7" },
        state: "ok",
        result: { value: 42 },
        durationMs: 1,
      },
    ]);
    expect(view.progress).toBe(100);
    expect(view.question).toBe("Is streaming working?");
  });

  it("ignores events at or below the last seq, so a replay or an overlapping resume never duplicates text", () => {
    const events = log([queued, started("execution"), delta("Hello"), delta(", world")]);
    const view = initialRunProgress(RUN);
    for (const event of [...events.slice(0, 3), ...events.slice(1), ...events]) applyEvent(view, event);
    expect(view.answer).toBe("Hello, world");
    expect(view.lastSeq).toBe(4);
  });

  it("starts the answer afresh when a retried attempt writes it, and shows the stage as retrying meanwhile", () => {
    const events = log([
      queued,
      started("execution"),
      delta("partial answer that"),
      {
        type: "stage.retrying",
        stage: "execution",
        attempt: 1,
        progress: 60,
        message: "Retrying: the model timed out.",
        data: { error: { code: "model_timeout", message: "The model timed out." }, nextAttempt: 1 },
      },
    ]);
    const view = initialRunProgress(RUN);
    for (const event of events) applyEvent(view, event);
    const execution = view.stages.find((s) => s.stage === "execution");
    expect(execution?.state).toBe("retrying");
    expect(execution?.attempt).toBe(1);
    expect(view.answer).toBe("partial answer that");
    applyEvent(view, {
      ...(delta("A fresh answer", 1) as RunEvent),
      runId: RUN,
      seq: 5,
      ts: new Date(T0 + 5000).toISOString(),
    });
    expect(view.answer).toBe("A fresh answer");
    expect(execution?.state).toBe("running");
  });

  it("marks the running stage cancelled or failed when the run ends, and keeps the safe error", () => {
    const cancelled = initialRunProgress(RUN);
    for (const e of log([
      queued,
      started("context"),
      {
        type: "run.cancelled",
        stage: "context",
        progress: 5,
        message: "Cancelled by the caller.",
        data: { reason: "Cancelled by the caller." },
      },
    ]))
      applyEvent(cancelled, e);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.stages[0]?.state).toBe("cancelled");
    expect(cancelled.stages.slice(1).every((s) => s.state === "pending")).toBe(true);

    const failed = initialRunProgress(RUN);
    const error = { code: "model_unauthorized", message: "The model rejected the API key." };
    for (const e of log([
      queued,
      started("context"),
      { type: "run.failed", stage: "context", progress: 5, message: error.message, data: { error } },
    ]))
      applyEvent(failed, e);
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual(error);
    expect(failed.stages[0]?.state).toBe("failed");
  });
});

describe("the timeline is the run's own stage list (any agent)", () => {
  const CUSTOM = ["gather", "draft_2", "review"];
  const state = (view: ReturnType<typeof initialRunProgress>) => view.stages.map((s) => [s.stage, s.state]);

  it("starts empty and takes exactly the stages run.queued lists, in order, with the agent's name", () => {
    const view = initialRunProgress(RUN);
    expect(view.stages).toEqual([]);
    applyEvent(view, log([queuedWith(CUSTOM, "writer")])[0] as RunEvent);
    expect(view.agent).toBe("writer");
    expect(state(view)).toEqual(CUSTOM.map((s) => [s, "pending"]));
    for (const e of log([
      queuedWith(CUSTOM, "writer"),
      started("gather", 0, CUSTOM),
      completed("gather", 25),
      started("draft_2", 0, CUSTOM),
      completed("draft_2", 75),
      started("review", 0, CUSTOM),
      completed("review", 100),
      {
        type: "run.completed",
        progress: 100,
        message: "Run completed.",
        data: {
          answer: "ok",
          models: [],
          usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
          usageByStage: {},
          durationMs: 6000,
        },
      },
    ]))
      applyEvent(view, e);
    expect(state(view)).toEqual(CUSTOM.map((s) => [s, "done"]));
    expect(view.status).toBe("completed");
  });

  it("takes the stage list from GET /runs/{id} when joining mid-run, and run.queued later does not repeat it", () => {
    const events = log([queuedWith(CUSTOM), started("gather", 0, CUSTOM), completed("gather", 25)]);
    const joined = initialRunProgress(RUN, [
      { name: "gather", weight: 1 },
      { name: "draft_2", weight: 2 },
      { name: "review", weight: 1 },
    ]);
    // Watching after seq 1: run.queued is not replayed.
    for (const e of events.slice(1)) applyEvent(joined, e);
    expect(state(joined)).toEqual([
      ["gather", "done"],
      ["draft_2", "pending"],
      ["review", "pending"],
    ]);
    // A full replay into a view that already knew the stages lists each once.
    const replayed = initialRunProgress(
      RUN,
      CUSTOM.map((name) => ({ name })),
    );
    for (const e of events) applyEvent(replayed, e);
    expect(state(replayed)).toEqual(state(joined));
  });

  it("adds a stage it was not told of after the listed ones, in order of appearance", () => {
    const view = initialRunProgress(RUN);
    for (const e of log([
      queuedWith(["gather"]),
      started("gather", 0, ["gather"]),
      started("extra_b"),
      started("extra_a"),
    ]))
      applyEvent(view, e);
    expect(view.stages.map((s) => s.stage)).toEqual(["gather", "extra_b", "extra_a"]);
    // A log from before runs listed their stages: the timeline grows as stages appear.
    const legacy = initialRunProgress(RUN);
    for (const e of log([
      { type: "run.queued", progress: 0, message: "Run queued.", data: { question: "old" } },
      started("context"),
      completed("context", 8),
      started("analyzing"),
    ]))
      applyEvent(legacy, e);
    expect(state(legacy)).toEqual([
      ["context", "done"],
      ["analyzing", "running"],
    ]);
  });

  it("estimates the time left over the run's own stages only, own keys only", () => {
    const view = initialRunProgress(RUN);
    expect(remainingMs(view, {}, T0)).toBeUndefined(); // no stages known yet
    for (const e of log([
      queuedWith(["constructor", "review"]),
      started("constructor", 0, ["constructor", "review"]),
    ]))
      applyEvent(view, e);
    // `constructor` has no estimate: Object.prototype's must not pass for one.
    expect(remainingMs(view, { review: { runs: 1, meanMs: 500 } }, T0 + 1000)).toBeUndefined();
    const estimates = {
      constructor: { runs: 2, meanMs: 2000 },
      review: { runs: 1, meanMs: 500 },
      other: { runs: 9, meanMs: 9e9 },
    };
    // constructor started at T0 + 1 s; 500 ms in, 1500 ms of it and review's 500 ms remain.
    expect(remainingMs(view, estimates, T0 + 1500)).toBe(1500 + 500);
  });
});

describe("remainingMs and elapsedMs (time left from earlier runs' stage durations)", () => {
  const estimates = Object.fromEntries(STAGES.map((s) => [s, { runs: 3, meanMs: 1000 }]));

  it("sums the pending stages' means and what is left of the running stage's", () => {
    const view = initialRunProgress(RUN);
    for (const e of log([queued, started("context")])) applyEvent(view, e);
    // context started at T0 + 1 s; 400 ms into it, 600 ms of it and 5 whole stages remain.
    expect(remainingMs(view, estimates, T0 + 1400)).toBe(600 + 5 * 1000);
    // Over its estimate: the running stage counts 0, not a negative time.
    expect(remainingMs(view, estimates, T0 + 9000)).toBe(5 * 1000);
    expect(elapsedMs(view, T0 + 1400)).toBe(1400);
  });

  it("is undefined while a stage still to run has no history, and 0 once the run ended", () => {
    const view = initialRunProgress(RUN);
    applyEvent(view, log([queued])[0] as RunEvent);
    const { memory: _none, ...partial } = estimates;
    expect(remainingMs(view, partial, T0)).toBeUndefined();
    const done = initialRunProgress(RUN);
    for (const e of syntheticRun(RUN, T0)) applyEvent(done, e);
    expect(remainingMs(done, {}, T0 + 60_000)).toBe(0);
    // An ended run's elapsed time stops at its terminal event.
    expect(elapsedMs(done, T0 + 60_000)).toBe(elapsedMs(done, T0 + 120_000));
  });

  it("formats durations for people", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_300)).toBe("12 s");
    expect(formatDuration(185_000)).toBe("3 min 05 s");
  });
});

describe("each stage's own data (stage.progress data: ctx.emit, progress(…, data))", () => {
  const CUSTOM = ["collect", "analyze", "explain"];
  const progress = (stage: string, data: Record<string, unknown>, message = `${stage} working`): EventInput =>
    ({ type: "stage.progress", stage, attempt: 0, progress: 20, message, data }) as EventInput;
  const fold = (inputs: EventInput[]) => {
    const view = initialRunProgress(RUN);
    for (const e of log(inputs)) applyEvent(view, e);
    return view;
  };
  const stageOf = (view: ReturnType<typeof initialRunProgress>, name: string) =>
    view.stages.find((s) => s.stage === name);
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

  it("keeps the newest non-empty data per stage, replaced whole, through the stage's end", () => {
    const view = fold([
      queuedWith(CUSTOM, "k8s"),
      started("collect", 0, CUSTOM),
      progress("collect", { found: 2 }),
      completed("collect", 30),
      started("analyze", 0, CUSTOM),
      progress("analyze", { problems: 5, byKind: { Pod: 3, Deployment: 2 } }),
      progress("analyze", { problems: 3, byKind: { Pod: 3 } }),
      // Progress reports without data (ctx.progress(percent, message)) leave the data as it is.
      progress("analyze", {}, "Ranking the problems (1 s)…"),
      completed("analyze", 60),
    ]);
    // Replaced, not merged: Deployment from the first emit is gone.
    expect(stageOf(view, "analyze")?.data).toEqual({ problems: 3, byKind: { Pod: 3 } });
    expect(stageOf(view, "analyze")?.state).toBe("done");
    expect(stageOf(view, "analyze")?.message).toBe("analyze done");
    expect(stageOf(view, "collect")?.data).toEqual({ found: 2 });
    expect(stageOf(view, "explain")?.data).toBeUndefined();
    expect(view.stages.some((s) => s.dataTruncated)).toBe(false);
  });

  it("keeps it after the run ends, and a replay from seq 0 or an overlapping resume gives the same data", () => {
    const events = log([
      queuedWith(CUSTOM),
      started("collect", 0, CUSTOM),
      progress("collect", { first: true }),
      progress("collect", { second: true }),
      {
        type: "run.failed",
        stage: "collect",
        progress: 20,
        message: "Failed.",
        data: { error: { code: "internal", message: "Failed." } },
      },
    ]);
    const view = initialRunProgress(RUN);
    for (const e of [...events, ...events.slice(2, 3), ...events]) applyEvent(view, e);
    expect(stageOf(view, "collect")?.state).toBe("failed");
    expect(stageOf(view, "collect")?.data).toEqual({ second: true });
  });

  it("bounds a large data object to 8 KiB of JSON: whole fields that fit, in order, and a truncated marker", () => {
    const big = "x".repeat(20_000);
    const data = { problems: 3, log: big, byKind: { Pod: 3 }, tail: "é".repeat(10) };
    const view = fold([queuedWith(CUSTOM), started("analyze", 0, CUSTOM), progress("analyze", data)]);
    const analyze = stageOf(view, "analyze");
    // The 20 KB field is left out whole; the small fields before and after it stay.
    expect(analyze?.data).toEqual({ problems: 3, byKind: { Pod: 3 }, tail: "é".repeat(10) });
    expect(analyze?.dataTruncated).toEqual({ bytes: bytes(data), keys: 4 });
    expect(bytes(analyze?.data)).toBeLessThanOrEqual(STAGE_DATA_MAX_BYTES);
    expect(STAGE_DATA_MAX_BYTES).toBe(8192);

    // Data that fits again replaces it, and the marker goes.
    applyEvent(view, { ...log([progress("analyze", { problems: 1 })])[0], seq: 99 } as RunEvent);
    expect(analyze?.data).toEqual({ problems: 1 });
    expect(analyze?.dataTruncated).toBeUndefined();
  });

  it("holds at most 8 KiB per stage however much and however often a stage sends", () => {
    const inputs: EventInput[] = [queuedWith(CUSTOM), started("collect", 0, CUSTOM)];
    // 50 reports of ~30 KB each, many small fields: what a chatty stage might send.
    for (let i = 0; i < 50; i++) {
      inputs.push(
        progress("collect", Object.fromEntries(Array.from({ length: 2000 }, (_, k) => [`k${k}`, i]))),
      );
    }
    const view = fold(inputs);
    const collect = stageOf(view, "collect");
    expect(bytes(collect?.data)).toBeLessThanOrEqual(STAGE_DATA_MAX_BYTES);
    expect(bytes(collect?.data)).toBeGreaterThan(STAGE_DATA_MAX_BYTES - 20); // filled, not emptied
    expect(collect?.data?.k0).toBe(49); // the newest report's fields, first ones first
    expect(collect?.dataTruncated?.keys).toBe(2000);
  });

  it("keeps a field named __proto__ as data, not as the object's prototype", () => {
    const data = JSON.parse(`{"__proto__": {"polluted": true}, "pad": "${"y".repeat(9000)}", "n": 1}`);
    const view = fold([queuedWith(CUSTOM), started("collect", 0, CUSTOM), progress("collect", data)]);
    const kept = stageOf(view, "collect")?.data ?? {};
    expect(Object.keys(kept)).toEqual(["__proto__", "n"]);
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
