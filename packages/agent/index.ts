/**
 * packages/agent: the stage runner, the stages, the model client and the tools. Other packages
 * import from here only; this list is what they use.
 */

export {
  type Agent,
  type AgentDefinition,
  AgentDefinitionError,
  checkAgent,
  type StageDefinition,
  type StageLoop,
  type StageSettings,
} from "./agent-definition.ts";
export type { AgentDeps } from "./agent-deps.ts";
export { DEFAULT_AGENT_DEFINITION, defaultAgent, withStageCode } from "./default-agent.ts";
export { StageFailedError, TransientStageError } from "./errors.ts";
export { finalizeRun } from "./finalize.ts";
export { chat, ModelClient, ModelOutputError } from "./model-client.ts";
export type { StageContext, StageImpl, StageOutcome } from "./stage-context.ts";
export { runStage } from "./stage-runner.ts";
export { STAGE_IMPLS } from "./stages/index.ts";
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
} from "./structured.ts";
export {
  createDefaultTools,
  defineTool,
  type Tool,
  type ToolContext,
  type ToolOutcome,
} from "./tools/index.ts";
