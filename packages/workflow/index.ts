/**
 * packages/workflow: the state machine as data (ASL) and the Workflow port with its Step
 * Functions adapter. Other packages import from here only; this list is what they use.
 */
export {
  type AslDefinition,
  type AslState,
  buildDefinition,
  type DefinitionOptions,
  definitionJson,
  executionInput,
  exhaustedStateName,
  FINALIZED_STATUSES,
  LOOP_EXHAUSTED_ERROR,
  loopStateName,
  outcomeOfStatus,
  RESERVED_STAGE_NAMES,
  stateName,
  TRANSIENT_ERRORS,
  type WorkflowArns,
  type WorkflowLoop,
  type WorkflowShape,
  WorkflowShapeError,
  type WorkflowStage,
} from "./definition.ts";
export { type StartedExecution, type Workflow, WorkflowUnavailableError } from "./port.ts";
export { SfnWorkflow } from "./sfn-workflow.ts";
