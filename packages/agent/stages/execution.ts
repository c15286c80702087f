import type { StageImpl } from "../stage-context.ts";
import { memoryBlock, requireQuestion } from "./prompt.ts";

/** Instruction for the answer-writing call. */
export const ANSWER_PROMPT = "Answer the user's request. Follow the given steps and be concise.";

/** Expected answer length (characters) used only to move the progress bar while text streams. */
const EXPECTED_ANSWER_CHARS = 1200;

/**
 * execution: the model writes the answer, streamed token by token; tokens are coalesced into
 * llm.delta events (bounded writes per second) and progress moves as text arrives.
 */
export const executionStage: StageImpl = async (ctx) => {
  const question = requireQuestion(ctx.state);
  const plan = ctx.state.plan ?? [];
  await ctx.progress(`Following ${plan.length} steps; writing the answer…`, { steps: plan.length }, 0.02);
  const deltas = ctx.deltas((chars) => 0.05 + 0.9 * (1 - Math.exp(-chars / EXPECTED_ANSWER_CHARS)));
  const user = `${memoryBlock(ctx.state)}${question}\n\nSteps:\n${plan.map((s, i) => `${i + 1}. ${s}`).join("\n")}`;
  let out: Awaited<ReturnType<typeof ctx.model.stream>>;
  try {
    out = await ctx.model.stream({ system: ANSWER_PROMPT, user, maxTokens: 1500, signal: ctx.signal }, (t) =>
      deltas.push(t),
    );
  } finally {
    await deltas.close();
  }
  ctx.recordUsage(out.model, out.usage);
  return {
    state: { answer: out.text },
    message: `Answer written (${out.text.length} characters).`,
    data: { answerChars: out.text.length, completionTokens: out.usage.completionTokens },
  };
};
