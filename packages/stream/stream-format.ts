import {
  AUTOGEN_EVENT_TYPES,
  type Ended,
  EVENT_TYPES,
  endedMessage,
  type Heartbeat,
  heartbeatMessage,
  openingMessage,
  type Reconnect,
  type RunEvent,
  reconnectMessage,
  type Snapshot,
  type SseMessage,
  snapshotMessage,
  sseComment,
  toAutoGenEvent,
  toSseMessage,
} from "../events/index.ts";
import { HttpError } from "../http/index.ts";

/**
 * How a stream writes a run's log: Stagecast's own frames (named or unnamed), or the AutoGen
 * streaming API's shape.
 * Both carry `id: seq`, so Last-Event-ID resumes either one the same way.
 */
export interface StreamFormat {
  name: StreamFormatName;
  /** Every type name the `types` filter may select in this format. */
  types: readonly string[];
  /** The type name the `types` filter sees for `event`. */
  typeOf(event: RunEvent): string;
  /** The frame for one stored event. */
  frame(event: RunEvent): SseMessage;
  /** The keep-alive frame: an SseMessage, or a raw comment string for clients that only parse data lines. */
  heartbeat(beat: Heartbeat): SseMessage | string;
  /** The opening snapshot frame for `?from=latest`, when this format has one. */
  snapshot?(snapshot: Snapshot): SseMessage;
  /**
   * The first frame of every stream; it carries `retry: retryMs` (ms): a frame, or raw field
   * lines for formats whose clients read data lines only.
   */
  opening(beat: Heartbeat, retryMs: number): SseMessage | string;
  /** The last frame of a stream that closes before the run's end; it carries `retry:`. */
  reconnect(reconnect: Reconnect): SseMessage | string;
  /** The last frame of a stream whose cursor is at or past the run's terminal event. */
  ended(ended: Ended): SseMessage | string;
}

/**
 * Names of a stream's formats, as its `format` query parameter takes them (and as error
 * messages list them). `seed`, the AutoGen format's former name, is accepted too (see
 * {@link streamFormat}) but not listed.
 */
export const STREAM_FORMATS = ["stagecast", "message", "autogen"] as const;
/** One of {@link STREAM_FORMATS}. */
export type StreamFormatName = (typeof STREAM_FORMATS)[number];

/** Stagecast's frames: `event: type`, `data: <RunEvent JSON>`, `id: seq`, in that order on the wire (docs/api.md). */
const STAGECAST: StreamFormat = {
  name: "stagecast",
  types: EVENT_TYPES,
  typeOf: (event) => event.type,
  frame: toSseMessage,
  heartbeat: heartbeatMessage,
  snapshot: snapshotMessage,
  opening: openingMessage,
  reconnect: reconnectMessage,
  ended: endedMessage,
};

/** A control frame (heartbeat, snapshot, reconnect, ended) with its `event:` name moved into the data as `type`. */
const unnamed = ({ event, ...rest }: SseMessage): SseMessage =>
  event === undefined ? rest : { ...rest, data: JSON.stringify({ type: event, ...JSON.parse(rest.data) }) };

/**
 * `?format=message`: Stagecast's frames without `event:` names, so that a client listening
 * only with EventSource `onmessage` (or any parser that ignores event names) sees every frame;
 * it dispatches on the data's `type` (`run.completed`, `heartbeat`, `reconnect`, `ended`, …).
 * Named frames are not delivered to `onmessage` (WHATWG HTML §9.2.6, "dispatch the event").
 */
const MESSAGE: StreamFormat = {
  name: "message",
  types: EVENT_TYPES,
  typeOf: (event) => event.type,
  // A stored event's data already carries its `type`.
  frame: (event) => {
    const { event: _name, ...rest } = toSseMessage(event);
    return rest;
  },
  heartbeat: (beat) => unnamed(heartbeatMessage(beat)),
  snapshot: (snapshot) => unnamed(snapshotMessage(snapshot)),
  opening: (beat, retryMs) => unnamed(openingMessage(beat, retryMs)),
  reconnect: (reconnect) => unnamed(reconnectMessage(reconnect)),
  ended: (ended) => unnamed(endedMessage(ended)),
};

/**
 * `?format=autogen`: the AutoGen streaming API's frames (docs/api.md §7): one `data:` line of
 * `{ "event": { … } }` and `id: seq`, no `event:` field (its clients read `data:` lines, or
 * EventSource `onmessage`). Heartbeats are SSE comments, which those clients skip; a data
 * line without `event` would break them.
 */
const AUTOGEN: StreamFormat = {
  name: "autogen",
  types: AUTOGEN_EVENT_TYPES,
  typeOf: (event) => toAutoGenEvent(event).event.event_type,
  frame: (event) => ({ id: String(event.seq), data: JSON.stringify(toAutoGenEvent(event)) }),
  heartbeat: (beat) => sseComment(`heartbeat ${Math.round(beat.elapsedMs / 1000)} s`),
  // The AutoGen API's clients read `data:` lines only: control frames are comment lines, and `retry:`
  // is a bare field line with no blank line after it. A parser applies it as it reads the line
  // (WHATWG HTML §9.2.6), and it joins the next frame's block instead of forming a block of
  // its own, which some parsers (httpx-sse) would deliver as an event with empty data.
  opening: (_beat, retryMs) => `retry: ${retryMs}\n`,
  reconnect: (r) => `${sseComment(`reconnect after ${r.lastSeq} (${r.reason})`)}retry: ${r.retryMs}\n`,
  ended: (e) => sseComment(`ended at ${e.lastSeq} (${e.terminal})`),
};

/**
 * The format a `format` query parameter names.
 * @param raw the parameter (undefined → `fallback`); one of {@link STREAM_FORMATS}, or `seed`
 *   (the AutoGen format's former name, still accepted).
 * @param fallback the route's default format (`stagecast`; `autogen` on the AutoGen API's routes).
 * @throws HttpError 400 `invalid_format` for any other name.
 */
export function streamFormat(
  raw: string | undefined,
  fallback: StreamFormatName = "stagecast",
): StreamFormat {
  const name = raw ?? fallback;
  if (name === "stagecast") return STAGECAST;
  // `seed` was the AutoGen format's name before it was renamed: existing clients still send it.
  if (name === "autogen" || name === "seed") return AUTOGEN;
  if (name === "message") return MESSAGE;
  throw new HttpError(400, "invalid_format", `format must be one of ${STREAM_FORMATS.join(", ")}.`);
}
