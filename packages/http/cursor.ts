import { MAX_SEQ } from "../store/index.ts";
import { HttpError } from "./errors.ts";

/**
 * Parse a sequence-number cursor (`after`, Last-Event-ID): a decimal integer 0..MAX_SEQ.
 * @throws HttpError 400 `invalid_cursor` naming `source` otherwise.
 */
export function parseCursor(value: string | undefined, source: string): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,10}$/.test(trimmed) || Number(trimmed) > MAX_SEQ) {
    throw new HttpError(400, "invalid_cursor", `${source} must be a non-negative integer sequence number.`);
  }
  return Number(trimmed);
}

/**
 * The resume point of a stream: Last-Event-ID wins over `?after=` (EventSource sends the
 * header on reconnect while its URL still carries the original `after`). 0 = from the start.
 * @throws HttpError 400 for a malformed value.
 */
export function streamCursor(lastEventId: string | undefined, after: string | undefined): number {
  const fromHeader =
    lastEventId === undefined || lastEventId === "" ? undefined : parseCursor(lastEventId, "Last-Event-ID");
  return fromHeader ?? parseCursor(after, "after") ?? 0;
}
