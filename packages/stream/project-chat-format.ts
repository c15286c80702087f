import {
  clip,
  type Ended,
  type Heartbeat,
  type Reconnect,
  type RunEvent,
  type SseMessage,
  type TerminalType,
} from "../events/index.ts";

/**
 * `?format=project-chat`: the project chat's streaming API (`/projects/{projectId}/chat-stream`,
 * docs/api.md §12, docs/origins.md seed 003). One `data:` line of JSON per
 * frame, no `event:` field (its clients use EventSource `onmessage`, or read `data:` lines),
 * dispatched on `type`:
 * - `progress`: `{step, message, details, timestamp, metadata}` for each step of the run (the
 *   run's start, each stage's start, progress, tool calls, retries and end, and `completion`);
 * - `heartbeat` after silence; `complete` with the answer (`response`); `error` for a run that
 *   failed, was cancelled or timed out; `reconnect` and `ended` as in the Stagecast format.
 * The last frame of each stored event has `id: <seq>` (run.completed gives two frames, and only
 * the second, `complete`, carries the id, so a reconnect between them sends both again rather
 * than lose the answer); the opening and `reconnect` frames carry the stream's cursor as `id:`.
 * `llm.delta` has no frame: the answer arrives whole in `complete`.
 *
 * The registry (stream-format.ts) checks this object against `StreamFormat`; it does not
 * import that module's types, which would make an import cycle.
 */

/** The type names the `types` filter takes in this format (control frames are always sent). */
export const PROJECT_CHAT_TYPES = ["progress", "complete", "error"] as const;

/** Longest `details` text (characters): tool inputs and results are cut to it. */
export const MAX_DETAILS_CHARS = 1000;

/**
 * A `progress` frame's step. `step`: `start`, the stage's name (`context` … `memory` for the
 * built-in agent) or `completion`; `timestamp`: the event's time (ISO-8601 UTC); `metadata`:
 * `{ run_id, seq, event_type, percent (0–100), stage?, attempt?, data }` where `data` is the
 * stored event's data (run.completed's without `answer`, which `complete` carries).
 */
export interface ChatProgress {
  step: string;
  message: string;
  details: string;
  timestamp: string;
  metadata: Record<string, unknown>;
}

/**
 * The JSON of one frame's `data:` line. `timestamp`: ISO-8601 UTC (the event's for stored
 * events, the send time for control frames); `elapsed_ms`: since the run was created (ms);
 * `percent`: run progress (0–100); `retry_ms`: reconnection delay (ms).
 */
export type ChatFrame =
  | { type: "progress"; progress: ChatProgress }
  | { type: "complete"; response: string; timestamp: string; run_id: string; seq: number }
  | { type: "error"; error: string; code: string; timestamp: string; run_id: string; seq: number }
  | {
      type: "heartbeat";
      timestamp: string;
      run_id: string;
      elapsed_ms: number;
      stage?: string;
      percent: number;
      last_seq: number;
    }
  | {
      type: "reconnect";
      timestamp: string;
      run_id: string;
      last_seq: number;
      retry_ms: number;
      reason: Reconnect["reason"];
    }
  | { type: "ended"; timestamp: string; run_id: string; last_seq: number; terminal: TerminalType };

const json = (value: unknown) => clip(JSON.stringify(value) ?? "", MAX_DETAILS_CHARS);

/** The `details` text of a progress step: the question, a retry's or tool's error, a tool's input or result. */
function detailsOf(event: RunEvent): string {
  switch (event.type) {
    case "run.queued":
      return event.data.question;
    case "stage.retrying":
      return event.data.error.message;
    case "tool.started":
      return json(event.data.input);
    case "tool.completed":
      return event.data.ok ? json(event.data.result ?? null) : (event.data.error?.message ?? "");
    default:
      return "";
  }
}

const withoutAnswer = <T extends { answer: string }>({ answer: _answer, ...rest }: T) => rest;

/** The `progress` frame of a stored event, as step `step`. */
function progressFrame(event: RunEvent, step: string): ChatFrame {
  return {
    type: "progress",
    progress: {
      step,
      message: event.message,
      details: detailsOf(event),
      timestamp: event.ts,
      metadata: {
        run_id: event.runId,
        seq: event.seq,
        event_type: event.type,
        percent: event.progress,
        ...(event.stage === undefined ? {} : { stage: event.stage }),
        ...(event.attempt === undefined ? {} : { attempt: event.attempt }),
        // The answer is the `complete` frame's `response`; it is not repeated here.
        data: event.type === "run.completed" ? withoutAnswer(event.data) : event.data,
      },
    },
  };
}

/**
 * The frames of one stored event, in order: run.queued and run.started → progress `start`;
 * stage and tool events → progress named by the stage; run.completed → progress `completion`,
 * then `complete`; run.failed, run.timed_out → `error` (its code); run.cancelled → `error`
 * (`cancelled`); llm.delta → none.
 */
export function toChatFrames(event: RunEvent): ChatFrame[] {
  const ids = { timestamp: event.ts, run_id: event.runId, seq: event.seq };
  switch (event.type) {
    case "llm.delta":
      return [];
    case "run.queued":
    case "run.started":
      return [progressFrame(event, "start")];
    case "run.completed":
      return [progressFrame(event, "completion"), { type: "complete", response: event.data.answer, ...ids }];
    case "run.failed":
    case "run.timed_out":
      return [{ type: "error", error: event.data.error.message, code: event.data.error.code, ...ids }];
    case "run.cancelled":
      return [{ type: "error", error: event.message, code: "cancelled", ...ids }];
    default:
      return [progressFrame(event, event.stage ?? "start")];
  }
}

const message = (frame: ChatFrame, id?: number): SseMessage => ({
  ...(id === undefined ? {} : { id: String(id) }),
  data: JSON.stringify(frame),
});

/** A `heartbeat` frame (no `id:`: it is not stored and must not move a client's Last-Event-ID). */
function heartbeat(beat: Heartbeat): SseMessage {
  return message({
    type: "heartbeat",
    timestamp: new Date().toISOString(),
    run_id: beat.runId,
    elapsed_ms: beat.elapsedMs,
    ...(beat.stage === undefined ? {} : { stage: beat.stage }),
    percent: beat.progress,
    last_seq: beat.lastSeq,
  });
}

/** One stream's mapping; it keeps no state, so every stream shares it. */
const SESSION = {
  /**
   * A heartbeat with `retry:` and `id:` = the stream's cursor, so that even a connection cut
   * before the first event reconnects with Last-Event-ID: the chat-stream routes then resume
   * the run they started instead of starting another.
   */
  opening: (beat: Heartbeat, retryMs: number): readonly SseMessage[] => [
    { ...heartbeat(beat), id: String(beat.lastSeq), retry: retryMs },
  ],
  /** Only the last frame of an event carries its seq as `id:`. */
  frames: (event: RunEvent): readonly SseMessage[] =>
    toChatFrames(event).map((frame, i, all) => message(frame, i === all.length - 1 ? event.seq : undefined)),
  heartbeat: (beat: Heartbeat): readonly SseMessage[] => [heartbeat(beat)],
  reconnect: (r: Reconnect): readonly SseMessage[] => [
    {
      ...message({
        type: "reconnect",
        timestamp: new Date().toISOString(),
        run_id: r.runId,
        last_seq: r.lastSeq,
        retry_ms: r.retryMs,
        reason: r.reason,
      }),
      // Every frame up to lastSeq was sent: resuming after it skips only events without frames.
      id: String(r.lastSeq),
      retry: r.retryMs,
    },
  ],
  ended: (e: Ended): readonly SseMessage[] => [
    message({
      type: "ended",
      timestamp: new Date().toISOString(),
      run_id: e.runId,
      last_seq: e.lastSeq,
      terminal: e.terminal,
    }),
  ],
};

/** The format object the registry lists (a `StreamFormat`). */
export const PROJECT_CHAT_FORMAT = {
  name: "project-chat" as const,
  types: PROJECT_CHAT_TYPES,
  typeOf: (event: RunEvent): string => {
    const last = toChatFrames(event).at(-1)?.type;
    return last === "complete" || last === "error" ? last : "progress";
  },
  open: () => SESSION,
};
