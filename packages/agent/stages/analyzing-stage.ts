import { clip } from "../../events/index.ts";
import type { StageImpl } from "../stage-context.ts";
import { ANALYSIS_FORMAT_NAME, AnalysisSchema } from "../structured.ts";
import { requestBlock } from "./prompt.ts";
import { structuredCall } from "./structured-call.ts";

/** Instruction for the analyzing call. */
export const ANALYZE_PROMPT =
  "Classify the user's request: its intent, a one-line summary, the entities it mentions, whether tools (calculator, memory search, current time, HTTP) are needed, and the form the answer should take.";

/**
 * analyzing: the model classifies the request into {@link AnalysisSchema} (structured output,
 * zod-validated); the result is kept in the run state for planning and execution.
 */
export const analyzingStage: StageImpl = async (ctx) => {
  await ctx.progress("Asking the model to classify the request…", {}, 0.1);
  const { value: analysis } = await structuredCall(
    ctx,
    AnalysisSchema,
    ANALYSIS_FORMAT_NAME,
    ANALYZE_PROMPT,
    requestBlock({ ...ctx.state, analysis: undefined }),
    400,
  );
  const line = `${analysis.intent}: ${clip(analysis.summary, 300)}${analysis.needsTools ? " (tools needed)" : ""}`;
  await ctx.progress(`Analysis — ${line}`, { analysis }, 0.9);
  return { state: { analysis }, message: "Request analyzed.", data: { analysis } };
};
