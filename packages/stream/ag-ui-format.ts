import {
  type Ended,
  EVENT_TYPES,
  type EventOf,
  type Heartbeat,
  type Reconnect,
  type RunEvent,
  type Snapshot,
  type SseMessage,
  STATUS_OF_TERMINAL,
  sseComment,
  type TerminalType,
} from "../events/index.ts";
import {
  AG_UI_PROTOCOL_VERSION,
  type AgUiEvent,
  agUiFrame,
  type StoredEventRef,
  storedFrames,
} from "./ag-ui-events.ts";
import { latestState, queuedState, startState, statePatch } from "./ag-ui-state.ts";

/** One frame on the wire: an SSE message, or raw text (a comment line); stream-format.ts's `Frame`. */
type Frame = SseMessage | string;

/**
 * The `ag-ui` format: structurally a `StreamFormat` of stream-format.ts (its registry imports
 * this module, so this module does not import its types back: .dependency-cruiser.cjs forbids
 * cycles, type-only imports included). Its sessions are `FormatSession`s.
 */
export interface AgUiFormat {
  name: "ag-ui";
  /** Every Stagecast event type: `types` filters stored events by their Stagecast type. */
  types: readonly string[];
  typeOf(event: RunEvent): string;
  /** `?from=latest`: a STATE_SNAPSHOT of the run as it is now, `id:` its newest seq. */
  snapshot(snapshot: Snapshot): SseMessage;
  /** One response's mapping, from the cursor `after` (events with a greater seq follow). */
  open(start: { runId: string; after: number }): AgUiSession;
}

/**
 * `?format=ag-ui` and POST /ag-ui: the run's log as AG-UI events (the Agent-User Interaction
 * protocol that CopilotKit speaks; docs.ag-ui.com "Events"; shapes per @ag-ui/core 1.0.0),
 * one `data:` line each, in the order @ag-ui/client's verifier (src/verify/verify.ts) enforces:
 * RUN_STARTED first; steps, text messages and tool calls opened before they are continued and
 * closed before RUN_FINISHED; exactly one RUN_FINISHED or RUN_ERROR, last. docs/api.md §9 has the
 * table. Ids:
 * - `runId` is the Stagecast run id; `threadId` is the request's threadId on POST /ag-ui, the
 *   run id on GET /runs/{runId}/stream (which knows only the run when it opens);
 * - a text message per stage attempt: `<runId>:<stage>:<attempt>` (`<runId>:run` without a
 *   stage), the same in every response, so a resumed stream continues the same message;
 * - a tool call's id is the event's `callId`; its result message is `<runId>:<seq>:result`.
 */
export function agUiFormat(options: { threadId?: string } = {}): AgUiFormat {
  return {
    name: "ag-ui",
    // The filter selects stored events by their Stagecast type: one stored event maps to several
    // AG-UI events, so AG-UI names could not select a stored event as a whole.
    types: EVENT_TYPES,
    typeOf: (event) => event.type,
    snapshot: (snapshot: Snapshot) =>
      agUiFrame(
        { type: "STATE_SNAPSHOT", snapshot: latestState(snapshot), rawEvent: snapshotRef(snapshot) },
        snapshot.lastSeq,
      ),
    open: (start) => new AgUiSession(start.runId, options.threadId ?? start.runId, start.after),
  };
}

/** `?format=ag-ui` on GET /runs/{runId}/stream: threadId is the run id. */
export const AG_UI: AgUiFormat = agUiFormat();

const snapshotRef = (snapshot: Snapshot): StoredEventRef => ({
  runId: snapshot.runId,
  seq: snapshot.lastSeq,
  type: "snapshot",
});

/** The text message of one stage attempt (see {@link agUiFormat}); stage names never contain `:`. */
export const agUiMessageId = (
  runId: string,
  stage: string | undefined,
  attempt: number | undefined,
): string => (stage === undefined ? `${runId}:run` : `${runId}:${stage}:${attempt ?? 0}`);

/**
 * One response's mapping. It keeps what this response has opened (the step, the text message,
 * tool calls) and the progress it last reported; nothing from earlier responses, so a resumed stream is
 * valid AG-UI on its own: it opens what it continues (STEP_STARTED, TEXT_MESSAGE_START with the
 * same deterministic id) and closes what it opened.
 */
export class AgUiSession {
  readonly #runId: string;
  readonly #threadId: string;
  #step: string | undefined;
  #message: string | undefined;
  /** Tool calls this response started whose result has not come (TOOL_CALL_END comes with it). */
  readonly #calls = new Set<string>();
  /**
   * The stages whose `/data` entry this response created, when it built the state itself (it
   * streams from the run's start and sent the STATE_SNAPSHOT); undefined on a resumed stream,
   * whose client has the state of the responses before (it must not be replaced).
   */
  #known: Set<string> | undefined;
  /** Whether the next event must be preceded by a STATE_SNAPSHOT: a stream from the start that has sent none. */
  #snapshotDue: boolean;
  /** The whole percent of the progress this response last wrote (progress moves the state at most once per percent). */
  #percent: number | undefined;

  /** @param after the stream's cursor: 0 streams from the run's start, so it sends the state whole. */
  constructor(runId: string, threadId: string, after: number) {
    this.#runId = runId;
    this.#threadId = threadId;
    this.#snapshotDue = after === 0;
  }

  /** RUN_STARTED, first in every stream, with `retry: retryMs` (ms): the opening frame a reconnect delay rides on. */
  opening(_beat: Heartbeat, retryMs: number): readonly Frame[] {
    const started: AgUiEvent = {
      type: "RUN_STARTED",
      threadId: this.#threadId,
      runId: this.#runId,
      protocolVersion: AG_UI_PROTOCOL_VERSION,
    };
    return [agUiFrame(started, undefined, retryMs)];
  }

  /** The frames of one stored event; the last carries `id: <seq>` (see storedFrames). */
  frames(event: RunEvent): readonly Frame[] {
    return storedFrames(event, [...this.#snapshot(event), ...this.#map(event)]);
  }

  /** AG-UI clients parse `data:` lines only: a keep-alive is a comment, which they skip. */
  heartbeat(beat: Heartbeat): readonly Frame[] {
    return [sseComment(`heartbeat ${Math.round(beat.elapsedMs / 1000)} s`)];
  }

  /** CUSTOM `reconnect` (with `retry:`): the run goes on; resume after `lastSeq`. Nothing is closed. */
  reconnect(reconnect: Reconnect): readonly Frame[] {
    return [agUiFrame({ type: "CUSTOM", name: "reconnect", value: reconnect }, undefined, reconnect.retryMs)];
  }

  /** CUSTOM `ended`, then the run's end as AG-UI has it (its detail was sent before this cursor). */
  ended(ended: Ended): readonly Frame[] {
    const { terminal, lastSeq } = ended;
    const end: AgUiEvent =
      terminal === "run.completed" || terminal === "run.cancelled"
        ? this.#finished(terminal === "run.cancelled" ? { type: "cancelled" } : undefined)
        : {
            type: "RUN_ERROR",
            message: `The run ended with ${terminal} at ${lastSeq}, at or before this stream's cursor.`,
            code: STATUS_OF_TERMINAL[terminal],
          };
    const events: AgUiEvent[] = [...this.#closeAll(), { type: "CUSTOM", name: "ended", value: ended }, end];
    return events.map((e) => agUiFrame(e));
  }

  /**
   * A stream from the run's start sends the state whole once: run.queued's STATE_SNAPSHOT, or,
   * when a `types` filter hid run.queued, one made from its first event (see startState).
   */
  #snapshot(event: RunEvent): AgUiEvent[] {
    if (!this.#snapshotDue) return [];
    this.#snapshotDue = false;
    this.#known = new Set();
    return event.type === "run.queued" ? [] : [{ type: "STATE_SNAPSHOT", snapshot: startState(event) }];
  }

  /** The AG-UI events of one stored event, in order (the last one gets the frame's `id:`). */
  #map(event: RunEvent): AgUiEvent[] {
    switch (event.type) {
      case "run.queued":
        return [
          { type: "STATE_SNAPSHOT", snapshot: queuedState(event) },
          { type: "CUSTOM", name: event.type, value: event.data },
        ];
      case "run.started":
        return [this.#delta(event)];
      case "stage.started":
        // A stage that starts again (a loop back, or a filter that hid its end) restarts its step.
        if (this.#step === event.stage)
          return [...this.#closeAll(), ...this.#enter(event), this.#delta(event)];
        return [...this.#enter(event), this.#delta(event)];
      case "stage.progress":
        return [...this.#enter(event), this.#delta(event)];
      case "llm.delta":
        return this.#text(event);
      case "tool.started":
      case "tool.completed":
        return this.#tool(event);
      case "stage.retrying":
        return this.#retrying(event);
      case "stage.completed":
        return [...this.#enter(event), ...this.#closeInner(), this.#delta(event), ...this.#closeStep()];
      default:
        return this.#terminal(event);
    }
  }

  /** STATE_DELTA for `event` (see statePatch); it notes the progress it reports. */
  #delta(event: RunEvent): AgUiEvent {
    const delta = statePatch(event, {
      openStep: this.#step,
      progressDue: this.#progressDue(event),
      createData: this.#createData(event),
    });
    if (delta.some((op) => op.path === "/progress")) this.#percent = Math.floor(event.progress);
    return { type: "STATE_DELTA", delta };
  }

  /** Whether `/data/<stage>` must be created first (see PatchContext.createData); notes it as created. */
  #createData(event: RunEvent): boolean {
    const { stage } = event;
    if (stage === undefined || this.#known === undefined || this.#known.has(stage)) return false;
    if (event.type === "stage.started") this.#known.add(stage); // it creates the entry itself
    if (event.type !== "stage.progress" && event.type !== "stage.completed") return false;
    this.#known.add(stage);
    return true;
  }

  #progressDue(event: RunEvent): boolean {
    return this.#percent !== Math.floor(event.progress);
  }

  /** A STATE_DELTA for text and tool events only when their progress crossed a whole percent. */
  #progress(event: RunEvent): AgUiEvent[] {
    return this.#progressDue(event) ? [this.#delta(event)] : [];
  }

  /** Open the event's stage as a step unless it is open (closing another one first). */
  #enter(event: RunEvent): AgUiEvent[] {
    const { stage } = event;
    if (stage === undefined || this.#step === stage) return [];
    const closing = this.#closeAll();
    this.#step = stage;
    return [...closing, { type: "STEP_STARTED", stepName: stage }];
  }

  #closeMessage(): AgUiEvent[] {
    const messageId = this.#message;
    if (messageId === undefined) return [];
    this.#message = undefined;
    return [{ type: "TEXT_MESSAGE_END", messageId }];
  }

  #closeStep(): AgUiEvent[] {
    const stepName = this.#step;
    if (stepName === undefined) return [];
    this.#step = undefined;
    return [{ type: "STEP_FINISHED", stepName }];
  }

  /** Close the open tool calls (a stage or run that ends during one), then the text message. */
  #closeInner(): AgUiEvent[] {
    const calls = [...this.#calls].map((toolCallId): AgUiEvent => ({ type: "TOOL_CALL_END", toolCallId }));
    this.#calls.clear();
    return [...calls, ...this.#closeMessage()];
  }

  /** Close what is open: tool calls, the text message, then the step. */
  #closeAll(): AgUiEvent[] {
    return [...this.#closeInner(), ...this.#closeStep()];
  }

  /** llm.delta: TEXT_MESSAGE_CONTENT of its stage attempt's message, opened first when needed. */
  #text(event: EventOf<"llm.delta">): AgUiEvent[] {
    const messageId = agUiMessageId(this.#runId, event.stage, event.attempt);
    const out = this.#enter(event);
    if (this.#message !== messageId) {
      out.push(...this.#closeMessage(), { type: "TEXT_MESSAGE_START", messageId, role: "assistant" });
      this.#message = messageId;
    }
    return [
      ...out,
      ...this.#progress(event),
      { type: "TEXT_MESSAGE_CONTENT", messageId, delta: event.data.text },
    ];
  }

  /**
   * tool.started: TOOL_CALL_START under its stage attempt's message, and its input as one
   * TOOL_CALL_ARGS. tool.completed: TOOL_CALL_END, then the result as TOOL_CALL_RESULT (JSON
   * text; `{"error":{code,message}}` for a failed call). END waits for the result so that the
   * last frame of each group is the only one that changes a client's messages when applied twice
   * (START again is a no-op in @ag-ui/client's reducer, ARGS again would append): a resume after
   * the last `id:` then repeats nothing. A response that did not send the call (a resume after
   * tool.started) opens it again, without its arguments, which the client has.
   */
  #tool(event: EventOf<"tool.started" | "tool.completed">): AgUiEvent[] {
    const toolCallId = event.data.callId;
    const out = [...this.#enter(event), ...this.#progress(event)];
    const start: AgUiEvent = {
      type: "TOOL_CALL_START",
      toolCallId,
      toolCallName: event.data.name,
      parentMessageId: agUiMessageId(this.#runId, event.stage, event.attempt),
    };
    if (event.type === "tool.started") {
      this.#calls.add(toolCallId);
      return [...out, start, { type: "TOOL_CALL_ARGS", toolCallId, delta: JSON.stringify(event.data.input) }];
    }
    if (!this.#calls.has(toolCallId)) out.push(start);
    this.#calls.delete(toolCallId);
    const { ok, result, error } = event.data;
    return [
      ...out,
      { type: "TOOL_CALL_END", toolCallId },
      {
        type: "TOOL_CALL_RESULT",
        messageId: `${this.#runId}:${event.seq}:result`,
        toolCallId,
        content: JSON.stringify(ok ? (result ?? null) : { error }),
        role: "tool",
      },
    ];
  }

  /**
   * stage.retrying voids the failed attempt's text. AG-UI has no event that withdraws a message,
   * so the message is closed (when this response has it open), the step ends (the retry starts
   * it again), and CUSTOM `stage.retrying` names the voided message in `voidedMessageId`: the
   * same signal whether or not this response sent the text, so a resumed stream says it too.
   */
  #retrying(event: EventOf<"stage.retrying">): AgUiEvent[] {
    const voidedMessageId = agUiMessageId(this.#runId, event.stage, event.data.nextAttempt - 1);
    const closing = this.#closeAll();
    return [
      ...closing,
      this.#delta(event),
      { type: "CUSTOM", name: event.type, value: { ...event.data, voidedMessageId } },
    ];
  }

  /**
   * The terminal event: what is open is closed, the state gets the run's status, then exactly
   * one of RUN_FINISHED (completed: `result` is run.completed's data; cancelled: outcome
   * `cancelled`, which AG-UI defines as stopped, not failed) or RUN_ERROR (failed, timed out:
   * `code` is the Stagecast error code).
   */
  #terminal(event: EventOf<TerminalType>): AgUiEvent[] {
    const delta = this.#delta(event);
    const closing = this.#closeAll();
    switch (event.type) {
      case "run.completed": {
        const { usage, models } = event.data;
        const tokens = {
          ...(models.length === 1 && models[0] !== undefined ? { model: models[0] } : {}),
          inputTokens: usage.promptTokens,
          outputTokens: usage.completionTokens,
          totalTokens: usage.totalTokens,
        };
        return [...closing, delta, { ...this.#finished(), result: event.data, usage: [tokens] }];
      }
      case "run.cancelled":
        return [...closing, delta, this.#finished({ type: "cancelled" })];
      default:
        return [
          ...closing,
          delta,
          { type: "RUN_ERROR", message: event.data.error.message, code: event.data.error.code },
        ];
    }
  }

  #finished(outcome?: { type: "cancelled" }): Extract<AgUiEvent, { type: "RUN_FINISHED" }> {
    return {
      type: "RUN_FINISHED",
      threadId: this.#threadId,
      runId: this.#runId,
      ...(outcome ? { outcome } : {}),
    };
  }
}
