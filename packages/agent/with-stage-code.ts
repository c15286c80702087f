import { type Agent, AgentDefinitionError, checkAgent } from "./agent-definition.ts";
import type { StageImpl } from "./stage-context.ts";

/**
 * An agent with some stages' code replaced (fault tests, the benchmark): same names, order
 * and settings.
 * @throws AgentDefinitionError when an override names no stage of the agent.
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
