/**
 * packages/sdk: Stagecast's public API for agents, imported by the package's name
 * (`import { defineAgent, defineTool } from "stagecast"`, package.json `exports`). See
 * docs/agents.md. Nothing inside Stagecast imports it: agent modules do.
 */
export {
  type AgentDefinition,
  AgentDefinitionError,
  defineTool,
  type Tool,
  type ToolOutcome,
} from "../agent/index.ts";
export { type AgentSpec, defineAgent, type StageSpec } from "./define-agent.ts";
export type {
  Json,
  RunInput,
  StageHandler,
  StageHandlerContext,
  StageModel,
} from "./handler-context.ts";
