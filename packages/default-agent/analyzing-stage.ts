import type { StageHandler } from "../sdk/index.ts";
import { ANALYSIS_FORMAT_NAME, AnalysisSchema } from "./formats.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";
import type { DefaultAgentPrompts } from "./prompts.ts";
import { requestBlock } from "./request.ts";

/**
 * analyzing: the model classifies the request into {@link AnalysisSchema} (structured output,
 * zod-validated, one repair); planning and execution read it.
 */
export function analyzingStage(prompts: DefaultAgentPrompts): StageHandler<DefaultAgentOutputs, "analyzing"> {
  return async (ctx) => {
    await ctx.progress(10, "Asking the model to classify the request…");
    const analysis = await ctx.model.structured(
      AnalysisSchema,
      [
        { role: "system", content: prompts.analyze },
        { role: "user", content: requestBlock(ctx, false) },
      ],
      { name: ANALYSIS_FORMAT_NAME, maxTokens: 400 },
    );
    const summary = analysis.summary.slice(0, 300);
    const line = `${analysis.intent}: ${summary}${analysis.needsTools ? " (tools needed)" : ""}`;
    await ctx.progress(90, `Analysis — ${line}`, { analysis });
    ctx.summary("Request analyzed.", { analysis });
    return { analysis };
  };
}
