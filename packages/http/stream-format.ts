import {
  EVENT_TYPES,
  type Heartbeat,
  heartbeatMessage,
  type RunEvent,
  SEED_EVENT_TYPES,
  type Snapshot,
  type SseMessage,
  snapshotMessage,
  sseComment,
  toSeedEvent,
  toSseMessage,
} from "../events/index.ts";
import { HttpError } from "./errors.ts";

/**
 * How a stream writes a run's log: Stagecast's own frames, or the seed document's shape.
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
}

/** Names accepted by a stream's `format` query parameter. */
export const STREAM_FORMATS = ["stagecast", "seed"] as const;
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
};

/**
 * Seed 004's frames: one `data:` line of `{ "event": { … } }` and `id: seq`, no `event:`
 * field (its clients read `data:` lines, or EventSource `onmessage`). Heartbeats are SSE
 * comments, which those clients skip; a data line without `event` would break them.
 */
const SEED: StreamFormat = {
  name: "seed",
  types: SEED_EVENT_TYPES,
  typeOf: (event) => toSeedEvent(event).event.event_type,
  frame: (event) => ({ id: String(event.seq), data: JSON.stringify(toSeedEvent(event)) }),
  heartbeat: (beat) => sseComment(`heartbeat ${Math.round(beat.elapsedMs / 1000)} s`),
};

/**
 * The format a `format` query parameter names.
 * @param raw the parameter (undefined → `fallback`).
 * @throws HttpError 400 `invalid_format` for any other name.
 */
export function streamFormat(
  raw: string | undefined,
  fallback: StreamFormatName = "stagecast",
): StreamFormat {
  const name = raw ?? fallback;
  if (name === "stagecast") return STAGECAST;
  if (name === "seed") return SEED;
  throw new HttpError(400, "invalid_format", `format must be one of ${STREAM_FORMATS.join(", ")}.`);
}
