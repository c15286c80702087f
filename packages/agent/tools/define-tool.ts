import type { z } from "zod";
import type { ProgressStore } from "../../store/index.ts";

/** What a tool's `run` gets besides its input. */
export interface ToolContext {
  runId: string;
  /** The run's project, when it has one (memory is per project). */
  projectId?: string;
  /** The run's owner (projects are per owner); default `anonymous`. */
  owner?: string;
  store: ProgressStore;
  /** Aborted on cancellation or when the tool's time limit passes; pass it to any I/O. */
  signal: AbortSignal;
  /** Clock (ms since epoch). */
  now: () => number;
}

/**
 * A tool the agent can call. `input` is a zod object schema: it validates plans and model
 * tool calls, and is converted to JSON Schema for the model (OpenAI tools format). Use
 * `.nullable()` rather than `.optional()` for optional fields: strict structured outputs and
 * many OpenAI-compatible servers require every property to be listed as required.
 */
export interface Tool<S extends z.ZodObject = z.ZodObject> {
  /** Function name the model calls: `^[a-z][a-z0-9_]{0,63}$`. */
  name: string;
  /** What the tool does and when to use it (the model reads this). */
  description: string;
  input: S;
  /** Time limit of one call (ms); also counts towards a plan's budget. */
  timeoutMs: number;
  /** Run the tool. Throw {@link ToolError} with a message fit for the model and the user. */
  run(input: z.infer<S>, ctx: ToolContext): Promise<unknown>;
}

/** A tool failure whose message may be shown to the model and the user (no secrets, no stack). */
export class ToolError extends Error {
  override name = "ToolError";
}

/** Default tool time limit (ms). */
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/**
 * Declare a tool with its input typed from the zod schema.
 * @throws Error for a name that is not a valid function name (a programming error).
 */
export function defineTool<S extends z.ZodObject>(
  tool: Omit<Tool<S>, "timeoutMs"> & { timeoutMs?: number },
): Tool<S> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(tool.name)) throw new Error(`invalid tool name ${tool.name}`);
  return { ...tool, timeoutMs: tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS };
}
