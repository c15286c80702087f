import type { RunEvent, RunEventType, SseMessage } from "../events/index.ts";

/**
 * The AG-UI events the `ag-ui` stream format writes, as plain JSON shapes. They follow
 * @ag-ui/core 1.0.0's generated zod schemas (`@ag-ui/core/schemas`, src/generated/schemas.ts:
 * RunStartedEventSchema, RunFinishedEventSchema, …), which the unit tests validate every frame
 * with. They are declared here rather than imported because @ag-ui/core is a development
 * dependency (the deployed stream does not ship it) and its `EventType` is a TypeScript enum,
 * which a string literal does not satisfy.
 */

/** The AG-UI protocol version this mapping declares in RUN_STARTED (@ag-ui/core's PROTOCOL_VERSION). */
export const AG_UI_PROTOCOL_VERSION = "1.0";

/**
 * Which stored event an AG-UI event came from, carried as AG-UI's `rawEvent` on the last frame
 * of each stored event (the one with SSE `id:`): a client that parses `data:` lines only
 * (@ag-ui/client's HttpAgent drops `id:`) still learns the seq to resume after.
 */
export interface StoredEventRef {
  runId: string;
  /** The stored event's seq (1, 2, 3 … per run); equal to the frame's SSE `id:`. */
  seq: number;
  /** The stored event's Stagecast type (`llm.delta`), or `snapshot` for `?from=latest`'s frame. */
  type: RunEventType | "snapshot";
}

/** Fields any AG-UI event may carry (BaseEventSchema). */
interface Base {
  /** When the stored event was written (ms since epoch); absent on frames that are not stored. */
  timestamp?: number;
  rawEvent?: StoredEventRef;
}

/** One RFC 6902 operation. The mapping writes only `add`, which replaces an existing member (§4.1). */
export interface AddOperation {
  op: "add";
  /** An RFC 6901 JSON Pointer (see {@link jsonPointer}). */
  path: string;
  value: unknown;
}

/** How an AG-UI run ended, for RUN_FINISHED (RunFinishedOutcomeSchema); absent means success. */
export type RunOutcome = { type: "success" } | { type: "cancelled" };

/** Token counts in AG-UI's accounting (TokenUsageSchema): totals, in tokens. */
export interface TokenUsage {
  model?: string;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** Every AG-UI event this mapping writes, discriminated on `type` (AG-UI's EventType names). */
export type AgUiEvent = Base &
  (
    | { type: "RUN_STARTED"; threadId: string; runId: string; protocolVersion: string }
    | {
        type: "RUN_FINISHED";
        threadId: string;
        runId: string;
        result?: unknown;
        outcome?: RunOutcome;
        usage?: TokenUsage[];
      }
    | { type: "RUN_ERROR"; message: string; code?: string }
    | { type: "STEP_STARTED" | "STEP_FINISHED"; stepName: string }
    | { type: "TEXT_MESSAGE_START"; messageId: string; role: "assistant" }
    | { type: "TEXT_MESSAGE_CONTENT"; messageId: string; delta: string }
    | { type: "TEXT_MESSAGE_END"; messageId: string }
    | { type: "TOOL_CALL_START"; toolCallId: string; toolCallName: string; parentMessageId?: string }
    | { type: "TOOL_CALL_ARGS"; toolCallId: string; delta: string }
    | { type: "TOOL_CALL_END"; toolCallId: string }
    | { type: "TOOL_CALL_RESULT"; messageId: string; toolCallId: string; content: string; role: "tool" }
    | { type: "STATE_SNAPSHOT"; snapshot: unknown }
    | { type: "STATE_DELTA"; delta: AddOperation[] }
    | { type: "CUSTOM"; name: string; value: unknown }
  );

/**
 * An RFC 6901 JSON Pointer from reference tokens: `~` is written `~0` and `/` `~1` (§3), so a
 * detail key such as `a/b` addresses one member, not two levels.
 */
export function jsonPointer(...tokens: string[]): string {
  return tokens.map((t) => `/${t.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * One AG-UI event as an SSE message: the event as one `data:` line, no `event:` field (AG-UI's
 * EventEncoder writes `data:` only, and an unnamed frame reaches EventSource's `onmessage`).
 * @param id the stored event's seq, for the frame that carries it (Last-Event-ID resume).
 * @param retry the reconnection delay (ms) for frames that set it.
 */
export function agUiFrame(event: AgUiEvent, id?: number, retry?: number): SseMessage {
  return {
    data: JSON.stringify(event),
    ...(id === undefined ? {} : { id: String(id) }),
    ...(retry === undefined ? {} : { retry }),
  };
}

/**
 * The frames of one stored event: every AG-UI event it maps to, stamped with the event's time;
 * the last one also carries the SSE `id:` (the seq) and `rawEvent` (see {@link StoredEventRef}),
 * so a client that received it has received the whole group, and a cursor never points into
 * the middle of one.
 */
export function storedFrames(event: RunEvent, mapped: readonly AgUiEvent[]): SseMessage[] {
  const timestamp = Date.parse(event.ts);
  const last = mapped.length - 1;
  return mapped.map((e, i) =>
    i === last
      ? agUiFrame(
          { ...e, timestamp, rawEvent: { runId: event.runId, seq: event.seq, type: event.type } },
          event.seq,
        )
      : agUiFrame({ ...e, timestamp }),
  );
}
