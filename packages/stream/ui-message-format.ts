import {
  type Ended,
  EVENT_TYPES,
  type EventOf,
  type Heartbeat,
  type Reconnect,
  type RunEvent,
  type RunEventType,
  type SseMessage,
  sseComment,
} from "../events/index.ts";
import {
  chunkFrames,
  DONE_FRAME,
  type ProgressPart,
  type RunPart,
  type StagePart,
  type UiMessageChunk,
} from "./ui-message-chunks.ts";

/**
 * The response header that marks an AI SDK UI message stream (docs/04-ai-sdk-ui/50-stream-protocol.mdx:
 * "set the `x-vercel-ai-ui-message-stream` header to `v1`"; ai 7.x src/ui-message-stream/ui-message-stream-headers.ts).
 */
export const UI_MESSAGE_STREAM_HEADER = { name: "x-vercel-ai-ui-message-stream", value: "v1" } as const;

/** The `format` name of the UI message stream (`?format=ui-message`). */
export const UI_MESSAGE_FORMAT_NAME = "ui-message";

/** Where one stream starts (structurally stream-format.ts's FormatStart). */
interface Start {
  runId: string;
  after: number;
}

/** The stage this response is in: its open text part, the tool calls it showed, whether it opened the stage's step. */
interface CurrentStage {
  stage: string;
  text?: string | undefined;
  tools: Set<string>;
  stepOpened: boolean;
}

/**
 * One response's mapping of a run's log onto the AI SDK's UI message stream (docs/api.md §10).
 * A stream from the log's start (`after` 0) is a full replay, which is what `useChat` expects
 * of a resumed stream (`DefaultChatTransport`'s `resumeStreamIsReplay`, default true): it opens
 * with `start` (`messageId` = run id). A stream from a cursor is a continuation: no `start`, so
 * a client keeps what it has ("When a continuation omits the `start` chunk, the client
 * preserves its interrupted streaming state", docs/04-ai-sdk-ui/03-chatbot-resume-streams.mdx),
 * and every chunk it sends is still valid alone (a text part it did not open is opened, a tool
 * result whose call it did not show shows the call first, from tool.completed's `input`). One
 * step per stage, opened by stage.started only, so a continuation joins the step an earlier
 * response opened instead of adding one.
 * Structurally a FormatSession (stream-format.ts imports this module to register it, so this
 * module does not import that one: the pair would be a cycle).
 */
export class UiMessageSession {
  readonly #runId: string;
  readonly #fromStart: boolean;
  #current: CurrentStage | undefined;
  /** Chunks that must precede the current event's own (closing the previous stage, opening a text part). */
  readonly #pending: UiMessageChunk[] = [];
  /** Whether this response has seen an event of any stage yet. */
  #sawStage = false;
  readonly #stages = new Map<string, StagePart>();
  #run: RunPart;
  #progress: ProgressPart | undefined;
  /** Whether any text part was sent: a full replay of a run that streamed none sends the answer at the end. */
  #textSent = false;

  constructor(start: Start) {
    this.#runId = start.runId;
    this.#fromStart = start.after === 0;
    this.#run = { runId: start.runId, status: "queued" };
  }

  /** `start` (with `retry:`) on a full replay; on a continuation a bare `retry:` line that joins the next frame's block. */
  opening(_beat: Heartbeat, retryMs: number): (SseMessage | string)[] {
    if (!this.#fromStart) return [`retry: ${retryMs}\n`];
    const start: UiMessageChunk = {
      type: "start",
      messageId: this.#runId,
      messageMetadata: { runId: this.#runId },
    };
    return [{ data: JSON.stringify(start), retry: retryMs }];
  }

  /** The chunks of one stored event as frames (the last one with `id: seq`), then `[DONE]` after a terminal event. */
  frames(event: RunEvent): SseMessage[] {
    const chunks = [...this.#chunks(event), ...this.#progressChunk(event)];
    const frames = chunkFrames(this.#ordered(event, chunks), event.seq);
    return TERMINAL.has(event.type) ? [...frames, DONE_FRAME] : frames;
  }

  /** An SSE comment: the protocol has no keep-alive chunk, and its parser skips comments. */
  heartbeat(beat: Heartbeat): string[] {
    return [sseComment(`heartbeat ${Math.round(beat.elapsedMs / 1000)} s, ${Math.round(beat.progress)}%`)];
  }

  /** A comment, then a transient `data-reconnect` with `retry:`; no `[DONE]`: the run goes on. */
  reconnect(r: Reconnect): (SseMessage | string)[] {
    const part: UiMessageChunk = {
      type: "data-reconnect",
      transient: true,
      data: { runId: r.runId, lastSeq: r.lastSeq, retryMs: r.retryMs, reason: r.reason },
    };
    return [
      sseComment(`reconnect after ${r.lastSeq} (${r.reason})`),
      { data: JSON.stringify(part), retry: r.retryMs },
    ];
  }

  /** The cursor is at or past the terminal event, which an earlier response carried: only the end marker. */
  ended(e: Ended): (SseMessage | string)[] {
    return [sseComment(`ended at ${e.lastSeq} (${e.terminal})`), DONE_FRAME];
  }

  /** A terminal event's end chunks (`error`, `finish`, `abort`) go last, after its progress part: nothing may follow them. */
  #ordered(event: RunEvent, chunks: UiMessageChunk[]): UiMessageChunk[] {
    if (!TERMINAL.has(event.type)) return chunks;
    const ends = chunks.filter((c) => END_CHUNKS.has(c.type));
    return [...chunks.filter((c) => !END_CHUNKS.has(c.type)), ...ends];
  }

  #chunks(event: RunEvent): UiMessageChunk[] {
    switch (event.type) {
      case "run.queued":
        this.#run = {
          ...this.#run,
          question: event.data.question,
          ...(event.data.agent === undefined ? {} : { agent: event.data.agent }),
          ...(event.data.stages === undefined ? {} : { stages: event.data.stages }),
        };
        return [this.#runChunk()];
      case "run.started":
        this.#run = { ...this.#run, status: "running" };
        return [this.#runChunk()];
      case "stage.started":
        return this.#stageStarted(event);
      case "stage.progress":
        return this.#stageProgress(event);
      case "llm.delta":
        return this.#delta(event);
      case "tool.started":
        return this.#toolStarted(event);
      case "tool.completed":
        return this.#toolCompleted(event);
      case "stage.retrying":
        return this.#stageRetrying(event);
      case "stage.completed":
        return this.#stageCompleted(event);
      default:
        return this.#terminal(event);
    }
  }

  #runChunk(): UiMessageChunk {
    return { type: "data-run", id: this.#runId, data: this.#run };
  }

  #stageChunk(part: StagePart): UiMessageChunk {
    this.#stages.set(part.stage, part);
    return { type: "data-stage", id: part.stage, data: part };
  }

  /** The stage's part as this response knows it, or a new one. */
  #stagePart(stage: string, attempt: number): StagePart {
    return this.#stages.get(stage) ?? { stage, state: "running", attempt };
  }

  /** Leave the current stage: `text-end` for its open text part, `finish-step` for a step this response opened. */
  #leave(): UiMessageChunk[] {
    const current = this.#current;
    if (!current) return [];
    this.#current = undefined;
    const chunks: UiMessageChunk[] = current.text ? [{ type: "text-end", id: current.text }] : [];
    return current.stepOpened ? [...chunks, { type: "finish-step" }] : chunks;
  }

  /**
   * Make `stage` the current one (leaving another first). Only stage.started opens a step: an
   * event of a stage whose stage.started came before the cursor joins the client's current step
   * (the one an earlier response opened), so a continuation adds no step of its own there.
   */
  #enter(stage: string): CurrentStage {
    this.#sawStage = true;
    if (this.#current?.stage !== stage) {
      this.#pending.push(...this.#leave());
      this.#current = { stage, tools: new Set(), stepOpened: false };
    }
    return this.#current;
  }

  /** The chunks {@link #enter} and friends queued ahead of an event's own, taken once. */
  #take(): UiMessageChunk[] {
    return this.#pending.splice(0);
  }

  #stageStarted(event: EventOf<"stage.started">): UiMessageChunk[] {
    const stage = event.stage ?? "unknown";
    const attempt = event.attempt ?? 0;
    // After a retry's reset-step the stage's step is still open: the next attempt reuses it.
    if (this.#current?.stage !== stage || !this.#current.stepOpened) {
      this.#pending.push(...this.#leave(), { type: "start-step" });
      this.#current = { stage, tools: new Set(), stepOpened: true };
    }
    this.#sawStage = true;
    const { error: _voided, durationMs: _d, data: _old, ...rest } = this.#stagePart(stage, attempt);
    const part: StagePart = {
      ...rest,
      state: "running",
      attempt,
      index: event.data.index,
      total: event.data.total,
      message: event.message,
    };
    return [...this.#take(), this.#stageChunk(part)];
  }

  #stageProgress(event: EventOf<"stage.progress">): UiMessageChunk[] {
    if (event.stage === undefined) return [];
    this.#enter(event.stage);
    const part = this.#stagePart(event.stage, event.attempt ?? 0);
    const data = Object.keys(event.data).length > 0 ? { data: event.data } : {};
    return [
      ...this.#take(),
      this.#stageChunk({ ...part, state: "running", message: event.message, ...data }),
    ];
  }

  /** A text part per stage attempt (`text-<stage>-<attempt>`), opened by its first delta. */
  #delta(event: EventOf<"llm.delta">): UiMessageChunk[] {
    if (event.data.text === "") return [];
    // A delta always has its stage (the stage runner writes it); `run` only keeps the type total.
    const stage = event.stage ?? "run";
    const current = this.#enter(stage);
    const id = `text-${stage}-${event.attempt ?? 0}`;
    if (current.text !== id) {
      if (current.text) this.#pending.push({ type: "text-end", id: current.text });
      this.#pending.push({ type: "text-start", id });
      current.text = id;
    }
    this.#textSent = true;
    return [...this.#take(), { type: "text-delta", id, delta: event.data.text }];
  }

  #toolStarted(event: EventOf<"tool.started">): UiMessageChunk[] {
    const { callId, name, input } = event.data;
    this.#enter(event.stage ?? "run").tools.add(callId);
    return [
      ...this.#take(),
      { type: "tool-input-available", toolCallId: callId, toolName: name, input, dynamic: true },
    ];
  }

  /**
   * The result; the call first when this response did not show it (tool.completed repeats its
   * `input`). A client that has the call already (a continuation on the same chat) updates its
   * part in place: the AI SDK finds a call by id in the current step, which is the one holding it.
   */
  #toolCompleted(event: EventOf<"tool.completed">): UiMessageChunk[] {
    const { callId, name, ok, result, error } = event.data;
    const current = this.#enter(event.stage ?? "run");
    const call: UiMessageChunk[] = current.tools.has(callId)
      ? []
      : [
          {
            type: "tool-input-available",
            toolCallId: callId,
            toolName: name,
            input: event.data.input ?? null,
            dynamic: true,
          },
        ];
    current.tools.add(callId);
    const outcome: UiMessageChunk = ok
      ? { type: "tool-output-available", toolCallId: callId, output: result ?? null, dynamic: true }
      : {
          type: "tool-output-error",
          toolCallId: callId,
          errorText: error ? `${error.message} (${error.code})` : "The tool failed.",
          dynamic: true,
        };
    return [...this.#take(), ...call, outcome];
  }

  /**
   * The previous attempt is void: `reset-step` removes the parts the client got since the
   * step's start (text, tool calls, the stage's data part) and the step stays open for the next
   * attempt. Sent when this response showed the stage, or when a continuation's first stage
   * event is this one (the client's current step, from an earlier response, is then the
   * stage's); otherwise the client's current step is another stage's and nothing is reset.
   */
  #stageRetrying(event: EventOf<"stage.retrying">): UiMessageChunk[] {
    const stage = event.stage ?? "unknown";
    const reset = this.#current?.stage === stage || (!this.#fromStart && !this.#sawStage);
    const current = this.#enter(stage);
    if (reset) {
      this.#pending.push({ type: "reset-step" });
      current.text = undefined;
      current.tools.clear();
    }
    const { data: _voided, durationMs: _d, ...rest } = this.#stagePart(stage, event.data.nextAttempt);
    const part: StagePart = {
      ...rest,
      state: "retrying",
      attempt: event.data.nextAttempt,
      message: event.message,
      error: event.data.error,
    };
    return [...this.#take(), this.#stageChunk(part)];
  }

  #stageCompleted(event: EventOf<"stage.completed">): UiMessageChunk[] {
    const stage = event.stage ?? "unknown";
    const { durationMs, ...extra } = event.data;
    const data = Object.keys(extra).length > 0 ? { data: extra } : {};
    this.#enter(stage);
    const part = this.#stagePart(stage, event.attempt ?? 0);
    const done = this.#stageChunk({ ...part, state: "done", message: event.message, durationMs, ...data });
    return [...this.#take(), done, ...this.#leave()];
  }

  #terminal(event: Terminal): UiMessageChunk[] {
    const closed = this.#leave();
    switch (event.type) {
      case "run.completed":
        return [...closed, ...this.#completed(event)];
      case "run.cancelled":
        this.#run = {
          ...this.#run,
          status: "cancelled",
          ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
        };
        return [...closed, this.#runChunk(), { type: "abort", reason: event.data.reason ?? event.message }];
      default: {
        const status = event.type === "run.failed" ? "failed" : "timed_out";
        const { error } = event.data;
        this.#run = { ...this.#run, status, error };
        return [
          ...closed,
          this.#runChunk(),
          { type: "error", errorText: `${error.message} (${error.code})` },
          { type: "finish", finishReason: "error", messageMetadata: { runId: this.#runId, status, error } },
        ];
      }
    }
  }

  /** `finish` with the usage; before it, the answer as one text part when a full replay streamed no text. */
  #completed(event: EventOf<"run.completed">): UiMessageChunk[] {
    this.#run = { ...this.#run, status: "completed" };
    const { answer, usage, models, durationMs } = event.data;
    const text: UiMessageChunk[] =
      this.#fromStart && !this.#textSent && answer !== ""
        ? [
            { type: "text-start", id: "answer" },
            { type: "text-delta", id: "answer", delta: answer },
            { type: "text-end", id: "answer" },
          ]
        : [];
    return [
      this.#runChunk(),
      ...text,
      {
        type: "finish",
        finishReason: "stop",
        messageMetadata: { runId: this.#runId, status: "completed", usage, models, durationMs },
      },
    ];
  }

  /** `data-progress` when the whole percent or the message changed since this response last sent it. */
  #progressChunk(event: RunEvent): UiMessageChunk[] {
    const last = this.#progress;
    if (last && Math.floor(last.progress) === Math.floor(event.progress) && last.message === event.message) {
      return [];
    }
    this.#progress = {
      progress: event.progress,
      message: event.message,
      ...(event.stage === undefined ? {} : { stage: event.stage }),
      seq: event.seq,
    };
    return [{ type: "data-progress", id: this.#runId, data: this.#progress }];
  }
}

/** The terminal events, as the mapping's last case sees them. */
type Terminal = EventOf<"run.completed" | "run.failed" | "run.cancelled" | "run.timed_out">;

const TERMINAL: ReadonlySet<RunEventType> = new Set([
  "run.completed",
  "run.failed",
  "run.cancelled",
  "run.timed_out",
]);

/** Chunks that end the message: nothing of the event may follow them. */
const END_CHUNKS: ReadonlySet<UiMessageChunk["type"]> = new Set(["finish", "abort", "error"]);

/**
 * `?format=ui-message`: the AI SDK's UI message stream (what `useChat` reads through
 * `DefaultChatTransport`), mapped event by event in docs/api.md §10. The `types` filter
 * selects Stagecast's event types. Structurally a StreamFormat (see {@link UiMessageSession}).
 */
export const UI_MESSAGE_FORMAT = {
  name: UI_MESSAGE_FORMAT_NAME,
  types: EVENT_TYPES,
  typeOf: (event: RunEvent): string => event.type,
  open: (start: Start): UiMessageSession => new UiMessageSession(start),
} as const;
