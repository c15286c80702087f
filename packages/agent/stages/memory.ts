import type { StageImpl } from "../stage-context.ts";
import { requireQuestion } from "./prompt.ts";

/** Instruction for the memory call. */
export const SUMMARIZE_PROMPT = "Summarize this exchange in one sentence that will help future runs.";

/**
 * memory: the model summarises the exchange; with a projectId the summary is stored as a
 * project memory item (with TTL) that the next run's context stage loads.
 */
export const memoryStage: StageImpl = async (ctx) => {
  const question = requireQuestion(ctx.state);
  const out = await ctx.model.complete({
    system: SUMMARIZE_PROMPT,
    user: `Request: ${question}\nAnswer: ${ctx.state.answer ?? ""}`,
    maxTokens: 120,
    signal: ctx.signal,
  });
  ctx.recordUsage(out.model, out.usage);
  const summary = out.text.trim();
  const projectId = ctx.state.projectId;
  if (projectId) {
    await ctx.store.putMemory({
      projectId,
      runId: ctx.runId,
      ts: new Date(ctx.store.now()).toISOString(),
      summary,
    });
  }
  const said = projectId
    ? `Saved a memory for project ${projectId}.`
    : "No project given: the summary is not kept.";
  await ctx.progress(said, { summary, saved: Boolean(projectId) }, 0.9);
  return { state: {}, message: said, data: { saved: Boolean(projectId) } };
};
