import { type Agent, type AgentDefinition, AgentDefinitionError, checkAgent } from "./agent-definition.ts";
import type { StageImpl } from "./stage-context.ts";
import { analyzingStage } from "./stages/analyzing-stage.ts";
import { contextStage } from "./stages/context-stage.ts";
import { executionStage } from "./stages/execution-stage.ts";
import { memoryStage } from "./stages/memory-stage.ts";
import { planningStage } from "./stages/planning-stage.ts";
import { validationStage } from "./stages/validation-stage.ts";

/**
 * The built-in agent, an ordinary definition: context → analyzing → planning → validation
 * (→ back to planning at most twice while the plan is invalid) → execution → memory.
 * - Weights are the stages' shares of the progress bar (percent): execution streams the
 *   answer and takes longest, so it owns the widest band.
 * - Timeouts (s): model-heavy stages get minutes; execution, which streams the whole answer,
 *   15 minutes.
 */
export const DEFAULT_AGENT_DEFINITION = {
  name: "default",
  stages: [
    { name: "context", weight: 8, timeoutSeconds: 60, run: contextStage },
    { name: "analyzing", weight: 12, timeoutSeconds: 180, run: analyzingStage },
    { name: "planning", weight: 15, timeoutSeconds: 180, run: planningStage },
    {
      name: "validation",
      weight: 7,
      timeoutSeconds: 60,
      run: validationStage,
      loop: {
        to: "planning",
        max: 2,
        exhausted: {
          code: "plan_invalid",
          message: "The agent could not produce a valid plan after two repairs.",
        },
      },
    },
    { name: "execution", weight: 50, timeoutSeconds: 900, run: executionStage },
    { name: "memory", weight: 8, timeoutSeconds: 180, run: memoryStage },
  ],
} as const satisfies AgentDefinition;

/** The built-in agent, checked. */
export const defaultAgent: Agent = checkAgent(DEFAULT_AGENT_DEFINITION);

/**
 * An agent with some stages' code replaced (fault tests, the benchmark): same names, order
 * and settings. @throws AgentDefinitionError when an override names no stage of the agent.
 */
export function withStageCode(agent: Agent, overrides: Readonly<Record<string, StageImpl>>): Agent {
  for (const name of Object.keys(overrides)) {
    if (!agent.stage(name)) throw new AgentDefinitionError(`agent ${agent.name} has no stage ${name}`);
  }
  return checkAgent({
    name: agent.name,
    tools: agent.tools,
    stages: agent.stages.map((stage) => ({ ...stage, run: overrides[stage.name] ?? stage.run })),
  });
}
