import {
  type EventOf,
  type RunEvent,
  type RunStatus,
  type Snapshot,
  STATUS_OF_TERMINAL,
  type TerminalType,
} from "../events/index.ts";
import { type AddOperation, jsonPointer } from "./ag-ui-events.ts";

/**
 * A stage's status in the AG-UI state: `pending` (listed by run.queued, not begun), `running`,
 * `retrying` (an attempt failed, the next is about to start), `completed`, or the run's ended
 * status when the run ended during the stage.
 */
export type StageStatus =
  | "pending"
  | "running"
  | "retrying"
  | "completed"
  | Exclude<RunStatus, "queued" | "running" | "completed">;

/**
 * The AG-UI agent state of a run (what STATE_SNAPSHOT sets and STATE_DELTA patches; AG-UI
 * "State Management": the state is the agent's own JSON, any shape):
 * - `runId`, `agent`: the Stagecast run and the agent that runs it;
 * - `status`: the run's status (queued, running, completed, failed, cancelled, timed_out);
 * - `progress`: overall progress in percent (0–100), never decreasing;
 * - `stage`: the stage that began last (null before the first);
 * - `message`: the newest stage or run message (one human sentence);
 * - `stages`: each stage's {@link StageStatus}, in run order;
 * - `data`: per stage, the keys of its stage.progress details and its stage.completed summary
 *   (`durationMs` in ms), newest value per key.
 */
export interface AgUiRunState {
  runId: string;
  agent?: string;
  status: RunStatus;
  progress: number;
  stage: string | null;
  message: string;
  stages: Record<string, StageStatus>;
  data: Record<string, Record<string, unknown>>;
}

/** The state a run starts with, from its run.queued (seq 1): every listed stage `pending`. */
export function queuedState(event: EventOf<"run.queued">): AgUiRunState {
  return {
    runId: event.runId,
    ...(event.data.agent === undefined ? {} : { agent: event.data.agent }),
    status: "queued",
    progress: event.progress,
    stage: null,
    message: event.message,
    stages: Object.fromEntries((event.data.stages ?? []).map((s) => [s.name, "pending" as const])),
    data: {},
  };
}

/**
 * The state a stream from the run's start opens with when a `types` filter hid run.queued: what
 * its first event tells (the run has begun unless that event is run.queued itself), no stages
 * listed; the STATE_DELTA operations that follow fill it in.
 */
export function startState(event: RunEvent): AgUiRunState {
  return {
    runId: event.runId,
    status: "running",
    progress: event.progress,
    stage: null,
    message: "",
    stages: {},
    data: {},
  };
}

/**
 * The state `?from=latest` opens with (the run as it is now). Only the current stage's status
 * is known then, so `stages` holds that one; `data` holds an empty entry for it, so the
 * STATE_DELTA operations that follow apply.
 */
export function latestState(snapshot: Snapshot): AgUiRunState {
  const { stage } = snapshot;
  const ended = snapshot.status !== "queued" && snapshot.status !== "running";
  return {
    runId: snapshot.runId,
    status: snapshot.status,
    progress: snapshot.progress,
    stage: stage ?? null,
    message: snapshot.message ?? "",
    stages: stage === undefined ? {} : { [stage]: ended ? STAGE_OF_END[snapshot.status] : "running" },
    data: stage === undefined ? {} : { [stage]: {} },
  };
}

/** A stage's status when the run ends during it. */
const STAGE_OF_END: Record<RunStatus, StageStatus> = {
  queued: "pending",
  running: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  timed_out: "timed_out",
};

const add = (value: unknown, ...tokens: string[]): AddOperation => ({
  op: "add",
  path: jsonPointer(...tokens),
  value,
});

/** Operations that set each key of `detail` under `/data/<stage>` (creating it first when `create`). */
const detailOps = (stage: string, detail: Record<string, unknown>, create: boolean): AddOperation[] => [
  ...(create ? [add({}, "data", stage)] : []),
  ...Object.entries(detail).map(([key, value]) => add(value, "data", stage, key)),
];

/** What {@link statePatch} needs besides the event: the stream's open step and whether progress is due. */
export interface PatchContext {
  /** The step (stage) this stream has open, if any. */
  openStep: string | undefined;
  /** Whether an event that does not always carry state should report its progress. */
  progressDue: boolean;
  /**
   * Whether `/data/<stage>` must be created before its keys are set: the stream built the state
   * itself (it sent the snapshot) and has not created that entry (its stage.started was filtered out).
   */
  createData: boolean;
}

/**
 * The RFC 6902 operations one stored event makes to {@link AgUiRunState}. Only `add` is used:
 * it creates or replaces a member (RFC 6902 §4.1), so the patch applies to any state this run's
 * stream has built, whichever events a filter or a resume left out. Empty for run.queued (a
 * STATE_SNAPSHOT instead) and for deltas and tool events whose progress is not due.
 */
export function statePatch(event: RunEvent, ctx: PatchContext): AddOperation[] {
  const { stage } = event;
  const common = [add(event.progress, "progress"), add(event.message, "message")];
  const stageOps = (status: StageStatus) => (stage === undefined ? [] : [add(status, "stages", stage)]);
  switch (event.type) {
    case "run.queued":
      return [];
    case "run.started":
      return [add("running", "status"), ...common];
    case "stage.started":
      return [
        ...(stage === undefined ? [] : [add(stage, "stage"), add({}, "data", stage)]),
        ...stageOps("running"),
        ...common,
      ];
    case "stage.progress":
      return [...common, ...(stage === undefined ? [] : detailOps(stage, event.data, ctx.createData))];
    case "stage.retrying":
      return [...stageOps("retrying"), ...common];
    case "stage.completed":
      return [
        ...stageOps("completed"),
        ...common,
        ...(stage === undefined ? [] : detailOps(stage, event.data, ctx.createData)),
      ];
    case "llm.delta":
    case "tool.started":
    case "tool.completed":
      return ctx.progressDue ? [add(event.progress, "progress")] : [];
    default:
      return terminalPatch(event, ctx);
  }
}

/** A terminal event's operations: the run's status, and the open stage's status when it ended there. */
function terminalPatch(event: EventOf<TerminalType>, ctx: PatchContext): AddOperation[] {
  const status = STATUS_OF_TERMINAL[event.type];
  return [
    add(status, "status"),
    add(event.progress, "progress"),
    add(event.message, "message"),
    ...(ctx.openStep === undefined ? [] : [add(STAGE_OF_END[status], "stages", ctx.openStep)]),
  ];
}
