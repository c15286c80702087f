/**
 * packages/store: the DynamoDB single table, one module per item family (run records, run
 * events, memories, conversations and their newest runs, idempotency keys, run slots, stage
 * statistics, stored stage outputs), opened together as a {@link Store} by openStore; plus
 * endRun and the sweeper. Other packages import from here only; this list is what they use.
 */

export { buildEvent } from "./build-event.ts";
export { endRun } from "./end-run.ts";
export {
  RunExistsError,
  RunFinishedError,
  StageOutputMissingError,
  StoreUnavailableError,
} from "./errors.ts";
export { MAX_SEQ } from "./keys.ts";
export type { RunLog } from "./run-log.ts";
export { ANONYMOUS, ENDED_STATUSES, isOwnedBy, type RunView } from "./run-record.ts";
export {
  STAGE_OUTPUT_CHUNK_BYTES,
  STAGE_OUTPUT_MAX_BYTES,
  type StageOutputKey,
  type StoredStageOutput,
} from "./stage-outputs.ts";
export { openStore, type Store } from "./store.ts";
export { endOrphanedRuns, sweepSilentRuns } from "./sweep.ts";
export { ensureTable } from "./table.ts";
