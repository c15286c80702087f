import type { SafeError } from "../../events/index.ts";
import type { Tool, ToolContext } from "./define-tool.ts";
import { isToolError, ToolModuleError, ToolResourceLimitError } from "./tool-error.ts";
import { truncateResult } from "./truncate-result.ts";

export { TOOL_RESULT_MAX_CHARS, truncateResult } from "./truncate-result.ts";

/** The outcome of one tool call: a result or a safe error, and how long it took (ms). */
export type ToolOutcome =
  | { ok: true; result: unknown; durationMs: number }
  | { ok: false; error: SafeError; durationMs: number };

/**
 * Validate `rawInput` with the tool's schema and run it under its time limit. Never throws
 * for the tool's own failures: they become `{ ok: false, error }`, which goes back to the
 * model instead of ending the run. Codes: `invalid_tool_input`; `tool_timeout` (the time
 * limit passed: a worker tool's worker is terminated, an in-process tool's I/O is aborted);
 * `tool_resource_limit` (a worker tool ran out of heap or stack; its worker was replaced);
 * `tool_not_in_module` / `tool_module_mismatch` (an agent's worker tool is not in its agent
 * module as a worker loads it, or is another definition there: {@link ToolModuleError});
 * `tool_error` (a {@link ToolError}, with its message; any other failure as "<name> failed.").
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
      // An in-process tool that ignores its signal still ends here at the limit (its work may
      // go on in the background; a worker tool's is stopped by its pool).
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
    if (err instanceof ToolResourceLimitError) {
      return {
        ok: false,
        error: {
          code: "tool_resource_limit",
          message: `${tool.name} stopped: ${err.message}.`.slice(0, 500),
        },
        durationMs: elapsed(),
      };
    }
    if (err instanceof ToolModuleError) {
      return {
        ok: false,
        error: { code: err.code, message: err.message.slice(0, 500) },
        durationMs: elapsed(),
      };
    }
    const message = isToolError(err) ? err.message.slice(0, 500) : `${tool.name} failed.`;
    return { ok: false, error: { code: "tool_error", message }, durationMs: elapsed() };
  }
}
