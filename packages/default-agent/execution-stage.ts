import type { StageHandler, StageHandlerContext, ToolOutcome } from "../sdk/index.ts";
import { STEP_RESULTS_HEADER } from "./formats.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";
import type { DefaultAgentPrompts } from "./prompts.ts";
import { requestBlock } from "./request.ts";
import { MAX_TOOL_STEPS } from "./validation-stage.ts";

/** Model calls while writing the answer (the last offers no tools, so the model must answer). */
export const MAX_TOOL_ROUNDS = 3;

/** How a tool outcome reads in the prompt: `→ <result JSON>` or `→ error: <message>`. */
const outcomeText = (o: ToolOutcome) =>
  o.ok ? `→ ${JSON.stringify(o.result)}` : `→ error: ${o.error.message}`;

/** Run the plan's tool steps in order; each becomes one `- tool(input) → …` line. */
async function runToolSteps(ctx: StageHandlerContext<DefaultAgentOutputs>): Promise<string[]> {
  const steps = (ctx.outputs.planning?.plan ?? []).filter((s) => s.kind === "tool");
  const lines: string[] = [];
  for (const step of steps) {
    const name = step.tool ?? "";
    const input = JSON.parse(step.input ?? "{}"); // validation parsed it already
    lines.push(`- ${name}(${step.input ?? ""}) ${outcomeText(await ctx.tool(name, input))}`);
  }
  return lines;
}

/**
 * execution: runs the plan's tool steps (tool.started / tool.completed; a failing tool's
 * error goes to the model, the run goes on), then the model writes the answer from the step
 * results, streamed as llm.delta. While writing, the model may call tools itself (at most
 * {@link MAX_TOOL_ROUNDS} model calls and MAX_TOOL_STEPS tool calls).
 */
export function executionStage(prompts: DefaultAgentPrompts): StageHandler<DefaultAgentOutputs, "execution"> {
  return async (ctx) => {
    const plan = ctx.outputs.planning?.plan ?? [];
    await ctx.progress(2, `Following ${plan.length} steps…`, { steps: plan.length });
    const results = await runToolSteps(ctx);
    const modelSteps = plan.filter((s) => s.kind === "model").map((s) => `- ${s.description}`);
    const user = [
      requestBlock(ctx),
      modelSteps.length ? `\nSteps:\n${modelSteps.join("\n")}` : "",
      results.length ? `\n${STEP_RESULTS_HEADER}\n${results.join("\n")}` : "",
    ].join("");
    await ctx.progress(45, "Writing the answer…");
    const answer = await ctx.model.stream(
      [
        { role: "system", content: prompts.answer },
        { role: "user", content: user },
      ],
      { maxTokens: 1500, tools: true, maxToolRounds: MAX_TOOL_ROUNDS, maxToolCalls: MAX_TOOL_STEPS },
    );
    ctx.summary(`Answer written (${answer.length} characters).`, {
      answerChars: answer.length,
      toolSteps: results.length,
    });
    return { answer, toolSteps: results.length };
  };
}
