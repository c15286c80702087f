import { clip, MAX_MESSAGE_CHARS } from "../../events/index.ts";
import type { StageImpl } from "../stage-context.ts";
import type { PlanStep } from "../structured.ts";
import type { ToolRegistry } from "../tools/index.ts";

/** Most steps a plan may have. */
export const MAX_PLAN_STEPS = 8;
/** Most tool calls a plan may make. */
export const MAX_TOOL_STEPS = 5;
/** Most problems reported (and fed back to planning) for one plan. */
export const MAX_REPORTED_PROBLEMS = 10;
/** Most time the plan's tool calls may take in all, counted at each tool's time limit (ms). */
export const PLAN_BUDGET_MS = 30_000;

/**
 * What is wrong with a plan ([] when it is valid). Deterministic, no model call: every tool
 * exists, every tool input is a JSON object that parses with that tool's zod schema, and the
 * step count, tool-call count and time budget are bounded.
 */
export function checkPlan(plan: readonly PlanStep[], tools: ToolRegistry): string[] {
  const problems: string[] = [];
  if (plan.length === 0) problems.push("the plan has no steps");
  if (plan.length > MAX_PLAN_STEPS)
    problems.push(`the plan has ${plan.length} steps (at most ${MAX_PLAN_STEPS})`);
  const toolSteps = plan.filter((s) => s.kind === "tool");
  if (toolSteps.length > MAX_TOOL_STEPS) {
    problems.push(`the plan makes ${toolSteps.length} tool calls (at most ${MAX_TOOL_STEPS})`);
  }
  let budget = 0;
  plan.forEach((step, i) => {
    const at = `step ${i + 1}`;
    if (step.kind === "model") return;
    const tool = step.tool ? tools.get(step.tool) : undefined;
    if (!tool) {
      problems.push(
        `${at} uses an unknown tool "${step.tool}" (available: ${tools
          .list()
          .map((t) => t.name)
          .join(", ")})`,
      );
      return;
    }
    budget += tool.timeoutMs;
    let input: unknown;
    try {
      input = JSON.parse(step.input ?? "");
    } catch {
      problems.push(`${at}: the input of ${tool.name} is not JSON`);
      return;
    }
    const parsed = tool.input.safeParse(input);
    if (!parsed.success) {
      const why = parsed.error.issues
        .map((issue) => `${issue.path.join(".") || "input"} ${issue.message}`)
        .join(", ");
      problems.push(`${at}: invalid input for ${tool.name} (${why})`);
    }
  });
  if (budget > PLAN_BUDGET_MS)
    problems.push(`the tool calls may take ${budget} ms (budget ${PLAN_BUDGET_MS} ms)`);
  return problems;
}

/**
 * validation: checks the plan deterministically. An invalid plan asks to go back to planning
 * (`goto: "planning"`, the built-in agent's loop) with the problems as feedback; the runner
 * counts it and the state machine goes back at most `loop.max` (2) times, then fails the run
 * with the loop's `plan_invalid`.
 */
export const validationStage: StageImpl = async (ctx) => {
  const plan = ctx.state.plan ?? [];
  // A model's plan can be arbitrarily wrong: keep at most MAX_REPORTED_PROBLEMS, each clipped.
  const problems = checkPlan(plan, ctx.tools)
    .slice(0, MAX_REPORTED_PROBLEMS)
    .map((p) => clip(p, 300));
  const valid = problems.length === 0;
  await ctx.progress(
    valid
      ? `The plan passed validation (${plan.length} steps).`
      : clip(`The plan has ${problems.length} problem(s): ${problems.join("; ")}.`, MAX_MESSAGE_CHARS),
    { valid, problems },
    0.8,
  );
  return {
    state: { feedback: valid ? [] : problems },
    message: valid ? "Plan is valid." : "Plan rejected; sending it back to planning.",
    data: { valid, problems },
    ...(valid ? {} : { goto: "planning" }),
  };
};
