/**
 * packages/default-agent: the built-in six-stage agent, written with the public API only
 * (it imports nothing of Stagecast but packages/sdk's index, which `stagecast` resolves to;
 * .dependency-cruiser.cjs enforces it). Also importable as `stagecast/default-agent`, to run it
 * with other prompts, models or tools. Its response formats are read by the offline model.
 */
export { createDefaultAgent, DEFAULT_AGENT_NAME, type DefaultAgentOptions, defaultAgent } from "./agent.ts";
export {
  ANALYSIS_FORMAT_NAME,
  type Analysis,
  AnalysisSchema,
  AVAILABLE_TOOLS_PREFIX,
  PLAN_FORMAT_NAME,
  type Plan,
  PlanSchema,
  type PlanStep,
  STEP_RESULTS_HEADER,
} from "./formats.ts";
export type { DefaultAgentOutputs, DefaultStageName } from "./outputs.ts";
export { DEFAULT_PROMPTS, type DefaultAgentPrompts } from "./prompts.ts";
export { checkPlan, MAX_PLAN_STEPS, MAX_TOOL_STEPS, PLAN_BUDGET_MS } from "./validation-stage.ts";
