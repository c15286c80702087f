import { z } from "zod";
import { RunIdSchema } from "../packages/events/index.ts";
import { outcomeOfStatus } from "../packages/workflow/index.ts";
import { log, parts, withMetrics } from "./aws.ts";

/**
 * The EventBridge "Step Functions Execution Status Change" event (Step Functions developer
 * guide, "EventBridge events"): the execution name is the run id.
 */
const ExecutionStatusChange = z.object({
  "detail-type": z.literal("Step Functions Execution Status Change"),
  detail: z.object({
    name: z.string(),
    status: z.string(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

/** Error names for the execution statuses the rule forwards. */
const STATUS_ERRORS: Record<string, string> = {
  TIMED_OUT: "States.Timeout",
  ABORTED: "States.Aborted",
};

/** What the handler did; `ignored` for an execution that is not a Stagecast run (its name is not a run id). */
export type FinalizeResult = Awaited<ReturnType<typeof parts.finalize>> | "ignored";

/**
 * Finalize Lambda, called two ways: from the state machine's Catch path with
 * `{ runId, error: { Error, Cause } }`, and from an EventBridge rule on execution status
 * changes (FAILED, TIMED_OUT, ABORTED) — the path that still works when the state machine
 * itself died. Either way it writes the run's terminal event unless one exists.
 */
export const handler = withMetrics(async (event: unknown): Promise<FinalizeResult> => {
  const change = ExecutionStatusChange.safeParse(event);
  if (change.success) {
    const { name, status, error, cause } = change.data.detail;
    // Retrying a foreign execution's event would fail forever: log it and let it go.
    if (!RunIdSchema.safeParse(name).success) {
      log({ level: "warn", msg: "status change for an execution that is not a run", name, status });
      return "ignored";
    }
    return parts.finalize({
      runId: name,
      error: { Error: STATUS_ERRORS[status] ?? error ?? "States.Failed", Cause: cause },
      outcome: outcomeOfStatus(status),
    });
  }
  return parts.finalize(event);
});
