import { inputJsonSchema, type StageContext, type Tool } from "../agent/index.ts";
import type { Json } from "./json.ts";

/**
 * A tool the stage can call, as a handler sees it: enough to describe it to a model (name,
 * description, input JSON Schema), to budget a plan (`timeoutMs`) and to check an input before
 * calling it.
 */
export interface ToolInfo {
  /** The function name (`^[a-z][a-z0-9_]{0,63}$`). */
  readonly name: string;
  readonly description: string;
  /** Time limit of one call, in ms (waiting for a worker included). */
  readonly timeoutMs: number;
  /** The input as JSON Schema (draft 2020-12, as zod emits it), what the model is shown. */
  readonly inputSchema: { [key: string]: Json };
  /** What is wrong with `input` for this tool: one line per problem, [] when it is valid. */
  check(input: unknown): string[];
}

/** The description of one registered tool; its JSON Schema is made on first use. */
function toolInfo(tool: Tool): ToolInfo {
  let schema: { [key: string]: Json } | undefined;
  return {
    name: tool.name,
    description: tool.description,
    timeoutMs: tool.timeoutMs,
    get inputSchema() {
      schema ??= inputJsonSchema(tool) as { [key: string]: Json };
      return schema;
    },
    check(input) {
      const parsed = tool.input.safeParse(input);
      return parsed.success
        ? []
        : parsed.error.issues.map((issue) => `${issue.path.join(".") || "input"} ${issue.message}`);
    },
  };
}

/** Every tool registered for the run's agent (the built-in ones and the agent's own), in registration order. */
export function stageTools(ctx: StageContext): readonly ToolInfo[] {
  return ctx.tools.list().map(toolInfo);
}
