/**
 * packages/sdk: Stagecast's public API for agents, imported by the package's name
 * (`import { defineAgent, defineTool } from "stagecast"`, package.json `exports`). See
 * docs/agents.md. Nothing inside Stagecast imports it: agent modules (and the built-in agent,
 * packages/default-agent) do.
 */
export {
  type AgentDefinition,
  AgentDefinitionError,
  defineTool,
  StageFailedError,
  type Tool,
  ToolDefinitionError,
  type ToolOutcome,
} from "../agent/index.ts";
export { type AgentSpec, defineAgent, type StageSpec, type StageSpecOf } from "./define-agent.ts";
export type {
  StageHandler,
  StageHandlerContext,
  StageOutput,
  StageOutputs,
} from "./handler-context.ts";
export type { Json } from "./json.ts";
export type { RunInput } from "./run-input.ts";
export type { ConversationHistory, ConversationTurn, ProjectMemory } from "./run-memory.ts";
export type { StageModel, StreamOptions, StructuredOptions } from "./stage-model.ts";
export type { ToolInfo } from "./stage-tools.ts";
