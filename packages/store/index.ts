/**
 * packages/store: the DynamoDB single table (run log, run records, slots, statistics, sweep).
 * Other packages import from here only; this list is what they use.
 */

export { buildEvent } from "./build-event.ts";
export { endRun } from "./end-run.ts";
export {
  InvalidEventError,
  ItemTooLargeError,
  RunExistsError,
  RunFinishedError,
  RunNotFoundError,
  StoreError,
  StoreUnavailableError,
} from "./errors.ts";
export { MAX_SEQ, projectPk, runPk } from "./keys.ts";
export { ProgressStore } from "./progress-store.ts";
export type { RunLog } from "./run-log.ts";
export { ANONYMOUS, ENDED_STATUSES, isOwnedBy, type RunView } from "./run-record.ts";
export { RunSlots } from "./slots.ts";
export { recordStageDuration, stageEstimates } from "./stage-stats.ts";
export { endOrphanedRuns, sweepSilentRuns } from "./sweep.ts";
export { ensureTable } from "./table.ts";
