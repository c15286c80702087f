import type { SafeError, Stage } from "../events/index.ts";
import { RunFinishedError, RunNotFoundError } from "./errors.ts";
import type { ProgressStore } from "./progress-store.ts";
import { STATUS_OF_TERMINAL } from "./run-record.ts";

/** How a run is ended by something other than its last stage. */
export interface Ending {
  type: "run.failed" | "run.timed_out";
  /** Safe code and message: they reach clients as they are. */
  error: SafeError;
  /** The stage the run was in; defaults to the stage of the newest event. */
  stage?: Stage;
}

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
    await log.append({
      type: ending.type,
      ...(stage === undefined ? {} : { stage }),
      progress: last?.progress ?? 0,
      message: ending.error.message,
      data: { error: ending.error },
    });
  } catch (err) {
    if (err instanceof RunFinishedError) return false;
    throw err;
  }
  try {
    await store.updateRun(runId, { status: STATUS_OF_TERMINAL[ending.type], error: ending.error });
  } catch (err) {
    // The log is the truth (GET /runs derives the status from its terminal event).
    if (!(err instanceof RunNotFoundError)) throw err;
  }
  return true;
}
