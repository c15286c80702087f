import type { ConversationTurn } from "../sdk/index.ts";
import type { Analysis, PlanStep } from "./formats.ts";

/**
 * What each stage of the built-in agent returns, by stage name: the `O` of its
 * `defineAgent<O>`, so every stage reads the earlier ones' outputs typed. All of it travels in
 * the execution's state, so each part is bounded where it is made (memories 2,000 characters,
 * 5 turns of at most 1,000-character answers, plans of at most 8 steps).
 */
export type DefaultAgentOutputs = {
  context: { memories: string[]; turns: ConversationTurn[] };
  analyzing: { analysis: Analysis };
  planning: { plan: PlanStep[] };
  validation: { valid: boolean; problems: string[] };
  execution: { answer: string; toolSteps: number };
  memory: { summary: string; saved: boolean; turnSaved: boolean };
};

/** The built-in agent's stage names, in run order. */
export type DefaultStageName = keyof DefaultAgentOutputs;
