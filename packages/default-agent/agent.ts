import { type AgentDefinition, defineAgent, type Tool } from "../sdk/index.ts";
import { analyzingStage } from "./analyzing-stage.ts";
import { contextStage } from "./context-stage.ts";
import { executionStage } from "./execution-stage.ts";
import { memoryStage } from "./memory-stage.ts";
import type { DefaultAgentOutputs, DefaultStageName } from "./outputs.ts";
import { planningStage } from "./planning-stage.ts";
import { DEFAULT_PROMPTS, type DefaultAgentPrompts } from "./prompts.ts";
import { validationStage } from "./validation-stage.ts";

/** The built-in agent's name: its stage statistics and STAGE_MODELS entry are keyed by it. */
export const DEFAULT_AGENT_NAME = "default";

/**
 * What can be changed about the built-in agent without forking it.
 * - `name`: the agent's name (default `default`); give a changed agent its own name so its
 *   time-left statistics do not mix with the original's.
 * - `prompts`: any of its instructions (see {@link DefaultAgentPrompts}).
 * - `models`: a model name per stage (STAGE_MODELS and, for the agent named `default`,
 *   OPENAI_MODEL_<STAGE> still override it at deploy time).
 * - `tools`: tools of your own, planned and called like the built-in ones.
 */
export interface DefaultAgentOptions {
  name?: string;
  prompts?: Partial<DefaultAgentPrompts>;
  models?: Partial<Record<DefaultStageName, string>>;
  tools?: readonly Tool[];
}

/**
 * The built-in agent, written with the public API only (`stagecast`): context → analyzing →
 * planning → validation (→ back to planning at most twice while the plan is invalid) →
 * execution → memory.
 * - Weights are the stages' shares of the progress bar (percent): execution streams the
 *   answer and takes longest, so it owns the widest band.
 * - Timeouts (s): model stages get minutes; execution, which streams the whole answer, 15.
 * @throws AgentDefinitionError for an invalid `name` or tool (see defineAgent).
 */
export function createDefaultAgent(options: DefaultAgentOptions = {}): AgentDefinition {
  const prompts: DefaultAgentPrompts = { ...DEFAULT_PROMPTS, ...options.prompts };
  const model = (stage: DefaultStageName) => {
    const name = options.models?.[stage];
    return name ? { model: name } : {};
  };
  return defineAgent<DefaultAgentOutputs>({
    name: options.name ?? DEFAULT_AGENT_NAME,
    ...(options.tools ? { tools: options.tools } : {}),
    stages: [
      { name: "context", weight: 8, timeoutSeconds: 60, ...model("context"), run: contextStage },
      {
        name: "analyzing",
        weight: 12,
        timeoutSeconds: 180,
        ...model("analyzing"),
        run: analyzingStage(prompts),
      },
      {
        name: "planning",
        weight: 15,
        timeoutSeconds: 180,
        ...model("planning"),
        run: planningStage(prompts),
      },
      {
        name: "validation",
        weight: 7,
        timeoutSeconds: 60,
        ...model("validation"),
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
      {
        name: "execution",
        weight: 50,
        timeoutSeconds: 900,
        ...model("execution"),
        run: executionStage(prompts),
      },
      { name: "memory", weight: 8, timeoutSeconds: 180, ...model("memory"), run: memoryStage(prompts) },
    ],
  });
}

/** The built-in agent as it ships: what runs when no agent module is named. */
export const defaultAgent: AgentDefinition = createDefaultAgent();
