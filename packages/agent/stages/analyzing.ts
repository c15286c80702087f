import type { StageImpl } from "../stage-context.ts";
import { memoryBlock, requireQuestion } from "./prompt.ts";

/** Instruction for the analyzing call. */
export const ANALYZE_PROMPT =
  "Classify the user's request. Reply with one line: the intent, then the topic, separated by a semicolon.";

/** analyzing: the model classifies the request in one line, kept for planning. */
export const analyzingStage: StageImpl = async (ctx) => {
  const question = requireQuestion(ctx.state);
  await ctx.progress("Asking the model to classify the request…", {}, 0.1);
  const out = await ctx.model.complete({
    system: ANALYZE_PROMPT,
    user: `${memoryBlock(ctx.state)}${question}`,
    maxTokens: 100,
    signal: ctx.signal,
  });
  ctx.recordUsage(out.model, out.usage);
  const analysis = out.text.trim().split("\n")[0] ?? "";
  await ctx.progress(`Analysis: ${analysis}`, { analysis }, 0.9);
  return { state: { analysis }, message: "Request analyzed.", data: { analysis } };
};
