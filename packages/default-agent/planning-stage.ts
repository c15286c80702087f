import type { StageHandler, ToolInfo } from "../sdk/index.ts";
import { AVAILABLE_TOOLS_PREFIX, PLAN_FORMAT_NAME, PlanSchema, type PlanStep } from "./formats.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";
import type { DefaultAgentPrompts } from "./prompts.ts";
import { requestBlock } from "./request.ts";
import { MAX_PLAN_STEPS } from "./validation-stage.ts";

/**
 * The planning instruction: the agent's `plan` prompt, then the plan's bounds and step format,
 * then the tools with their input schemas (the `Available tools:` line the offline model reads).
 */
export function planPrompt(instruction: string, tools: readonly ToolInfo[]): string {
  return [
    `${instruction} Use at most ${MAX_PLAN_STEPS} ordered steps.`,
    'A step is either {"kind":"tool","tool":<name>,"input":<the tool input as a JSON object string>} or',
    '{"kind":"model","tool":null,"input":null}; every step has a "description". End with a model step that writes the answer.',
    `${AVAILABLE_TOOLS_PREFIX}${tools.map((t) => t.name).join(", ")}`,
    ...tools.map((t) => `- ${t.name}: ${t.description} Input schema: ${JSON.stringify(t.inputSchema)}`),
  ].join("\n");
}

/** One line per step, for humans: `1. calculator {"expression":"…"} — why`. */
export function describePlan(steps: readonly PlanStep[]): string[] {
  return steps.map(
    (s, i) => `${i + 1}. ${s.kind === "tool" ? `${s.tool} ${s.input ?? ""}` : "model"} — ${s.description}`,
  );
}

/**
 * planning: the model writes an ordered plan of tool and model steps ({@link PlanSchema});
 * validation checks it next. After validation sent a plan back, its problems go into the
 * request so the model repairs them.
 */
export function planningStage(prompts: DefaultAgentPrompts): StageHandler<DefaultAgentOutputs, "planning"> {
  return async (ctx) => {
    const rejected = ctx.outputs.validation?.valid === false ? ctx.outputs.validation.problems : [];
    await ctx.progress(10, rejected.length ? "Repairing the plan…" : "Asking the model for a plan…");
    const user = [
      requestBlock(ctx),
      rejected.length ? `\nThe previous plan was rejected: ${rejected.join("; ")}` : "",
    ].join("");
    const { steps: plan } = await ctx.model.structured(
      PlanSchema,
      [
        { role: "system", content: planPrompt(prompts.plan, ctx.tools) },
        { role: "user", content: user },
      ],
      { name: PLAN_FORMAT_NAME, maxTokens: 800 },
    );
    const tools = plan.filter((s) => s.kind === "tool").length;
    await ctx.progress(
      90,
      `Plan: ${plan.length} step${plan.length === 1 ? "" : "s"}, ${tools} tool call${tools === 1 ? "" : "s"}.`,
      { plan, steps: describePlan(plan) },
    );
    ctx.summary(`Planned ${plan.length} steps.`, { plan });
    return { plan };
  };
}
