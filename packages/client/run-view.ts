import {
  isTerminalType,
  type RunEvent,
  type RunStatus,
  type SafeError,
  STAGES,
  STATUS_OF_TERMINAL,
  type Stage,
  type TerminalType,
  type Usage,
} from "../events/index.ts";

/** Where a stage is in a run, as a timeline shows it. */
export type StageState = "pending" | "running" | "retrying" | "done" | "failed" | "cancelled";

/**
 * One stage of the timeline. Times are ms since epoch (server clock, from event `ts`);
 * `durationMs` is from its first stage.started to its stage.completed (retries included),
 * set once the stage is done.
 */
export interface StageView {
  stage: Stage;
  state: StageState;
  attempt: number;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** The stage's newest message (what it is doing, or why it is retrying). */
  message?: string;
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
 * {@link applyEvent}): the timeline, progress (percent), the answer as written so far, tool
 * calls, and how it ended. `createdAt` / `endedAt` are ms since epoch (server clock).
 */
export interface RunProgress {
  runId: string;
  status: RunStatus;
  question?: string;
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

/** A run's view before any event arrived. */
export function initialRunProgress(runId: string): RunProgress {
  return {
    runId,
    status: "queued",
    stages: STAGES.map((stage) => ({ stage, state: "pending", attempt: 0 })),
    progress: 0,
    message: "",
    answer: "",
    tools: [],
    lastSeq: 0,
  };
}

/** Identifies which attempt wrote the current answer, so a retried attempt starts it afresh. */
const answerWriter = new WeakMap<RunProgress, string>();

/**
 * Fold one event into `view` (mutated and returned). Events at or below `view.lastSeq` are
 * ignored, so replaying a log from 0 after a reload, or a resumed stream overlapping the
 * last one, never duplicates text. A retried attempt's first llm.delta replaces the partial
 * answer of the attempt before it; run.completed sets the final answer.
 */
export function applyEvent(view: RunProgress, event: RunEvent): RunProgress {
  if (event.seq <= view.lastSeq) return view;
  view.lastSeq = event.seq;
  const at = Date.parse(event.ts);
  view.progress = Math.max(view.progress, event.progress);
  view.message = event.message;
  const stage = event.stage ? view.stages.find((s) => s.stage === event.stage) : undefined;
  if (stage && !isTerminalType(event.type)) stage.message = event.message;
  switch (event.type) {
    case "run.queued":
      view.question = event.data.question;
      view.createdAt = at;
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
      const tool = view.tools.findLast((t) => t.callId === event.data.callId);
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
