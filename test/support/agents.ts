import { defaultAgent } from "../../packages/agent/index.ts";

/** The built-in agent's stage names, in run order (what a default run's timeline shows). */
export const DEFAULT_STAGES: readonly string[] = defaultAgent.stages.map((stage) => stage.name);
