import type { StageImpl } from "../stage-context.ts";
import { requireQuestion } from "./prompt.ts";

/** Instruction for the planning call. */
export const PLAN_PROMPT =
  "Write a plan for answering the user's request: numbered steps, one per line, at most 5 steps.";

/** planning: the model writes an ordered list of steps; validation checks it next. */
export const planningStage: StageImpl = async (ctx) => {
  const question = requireQuestion(ctx.state);
  const feedback = ctx.state.feedback ?? [];
  const repairing = (ctx.state.repairs ?? 0) > 0;
  await ctx.progress(repairing ? "Repairing the plan…" : "Asking the model for a plan…", {}, 0.1);
  const user = [
    `Request: ${question}`,
    ctx.state.analysis ? `Analysis: ${ctx.state.analysis}` : "",
    feedback.length ? `The previous plan was rejected: ${feedback.join("; ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  const out = await ctx.model.complete({ system: PLAN_PROMPT, user, maxTokens: 300, signal: ctx.signal });
  ctx.recordUsage(out.model, out.usage);
  const plan = parsePlan(out.text);
  await ctx.progress(`Plan: ${plan.length} step${plan.length === 1 ? "" : "s"}.`, { plan }, 0.9);
  return { state: { plan }, message: `Planned ${plan.length} steps.`, data: { plan } };
};

/** Steps from a numbered or bulleted list: one per non-empty line, list markers removed. */
export function parsePlan(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/^\s*(?:\d+[.)]|[-*•])\s*/, "").trim())
    .filter((line) => line.length > 0);
}
