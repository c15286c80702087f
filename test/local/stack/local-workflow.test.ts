import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalWorkflow } from "../../../local/stack/local-workflow.ts";
import { LOCAL_ARNS, type LocalStackOptions } from "../../../local/stack/stack.ts";
import {
  type AgentDeps,
  checkAgent,
  createDefaultTools,
  finalizeRun,
  ModelClient,
  runStage,
  StageFailedError,
  type StageImpl,
  TransientStageError,
} from "../../../packages/agent/index.ts";
import { isTerminalType, type RunEvent } from "../../../packages/events/index.ts";
import { buildDefinition } from "../../../packages/workflow/index.ts";
import { DEFAULT_AGENT } from "../../support/agents.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";
import { readSse } from "../../support/sse.ts";
import { startRun, startTestStack } from "../../support/stack.ts";

let stack: Awaited<ReturnType<typeof startTestStack>> | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** The built-in agent's own code for `stage` (to wrap it). */
const builtIn = (stage: string): StageImpl => {
  const found = DEFAULT_AGENT.stage(stage);
  if (!found) throw new Error(`the built-in agent has no stage ${stage}`);
  return found.run;
};

/** A planning stage's outcome with `plan` as its output, as the built-in planning stage leaves it. */
const planned = (ctx: Parameters<StageImpl>[0], plan: unknown[], message: string) => ({
  state: { outputs: { ...ctx.state.outputs, planning: { plan } } } as never,
  message,
});

/** Run one request through the real ASL on the local runner and return its whole log. */
async function runWith(
  stages: LocalStackOptions["stages"],
  question = "How do retries work?",
): Promise<RunEvent[]> {
  stack = await startTestStack({}, { stages });
  const started = await startRun(stack.url, { question });
  const { frames } = await readSse(started.links.stream);
  await stack.workflow.idle();
  // After the execution ended the log holds exactly what the stream delivered: nothing follows the terminal event.
  const { events } = await stack.store.events.read(started.runId, 0, 1000);
  expect(events).toEqual(frames.map((f) => JSON.parse(f.data)));
  return events;
}

const visits = (events: RunEvent[], stage: string) =>
  events.filter((e) => e.type === "stage.started" && e.stage === stage).length;

describe("the state machine on the local runner", () => {
  it("sends an invalid plan back to planning at most twice, then fails the run with plan_invalid", async () => {
    const badPlanning: StageImpl = async (ctx) => planned(ctx, [], "empty plan");
    const events = await runWith({ planning: badPlanning });
    expect(visits(events, "planning")).toBe(3);
    expect(visits(events, "validation")).toBe(3);
    expect(visits(events, "execution")).toBe(0);
    const terminals = events.filter((e) => isTerminalType(e.type));
    expect(terminals).toHaveLength(1);
    const last = events.at(-1);
    expect(last?.type).toBe("run.failed");
    if (last?.type !== "run.failed") throw new Error("unreachable");
    expect(last.data.error.code).toBe("plan_invalid");
    const rejected = events.filter((e) => e.type === "stage.completed" && e.stage === "validation");
    expect(rejected.every((e) => e.type === "stage.completed" && e.data.valid === false)).toBe(true);
  });

  it("repairs a plan once and completes, giving planning the validation feedback", async () => {
    let calls = 0;
    const seenFeedback: string[][] = [];
    const flakyPlanning: StageImpl = async (ctx) => {
      calls++;
      const validation = ctx.state.outputs?.validation as { problems?: string[] } | undefined;
      seenFeedback.push(validation?.problems ?? []);
      return calls === 1 ? planned(ctx, [], "empty plan") : builtIn("planning")(ctx);
    };
    const events = await runWith({ planning: flakyPlanning });
    expect(visits(events, "planning")).toBe(2);
    expect(seenFeedback[1]).toContain("the plan has no steps");
    expect(events.at(-1)?.type).toBe("run.completed");
  });

  it("retries a transient stage failure, shows stage.retrying with the attempt, and completes", async () => {
    let calls = 0;
    const flakyAnalyzing: StageImpl = async (ctx) => {
      calls++;
      if (calls === 1) {
        await ctx.progress("about to fail");
        throw new TransientStageError("model answered 503");
      }
      return builtIn("analyzing")(ctx);
    };
    const events = await runWith({ analyzing: flakyAnalyzing });
    expect(calls).toBe(2);
    const retrying = events.filter((e) => e.type === "stage.retrying");
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ stage: "analyzing", attempt: 1 });
    const secondStart = events.filter((e) => e.type === "stage.started" && e.stage === "analyzing")[1];
    expect(secondStart?.attempt).toBe(1);
    expect(events.at(-1)?.type).toBe("run.completed");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it("catches a stage that keeps failing into Finalize: one run.failed with a safe message", async () => {
    const broken: StageImpl = async () => {
      throw new Error("secret internal detail: connection string postgres://user:pw@db");
    };
    const events = await runWith({ execution: broken });
    const last = events.at(-1);
    expect(last?.type).toBe("run.failed");
    expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    expect(JSON.stringify(last)).not.toContain("secret");
    expect(last?.stage).toBe("execution");
    const status = await (await fetch(`${stack?.url}/runs/${last?.runId}`)).json();
    expect(status.status).toBe("failed");
    expect(status.error.code).toBe("internal_error");
  });
});

describe("the stream tails a live log", () => {
  it("sends heartbeats (no id) while nothing happens and ends right after the terminal event", async () => {
    stack = await startTestStack({ STREAM_HEARTBEAT_MS: "150" });
    const runId = "01M7Z3AYGVMJPM6ANRF6QTT3AA";
    await stack.store.runs.create(runId, { question: "idle run" });
    const log = stack.store.events.log(runId);
    await log.append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question: "idle run" },
    });
    const reading = readSse(`${stack.url}/runs/${runId}/stream`);
    await new Promise((r) => setTimeout(r, 500));
    await log.append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    await new Promise((r) => setTimeout(r, 400));
    await log.append({
      type: "run.failed",
      progress: 0,
      message: "Stopped by the test.",
      data: { error: { code: "test", message: "Stopped by the test." } },
    });
    const { frames, ended } = await reading;
    expect(ended).toBe(true);
    const beats = frames.filter((f) => f.event === "heartbeat");
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((b) => b.id === undefined)).toBe(true);
    expect(JSON.parse(beats[0]?.data ?? "{}")).toMatchObject({ runId, lastSeq: 1 });
    expect(frames.filter((f) => f.event !== "heartbeat").map((f) => f.id)).toEqual(["1", "2", "3"]);
    expect(frames.at(-1)?.event).toBe("run.failed");
  });
});

describe("a stage's own StageFailedError (agent code chooses its code and message)", () => {
  it.each([
    [
      "a valid code: the run fails with it, not retried",
      "quota_exceeded",
      "The quota is used up.",
      "quota_exceeded",
    ],
    [
      "a code outside the schema and a long message: stage_failed, message clipped",
      "Not A Code!",
      "x".repeat(900),
      "stage_failed",
    ],
  ])("%s", async (_label, code, message, expected) => {
    const failing: StageImpl = async () => {
      throw new StageFailedError(code, message);
    };
    const events = await runWith({ analyzing: failing });
    expect(visits(events, "analyzing")).toBe(1);
    expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    const last = events.at(-1);
    if (last?.type !== "run.failed") throw new Error(`expected run.failed, got ${last?.type}`);
    expect(last.data.error.code).toBe(expected);
    expect(last.data.error.message.length).toBeLessThanOrEqual(500);
    expect(last.data.error.message.startsWith(message.slice(0, 20))).toBe(true);
  });
});

describe("model output that would not fit an event", () => {
  it("a long plan full of unknown tools goes back to planning (clipped problems), then ends plan_invalid", async () => {
    const steps = Array.from({ length: 12 }, (_, i) => ({
      kind: "tool" as const,
      tool: `no_such_tool_with_a_long_name_${"x".repeat(40)}_${i}`,
      input: "{}",
      description: "d".repeat(200),
    }));
    const sprawling: StageImpl = async (ctx) => planned(ctx, steps, "a sprawling plan");
    const events = await runWith({ planning: sprawling });
    expect(visits(events, "planning")).toBe(3);
    const last = events.at(-1);
    if (last?.type !== "run.failed") throw new Error(`expected run.failed, got ${last?.type}`);
    expect(last.data.error.code).toBe("plan_invalid");
    expect(events.every((e) => e.message.length <= 1000)).toBe(true);
  });
});

describe("tool calls the model makes while answering", () => {
  it("runs them with tool events and feeds the result back when the plan has no tool step", async () => {
    const modelOnly: StageImpl = async (ctx) =>
      planned(
        ctx,
        [{ kind: "model", tool: null, input: null, description: "Answer directly" }],
        "model-only plan",
      );
    const events = await runWith({ planning: modelOnly }, "What is 6 * 7?");
    const started = events.filter((e) => e.type === "tool.started");
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ stage: "execution", data: { name: "calculator" } });
    // The call id is the model's own (OpenAI tool_call id), not a plan step id.
    expect(started[0]?.type === "tool.started" && started[0].data.callId.startsWith("call_")).toBe(true);
    const last = events.at(-1);
    if (last?.type !== "run.completed") throw new Error(`expected run.completed, got ${last?.type}`);
    expect(last.data.answer).toContain("is 42");
  });
});

describe("stream tailing edges", () => {
  it("a cursor beyond the newest event waits for new events, and the stream still ends at the terminal event", async () => {
    stack = await startTestStack();
    const runId = "01M7Z3AYGVMJPM6ANRF6QTT3AB";
    await stack.store.runs.create(runId, { question: "ahead of the log" });
    const log = stack.store.events.log(runId);
    await log.append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question: "q" } });
    const reading = readSse(`${stack.url}/runs/${runId}/stream?after=3`);
    await new Promise((r) => setTimeout(r, 200));
    await log.append({ type: "run.started", progress: 0, message: "2", data: {} });
    await log.append({ type: "run.started", progress: 0, message: "3", data: {} });
    await log.append({ type: "run.started", progress: 0, message: "4", data: {} });
    await log.append({ type: "run.cancelled", progress: 0, message: "5", data: {} });
    const { frames, ended } = await reading;
    expect(ended).toBe(true);
    expect(frames.filter((f) => f.event !== "heartbeat").map((f) => f.id)).toEqual(["4", "5"]);
  });

  it("stops polling the store when the client goes away", async () => {
    stack = await startTestStack({ STREAM_POLL_MIN_MS: "5", STREAM_POLL_MAX_MS: "20" });
    const runId = "01M7Z3AYGVMJPM6ANRF6QTT3AC";
    await stack.store.runs.create(runId, { question: "idle" });
    await stack.store.events
      .log(runId)
      .append({ type: "run.queued", progress: 0, message: "q", data: { question: "q" } });
    let queries = 0;
    stack.store.table.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ExpressionAttributeValues?: Record<string, { S?: string }> };
        if (
          context.commandName === "QueryCommand" &&
          input.ExpressionAttributeValues?.[":pk"]?.S === `RUN#${runId}`
        ) {
          queries++;
        }
        return next(args);
      },
      { step: "initialize", name: "countQueries" },
    );
    try {
      await readSse(`${stack.url}/runs/${runId}/stream`, { stopAfter: (f) => f.length >= 1 });
      await new Promise((r) => setTimeout(r, 200));
      const afterLeaving = queries;
      await new Promise((r) => setTimeout(r, 400));
      // At 20 ms a poll, a loop still running would have made ~20 more queries.
      expect(queries - afterLeaving).toBeLessThanOrEqual(1);
    } finally {
      stack.store.table.client.middlewareStack.remove("countQueries");
    }
  });
});

describe("a custom agent's loop on the local runner (real stage runner and Finalize, in process)", () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo("stagecast-custom-loop");
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  /** draft → review (back to draft at most twice) → publish; review accepts from its `acceptAt`-th look. */
  function reviewer(acceptAt: number) {
    let looks = 0;
    const draft: StageImpl = async (ctx) => {
      const rewrites = ctx.state.loops?.review ?? 0;
      await ctx.progress(rewrites ? `Rewriting (rewrite ${rewrites}).` : "Drafting.", { rewrites }, 0.5);
      return { state: { answer: `draft ${rewrites + 1}` }, message: "Drafted." };
    };
    const review: StageImpl = async (ctx) => {
      looks++;
      await ctx.progress(`Reviewing ${ctx.state.answer}.`, {}, 0.5);
      return looks >= acceptAt
        ? { state: {}, message: "Accepted." }
        : { state: {}, message: "Rejected.", goto: "draft" };
    };
    const publish: StageImpl = async () => ({ state: {}, message: "Published." });
    return checkAgent({
      name: "reviewer",
      stages: [
        { name: "draft", weight: 1, timeoutSeconds: 30, run: draft },
        {
          name: "review",
          weight: 2,
          timeoutSeconds: 30,
          run: review,
          loop: {
            to: "draft",
            max: 2,
            exhausted: {
              code: "review_rejected",
              message: "The draft was still rejected after two rewrites.",
            },
          },
        },
        { name: "publish", weight: 1, timeoutSeconds: 30, run: publish },
      ],
    });
  }

  /** Run one request of `agent` on a LocalWorkflow built from its ASL; the log and Finalize's inputs. */
  async function runAgent(agent: ReturnType<typeof reviewer>, runId: string) {
    const { store } = dynamo;
    const deps: AgentDeps = {
      store,
      // Never called: these stages make no model call.
      model: new ModelClient({
        openai: new OpenAI({ apiKey: "x", baseURL: "http://127.0.0.1:9/v1" }),
        model: "m",
      }),
      tools: createDefaultTools({ httpGet: { allowlist: [], timeoutMs: 1000, maxBytes: 1000 } }),
      delta: { intervalMs: 50, maxChars: 1000 },
      cancelCheckMs: 50,
      agent,
    };
    const finalized: unknown[] = [];
    const definition = buildDefinition(agent, LOCAL_ARNS);
    const workflow = new LocalWorkflow({
      definition,
      arns: LOCAL_ARNS,
      stage: (input) => runStage(input, deps),
      finalize: (input) => {
        finalized.push(input);
        return finalizeRun(input, store);
      },
      retryIntervalOverrides: Object.fromEntries(Object.keys(definition.States).map((s) => [s, 0])),
    });
    await store.runs.create(runId, { question: "Write me a haiku." });
    await store.events.log(runId).append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question: "Write me a haiku." },
    });
    await workflow.start(runId);
    await workflow.idle();
    const { events } = await store.events.read(runId, 0, 1000);
    const started = events.filter((e) => e.type === "stage.started").map((e) => e.stage);
    return { events, finalized, started };
  }

  it("takes the loop: review sends the draft back once, then publish runs", async () => {
    const { events, finalized, started } = await runAgent(reviewer(2), "01M7Z3AYGVMJPM6ANRF6QTT3B1");
    expect(started).toEqual(["draft", "review", "draft", "review", "publish"]);
    expect(finalized).toEqual([]);
    expect(events.filter((e) => isTerminalType(e.type)).map((e) => e.type)).toEqual(["run.completed"]);
    // The second draft saw the runner's count; stage.completed of each review is there.
    const drafts = events.filter((e) => e.type === "stage.progress" && e.stage === "draft");
    expect(drafts.map((e) => e.message)).toEqual(["Drafting.", "Rewriting (rewrite 1)."]);
    const reviews = events.filter((e) => e.type === "stage.completed" && e.stage === "review");
    expect(reviews.map((e) => e.message)).toEqual(["Rejected.", "Accepted."]);
    // Progress never goes backwards, even when the run goes back to an earlier stage.
    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("the exhausted path: a third rejection ends in Finalize with the definition's code and message", async () => {
    const { events, finalized, started } = await runAgent(
      reviewer(Number.POSITIVE_INFINITY),
      "01M7Z3AYGVMJPM6ANRF6QTT3B2",
    );
    expect(started).toEqual(["draft", "review", "draft", "review", "draft", "review"]);
    // First the definition's exhausted path; then, like the EventBridge rule on AWS, the
    // runner's call for the failed execution, a no-op (the run already ended).
    expect(finalized).toHaveLength(2);
    expect(finalized[0]).toEqual({
      runId: "01M7Z3AYGVMJPM6ANRF6QTT3B2",
      error: {
        Error: "LoopExhausted",
        Cause: "The draft was still rejected after two rewrites.",
        Code: "review_rejected",
      },
    });
    const terminals = events.filter((e) => isTerminalType(e.type));
    expect(terminals).toHaveLength(1);
    expect(terminals[0]).toMatchObject({
      type: "run.failed",
      data: {
        error: { code: "review_rejected", message: "The draft was still rejected after two rewrites." },
      },
    });
    expect((await dynamo.store.runs.view("01M7Z3AYGVMJPM6ANRF6QTT3B2"))?.status).toBe("failed");
  });

  it("a goto the definition does not allow fails the run with invalid_goto", async () => {
    const agent = reviewer(1);
    const rogue = checkAgent({
      name: agent.name,
      stages: agent.stages.map((stage) =>
        stage.name === "publish"
          ? { ...stage, run: async () => ({ state: {}, message: "Back!", goto: "draft" }) }
          : stage,
      ),
    });
    const { events, started } = await runAgent(rogue, "01M7Z3AYGVMJPM6ANRF6QTT3B3");
    expect(started).toEqual(["draft", "review", "publish"]);
    expect(events.at(-1)).toMatchObject({
      type: "run.failed",
      stage: "publish",
      data: { error: { code: "invalid_goto" } },
    });
    expect(events.some((e) => e.type === "stage.completed" && e.stage === "publish")).toBe(false);
  });
});
