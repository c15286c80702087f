/** A JSON value, as a stage's data carries them (`z.json()` in the event schema). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A stage's own data for clients: the `data` object of a stage.progress event (what the
 * stage's handler passed to `ctx.emit(data)` or `ctx.progress(percent, message, data)`).
 */
export type StageData = { [key: string]: JsonValue };

/**
 * Most bytes of one stage's data a view keeps: 8 KiB of UTF-8 JSON. A stage may send far more
 * (an event may be hundreds of KB); a watcher keeps at most this much per stage, so a chatty
 * stage cannot grow a long-lived page's or terminal's memory.
 */
export const STAGE_DATA_MAX_BYTES = 8 * 1024;

/**
 * How a stage's data was clipped to {@link STAGE_DATA_MAX_BYTES}: the size of what the stage
 * sent (`bytes`, UTF-8 JSON) and its number of top-level fields (`keys`). The fields kept are
 * those of the view's `data`.
 */
export interface StageDataClip {
  bytes: number;
  keys: number;
}

/** A stage's data as a view keeps it: whole, or clipped with a note of what was sent. */
export interface BoundedStageData {
  data: StageData;
  /** Set when `data` is not all the stage sent. */
  truncated?: StageDataClip;
}

const encoder = new TextEncoder();

/** The size of `value`'s JSON in bytes (UTF-8). */
function jsonBytes(value: JsonValue): number {
  return encoder.encode(JSON.stringify(value)).byteLength;
}

/**
 * `data` bounded to `maxBytes` (bytes of UTF-8 JSON, default {@link STAGE_DATA_MAX_BYTES}).
 * Data that fits is returned as is (the same object: nothing is copied). Data that does not
 * keeps its top-level fields in order, each whole or left out: every field that still fits
 * is kept (a large field is skipped, the small ones after it stay), and `truncated` says how
 * much was sent. Nothing is ever cut inside a value, so what is shown is never half a number.
 */
export function boundStageData(data: StageData, maxBytes = STAGE_DATA_MAX_BYTES): BoundedStageData {
  const bytes = jsonBytes(data);
  if (bytes <= maxBytes) return { data };
  const kept: Array<[string, JsonValue]> = [];
  let used = 2; // the braces
  for (const [key, value] of Object.entries(data)) {
    if (maxBytes - used < 5) break; // full: not even `,"":0` fits
    const size = jsonBytes(key) + 1 + jsonBytes(value) + (kept.length > 0 ? 1 : 0); // "key":value, comma
    if (used + size > maxBytes) continue;
    kept.push([key, value]);
    used += size;
  }
  // fromEntries defines own properties: a "__proto__" key stays a field, not a prototype.
  return { data: Object.fromEntries(kept), truncated: { bytes, keys: Object.keys(data).length } };
}
