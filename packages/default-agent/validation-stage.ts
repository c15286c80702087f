import type { StageHandler, ToolInfo } from "../sdk/index.ts";
import type { PlanStep } from "./formats.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";

/** Most steps a plan may have. */
export const MAX_PLAN_STEPS = 8;
/** Most tool calls a plan may make. */
export const MAX_TOOL_STEPS = 5;
/** Most problems reported (and fed back to planning) for one plan. */
export const MAX_REPORTED_PROBLEMS = 10;
/** Longest problem line reported (characters): a model's plan can be arbitrarily wrong. */
const PROBLEM_CHARS = 300;
/** Most time the plan's tool calls may take in all, counted at each tool's time limit (ms). */
export const PLAN_BUDGET_MS = 30_000;

/** What is wrong with one tool step ([] when nothing); adds its time limit to `budget`. */
function checkToolStep(
  step: PlanStep,
  at: string,
  tools: readonly ToolInfo[],
  budget: { ms: number },
): string[] {
  const tool = tools.find((t) => t.name === step.tool);
  if (!tool)
    return [`${at} uses an unknown tool "${step.tool}" (available: ${tools.map((t) => t.name).join(", ")})`];
  budget.ms += tool.timeoutMs;
  let input: unknown;
  try {
    input = JSON.parse(step.input ?? "");
  } catch {
    return [`${at}: the input of ${tool.name} is not JSON`];
  }
  const problems = tool.check(input);
  return problems.length ? [`${at}: invalid input for ${tool.name} (${problems.join(", ")})`] : [];
}

/**
 * What is wrong with a plan ([] when it is valid). Deterministic, no model call: every tool
 * exists, every tool input is a JSON object that parses with that tool's schema, and the
 * step count, tool-call count and time budget are bounded.
 */
export function checkPlan(plan: readonly PlanStep[], tools: readonly ToolInfo[]): string[] {
  const problems: string[] = [];
  if (plan.length === 0) problems.push("the plan has no steps");
  if (plan.length > MAX_PLAN_STEPS)
    problems.push(`the plan has ${plan.length} steps (at most ${MAX_PLAN_STEPS})`);
  const toolSteps = plan.filter((s) => s.kind === "tool");
  if (toolSteps.length > MAX_TOOL_STEPS) {
    problems.push(`the plan makes ${toolSteps.length} tool calls (at most ${MAX_TOOL_STEPS})`);
  }
  const budget = { ms: 0 };
  plan.forEach((step, i) => {
    if (step.kind === "tool") problems.push(...checkToolStep(step, `step ${i + 1}`, tools, budget));
  });
  if (budget.ms > PLAN_BUDGET_MS)
    problems.push(`the tool calls may take ${budget.ms} ms (budget ${PLAN_BUDGET_MS} ms)`);
  return problems;
}

/**
 * validation: checks the plan deterministically. An invalid plan loops back to planning with
 * the problems (the definition's loop: at most twice, then the run fails with `plan_invalid`).
 */
export const validationStage: StageHandler<DefaultAgentOutputs, "validation"> = async (ctx) => {
  const plan = ctx.outputs.planning?.plan ?? [];
  const problems = checkPlan(plan, ctx.tools)
    .slice(0, MAX_REPORTED_PROBLEMS)
    .map((p) => p.slice(0, PROBLEM_CHARS));
  const valid = problems.length === 0;
  await ctx.progress(
    80,
    valid
      ? `The plan passed validation (${plan.length} steps).`
      : `The plan has ${problems.length} problem(s): ${problems.join("; ")}.`,
    { valid, problems },
  );
  ctx.summary(valid ? "Plan is valid." : "Plan rejected; sending it back to planning.", { valid, problems });
  if (!valid) ctx.loopBack();
  return { valid, problems };
};
