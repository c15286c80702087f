import { parts, withMetrics } from "./aws.ts";

/**
 * Stage Lambda: the Task of every stage state. Input `{ runId, stage, state }`, output the new
 * state. A thrown error's `name` is what the state machine's Retry/Catch match on.
 */
export const handler = withMetrics((event: unknown) => parts.runStage(event));
