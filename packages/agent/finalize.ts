import { z } from "zod";
import { RunIdSchema, type SafeError } from "../events/index.ts";
import { endRun, type Store } from "../store/index.ts";

/** The Finalize function's input: `{ runId, error: { Error, Cause } }` from a Catch or the EventBridge rule. */
export const FinalizeInputSchema = z.object({
  runId: RunIdSchema,
  error: z.object({ Error: z.string().optional(), Cause: z.unknown().optional() }).default({}),
  /**
   * `timed_out` when the whole execution hit its TimeoutSeconds (EventBridge TIMED_OUT, or the
   * local runner's ExecutionTimeoutError): the run ends with run.timed_out instead of run.failed;
   * `cancelled` when the execution was stopped (ABORTED) without the run being ended first.
   */
  outcome: z.enum(["failed", "timed_out", "cancelled"]).default("failed"),
});

/** The safe error of a run that exceeded the execution's time limit. */
const RUN_TIMEOUT: SafeError = { code: "run_timeout", message: "The run took longer than its time limit." };

/**
 * Safe codes and messages for the error names a failed execution can carry. The Cause is
 * never shown to clients (it may hold stack traces or provider messages); it goes to logs.
 */
const SAFE_ERRORS: Record<string, SafeError> = {
  PlanInvalid: {
    code: "plan_invalid",
    message: "The agent could not produce a valid plan after two repairs.",
  },
  "States.Aborted": { code: "run_aborted", message: "The run's workflow was stopped." },
  "States.Timeout": { code: "stage_timeout", message: "A stage took longer than its time limit." },
  TransientStageError: {
    code: "upstream_unavailable",
    message: "A service the agent depends on kept failing.",
  },
  StageFailedError: { code: "stage_failed", message: "A stage of the agent failed." },
  InvalidEventError: { code: "event_invalid", message: "The agent produced progress it could not record." },
  ItemTooLargeError: { code: "event_too_large", message: "The agent produced a result too large to record." },
};

/** What {@link finalizeRun} did. */
export type FinalizeOutcome = "failed" | "timed_out" | "cancelled" | "already_ended";

/**
 * Write the run's terminal event (run.failed, or run.timed_out for an execution timeout) after a
 * workflow failure — unless the log already
 * ended (completed, cancelled, or a previous Finalize), in which case it does nothing, so
 * Catch, the EventBridge rule and the local runner may all call it for the same run.
 * @throws ZodError for an input that is not `{ runId, error? }`; store errors are rethrown for retry.
 */
export async function finalizeRun(
  rawInput: unknown,
  store: Store,
  log: (line: Record<string, unknown>) => void = () => {},
): Promise<FinalizeOutcome> {
  const { runId, error, outcome } = FinalizeInputSchema.parse(rawInput);
  const safe =
    outcome === "timed_out"
      ? RUN_TIMEOUT
      : (SAFE_ERRORS[error.Error ?? ""] ?? { code: "internal_error", message: "The agent failed." });
  log({ msg: "finalizing failed run", runId, error: error.Error, cause: error.Cause });
  const ended = await endRun(
    store,
    runId,
    outcome === "cancelled"
      ? { type: "run.cancelled", reason: "The run's workflow was stopped." }
      : { type: outcome === "timed_out" ? "run.timed_out" : "run.failed", error: safe },
  );
  return ended ? outcome : "already_ended";
}
