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
import { AG_UI } from "./ag-ui-format.ts";
import type { FormatSession, Frame, StreamFormat } from "./format-types.ts";
import { K8S_SOLUTION_FORMAT } from "./k8s-solution-format.ts";
import { PROJECT_CHAT_FORMAT } from "./project-chat-format.ts";
import { UI_MESSAGE_FORMAT } from "./ui-message-format.ts";

export type { FormatSession, FormatStart, Frame, StreamFormat } from "./format-types.ts";

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
export const STREAM_FORMATS = [
  "stagecast",
  "message",
  "autogen",
  "k8s-solution",
  "project-chat",
  "ui-message",
  "ag-ui",
] as const;
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
  "k8s-solution": K8S_SOLUTION_FORMAT,
  "project-chat": PROJECT_CHAT_FORMAT,
  "ui-message": UI_MESSAGE_FORMAT,
  "ag-ui": AG_UI,
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
