import type { StageImpl } from "../stage-context.ts";

/** Most steps a plan may have. */
export const MAX_PLAN_STEPS = 8;
/** Longest step, in characters. */
export const MAX_STEP_CHARS = 500;

/** What is wrong with a plan ([] when it is valid). Deterministic: no model call. */
export function checkPlan(plan: readonly string[]): string[] {
  const problems: string[] = [];
  if (plan.length === 0) problems.push("the plan has no steps");
  if (plan.length > MAX_PLAN_STEPS)
    problems.push(`the plan has ${plan.length} steps (at most ${MAX_PLAN_STEPS})`);
  plan.forEach((step, i) => {
    if (step.length > MAX_STEP_CHARS)
      problems.push(`step ${i + 1} is longer than ${MAX_STEP_CHARS} characters`);
  });
  return problems;
}

/**
 * validation: checks the plan deterministically. An invalid plan sets `planValid: false` and
 * counts a repair; the state machine's Choice sends it back to planning with the feedback.
 */
export const validationStage: StageImpl = async (ctx) => {
  const plan = ctx.state.plan ?? [];
  const problems = checkPlan(plan);
  const valid = problems.length === 0;
  await ctx.progress(
    valid
      ? `The plan passed validation (${plan.length} steps).`
      : `The plan has ${problems.length} problem(s): ${problems.join("; ")}.`,
    { valid, problems },
    0.8,
  );
  return {
    state: valid
      ? { planValid: true, feedback: [] }
      : { planValid: false, feedback: problems, repairs: (ctx.state.repairs ?? 0) + 1 },
    message: valid ? "Plan is valid." : "Plan rejected; sending it back to planning.",
    data: { valid, problems },
  };
};
