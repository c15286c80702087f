import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AnalysisSchema, PlanSchema } from "../../../packages/default-agent/index.ts";
import { type EventOf, isTerminalType, type RunEvent } from "../../../packages/events/index.ts";
import { DEFAULT_STAGES as STAGES } from "../../support/agents.ts";
import { readSse } from "../../support/sse.ts";
import { startRun, startTestStack } from "../../support/stack.ts";

/**
 * The grown-up agent through the real local stack: every model call goes through the openai
 * SDK over HTTP to the embedded offline model; failure paths are switched on with its knobs.
 */
let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  await fetch(`${stack.offlineModelUrl}/_offline/knobs`, { method: "DELETE" });
});

async function knobs(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.offlineModelUrl}/_offline/knobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

/** Start a run and read its whole stream; returns the parsed events. */
async function run(body: Record<string, unknown>): Promise<RunEvent[]> {
  const started = await startRun(stack.url, body);
  const { frames } = await readSse(started.links.stream, { timeoutMs: 30_000 });
  await stack.workflow.idle();
  const events = frames.filter((f) => f.event !== "heartbeat").map((f) => JSON.parse(f.data) as RunEvent);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  return events;
}

const ofType = <T extends RunEvent["type"]>(events: RunEvent[], type: T, stage?: string) =>
  events.filter((e): e is EventOf<T> => e.type === type && (stage === undefined || e.stage === stage));

const completed = (events: RunEvent[]) => {
  const last = events.at(-1);
  if (last?.type !== "run.completed")
    throw new Error(`run ended with ${last?.type}: ${JSON.stringify(last)}`);
  return last;
};

describe("the six stages doing real work, offline", () => {
  it("answers 'What is 17% of 2,340, and what did we discuss last time?' with real tool calls and memory", async () => {
    const projectId = `p-${Date.now()}`;
    completed(await run({ question: "How should we name the billing service?", projectId }));
    const events = await run({
      question: "What is 17% of 2,340, and what did we discuss last time?",
      projectId,
    });
    const done = completed(events);

    // context loaded the first run's memory.
    const ctxProgress = ofType(events, "stage.progress", "context")[0];
    expect(ctxProgress?.message).toMatch(/^Loaded 1 memory, 0 earlier turns\.$/);

    // analyzing: a structured result valid against the schema.
    const analysis = ofType(events, "stage.completed", "analyzing")[0]?.data.analysis;
    expect(AnalysisSchema.parse(analysis).needsTools).toBe(true);

    // planning: calculator, memory_search, then a model step — valid against the plan schema.
    const plan = PlanSchema.shape.steps.parse(ofType(events, "stage.completed", "planning")[0]?.data.plan);
    expect(plan.map((s) => s.tool ?? s.kind)).toEqual(["calculator", "memory_search", "model"]);
    expect(ofType(events, "stage.completed", "validation")[0]?.data.valid).toBe(true);

    // execution: the tools ran, with results.
    const tools = ofType(events, "tool.completed", "execution");
    const calc = tools.find((t) => t.data.name === "calculator");
    expect(calc?.data.ok).toBe(true);
    expect(JSON.stringify(calc?.data.result)).toContain("397.8");
    const recall = tools.find((t) => t.data.name === "memory_search");
    expect(JSON.stringify(recall?.data.result)).toContain("billing service");
    expect(ofType(events, "tool.started").map((t) => t.data.callId)).toEqual(tools.map((t) => t.data.callId));

    // the answer streamed and uses the results.
    const text = ofType(events, "llm.delta")
      .map((d) => d.data.text)
      .join("");
    expect(done.data.answer).toBe(text);
    expect(done.data.answer).toContain("397.8");
    expect(Object.keys(done.data.usageByStage).sort()).toEqual([
      "analyzing",
      "execution",
      "memory",
      "planning",
    ]);
    expect(ofType(events, "stage.started").map((e) => e.stage)).toEqual([...STAGES]);
  });

  it("loads the earlier turns of a conversation", async () => {
    const conversationId = `c-${Date.now()}`;
    completed(await run({ question: "What is 2 + 2?", conversationId }));
    const events = await run({ question: "And what is that times 10?", conversationId });
    completed(events);
    expect(ofType(events, "stage.progress", "context")[0]?.message).toBe(
      "Loaded 0 memories, 1 earlier turn.",
    );
  });

  it("repairs a plan that uses an unknown tool: validation sends it back, the second plan runs", async () => {
    await knobs({ badPlanNext: 1 });
    const events = await run({ question: "What is 12 * 12?" });
    completed(events);
    const plans = ofType(events, "stage.completed", "planning").map(
      (e) => e.data.plan as Array<{ tool: string | null }>,
    );
    expect(plans).toHaveLength(2);
    expect(plans[0]?.some((s) => s.tool === "web_search")).toBe(true);
    const verdicts = ofType(events, "stage.completed", "validation").map((e) => e.data);
    expect(verdicts[0]?.valid).toBe(false);
    expect(JSON.stringify(verdicts[0]?.problems)).toContain("unknown tool");
    expect(verdicts[1]?.valid).toBe(true);
  });

  it("asks again once when a structured output breaks its schema, then goes on", async () => {
    await knobs({ invalidJsonNext: 1 });
    const events = await run({ question: "What is 3 * 7?" });
    completed(events);
    const asked = ofType(events, "stage.progress", "analyzing").find((e) =>
      e.message.includes("asking again"),
    );
    expect(asked).toBeDefined();
    expect(ofType(events, "stage.completed", "analyzing")).toHaveLength(1);
  });

  it("ends the run with model_output_invalid when the repaired structured output is still invalid", async () => {
    await knobs({ invalidJsonNext: 2 });
    const events = await run({ question: "What is 3 * 7?" });
    const last = events.at(-1);
    if (last?.type !== "run.failed") throw new Error(`expected run.failed, got ${last?.type}`);
    expect(last.data.error.code).toBe("model_output_invalid");
    expect(last.stage).toBe("analyzing");
  });

  it("recovers from a failing tool: the error goes to the model and the run completes", async () => {
    const events = await run({ question: "What is 5 + foo(3)?" });
    const done = completed(events);
    const calc = ofType(events, "tool.completed").find((t) => t.data.name === "calculator");
    expect(calc?.data.ok).toBe(false);
    expect(calc?.data.error?.code).toBe("tool_error");
    // The error reached the model, which says so in the answer.
    expect(done.data.answer).toContain("could not evaluate");
    expect(done.data.answer).toContain("foo");
  });

  it("retries a stage after a 429 and completes", async () => {
    await knobs({ failNext: { count: 1, status: 429 } });
    const events = await run({ question: "Is retrying visible?" });
    completed(events);
    const retrying = ofType(events, "stage.retrying");
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ stage: "analyzing", attempt: 1 });
  });

  it("retries an answer cut mid-stream; the final attempt's llm.delta text is the answer (the retry rule)", async () => {
    await knobs({ dropNext: { count: 1, afterTokens: 5, streamingOnly: true } });
    const events = await run({ question: "Explain retries of a streamed answer" });
    const done = completed(events);
    const retrying = ofType(events, "stage.retrying", "execution");
    expect(retrying).toHaveLength(1);
    const finalAttempt = retrying[0]?.attempt ?? -1;
    expect(finalAttempt).toBe(1);
    const deltas = ofType(events, "llm.delta");
    const earlier = deltas.filter((d) => (d.attempt ?? 0) < finalAttempt);
    const final = deltas.filter((d) => d.attempt === finalAttempt);
    // The cut attempt did stream some text; it comes before stage.retrying and is superseded.
    expect(earlier.length).toBeGreaterThan(0);
    expect(earlier.every((d) => d.seq < (retrying[0]?.seq ?? 0))).toBe(true);
    expect(final.map((d) => d.data.text).join("")).toBe(done.data.answer);
  });

  it("ends the run with run.failed model_bad_request on a permanent 400", async () => {
    await knobs({ failNext: { count: 1, status: 400 } });
    const events = await run({ question: "Will this fail?" });
    const last = events.at(-1);
    expect(last?.type).toBe("run.failed");
    if (last?.type !== "run.failed") throw new Error("unreachable");
    expect(last.data.error.code).toBe("model_bad_request");
    expect(ofType(events, "stage.retrying")).toHaveLength(0);
  });

  it("falls back to a normal call when the endpoint cannot stream, and says so", async () => {
    await knobs({ noStreaming: true });
    const events = await run({ question: "Can you answer without streaming?" });
    const done = completed(events);
    const deltas = ofType(events, "llm.delta");
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.every((d) => d.data.simulated === true)).toBe(true);
    expect(deltas.map((d) => d.data.text).join("")).toBe(done.data.answer);
    expect(ofType(events, "stage.progress", "execution").some((e) => e.data.streaming === false)).toBe(true);
  });
});
