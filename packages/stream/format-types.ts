import type { Ended, Heartbeat, Reconnect, RunEvent, Snapshot, SseMessage } from "../events/index.ts";

/*
 * The shape every stream format has, apart from the registry (stream-format.ts) that lists
 * them: format modules import these types from here, so they never import the registry (which
 * imports them) and no cycle forms.
 */

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
  /** Its `format` query parameter value. */
  name: string;
  /** Every type name the `types` filter may select in this format. */
  types: readonly string[];
  /** The type name the `types` filter sees for `event`. */
  typeOf(event: RunEvent): string;
  /** The opening snapshot frame for `?from=latest`, when this format has one. */
  snapshot?(snapshot: Snapshot): SseMessage;
  /**
   * When set, the heartbeat is also a clock tick: the tail sends it every `tickMs` (ms) from
   * the stream's opening whether or not frames were sent in between, as well as after
   * `heartbeatMs` of silence (the Kubernetes agent's API sends its `analyzing` frame every 2 s
   * while the run works).
   */
  tickMs?: number;
  /** Begin one stream's mapping. */
  open(start: FormatStart): FormatSession;
}
