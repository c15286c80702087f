/**
 * The errors a tool call can end with, as classes the tool runner maps to safe codes. This
 * module imports nothing, so code that runs inside a tool worker can use it too.
 */

/**
 * Marks {@link ToolError}s. A worker tool's module is bundled apart from the worker's entry on
 * AWS, so each has its own copy of this class and `instanceof` fails across them; a registered
 * symbol is the same in every copy.
 */
const TOOL_ERROR: unique symbol = Symbol.for("stagecast.tool-error");

/**
 * A tool failure whose message may be shown to the model and the user (no secrets, no stack).
 * Subclasses may rename themselves; they are still ToolErrors ({@link isToolError}).
 */
export class ToolError extends Error {
  override name = "ToolError";
  readonly [TOOL_ERROR] = true;
}

/** Whether `err` is a {@link ToolError} from any copy of this module. */
export function isToolError(err: unknown): err is ToolError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[TOOL_ERROR] === true;
}

/** The bound an isolated tool hit: its worker's heap (`memory`) or its call stack (`stack`). */
export type ResourceLimit = "memory" | "stack";

/**
 * An isolated tool went over its worker's memory or stack limit (`resourceLimits`). The worker
 * was discarded; the tool runner reports `tool_resource_limit`.
 */
export class ToolResourceLimitError extends Error {
  override name = "ToolResourceLimitError";
  /** Which limit was hit. */
  readonly limit: ResourceLimit;

  constructor(limit: ResourceLimit, message: string, options?: ErrorOptions) {
    super(message, options);
    this.limit = limit;
  }
}

/**
 * An isolated tool failed other than with a {@link ToolError} or a limit: its worker could not
 * start or crashed, its module or export does not exist, or it threw some other error. The
 * message is for logs; the model only sees "<tool> failed.".
 */
export class ToolWorkerError extends Error {
  override name = "ToolWorkerError";
}

/**
 * Why a worker tool of an agent module could not be run as registered (see agent-tool.ts):
 * - `tool_not_in_module`: the worker, which loads the agent module on its own, found no tool of
 *   that name in its default export's `tools` (the tool was made inside a function or a stage,
 *   added conditionally, the module does not load in a worker at all, or the process has no
 *   agent module);
 * - `tool_module_mismatch`: it found one, but not the definition the main thread registered
 *   (its input, description, time limit or code differ when the module is evaluated again).
 */
export type ToolModuleErrorCode = "tool_not_in_module" | "tool_module_mismatch";

/**
 * A worker tool broke the rule that it is defined once, at its agent module's top level. The
 * tool runner reports its `code` with its message, which says what to change (no secrets: it
 * names the tool and the module's file name only).
 */
export class ToolModuleError extends Error {
  override name = "ToolModuleError";
  /** The tool error code the model and the user see. */
  readonly code: ToolModuleErrorCode;

  constructor(code: ToolModuleErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * A tool definition that cannot work, thrown by defineTool at definition time (when the agent
 * module is imported): a bad name, a worker tool whose `run` expects a per-run context, a
 * worker spec with both or neither of `run` and `worker`.
 */
export class ToolDefinitionError extends Error {
  override name = "ToolDefinitionError";
}
