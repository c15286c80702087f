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

/** One frame on the wire: an SSE message, or raw text (comment or field lines) for clients that read `data:` lines only. */
export type Frame = SseMessage | string;

/**
 * One stream's mapping of the log onto the wire (one response). A format whose frames depend
 * on what this response already sent (an AG-UI text message opened by the first delta, say)
 * keeps that here; it never depends on earlier responses, so a resumed stream is valid on its
 * own. Each method returns the frames to write, in order (none for an event a format does not
 * show).
 */
export interface FormatSession {
  /** The first frames of every stream; they carry `retry: retryMs` (ms). */
  opening(beat: Heartbeat, retryMs: number): readonly Frame[];
  /** The frames for one stored event (the terminal event included). */
  frames(event: RunEvent): readonly Frame[];
  /** The keep-alive frames after `heartbeatMs` of silence. */
  heartbeat(beat: Heartbeat): readonly Frame[];
  /** The last frames of a stream that closes before the run's end; they carry `retry:`. */
  reconnect(reconnect: Reconnect): readonly Frame[];
  /** The last frames of a stream whose cursor is at or past the run's terminal event. */
  ended(ended: Ended): readonly Frame[];
}

/** Where one stream starts: the run and the cursor (events with a greater seq are sent). */
export interface FormatStart {
  runId: string;
  after: number;
}

/**
 * A view of the stored log: how a stream writes it (Stagecast's own frames, named or unnamed,
 * or another protocol's). Every format is a mapping of the same events; how each keeps resume
 * is documented with it (docs/api.md).
 */
export interface StreamFormat {
  name: StreamFormatName;
  /** Every type name the `types` filter may select in this format. */
  types: readonly string[];
  /** The type name the `types` filter sees for `event`. */
  typeOf(event: RunEvent): string;
  /** The opening snapshot frame for `?from=latest`, when this format has one. */
  snapshot?(snapshot: Snapshot): SseMessage;
  /** Begin one stream's mapping. */
  open(start: FormatStart): FormatSession;
}

/** A format whose every frame depends on its input alone: one frame per event and per control message. */
interface StatelessFormat {
  name: StreamFormatName;
  types: readonly string[];
  typeOf(event: RunEvent): string;
  frame(event: RunEvent): Frame;
  heartbeat(beat: Heartbeat): Frame;
  snapshot?(snapshot: Snapshot): SseMessage;
  opening(beat: Heartbeat, retryMs: number): Frame;
  reconnect(reconnect: Reconnect): Frame;
  ended(ended: Ended): Frame;
}

/** A {@link StreamFormat} whose sessions share no state: each method's one frame, as a list. */
function stateless(spec: StatelessFormat): StreamFormat {
  const session: FormatSession = {
    opening: (beat, retryMs) => [spec.opening(beat, retryMs)],
    frames: (event) => [spec.frame(event)],
    heartbeat: (beat) => [spec.heartbeat(beat)],
    reconnect: (reconnect) => [spec.reconnect(reconnect)],
    ended: (ended) => [spec.ended(ended)],
  };
  return {
    name: spec.name,
    types: spec.types,
    typeOf: spec.typeOf,
    ...(spec.snapshot ? { snapshot: spec.snapshot } : {}),
    open: () => session,
  };
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
const STAGECAST: StreamFormat = stateless({
  name: "stagecast",
  types: EVENT_TYPES,
  typeOf: (event) => event.type,
  frame: toSseMessage,
  heartbeat: heartbeatMessage,
  snapshot: snapshotMessage,
  opening: openingMessage,
  reconnect: reconnectMessage,
  ended: endedMessage,
});

/** A control frame (heartbeat, snapshot, reconnect, ended) with its `event:` name moved into the data as `type`. */
const unnamed = ({ event, ...rest }: SseMessage): SseMessage =>
  event === undefined ? rest : { ...rest, data: JSON.stringify({ type: event, ...JSON.parse(rest.data) }) };

/**
 * `?format=message`: Stagecast's frames without `event:` names, so that a client listening
 * only with EventSource `onmessage` (or any parser that ignores event names) sees every frame;
 * it dispatches on the data's `type` (`run.completed`, `heartbeat`, `reconnect`, `ended`, …).
 * Named frames are not delivered to `onmessage` (WHATWG HTML §9.2.6, "dispatch the event").
 */
const MESSAGE: StreamFormat = stateless({
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
});

/**
 * `?format=autogen`: the AutoGen streaming API's frames (docs/api.md §7): one `data:` line of
 * `{ "event": { … } }` and `id: seq`, no `event:` field (its clients read `data:` lines, or
 * EventSource `onmessage`). Heartbeats are SSE comments, which those clients skip; a data
 * line without `event` would break them.
 */
const AUTOGEN: StreamFormat = stateless({
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
});

/** Every format by name: one module (or one constant above) per mapping. */
const FORMATS: Readonly<Record<StreamFormatName, StreamFormat>> = {
  stagecast: STAGECAST,
  message: MESSAGE,
  autogen: AUTOGEN,
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
  // `seed` was the AutoGen format's name before it was renamed: existing clients still send it.
  const name = raw === "seed" ? "autogen" : (raw ?? fallback);
  const format = (FORMATS as Readonly<Record<string, StreamFormat>>)[name];
  if (!format || !Object.hasOwn(FORMATS, name)) {
    throw new HttpError(400, "invalid_format", `format must be one of ${STREAM_FORMATS.join(", ")}.`);
  }
  return format;
}
