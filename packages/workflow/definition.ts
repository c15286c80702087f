import { STAGES, type Stage } from "../events/index.ts";

/** Function ARNs the state machine's Task states invoke (plain ARNs, so local and AWS behave alike). */
export interface WorkflowArns {
  /** The stage function (functions/stage.ts). */
  stageFunctionArn: string;
  /** The Finalize function (functions/finalize.ts). */
  finalizeFunctionArn: string;
}

/** Tunables of the state machine. */
export interface DefinitionOptions {
  /** Per-stage Task TimeoutSeconds (s). Every Task has one: the local runner defaults to 60 s otherwise. */
  stageTimeoutSeconds?: Partial<Record<Stage, number>>;
  /** Whole-execution TimeoutSeconds (s); reaching it ends the run with run.timed_out. */
  executionTimeoutSeconds?: number;
  /** Retries of a transient stage failure (Retry MaxAttempts). */
  maxRetries?: number;
}

/** How many times an invalid plan goes back to planning before the run fails with `plan_invalid`. */
export const MAX_PLAN_REPAIRS = 2;

/**
 * Error names (the thrown error's `name`) that the workflow retries with backoff: our own
 * transient errors (StoreUnavailableError reaches the state machine from Finalize) plus the Lambda service errors AWS recommends retrying (Step Functions
 * developer guide, "Handling errors": Lambda.ServiceException, Lambda.AWSLambdaException,
 * Lambda.SdkClientException, Lambda.TooManyRequestsException).
 */
export const TRANSIENT_ERRORS = [
  "TransientStageError",
  "StoreUnavailableError",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;

/** Default Task timeouts (s): model-heavy stages get minutes; execution streams the answer. */
export const DEFAULT_STAGE_TIMEOUTS: Record<Stage, number> = {
  context: 60,
  analyzing: 180,
  planning: 180,
  validation: 60,
  execution: 900,
  memory: 180,
};

/** The Task state name of each stage ("context" → "Context"). */
export const stateName = (stage: Stage): string => stage[0]?.toUpperCase() + stage.slice(1);

/** The execution input: `{ runId, state: {} }`. */
export const executionInput = (runId: string) => ({ runId, state: {} });

/**
 * The Amazon States Language definition, as data: the single source for Step Functions on
 * AWS and the local runner (aws-local-stepfunctions). Context → Analyzing → Planning →
 * Validation → (invalid plan: back to Planning at most {@link MAX_PLAN_REPAIRS} times) →
 * Execution → Memory. Any stage failure that survives its retries is caught into Finalize,
 * which writes run.failed, then the execution fails.
 */
export function buildDefinition(arns: WorkflowArns, options: DefinitionOptions = {}) {
  const timeouts = { ...DEFAULT_STAGE_TIMEOUTS, ...options.stageTimeoutSeconds };
  const retry = [
    {
      ErrorEquals: [...TRANSIENT_ERRORS],
      IntervalSeconds: 1,
      MaxAttempts: options.maxRetries ?? 2,
      BackoffRate: 2,
      JitterStrategy: "FULL" as const,
    },
  ];
  const task = (stage: Stage, next: string) => ({
    Type: "Task" as const,
    Comment: `Runs the ${stage} stage; its output replaces $.state.`,
    Resource: arns.stageFunctionArn,
    Parameters: { "runId.$": "$.runId", stage, "state.$": "$.state" },
    ResultPath: "$.state",
    TimeoutSeconds: timeouts[stage],
    Retry: retry,
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Finalize" }],
    Next: next,
  });
  const endTask = ({ Next: _next, ...state }: ReturnType<typeof task>) => ({ ...state, End: true as const });
  const [context, analyzing, planning, validation, execution, memory] = STAGES;
  return {
    Comment: "Stagecast agent run: six stages, each appending progress events to the run's log.",
    StartAt: stateName(context),
    TimeoutSeconds: options.executionTimeoutSeconds ?? 3600,
    States: {
      [stateName(context)]: task(context, stateName(analyzing)),
      [stateName(analyzing)]: task(analyzing, stateName(planning)),
      [stateName(planning)]: task(planning, stateName(validation)),
      [stateName(validation)]: task(validation, "PlanVerdict"),
      PlanVerdict: {
        Type: "Choice" as const,
        Comment: "A valid plan executes; an invalid one is repaired by planning at most twice.",
        Choices: [
          { Variable: "$.state.planValid", BooleanEquals: true, Next: stateName(execution) },
          { Variable: "$.state.repairs", NumericLessThanEquals: MAX_PLAN_REPAIRS, Next: stateName(planning) },
        ],
        Default: "PlanRejected",
      },
      PlanRejected: {
        Type: "Pass" as const,
        Result: {
          Error: "PlanInvalid",
          Cause: `the plan was still invalid after ${MAX_PLAN_REPAIRS} repairs`,
        },
        ResultPath: "$.error",
        Next: "Finalize",
      },
      [stateName(execution)]: task(execution, stateName(memory)),
      [stateName(memory)]: endTask(task(memory, "")),
      Finalize: {
        Type: "Task" as const,
        Comment: "Writes the run's terminal run.failed event (no-op when the log already ended).",
        Resource: arns.finalizeFunctionArn,
        Parameters: { "runId.$": "$.runId", "error.$": "$.error" },
        ResultPath: null,
        TimeoutSeconds: 60,
        Retry: retry,
        Next: "Failed",
      },
      Failed: {
        Type: "Fail" as const,
        Error: "RunFailed",
        Cause: "A stage failed; see the run's run.failed event.",
      },
    },
  };
}

/**
 * Step Functions execution statuses that end a run without the Catch path having run (the
 * state machine itself died, was stopped or timed out): the Finalize function writes the
 * terminal event for them. SUCCEEDED runs ended themselves (Step Functions developer guide,
 * "Step Functions Execution Status Change" events).
 */
export const FINALIZED_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;
/** One of {@link FINALIZED_STATUSES}. */
export type FinalizedStatus = (typeof FINALIZED_STATUSES)[number];

/**
 * How Finalize ends a run whose execution ended with one of {@link FINALIZED_STATUSES} (the
 * `outcome` of Finalize's input): FAILED → `failed` (run.failed), TIMED_OUT → `timed_out`
 * (run.timed_out), ABORTED → `cancelled` (run.cancelled).
 */
const OUTCOME_OF_STATUS = {
  FAILED: "failed",
  TIMED_OUT: "timed_out",
  ABORTED: "cancelled",
} as const satisfies Record<FinalizedStatus, string>;

/** What Finalize writes for an execution that ended without the run's own end: see {@link outcomeOfStatus}. */
export type ExecutionOutcome = (typeof OUTCOME_OF_STATUS)[FinalizedStatus];

/**
 * The Finalize `outcome` for a Step Functions execution status: the `status` of
 * DescribeExecution and of the "Step Functions Execution Status Change" EventBridge event
 * (`RUNNING` | `SUCCEEDED` | `FAILED` | `TIMED_OUT` | `ABORTED` | `PENDING_REDRIVE`, Step
 * Functions API reference, DescribeExecution). `TIMED_OUT` → `timed_out`, `ABORTED` →
 * `cancelled`, any other status → `failed`. The local runner maps its execution errors to these
 * statuses first, so both roots end a run the same way. Never throws.
 */
export function outcomeOfStatus(status: string): ExecutionOutcome {
  return Object.hasOwn(OUTCOME_OF_STATUS, status) ? OUTCOME_OF_STATUS[status as FinalizedStatus] : "failed";
}

/** The ASL JSON string Step Functions takes as `definition`. */
export function definitionJson(arns: WorkflowArns, options?: DefinitionOptions): string {
  return JSON.stringify(buildDefinition(arns, options));
}
