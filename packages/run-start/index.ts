/**
 * packages/run-start: the one start path for runs (POST /runs, SQS, EventBridge). Other packages
 * import from here only; this list is what they use.
 */
export { type CreateRunRequest, CreateRunSchema, describeIssues, IdempotencyKeySchema } from "./schema.ts";
export {
  IdempotencyConflictError,
  type RunAgentInfo,
  type StartOutcome,
  type StartRunDeps,
  startRun,
  TooManyActiveRunsError,
} from "./start-run.ts";
export {
  handleEventBridge,
  handleSqsBatch,
  InvalidTriggerMessageError,
  type TriggerDeps,
} from "./trigger.ts";
