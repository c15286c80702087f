import { isTerminalType, type SafeError, STATUS_OF_TERMINAL, type Stage } from "../events/index.ts";
import { buildEvent } from "./build-event.ts";
import { RunFinishedError, RunNotFoundError } from "./errors.ts";
import type { Store } from "./store.ts";

/**
 * How a run is ended by something other than its last stage: failed or timed out with a safe
 * error (code and message reach clients as they are), or cancelled with a reason.
 * `stage` defaults to the stage of the newest event.
 */
export type Ending = (
  | { type: "run.failed" | "run.timed_out"; error: SafeError; stage?: Stage }
  | { type: "run.cancelled"; reason: string; stage?: Stage }
) & {
  /**
   * Only if the newest event is still this seq (the sweeper's check-then-act): the ending is
   * written at exactly seq + 1, and a run that appended meanwhile is left alone.
   */
  ifLastSeq?: number;
};

/**
 * Append the run's terminal event (at the progress it had reached) and set the run item's
 * status and error. The one place a failure ends a run, whoever notices it (a stage, Finalize,
 * the API when the workflow cannot start).
 * @returns false when the log had already ended (nothing written).
 * @throws StoreError subclasses other than RunFinishedError (the caller retries).
 */
export async function endRun(store: Store, runId: string, ending: Ending): Promise<boolean> {
  const log = store.events.log(runId);
  const last = await log.sync();
  const stage = ending.stage ?? last?.stage;
  const common = { ...(stage === undefined ? {} : { stage }), progress: last?.progress ?? 0 };
  const input =
    ending.type === "run.cancelled"
      ? { ...common, type: ending.type, message: ending.reason, data: { reason: ending.reason } }
      : { ...common, type: ending.type, message: ending.error.message, data: { error: ending.error } };
  if (ending.ifLastSeq !== undefined) {
    if ((last?.seq ?? 0) !== ending.ifLastSeq || (last && isTerminalType(last.type))) return false;
    const event = buildEvent(input, runId, ending.ifLastSeq + 1, store.table.now());
    if (!(await store.events.putIfAbsent(event))) return false;
    await finish(store, runId, ending);
    return true;
  }
  try {
    await log.append(input);
  } catch (err) {
    if (err instanceof RunFinishedError) return false;
    throw err;
  }
  await finish(store, runId, ending);
  return true;
}

/** After the terminal event: the run item's status and error, and the active marker removed. */
async function finish(store: Store, runId: string, ending: Ending): Promise<void> {
  try {
    await store.runs.update(runId, {
      status: STATUS_OF_TERMINAL[ending.type],
      ...(ending.type === "run.cancelled" ? {} : { error: ending.error }),
    });
  } catch (err) {
    // The log is the truth (GET /runs derives the status from its terminal event).
    if (!(err instanceof RunNotFoundError)) throw err;
  }
  await store.runs.unmarkActive(runId);
}
