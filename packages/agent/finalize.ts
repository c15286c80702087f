import { z } from "zod";
import { RunIdSchema, type SafeError, SafeErrorSchema } from "../events/index.ts";
import { endRun, type Store } from "../store/index.ts";
import { LOOP_EXHAUSTED_ERROR } from "../workflow/index.ts";

/**
 * The Finalize function's input: `{ runId, error: { Error, Cause } }` from a Catch or the
 * EventBridge rule, or `{ runId, error: { Error: "LoopExhausted", Cause, Code } }` from a
 * `<Stage>LoopExhausted` Pass state, whose `Code` and `Cause` are the loop's `exhausted` code
 * and message as the deployed definition states them.
 */
export const FinalizeInputSchema = z.object({
  runId: RunIdSchema,
  error: z
    .object({
      Error: z.string().optional(),
      Cause: z.unknown().optional(),
      /** Only a LoopExhausted Pass state sets it: a Catch result has just Error and Cause. */
      Code: z.unknown().optional(),
    })
    .default({}),
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
  const safe = outcome === "timed_out" ? RUN_TIMEOUT : safeError(error);
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

/**
 * The run.failed error for a failed execution's `$.error`. A loop's exhausted error is shown
 * as the definition states it (a Catch result never has `Code`, so a stage's own error cannot
 * pose as one, and it must still be a valid safe error); every other error name maps through
 * {@link SAFE_ERRORS}, never showing its Cause.
 */
function safeError(error: z.infer<typeof FinalizeInputSchema>["error"]): SafeError {
  if (error.Error === LOOP_EXHAUSTED_ERROR && error.Code !== undefined) {
    const exhausted = SafeErrorSchema.safeParse({ code: error.Code, message: error.Cause });
    if (exhausted.success) return exhausted.data;
  }
  // Own keys only: an error named "constructor" must not find Object.prototype's.
  const name = error.Error ?? "";
  return Object.hasOwn(SAFE_ERRORS, name)
    ? (SAFE_ERRORS[name] as SafeError)
    : { code: "internal_error", message: "The agent failed." };
}
