/**
 * The built-in agent's instructions to its model, one per model stage. Every one can be
 * replaced (`createDefaultAgent({ prompts: { answer: "…" } })`); the user message each stage
 * sends (the request, what context loaded, the analysis, the step results) stays the same, so
 * a replaced prompt changes how the model answers, not what it is told about the run.
 */
export interface DefaultAgentPrompts {
  /** analyzing: how to classify the request into the analysis (structured output). */
  analyze: string;
  /**
   * planning: the instruction heading the plan request. The plan's bounds (steps, the step
   * format) and the tool list with input schemas are appended to it, so the plan stays checkable.
   */
  plan: string;
  /** execution: how to write the answer from the step results (it may call tools too). */
  answer: string;
  /** memory: how to summarise the exchange into the one sentence the project keeps. */
  summarize: string;
}

/** The built-in agent's prompts. */
export const DEFAULT_PROMPTS: Readonly<DefaultAgentPrompts> = {
  analyze:
    "Classify the user's request: its intent, a one-line summary, the entities it mentions, whether tools (calculator, memory search, current time, HTTP) are needed, and the form the answer should take.",
  plan: "Write a plan for answering the user's request.",
  answer:
    "Answer the user's request using the step results. If a step failed, say so and answer as well as you can. Be concise. You may call a tool if a result you need is missing.",
  summarize: "Summarize this exchange in one sentence that will help future runs.",
};
