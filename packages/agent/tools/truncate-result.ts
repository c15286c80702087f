/**
 * Longest tool result kept (characters of its JSON). Results go into events (DynamoDB items
 * are at most 400 KB) and into the model's prompt (context windows are finite); longer ones
 * are cut and marked `truncated`.
 */
export const TOOL_RESULT_MAX_CHARS = 4000;

/**
 * A JSON value of at most {@link TOOL_RESULT_MAX_CHARS}: the value itself, or
 * `{ truncated: true, preview }`. Applied in a tool worker before its result is copied to the
 * main thread, so a huge result never reaches the main heap, and again by the tool runner.
 * @throws TypeError when `value` cannot be serialised as JSON (a cycle, a BigInt).
 */
export function truncateResult(value: unknown): unknown {
  const json = JSON.stringify(value ?? null);
  if (json.length <= TOOL_RESULT_MAX_CHARS) return value ?? null;
  return { truncated: true, preview: json.slice(0, TOOL_RESULT_MAX_CHARS) };
}
