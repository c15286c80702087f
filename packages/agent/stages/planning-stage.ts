import type { StageImpl } from "../stage-context.ts";
import { AVAILABLE_TOOLS_PREFIX, PLAN_FORMAT_NAME, PlanSchema, type PlanStep } from "../structured.ts";
import { inputJsonSchema, type ToolRegistry } from "../tools/index.ts";
import { requestBlock } from "./prompt.ts";
import { structuredCall } from "./structured-call.ts";
import { MAX_PLAN_STEPS } from "./validation-stage.ts";

/** The planning instruction, listing the tools with their input schemas. */
export function planPrompt(tools: ToolRegistry): string {
  const list = tools.list();
  return [
    `Write a plan for answering the user's request: at most ${MAX_PLAN_STEPS} ordered steps.`,
    'A step is either {"kind":"tool","tool":<name>,"input":<the tool input as a JSON object string>} or',
    '{"kind":"model","tool":null,"input":null}; every step has a "description". End with a model step that writes the answer.',
    `${AVAILABLE_TOOLS_PREFIX}${list.map((t) => t.name).join(", ")}`,
    ...list.map((t) => `- ${t.name}: ${t.description} Input schema: ${JSON.stringify(inputJsonSchema(t))}`),
  ].join("\n");
}

/** One line per step, for humans: `1. calculator {"expression":"…"} — why`. */
export function describePlan(steps: readonly PlanStep[]): string[] {
  return steps.map(
    (s, i) => `${i + 1}. ${s.kind === "tool" ? `${s.tool} ${s.input ?? ""}` : "model"} — ${s.description}`,
  );
}

/** planning: the model writes an ordered plan of tool and model steps ({@link PlanSchema}); validation checks it next. */
export const planningStage: StageImpl = async (ctx) => {
  const feedback = ctx.state.feedback ?? [];
  // Validation's loop count: how many plans it has sent back so far.
  const repairing = (ctx.state.loops?.validation ?? 0) > 0;
  await ctx.progress(repairing ? "Repairing the plan…" : "Asking the model for a plan…", {}, 0.1);
  const user = [
    requestBlock(ctx.state),
    feedback.length ? `\nThe previous plan was rejected: ${feedback.join("; ")}` : "",
  ].join("");
  const { value } = await structuredCall(ctx, PlanSchema, PLAN_FORMAT_NAME, planPrompt(ctx.tools), user, 800);
  const plan = value.steps;
  const tools = plan.filter((s) => s.kind === "tool").length;
  await ctx.progress(
    `Plan: ${plan.length} step${plan.length === 1 ? "" : "s"}, ${tools} tool call${tools === 1 ? "" : "s"}.`,
    { plan, steps: describePlan(plan) },
    0.9,
  );
  return { state: { plan }, message: `Planned ${plan.length} steps.`, data: { plan } };
};
