import { z } from "zod";

/**
 * What the analyzing stage asks the model for, as a structured output (json_schema
 * response_format named {@link ANALYSIS_FORMAT_NAME}). Flat, every field required and no free-form
 * objects, so it is valid for OpenAI's strict structured outputs.
 */
export const AnalysisSchema = z.object({
  /** What kind of request this is. */
  intent: z.enum(["question", "calculation", "recall", "lookup", "task", "chat"]),
  /** One line a user can read: what the request asks. */
  summary: z.string(),
  /** Names, numbers and terms the answer must deal with. */
  entities: z.array(z.string()),
  /** Whether tools (calculator, memory search, time, HTTP) are likely needed. */
  needsTools: z.boolean(),
  /** The form the answer should take. */
  answerForm: z.enum(["short", "explanation", "list", "number"]),
});
/** The analyzing stage's structured result. */
export type Analysis = z.infer<typeof AnalysisSchema>;

/** The response_format name of the analysis (the offline model recognises it). */
export const ANALYSIS_FORMAT_NAME = "analysis";

/**
 * One step of a plan. `kind: "tool"` runs tool `tool` with `input`, a JSON object encoded as
 * a string (strict structured outputs cannot carry free-form objects; validation parses it with
 * the tool's zod schema). `kind: "model"` is work the model does when writing the answer;
 * `tool` and `input` are null then. `description` says what the step is for.
 */
export const PlanStepSchema = z.object({
  kind: z.enum(["tool", "model"]),
  tool: z.string().nullable(),
  input: z.string().nullable(),
  description: z.string(),
});
/** One plan step. */
export type PlanStep = z.infer<typeof PlanStepSchema>;

/** What the planning stage asks the model for (json_schema response_format named {@link PLAN_FORMAT_NAME}). */
export const PlanSchema = z.object({ steps: z.array(PlanStepSchema) });
/** A plan. */
export type Plan = z.infer<typeof PlanSchema>;

/** The response_format name of the plan (the offline model recognises it). */
export const PLAN_FORMAT_NAME = "plan";

/**
 * The line of the planning system prompt that lists the tools the plan may use:
 * `Available tools: calculator, current_time, memory_search`. The offline model reads it.
 */
export const AVAILABLE_TOOLS_PREFIX = "Available tools: ";

/**
 * The header of the execution prompt's section holding tool results, one line per step:
 * `- calculator({"expression":"17/100*2340"}) → 397.8` or `- name(input) → error: message`.
 */
export const STEP_RESULTS_HEADER = "Step results:";
