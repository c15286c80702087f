import type { StageHandlerContext } from "../sdk/index.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";

/**
 * The user message every model stage starts from: `Request: <question>` first (the offline
 * model and humans both look for it), then what context loaded, then the analysis once there
 * is one (`withAnalysis`).
 */
export function requestBlock(ctx: StageHandlerContext<DefaultAgentOutputs>, withAnalysis = true): string {
  const lines = [`Request: ${ctx.input.question}`];
  const { memories = [], turns = [] } = ctx.outputs.context ?? {};
  if (memories.length)
    lines.push("", "What earlier runs of this project remembered:", ...memories.map((m) => `- ${m}`));
  if (turns.length) {
    lines.push(
      "",
      "Earlier turns of this conversation:",
      ...turns.map((t) => `- Q: ${t.question}\n  A: ${t.answer}`),
    );
  }
  const analysis = ctx.outputs.analyzing?.analysis;
  if (withAnalysis && analysis) lines.push("", `Analysis: ${JSON.stringify(analysis)}`);
  return lines.join("\n");
}
