import {
  isTerminalType,
  type RunEvent,
  type RunStatus,
  type SafeError,
  STATUS_OF_TERMINAL,
  type Stage,
  type TerminalType,
  type Usage,
} from "../events/index.ts";
import { boundStageData, type StageData, type StageDataClip } from "./stage-data.ts";

/**
 * A stage as a run lists it (run.queued `data.stages`, GET /runs/{runId} `stages`: a
 * RunStage); the weight may be left out.
 */
export interface ListedStage {
  name: Stage;
  weight?: number;
}

/** Where a stage is in a run, as a timeline shows it. */
export type StageState = "pending" | "running" | "retrying" | "done" | "failed" | "cancelled";

/**
 * One stage of the timeline. Times are ms since epoch (server clock, from event `ts`);
 * `durationMs` is from its first stage.started to its stage.completed (retries included),
 * set once the stage is done.
 */
export interface StageView {
  stage: Stage;
  /**
   * The stage's weight as the run listed it (relative: its share of the progress bar is
   * weight / Σ weights); absent for a stage the run did not list.
   */
  weight?: number;
  state: StageState;
  attempt: number;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** The stage's newest message (what it is doing, or why it is retrying). */
  message?: string;
  /**
   * The stage's own data for clients: the `data` of its newest stage.progress event whose data
   * has at least one field (what its handler passed to `ctx.emit` or `ctx.progress(…, data)`).
   * Each such event replaces it whole (no merging); an event with `{}` leaves it; it stays
   * after the stage ends. At most STAGE_DATA_MAX_BYTES (8 KiB) of JSON: see `dataTruncated`.
   */
  data?: StageData;
  /** Set when `data` holds only the fields that fit in 8 KiB: how much the stage sent. */
  dataTruncated?: StageDataClip;
}

/** One tool call: input as the model sent it, result or safe error when it finished. */
export interface ToolView {
  callId: string;
  name: string;
  stage?: Stage;
  input: unknown;
  state: "running" | "ok" | "failed";
  result?: unknown;
  error?: SafeError;
  durationMs?: number;
}

/**
 * Everything a client shows of a run, folded from its events in seq order (see
 * {@link applyEvent}): the timeline (with each stage's own data), progress (percent), the
 * answer as written so far, tool calls, and how it ended. `createdAt` / `endedAt` are ms since
 * epoch (server clock).
 */
export interface RunProgress {
  runId: string;
  status: RunStatus;
  question?: string;
  /** The name of the agent that runs it (from run.queued). */
  agent?: string;
  /**
   * The timeline: the run's own stages in run order (from run.queued, or from GET /runs/{runId}
   * given to {@link initialRunProgress}), whatever their names and number. A stage that shows
   * up in an event without being listed is added after the others, in order of appearance.
   */
  stages: StageView[];
  progress: number;
  message: string;
  answer: string;
  tools: ToolView[];
  lastSeq: number;
  createdAt?: number;
  endedAt?: number;
  terminal?: TerminalType;
  error?: SafeError;
  usage?: Usage;
  models?: string[];
}

/**
 * A run's view before any event arrived.
 * @param stages the run's stages in run order, when known before its events (GET /runs/{runId}
 *   `stages`, for a client that joins mid-run and does not replay run.queued); otherwise the
 *   timeline starts empty and run.queued fills it.
 */
export function initialRunProgress(runId: string, stages: readonly ListedStage[] = []): RunProgress {
  const view: RunProgress = {
    runId,
    status: "queued",
    stages: [],
    progress: 0,
    message: "",
    answer: "",
    tools: [],
    lastSeq: 0,
  };
  listStages(view, stages);
  return view;
}

/** Identifies which attempt wrote the current answer, so a retried attempt starts it afresh. */
const answerWriter = new WeakMap<RunProgress, string>();

/**
 * Fold one event into `view` (mutated and returned). Events at or below `view.lastSeq` are
 * ignored, so replaying a log from 0 after a reload, or a resumed stream overlapping the
 * last one, never duplicates text. A retried attempt's first llm.delta replaces the partial
 * answer of the attempt before it; run.completed sets the final answer. A stage.progress with
 * data sets its stage's `data` (bounded to 8 KiB, see {@link StageView.data}).
 */
export function applyEvent(view: RunProgress, event: RunEvent): RunProgress {
  if (event.seq <= view.lastSeq) return view;
  view.lastSeq = event.seq;
  const at = Date.parse(event.ts);
  view.progress = Math.max(view.progress, event.progress);
  view.message = event.message;
  const stage = event.stage ? stageOf(view, event.stage) : undefined;
  if (stage && !isTerminalType(event.type)) stage.message = event.message;
  switch (event.type) {
    case "run.queued":
      view.question = event.data.question;
      view.createdAt = at;
      if (event.data.agent !== undefined) view.agent = event.data.agent;
      if (event.data.stages) listStages(view, event.data.stages);
      break;
    case "run.started":
      view.status = "running";
      break;
    case "stage.started":
      view.status = "running";
      if (stage) {
        stage.state = "running";
        stage.attempt = event.attempt ?? 0;
        stage.startedAt ??= at;
      }
      break;
    case "stage.progress":
      if (stage) keepData(stage, event.data);
      break;
    case "stage.retrying":
      if (stage) {
        stage.state = "retrying";
        stage.attempt = event.data.nextAttempt;
        stage.startedAt ??= at;
      }
      break;
    case "stage.completed":
      if (stage) {
        stage.state = "done";
        stage.endedAt = at;
        stage.durationMs = stage.startedAt === undefined ? event.data.durationMs : at - stage.startedAt;
      }
      break;
    case "llm.delta": {
      const writer = `${event.stage}#${event.attempt ?? 0}`;
      if (answerWriter.get(view) !== writer) {
        answerWriter.set(view, writer);
        view.answer = "";
      }
      view.answer += event.data.text;
      if (stage && stage.state === "retrying") stage.state = "running";
      break;
    }
    case "tool.started":
      view.tools.push({
        callId: event.data.callId,
        name: event.data.name,
        ...(event.stage ? { stage: event.stage } : {}),
        input: event.data.input,
        state: "running",
      });
      break;
    case "tool.completed": {
      const tool = newestTool(view.tools, event.data.callId);
      if (tool) {
        tool.state = event.data.ok ? "ok" : "failed";
        tool.durationMs = event.data.durationMs;
        if (event.data.result !== undefined) tool.result = event.data.result;
        if (event.data.error) tool.error = event.data.error;
      }
      break;
    }
    case "run.completed":
      view.answer = event.data.answer;
      view.usage = event.data.usage;
      view.models = event.data.models;
      break;
    case "run.failed":
    case "run.timed_out":
      view.error = event.data.error;
      break;
    case "run.cancelled":
      break;
  }
  if (isTerminalType(event.type)) end(view, event.type, at);
  return view;
}

/** Keep `data` as the stage's data, bounded, unless it has no field (a progress report without data). */
function keepData(stage: StageView, data: StageData): void {
  if (Object.keys(data).length === 0) return;
  const bounded = boundStageData(data);
  stage.data = bounded.data;
  if (bounded.truncated) stage.dataTruncated = bounded.truncated;
  else delete stage.dataTruncated;
}

/**
 * The newest call with `callId` (a retried stage may repeat a call id: the last one is the live
 * one). A loop rather than `findLast` (ES2023), so the client compiles under a consumer's
 * `lib: ["ES2022", "DOM"]`.
 */
function newestTool(tools: readonly ToolView[], callId: string): ToolView | undefined {
  for (let i = tools.length - 1; i >= 0; i--) {
    const tool = tools[i];
    if (tool?.callId === callId) return tool;
  }
  return undefined;
}

function pendingStage({ name, weight }: ListedStage): StageView {
  return { stage: name, ...(weight === undefined ? {} : { weight }), state: "pending", attempt: 0 };
}

/** The view's entry for stage `name`; a stage the run did not list is added at the end. */
function stageOf(view: RunProgress, name: Stage): StageView {
  let stage = view.stages.find((s) => s.stage === name);
  if (!stage) {
    stage = pendingStage({ name });
    view.stages.push(stage);
  }
  return stage;
}

/**
 * Set the timeline to the run's stage list (run.queued), keeping what is known of each stage
 * already shown; a stage shown but not in the list stays, after the listed ones.
 */
function listStages(view: RunProgress, listed: readonly ListedStage[]): void {
  const known = new Map(view.stages.map((s) => [s.stage, s]));
  const shown = new Map<Stage, StageView>();
  for (const entry of listed) {
    if (shown.has(entry.name)) continue; // a name listed twice is shown once
    const stage = known.get(entry.name) ?? pendingStage(entry);
    if (entry.weight !== undefined) stage.weight = entry.weight;
    shown.set(entry.name, stage);
  }
  view.stages = [...shown.values(), ...view.stages.filter((s) => !shown.has(s.stage))];
}

function end(view: RunProgress, type: TerminalType, at: number) {
  view.terminal = type;
  view.status = STATUS_OF_TERMINAL[type];
  view.endedAt = at;
  if (type === "run.completed") view.progress = 100;
  for (const stage of view.stages) {
    if (stage.state === "running" || stage.state === "retrying") {
      stage.state = type === "run.cancelled" ? "cancelled" : "failed";
      stage.endedAt = at;
      if (stage.startedAt !== undefined) stage.durationMs = at - stage.startedAt;
    }
  }
}
