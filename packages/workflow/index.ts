/**
 * packages/workflow: the state machine as data (ASL) and the Workflow port with its Step
 * Functions adapter. Other packages import from here only; this list is what they use.
 */
export {
  buildDefinition,
  DEFAULT_STAGE_TIMEOUTS,
  definitionJson,
  executionInput,
  FINALIZED_STATUSES,
  MAX_PLAN_REPAIRS,
  outcomeOfStatus,
  stateName,
  TRANSIENT_ERRORS,
  type WorkflowArns,
} from "./definition.ts";
export { type StartedExecution, type Workflow, WorkflowUnavailableError } from "./port.ts";
export { SfnWorkflow } from "./sfn-workflow.ts";
