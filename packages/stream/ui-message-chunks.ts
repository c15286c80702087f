import type { RunStage, RunStatus, SafeError, SseMessage, Usage } from "../events/index.ts";

/**
 * The chunks of the AI SDK's UI message stream that Stagecast writes: a structural subset of
 * the `ai` package's `UIMessageChunk` (ai 7.x, src/ui-message-stream/ui-message-chunks.ts,
 * validated there by `uiMessageChunkSchema`), declared here because deployed code does not
 * depend on `ai` (a development dependency, used by the tests to check every chunk). Shapes:
 * - `start` / `finish` / `abort` / `error`: the message's boundaries (docs/04-ai-sdk-ui/50-stream-protocol.mdx);
 * - `start-step` / `finish-step` / `reset-step`: one step per stage; `reset-step` removes the
 *   parts sent since the last `start-step` (a retried stage's voided output);
 * - `text-*`: the streamed answer, one text part per stage attempt;
 * - `tool-input-available` / `tool-output-available` / `tool-output-error`: one tool call;
 *   `dynamic: true` because the client knows no tool types (the agent's tools are the server's);
 * - `data-*`: Stagecast's own parts (see {@link UiDataChunk}).
 */
export type UiMessageChunk =
  | { type: "start"; messageId?: string; messageMetadata?: UiMessageMetadata }
  | { type: "finish"; finishReason?: "stop" | "error" | "other"; messageMetadata?: UiMessageMetadata }
  | { type: "abort"; reason?: string }
  | { type: "error"; errorText: string }
  | { type: "start-step" }
  | { type: "finish-step" }
  | { type: "reset-step" }
  | { type: "text-start"; id: string }
  | { type: "text-delta"; id: string; delta: string }
  | { type: "text-end"; id: string }
  | { type: "tool-input-available"; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | { type: "tool-output-available"; toolCallId: string; output: unknown; dynamic: true }
  | { type: "tool-output-error"; toolCallId: string; errorText: string; dynamic: true }
  | UiDataChunk;

/**
 * Stagecast's data parts. The AI SDK reconciles a data part by `type` and `id` (a later chunk
 * replaces the part's `data`; ai 7.x src/ui/process-ui-message-stream.ts, the `data-*` case),
 * so each chunk carries the whole current value, not a diff. `transient` parts reach `onData`
 * only and are never added to the message.
 */
export type UiDataChunk =
  | { type: "data-run"; id: string; data: RunPart }
  | { type: "data-progress"; id: string; data: ProgressPart }
  | { type: "data-stage"; id: string; data: StagePart }
  | { type: "data-reconnect"; transient: true; data: ReconnectPart };

/** `messageMetadata` of `start` (the run id) and `finish` (the outcome, usage when completed). */
export interface UiMessageMetadata {
  runId: string;
  status?: RunStatus;
  usage?: Usage;
  models?: string[];
  /** The run's duration (ms), from run.completed. */
  durationMs?: number;
  error?: SafeError;
}

/** `data-run` (id = run id): the run as a whole; `status` follows run.queued, run.started and the terminal event. */
export interface RunPart {
  runId: string;
  status: RunStatus;
  question?: string;
  agent?: string;
  stages?: RunStage[];
  /** run.failed / run.timed_out's error. */
  error?: SafeError;
  /** run.cancelled's reason, when the canceller gave one. */
  reason?: string;
}

/** `data-progress` (id = run id): overall progress (percent, 0–100) and the newest event's message. */
export interface ProgressPart {
  progress: number;
  message: string;
  stage?: string;
  /** The seq of the event it was taken from. */
  seq: number;
}

/** `data-stage` (id = stage name): one stage's state, its newest detail (stage.progress / stage.completed data). */
export interface StagePart {
  stage: string;
  state: "running" | "retrying" | "done";
  attempt: number;
  /** Position in the agent's stage list (0-based) and the list's length, from stage.started. */
  index?: number;
  total?: number;
  message?: string;
  /** The stage's newest non-empty detail (stage.progress `data`, or stage.completed's fields beside `durationMs`). */
  data?: Record<string, unknown>;
  durationMs?: number;
  /** stage.retrying's error: why the previous attempt was voided. */
  error?: SafeError;
}

/** `data-reconnect` (transient): the response closes before the run's end; resume (see docs/api.md §10). */
export interface ReconnectPart {
  runId: string;
  lastSeq: number;
  retryMs: number;
  reason: "deadline" | "max_bytes" | "error";
}

/**
 * The protocol's end marker, `data: [DONE]` (docs/04-ai-sdk-ui/50-stream-protocol.mdx, "Stream
 * Termination"); the AI SDK's parser skips it (provider-utils parseJsonEventStream).
 */
export const DONE_FRAME: SseMessage = { data: "[DONE]" };

/**
 * The frames of one stored event's chunks: one unnamed `data:` frame each (the protocol reads
 * `data:` only), the last one carrying `id: seq`, so a Last-Event-ID never points inside an
 * event's group of frames.
 * @param chunks the event's chunks, in order (none: no frame).
 * @param seq the event's seq.
 */
export function chunkFrames(chunks: readonly UiMessageChunk[], seq: number): SseMessage[] {
  return chunks.map((chunk, i) => ({
    data: JSON.stringify(chunk),
    ...(i === chunks.length - 1 ? { id: String(seq) } : {}),
  }));
}
