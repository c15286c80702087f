import { z } from "zod";
import { UsageSchema } from "../events/index.ts";

/**
 * The state the state machine carries between stages (`$.state` in the ASL). It stays small:
 * Step Functions caps a state's payload at 256 KB (Step Functions quotas), so only the
 * question, the analysis, the plan and the answer travel here.
 */
export const RunStateSchema = z.object({
  question: z.string().optional(),
  projectId: z.string().optional(),
  memories: z.array(z.string()).optional(),
  analysis: z.string().optional(),
  plan: z.array(z.string()).optional(),
  planValid: z.boolean().optional(),
  /** How many times validation sent the plan back to planning. */
  repairs: z.number().int().nonnegative().optional(),
  /** What validation found wrong with the last plan. */
  feedback: z.array(z.string()).optional(),
  answer: z.string().optional(),
  models: z.array(z.string()).optional(),
  usageByStage: z.record(z.string(), UsageSchema).optional(),
  /** When the run started (ISO-8601), for run.completed `durationMs`. */
  startedAt: z.string().optional(),
});
/** The run state between stages. */
export type RunState = z.infer<typeof RunStateSchema>;
