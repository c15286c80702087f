import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { StageContext, StageImpl } from "../stage-context.ts";
import { STEP_RESULTS_HEADER } from "../structured.ts";
import type { ToolOutcome } from "../tools/index.ts";
import { requestBlock } from "./prompt.ts";
import { MAX_TOOL_STEPS } from "./validation-stage.ts";

/** Instruction for the answer-writing call. */
export const ANSWER_PROMPT =
  "Answer the user's request using the step results. If a step failed, say so and answer as well as you can. Be concise. You may call a tool if a result you need is missing.";

/** Rounds of model tool calls allowed while writing the answer (the last round offers no tools). */
export const MAX_TOOL_ROUNDS = 3;

/** Expected answer length (characters), used only to move the progress bar while text streams. */
const EXPECTED_ANSWER_CHARS = 1200;

/** How a tool outcome reads in the prompt: `→ <result JSON>` or `→ error: <message>`. */
const outcomeText = (o: ToolOutcome) =>
  o.ok ? `→ ${JSON.stringify(o.result)}` : `→ error: ${o.error.message}`;

/** Run the plan's tool steps in order; each becomes one `- tool(input) → …` line. */
async function runToolSteps(ctx: StageContext): Promise<string[]> {
  const steps = (ctx.state.plan ?? []).filter((s) => s.kind === "tool");
  const lines: string[] = [];
  for (const [i, step] of steps.entries()) {
    const name = step.tool ?? "";
    const input = JSON.parse(step.input ?? "{}") as unknown; // validation parsed it already
    const outcome = await ctx.callTool(name, input, 0.05 + (0.35 * i) / Math.max(1, steps.length));
    lines.push(`- ${name}(${step.input ?? ""}) ${outcomeText(outcome)}`);
  }
  return lines;
}

/**
 * execution: runs the plan's tool steps (tool.started / tool.completed; a failing tool's
 * error goes to the model, the run goes on), then the model writes the answer from the step
 * results, streamed as llm.delta. While writing, the model may call tools itself (at most
 * {@link MAX_TOOL_ROUNDS} rounds and MAX_TOOL_STEPS calls). If the endpoint cannot stream, the answer is replayed in
 * chunks and its llm.delta events say `simulated: true`.
 */
export const executionStage: StageImpl = async (ctx) => {
  const plan = ctx.state.plan ?? [];
  await ctx.progress(`Following ${plan.length} steps…`, { steps: plan.length }, 0.02);
  const results = await runToolSteps(ctx);
  const modelSteps = plan.filter((s) => s.kind === "model").map((s) => `- ${s.description}`);
  const user = [
    requestBlock(ctx.state),
    modelSteps.length ? `\nSteps:\n${modelSteps.join("\n")}` : "",
    results.length ? `\n${STEP_RESULTS_HEADER}\n${results.join("\n")}` : "",
  ].join("");
  const messages: ChatCompletionMessageParam[] = [
    { role: "system", content: ANSWER_PROMPT },
    { role: "user", content: user },
  ];

  let simulated = false;
  const deltas = ctx.deltas((chars) => 0.45 + 0.5 * (1 - Math.exp(-chars / EXPECTED_ANSWER_CHARS)), {
    simulated: () => simulated,
  });
  let answer = "";
  let modelCalls = 0;
  try {
    for (let round = 1; ; round++) {
      const tools = round < MAX_TOOL_ROUNDS ? ctx.tools.toOpenAiTools() : [];
      const out = await ctx.model.stream(
        { messages, maxTokens: 1500, signal: ctx.signal, tools },
        (text, sim) => {
          if (sim) simulated = true;
          deltas.push(text);
        },
      );
      ctx.recordUsage(out.model, out.usage);
      answer += out.text;
      if (out.simulated) {
        await ctx.progress(
          "The model endpoint cannot stream; its answer is shown in chunks.",
          { streaming: false },
          0.5,
        );
      }
      // No tools were offered in the last round; an endpoint that calls one anyway is ignored.
      if (out.toolCalls.length === 0 || round >= MAX_TOOL_ROUNDS) break;
      messages.push({ role: "assistant", content: out.text || null, tool_calls: out.toolCalls });
      for (const call of out.toolCalls) {
        if (call.type !== "function") continue;
        let args: unknown;
        try {
          args = JSON.parse(call.function.arguments || "{}");
        } catch {
          args = call.function.arguments;
        }
        // The model's own calls count against the same bound as the plan's tool steps.
        const outcome: ToolOutcome =
          ++modelCalls > MAX_TOOL_STEPS
            ? {
                ok: false,
                error: {
                  code: "tool_budget",
                  message: `At most ${MAX_TOOL_STEPS} tool calls while answering.`,
                },
                durationMs: 0,
              }
            : await ctx.callTool(call.function.name, args, 0.45, call.id);
        messages.push({
          role: "tool",
          tool_call_id: call.id,
          content: JSON.stringify(outcome.ok ? outcome.result : outcome),
        });
      }
    }
  } finally {
    await deltas.close();
  }
  return {
    state: { answer },
    message: `Answer written (${answer.length} characters).`,
    data: { answerChars: answer.length, toolSteps: results.length, simulatedStreaming: simulated },
  };
};
