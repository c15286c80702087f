import { STAGE_NAME_PATTERN } from "../events/index.ts";

/** Function ARNs the state machine's Task states invoke (plain ARNs, so local and AWS behave alike). */
export interface WorkflowArns {
  /** The stage function (functions/stage.ts). */
  stageFunctionArn: string;
  /** The Finalize function (functions/finalize.ts). */
  finalizeFunctionArn: string;
}

/**
 * A stage's bounded loop back to an earlier stage, as the state machine needs it: after the
 * stage, its `<Stage>Loop` Choice goes back to `to` while the run state's count for the stage
 * (`$.state.loops.<stage>`, kept by the stage runner) is at most `max`; a further request ends
 * the run through Finalize with `exhausted` as its run.failed error.
 */
export interface WorkflowLoop {
  /** The earlier stage to go back to (a stage name). */
  to: string;
  /** How many times the loop may be taken (≥ 1). */
  max: number;
  /** The run.failed error after the last allowed loop: a safe code and one sentence for clients. */
  exhausted: { code: string; message: string };
}

/** One stage as the state machine needs it (its code runs in the stage function). */
export interface WorkflowStage {
  /** The stage name (`^[a-z][a-z0-9_]{0,31}$`): the Task input's `stage` and, capitalised, the Task's name. */
  name: string;
  /** The Task's TimeoutSeconds (s): Step Functions fails the attempt with States.Timeout after it. */
  timeoutSeconds: number;
  /** Retry MaxAttempts for {@link TRANSIENT_ERRORS} (0 = never retried). */
  retries: number;
  loop?: WorkflowLoop;
}

/**
 * What the state machine is generated from: an agent's name and its stages in run order. The
 * agent package's checked `Agent` satisfies it structurally (workflow sits below agent and
 * does not import it).
 */
export interface WorkflowShape {
  name: string;
  stages: readonly WorkflowStage[];
}

/** Tunables of the state machine that are not per stage (those come from the {@link WorkflowShape}). */
export interface DefinitionOptions {
  /** Whole-execution TimeoutSeconds (s, default 3600); reaching it ends the run with run.timed_out. */
  executionTimeoutSeconds?: number;
}

/** A shape the state machine cannot be generated from: the message names the stage and the rule. */
export class WorkflowShapeError extends Error {
  override readonly name = "WorkflowShapeError";
}

/**
 * Error names (the thrown error's `name`) that the workflow retries with backoff: our own
 * transient errors (StoreUnavailableError reaches the state machine from Finalize) plus the
 * Lambda service errors AWS recommends retrying (Step Functions developer guide, "Handling
 * errors": Lambda.ServiceException, Lambda.AWSLambdaException, Lambda.SdkClientException,
 * Lambda.TooManyRequestsException).
 */
export const TRANSIENT_ERRORS = [
  "TransientStageError",
  "StoreUnavailableError",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;

/**
 * The `Error` of the `$.error` a `<Stage>LoopExhausted` Pass state writes for Finalize, next to
 * `Cause` (the loop's `exhausted.message`) and `Code` (its `exhausted.code`). A Catch result
 * only ever has `Error` and `Cause` (Step Functions developer guide, "Error handling"), so a
 * `Code` can only come from the deployed definition.
 */
export const LOOP_EXHAUSTED_ERROR = "LoopExhausted";

/**
 * The fixed states every definition ends with. Stage states are capitalised stage names, so
 * the stage names `finalize` and `failed` are reserved; the other fixed names have an
 * upper-case letter after the first and cannot collide with any stage's state.
 */
const FINALIZE = "Finalize";
const FAILED = "Failed";
/** The end after a last stage that may loop (a Choice cannot end an execution itself). */
const SUCCEEDED = "RunSucceeded";

/**
 * Stage names the state machine keeps for itself: capitalised, they are its fixed Finalize and
 * Failed states (checkAgent refuses them; {@link buildDefinition} too).
 */
export const RESERVED_STAGE_NAMES: readonly string[] = [FINALIZE.toLowerCase(), FAILED.toLowerCase()];

/** The Task state name of a stage ("planning" → "Planning"). */
export const stateName = (stage: string): string => stage.charAt(0).toUpperCase() + stage.slice(1);
/** The Choice state after a stage with a loop ("validation" → "ValidationLoop"). */
export const loopStateName = (stage: string): string => `${stateName(stage)}Loop`;
/** The Pass state that ends a stage's exhausted loop ("validation" → "ValidationLoopExhausted"). */
export const exhaustedStateName = (stage: string): string => `${stateName(stage)}LoopExhausted`;

/** The execution input: `{ runId, state: {} }`. */
export const executionInput = (runId: string) => ({ runId, state: {} });

/** One ASL state, as JSON: `Type` plus the fields of that type (Amazon States Language). */
export type AslState = { Type: "Task" | "Choice" | "Pass" | "Fail" | "Succeed" } & Record<string, unknown>;

/** An ASL state machine definition, as JSON (what Step Functions and the local runner take). */
export interface AslDefinition {
  Comment: string;
  StartAt: string;
  /** Whole-execution TimeoutSeconds (s). */
  TimeoutSeconds: number;
  States: Record<string, AslState>;
}

/** Retry on the transient errors with jittered exponential backoff (1 s, 2 s, 4 s…). */
function retryOn(maxAttempts: number) {
  return [
    {
      ErrorEquals: [...TRANSIENT_ERRORS],
      IntervalSeconds: 1,
      MaxAttempts: maxAttempts,
      BackoffRate: 2,
      JitterStrategy: "FULL",
    },
  ];
}

/**
 * The Amazon States Language definition generated from an agent's shape, as data: the single
 * source for Step Functions on AWS and the local runner (aws-local-stepfunctions).
 * - One Task per stage, in order, named by capitalising the stage name, each with the stage's
 *   own TimeoutSeconds and Retry; any failure that survives its retries is caught into
 *   Finalize, which writes run.failed, then the execution fails (Failed).
 * - A stage with a `loop` is followed by a `<Stage>Loop` Choice and a `<Stage>LoopExhausted`
 *   Pass state (see loopStates below).
 * - The last stage ends the execution (through `RunSucceeded` when it may loop).
 * @throws WorkflowShapeError for a shape with no stages, an invalid or reserved stage name, two
 *   stages of one name, or a loop that does not go back to an earlier stage.
 */
export function buildDefinition(
  shape: WorkflowShape,
  arns: WorkflowArns,
  options: DefinitionOptions = {},
): AslDefinition {
  checkShape(shape);
  const states: Record<string, AslState> = {};
  shape.stages.forEach((stage, index) => {
    const following = shape.stages[index + 1];
    const next = following ? stateName(following.name) : undefined;
    if (!stage.loop) {
      states[stateName(stage.name)] = stageTask(stage, arns, next);
      return;
    }
    states[stateName(stage.name)] = stageTask(stage, arns, loopStateName(stage.name));
    Object.assign(states, loopStates(stage.name, stage.loop, next ?? SUCCEEDED));
    if (!next) states[SUCCEEDED] = { Type: "Succeed", Comment: "The last stage completed the run." };
  });
  const first = shape.stages[0]?.name ?? "";
  return {
    Comment: `Stagecast agent ${shape.name}: ${shape.stages.map((s) => stateName(s.name)).join(" → ")}; each stage appends progress events to the run's log.`,
    StartAt: stateName(first),
    TimeoutSeconds: options.executionTimeoutSeconds ?? 3600,
    States: { ...states, ...endStates(arns) },
  };
}

/** A stage's Task: calls the stage function; its output replaces `$.state`. `next` undefined → End. */
function stageTask(stage: WorkflowStage, arns: WorkflowArns, next: string | undefined): AslState {
  return {
    Type: "Task",
    Comment: `Runs the ${stage.name} stage; its output replaces $.state.`,
    Resource: arns.stageFunctionArn,
    Parameters: { "runId.$": "$.runId", stage: stage.name, "state.$": "$.state" },
    ResultPath: "$.state",
    // Every Task has one: Step Functions' default is 99,999,999 s (developer guide, "Task
    // workflow state") and the local runner's 60 s; a stuck attempt should fail and be retried.
    TimeoutSeconds: stage.timeoutSeconds,
    Retry: retryOn(stage.retries),
    // ResultPath keeps the run id beside the error: Finalize needs it.
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: FINALIZE }],
    ...(next === undefined ? { End: true } : { Next: next }),
  };
}

/**
 * The Choice after a stage with a loop, and the Pass state of its exhausted path:
 * - `goto` = `loop.to` and `loops.<stage>` ≤ `max` → the `to` stage's Task (go back);
 * - `goto` = `loop.to` beyond that → `<Stage>LoopExhausted`, which puts
 *   `{ Error: "LoopExhausted", Cause: exhausted.message, Code: exhausted.code }` at `$.error`
 *   → Finalize (run.failed with that code and message);
 * - otherwise (no `goto`: the stage cleared it) → `next`.
 * A Choice fails the execution with States.Runtime when a Variable's path does not exist, so
 * every comparison follows an IsPresent inside the same And, evaluated in order (Step
 * Functions developer guide, "Choice workflow state"). Only IsPresent, StringEquals,
 * NumericLessThanEquals and And are used: both Step Functions and aws-local-stepfunctions
 * implement them (the local runner's `IsPresent: false` never matches, so it is avoided).
 */
function loopStates(stage: string, loop: WorkflowLoop, next: string): Record<string, AslState> {
  const goto = [
    { Variable: "$.state.goto", IsPresent: true },
    { Variable: "$.state.goto", StringEquals: loop.to },
  ];
  const count = `$.state.loops.${stage}`;
  return {
    [loopStateName(stage)]: {
      Type: "Choice",
      Comment: `Back to ${stateName(loop.to)} when ${stage} asks, at most ${loop.max} times; then the run fails with ${loop.exhausted.code}.`,
      Choices: [
        {
          And: [
            ...goto,
            { Variable: count, IsPresent: true },
            { Variable: count, NumericLessThanEquals: loop.max },
          ],
          Next: stateName(loop.to),
        },
        { And: goto, Next: exhaustedStateName(stage) },
      ],
      Default: next,
    },
    [exhaustedStateName(stage)]: {
      Type: "Pass",
      Comment: `${stage} asked for loop ${loop.max + 1} back to ${loop.to}: Finalize ends the run with ${loop.exhausted.code}.`,
      Result: { Error: LOOP_EXHAUSTED_ERROR, Cause: loop.exhausted.message, Code: loop.exhausted.code },
      ResultPath: "$.error",
      Next: FINALIZE,
    },
  };
}

/** Finalize (writes the terminal run.failed; a no-op when the log already ended), then Failed. */
function endStates(arns: WorkflowArns): Record<string, AslState> {
  return {
    [FINALIZE]: {
      Type: "Task",
      Comment: "Writes the run's terminal run.failed event (no-op when the log already ended).",
      Resource: arns.finalizeFunctionArn,
      Parameters: { "runId.$": "$.runId", "error.$": "$.error" },
      ResultPath: null,
      TimeoutSeconds: 60,
      Retry: retryOn(2),
      Next: FAILED,
    },
    [FAILED]: {
      Type: "Fail",
      Error: "RunFailed",
      Cause: "A stage failed; see the run's run.failed event.",
    },
  };
}

/** @throws WorkflowShapeError naming the first problem (see {@link buildDefinition}). */
function checkShape(shape: WorkflowShape): void {
  const fail = (why: string) => {
    throw new WorkflowShapeError(`agent ${shape.name}: ${why}`);
  };
  if (shape.stages.length === 0) fail("needs at least one stage");
  const seen = new Set<string>();
  for (const stage of shape.stages) {
    // The pattern makes the capitalised name a state name and `$.state.loops.<name>` a plain path.
    if (!STAGE_NAME_PATTERN.test(stage.name)) fail(`stage name ${JSON.stringify(stage.name)} is invalid`);
    if (RESERVED_STAGE_NAMES.includes(stage.name)) fail(`stage name ${stage.name} is reserved`);
    if (seen.has(stage.name)) fail(`stage ${stage.name} is defined twice`);
    if (stage.loop && !seen.has(stage.loop.to)) {
      fail(`stage ${stage.name} loops to ${stage.loop.to}, which is not an earlier stage`);
    }
    seen.add(stage.name);
  }
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

/**
 * The ASL JSON string Step Functions takes as `definition` (see {@link buildDefinition}).
 * @throws WorkflowShapeError for a shape the state machine cannot be generated from.
 */
export function definitionJson(
  shape: WorkflowShape,
  arns: WorkflowArns,
  options?: DefinitionOptions,
): string {
  return JSON.stringify(buildDefinition(shape, arns, options));
}
