import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StageContext, StageFailedError } from "../../../packages/agent/index.ts";
import { defineAgent, type Json } from "../../../packages/sdk/index.ts";
import { isOutputRef, OUTPUT_INLINE_MAX_BYTES } from "../../../packages/sdk/stage-outputs.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startTestDynamo("stagecast-test");
});

afterAll(async () => {
  await dynamo?.close();
});

/** The internal context a stage implementation gets, over the test store. */
function internalContext(
  stage: string,
  runId: string,
  state: StageContext["state"],
  attempt = 0,
): StageContext {
  return {
    runId,
    stage,
    attempt,
    state: { question: "q", ...state },
    store: dynamo.store,
    signal: new AbortController().signal,
    model: { model: "test-model" },
    progress: async () => {},
  } as unknown as StageContext;
}

describe("large stage outputs (packages/sdk)", () => {
  const seen: Record<string, Json> = {};
  const agent = defineAgent({
    name: "big",
    stages: [
      { name: "produce", run: async () => ({ text: "z".repeat(40_000) }) },
      { name: "small", run: async () => ({ n: 1 }) },
      { name: "lookalike", run: async () => ({ $ref: "OUT#produce#0#0", bytes: 3 }) },
      {
        name: "read",
        run: async (ctx) => {
          Object.assign(seen, ctx.outputs);
          return { answer: "done" };
        },
      },
    ],
  });
  const stage = (name: string) => agent.stages.find((s) => s.name === name)?.run;

  it("stores an output over 32 KiB and keeps a reference; later stages read it back as it was", async () => {
    const runId = ulid();
    const one = await stage("produce")?.(internalContext("produce", runId, {}, 1));
    const outputs = one?.state.outputs ?? {};
    expect(outputs.produce).toEqual({ $ref: "OUT#produce#0#1", bytes: 40_011 });
    const two = await stage("small")?.(internalContext("small", runId, { outputs }));
    expect(two?.state.outputs?.small).toEqual({ n: 1 }); // small ones stay inline
    const three = await stage("lookalike")?.(internalContext("lookalike", runId, two?.state ?? {}));
    // An output that looks like a reference is stored too, so a reference is never ambiguous.
    expect(isOutputRef(three?.state.outputs?.lookalike)).toBe(true);
    expect(three?.state.outputs?.lookalike).not.toEqual({ $ref: "OUT#produce#0#0", bytes: 3 });
    await stage("read")?.(internalContext("read", runId, three?.state ?? {}));
    expect(seen).toEqual({
      produce: { text: "z".repeat(40_000) },
      small: { n: 1 },
      lookalike: { $ref: "OUT#produce#0#0", bytes: 3 },
    });
  });

  it("stores outputs once all inline ones would pass 4 × the inline limit, however small", async () => {
    const runId = ulid();
    const inline = {
      a: { s: "a".repeat(40_000) },
      b: { s: "b".repeat(40_000) },
      c: { s: "c".repeat(40_000) },
    };
    const agent2 = defineAgent({
      name: "many",
      stages: [{ name: "d", run: async () => ({ s: "d".repeat(OUTPUT_INLINE_MAX_BYTES - 100) }) }],
    });
    const out = await agent2.stages[0]?.run(internalContext("d", runId, { outputs: inline }));
    expect(isOutputRef(out?.state.outputs?.d)).toBe(true);
  });

  it("fails the stage with output_too_large above 4 MiB, and output_missing when the stored output is gone", async () => {
    const runId = ulid();
    const huge = defineAgent({
      name: "huge",
      stages: [{ name: "h", run: async () => ({ s: "h".repeat(4 * 1024 * 1024) }) }],
    });
    const err = await huge.stages[0]?.run(internalContext("h", runId, {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageFailedError);
    expect((err as StageFailedError).code).toBe("output_too_large");
    const missing = await stage("read")?.(
      internalContext("read", runId, { outputs: { produce: { $ref: "OUT#produce#0#0", bytes: 9 } } }),
    ).catch((e: unknown) => e);
    expect((missing as StageFailedError).code).toBe("output_missing");
  });

  it("keeps an output inline up to the agent's own inlineOutputBytes", async () => {
    const roomy = defineAgent({
      name: "roomy",
      inlineOutputBytes: 1024 * 1024,
      stages: [{ name: "p", run: async () => ({ text: "z".repeat(300_000) }) }],
    });
    const out = await roomy.stages[0]?.run(internalContext("p", ulid(), {}));
    expect(out?.state.outputs?.p).toEqual({ text: "z".repeat(300_000) });
    expect(() =>
      defineAgent({ name: "x", inlineOutputBytes: 0, stages: [{ name: "a", run: async () => ({}) }] }),
    ).toThrow(/inlineOutputBytes/);
  });
});
