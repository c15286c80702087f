import type { JsonValue, StageData, StageDataClip } from "./stage-data.ts";

/** How long a stage's data line is by default (characters): what a terminal line holds comfortably. */
export const STAGE_DATA_LINE_CHARS = 200;

/** C0 and C1 control characters (ESC, CSI, newlines, …): never written to a terminal as they are. */
const CONTROL = /\p{Cc}+/gu;

/** A value as the line shows it: a string as itself, other scalars as JSON, arrays and objects as compact JSON. */
function valueText(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `text` at most `max` characters, ending in "…" when cut (never half of a surrogate pair). */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return "…".slice(0, Math.max(0, max));
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A stage's data on one line, for a terminal or a summary: `key: value` per top-level field,
 * joined by " · " (e.g. `problems: 3 · byKind: {"Pod":2,"Deployment":1}`); strings as they are,
 * numbers, booleans and null as JSON, arrays and objects as compact JSON. Control characters
 * (C0, C1: escape sequences, newlines) become spaces, so agent data cannot drive a terminal.
 * Clipped to `maxChars` characters (UTF-16 code units; default {@link STAGE_DATA_LINE_CHARS})
 * with "…"; when the view clipped the data (`dataTruncated`), the line ends with
 * `[clipped: <kept> of <sent> fields]`, which is always kept.
 * @returns "" when the stage has no data.
 */
export function stageDataLine(
  stage: { data?: StageData; dataTruncated?: StageDataClip },
  maxChars = STAGE_DATA_LINE_CHARS,
): string {
  if (!stage.data) return "";
  const fields = Object.entries(stage.data).map(([key, value]) => `${key}: ${valueText(value)}`);
  const body = fields.join(" · ").replace(CONTROL, " ");
  const note = stage.dataTruncated ? `[clipped: ${fields.length} of ${stage.dataTruncated.keys} fields]` : "";
  if (!note) return clip(body, maxChars);
  if (!body) return clip(note, maxChars);
  const room = maxChars - note.length - 1;
  return room > 0 ? `${clip(body, room)} ${note}` : clip(note, maxChars);
}
