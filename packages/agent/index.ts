/**
 * packages/agent: the stage runner, the model client and the tools (the built-in agent's
 * stages are packages/default-agent, written on the public API). Other packages
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
export { StageFailedError, TransientStageError } from "./errors.ts";
export { finalizeRun } from "./finalize.ts";
export { chat, ModelClient, ModelOutputError } from "./model-client.ts";
export type { StageContext, StageImpl, StageOutcome } from "./stage-context.ts";
export { runStage } from "./stage-runner.ts";
export {
  bundledAgentModule,
  createDefaultTools,
  defineTool,
  inputJsonSchema,
  setAgentModule,
  type Tool,
  type ToolContext,
  ToolDefinitionError,
  type ToolOutcome,
} from "./tools/index.ts";
export { withStageCode } from "./with-stage-code.ts";
