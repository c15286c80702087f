import { type Agent, checkAgent } from "../../packages/agent/index.ts";
import { defaultAgent } from "../../packages/default-agent/index.ts";

/** The built-in agent, checked (settings defaulted, `stage(name)`), as the runtime holds it. */
export const DEFAULT_AGENT: Agent = checkAgent(defaultAgent);

/** The built-in agent's stage names, in run order (what a default run's timeline shows). */
export const DEFAULT_STAGES: readonly string[] = DEFAULT_AGENT.stages.map((stage) => stage.name);
