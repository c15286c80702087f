import type { Ended, Heartbeat, Reconnect, RunEvent, Snapshot } from "./schema.ts";

/**
 * One SSE message as Hono's `writeSSE` frames it (WHATWG HTML, "Server-sent events",
 * §9.2.6 interpreting an event stream). `data` must be a single line here: JSON.stringify
 * never emits a raw newline, so each event is exactly one `data:` line.
 */
export interface SseMessage {
  /** The `id:` field: the event's `seq`, which EventSource echoes back as Last-Event-ID. */
  id?: string;
  /**
   * The `event:` field: the event's `type`, so browsers can `addEventListener(type)`. Absent
   * for AutoGen-format frames, which EventSource then delivers as plain `message` events.
   */
  event?: string;
  /** The `data:` field: one-line JSON. */
  data: string;
  /** The `retry:` field: reconnection delay hint in ms. */
  retry?: number;
}

/**
 * The single place a stored event becomes an SSE message: `id` = seq, `event` = type,
 * `data` = the whole event as one-line JSON (so a client needs nothing but the data line).
 */
export function toSseMessage(event: RunEvent): SseMessage {
  return { id: String(event.seq), event: event.type, data: JSON.stringify(event) };
}

/** A heartbeat frame: `event: heartbeat`, no `id:` (it is not stored and must not move the cursor). */
export function heartbeatMessage(beat: Heartbeat): SseMessage {
  return { event: "heartbeat", data: JSON.stringify(beat) };
}

/**
 * The stream's opening frame: a heartbeat that also sets the client's reconnection delay
 * (`retry:`), so an EventSource that loses the connection abruptly, before any graceful
 * close, waits `retryMs` rather than its default (3 s in browsers). The retry rides on a
 * frame with JSON data: a block with only `retry:` is delivered by some clients (httpx-sse)
 * as an event with empty data.
 */
export function openingMessage(beat: Heartbeat, retryMs: number): SseMessage {
  return { ...heartbeatMessage(beat), retry: retryMs };
}

/** A `reconnect` frame (see ReconnectSchema): named, no `id:`, with `retry:`. */
export function reconnectMessage(reconnect: Reconnect): SseMessage {
  return { event: "reconnect", data: JSON.stringify(reconnect), retry: reconnect.retryMs };
}

/** An `ended` frame (see EndedSchema): named, no `id:`. */
export function endedMessage(ended: Ended): SseMessage {
  return { event: "ended", data: JSON.stringify(ended) };
}

/**
 * An SSE comment line (`: text`), ignored by every conforming client. Used to open the stream
 * at once (the Lambda runtime sends the status line and headers only with the first write),
 * as padding that pushes small frames through buffering front ends, and as the AutoGen format's
 * keep-alive. It ends with one line feed, not a blank line: it never forms a block of its own
 * but joins the next frame's block (or nothing, at the end of the stream), because some
 * parsers dispatch a comment-only block as an event with empty data (httpx-sse once it has
 * seen an id; @microsoft/fetch-event-source always).
 * @param text must not contain a newline.
 */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]/g, " ")}\n`;
}

/** A snapshot frame: `event: snapshot`, `id: <lastSeq>` (see SnapshotSchema). */
export function snapshotMessage(snapshot: Snapshot): SseMessage {
  return { id: String(snapshot.lastSeq), event: "snapshot", data: JSON.stringify(snapshot) };
}

/**
 * Bytes `message` takes on the wire as Hono's writeSSE frames it (`event: `, `data: `, `id: `,
 * `retry: ` lines and the blank line), for flush strategies that count bytes per batch.
 */
export function sseBytes(message: SseMessage): number {
  const field = (name: string, value: string | number | undefined) =>
    value === undefined ? 0 : name.length + 3 + Buffer.byteLength(String(value));
  return (
    field("event", message.event) +
    field("data", message.data) +
    field("id", message.id) +
    field("retry", message.retry) +
    1
  );
}
