import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { StageContext } from "../../../packages/agent/index.ts";
import { AgentDefinitionError, defineAgent, defineTool } from "../../../packages/sdk/index.ts";

/** The internal stage context a handler's context is built from, with recorders for what it reports. */
function internalContext(state: StageContext["state"]) {
  const reported: Array<{ message: string; data?: Record<string, unknown>; fraction?: number }> = [];
  const ctx = {
    runId: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    stage: "one",
    attempt: 0,
    state,
    signal: new AbortController().signal,
    model: { model: "test-model" },
    progress: async (message: string, data?: Record<string, unknown>, fraction?: number) => {
      reported.push({ message, ...(data ? { data } : {}), ...(fraction === undefined ? {} : { fraction }) });
    },
  } as unknown as StageContext;
  return { ctx, reported };
}

describe("defineAgent", () => {
  it("refuses a definition that cannot run, at definition time", () => {
    const run = async () => ({});
    expect(() => defineAgent({ name: "x", stages: [{ name: "Bad", run }] })).toThrow(AgentDefinitionError);
    expect(() =>
      defineAgent({ name: "x", stages: [{ name: "a", run }], tools: [{ name: "fake" } as never] }),
    ).toThrow(/made with defineTool/);
    const tool = defineTool({
      name: "t",
      description: "d",
      input: z.object({}),
      run: async () => 1,
    });
    expect(() => defineAgent({ name: "x", stages: [{ name: "a", run }], tools: [tool, tool] })).toThrow(
      /tool t is defined twice/,
    );
  });

  it("keeps a stage's output for later stages, its answer as the run's, and maps percent to the stage's fraction", async () => {
    const agent = defineAgent({
      name: "x",
      stages: [
        {
          name: "one",
          run: async (ctx) => {
            await ctx.progress(50, "half way");
            await ctx.emit({ found: 3 });
            return { answer: `${ctx.input.question}!`, seen: Object.keys(ctx.outputs) };
          },
        },
      ],
    });
    const { ctx, reported } = internalContext({ question: "q", outputs: { zero: { n: 1 } } });
    const outcome = await agent.stages[0]?.run(ctx);
    expect(outcome?.state).toMatchObject({
      question: "q",
      answer: "q!",
      outputs: { zero: { n: 1 }, one: { answer: "q!", seen: ["zero"] } },
    });
    expect(outcome?.goto).toBeUndefined();
    expect(reported).toEqual([
      { message: "half way", data: {}, fraction: 0.5 },
      { message: "one data", data: { found: 3 }, fraction: 0.5 },
    ]);
  });

  it("loopBack() asks for the declared loop, and is a clear error where none is declared", async () => {
    const exhausted = { code: "gave_up", message: "Gave up." };
    const agent = defineAgent({
      name: "x",
      stages: [
        { name: "draft", run: async () => ({}) },
        {
          name: "review",
          loop: { to: "draft", max: 1, exhausted },
          run: async (ctx) => {
            ctx.loopBack();
            return {};
          },
        },
        {
          name: "publish",
          run: async (ctx) => {
            ctx.loopBack();
            return {};
          },
        },
      ],
    });
    expect((await agent.stages[1]?.run(internalContext({ question: "q" }).ctx))?.goto).toBe("draft");
    await expect(agent.stages[2]?.run(internalContext({ question: "q" }).ctx)).rejects.toThrow(
      /stage publish has no loop/,
    );
  });
});
