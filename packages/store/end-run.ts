import type { SafeError, Stage } from "../events/index.ts";
import { RunFinishedError, RunNotFoundError } from "./errors.ts";
import type { ProgressStore } from "./progress-store.ts";
import { STATUS_OF_TERMINAL } from "./run-record.ts";

/**
 * How a run is ended by something other than its last stage: failed or timed out with a safe
 * error (code and message reach clients as they are), or cancelled with a reason.
 * `stage` defaults to the stage of the newest event.
 */
export type Ending =
  | { type: "run.failed" | "run.timed_out"; error: SafeError; stage?: Stage }
  | { type: "run.cancelled"; reason: string; stage?: Stage };

/**
 * Append the run's terminal event (at the progress it had reached) and set the run item's
 * status and error. The one place a failure ends a run, whoever notices it (a stage, Finalize,
 * the API when the workflow cannot start).
 * @returns false when the log had already ended (nothing written).
 * @throws StoreError subclasses other than RunFinishedError (the caller retries).
 */
export async function endRun(store: ProgressStore, runId: string, ending: Ending): Promise<boolean> {
  const log = store.log(runId);
  const last = await log.sync();
  const stage = ending.stage ?? last?.stage;
  try {
    const common = { ...(stage === undefined ? {} : { stage }), progress: last?.progress ?? 0 };
    await log.append(
      ending.type === "run.cancelled"
        ? { ...common, type: ending.type, message: ending.reason, data: { reason: ending.reason } }
        : { ...common, type: ending.type, message: ending.error.message, data: { error: ending.error } },
    );
  } catch (err) {
    if (err instanceof RunFinishedError) return false;
    throw err;
  }
  try {
    await store.updateRun(runId, {
      status: STATUS_OF_TERMINAL[ending.type],
      ...(ending.type === "run.cancelled" ? {} : { error: ending.error }),
    });
  } catch (err) {
    // The log is the truth (GET /runs derives the status from its terminal event).
    if (!(err instanceof RunNotFoundError)) throw err;
  }
  await store.unmarkActive(runId);
  return true;
}
