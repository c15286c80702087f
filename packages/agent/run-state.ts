import { z } from "zod";
import { UsageSchema } from "../events/index.ts";

/**
 * The state the state machine carries between stages (`$.state` in the ASL). It stays small:
 * Step Functions caps a state's payload at 256 KB (Step Functions quotas); memories, turns and
 * tool results are bounded where they are produced.
 */
export const RunStateSchema = z.object({
  question: z.string().optional(),
  /** The run's owner: memories and conversation turns are looked up and saved under it. */
  owner: z.string().optional(),
  projectId: z.string().optional(),
  conversationId: z.string().optional(),
  /** The run's named values (POST /runs `params`): what handlers read as `ctx.input.params`. */
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /**
   * The stage the last completed stage asked to go back to (its loop's `to`); absent after any
   * other completion. Written by the stage runner only; the `<Stage>Loop` Choice reads it.
   */
  goto: z.string().optional(),
  /**
   * How many times each looping stage asked to go back, by stage name (e.g. `{ validation: 1 }`
   * after one invalid plan). Counted by the stage runner; the `<Stage>Loop` Choice goes back
   * while the count is at most the loop's `max`.
   */
  loops: z.record(z.string(), z.number().int().nonnegative()).optional(),
  answer: z.string().optional(),
  /**
   * Outputs of stages written with the public API (packages/sdk), by stage name: what later
   * stages read as `ctx.outputs`. JSON, carried in the execution's state (256 KB in all).
   */
  outputs: z.record(z.string(), z.json()).optional(),
  models: z.array(z.string()).optional(),
  usageByStage: z.record(z.string(), UsageSchema).optional(),
  /** When the run started (ISO-8601), for run.completed `durationMs`. */
  startedAt: z.string().optional(),
});
/** The run state between stages. */
export type RunState = z.infer<typeof RunStateSchema>;
