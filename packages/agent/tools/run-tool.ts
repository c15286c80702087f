import type { SafeError } from "../../events/index.ts";
import { type Tool, type ToolContext, ToolError } from "./define-tool.ts";

/**
 * Longest tool result kept (characters of its JSON). Results go into events (DynamoDB items
 * are at most 400 KB) and into the model's prompt (context windows are finite); longer ones
 * are cut and marked `truncated`.
 */
export const TOOL_RESULT_MAX_CHARS = 4000;

/** The outcome of one tool call: a result or a safe error, and how long it took (ms). */
export type ToolOutcome =
  | { ok: true; result: unknown; durationMs: number }
  | { ok: false; error: SafeError; durationMs: number };

/** A JSON value of at most {@link TOOL_RESULT_MAX_CHARS}: the value itself, or `{ truncated: true, preview }`. */
export function truncateResult(value: unknown): unknown {
  const json = JSON.stringify(value ?? null);
  if (json.length <= TOOL_RESULT_MAX_CHARS) return value ?? null;
  return { truncated: true, preview: json.slice(0, TOOL_RESULT_MAX_CHARS) };
}

/**
 * Validate `rawInput` with the tool's schema and run it under its time limit. Never throws
 * for the tool's own failures: invalid input, a {@link ToolError}, a timeout or any other
 * error become `{ ok: false, error }`, which goes back to the model instead of ending the run.
 * A cancelled run (parent signal aborted) rethrows, so the stage stops.
 */
export async function runTool(tool: Tool, rawInput: unknown, ctx: ToolContext): Promise<ToolOutcome> {
  const started = ctx.now();
  const elapsed = () => ctx.now() - started;
  const parsed = tool.input.safeParse(rawInput);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
    return {
      ok: false,
      error: { code: "invalid_tool_input", message: message.slice(0, 500) },
      durationMs: elapsed(),
    };
  }
  ctx.signal.throwIfAborted(); // a cancelled run runs no more tools
  const timeout = AbortSignal.timeout(tool.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  try {
    const result = await Promise.race([
      tool.run(parsed.data, { ...ctx, signal }),
      new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
    return { ok: true, result: truncateResult(result), durationMs: elapsed() };
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout.aborted) {
      return {
        ok: false,
        error: { code: "tool_timeout", message: `${tool.name} took longer than ${tool.timeoutMs} ms.` },
        durationMs: elapsed(),
      };
    }
    const message = err instanceof ToolError ? err.message.slice(0, 500) : `${tool.name} failed.`;
    return { ok: false, error: { code: "tool_error", message }, durationMs: elapsed() };
  }
}
