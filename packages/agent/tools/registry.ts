import { z } from "zod";
import type { Tool } from "./define-tool.ts";

/** A tool in the OpenAI chat-completions `tools` format. */
export interface OpenAiFunctionTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The tools an agent may use, by name. Registration order is the order offered to the model. */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();

  /**
   * Add a tool. A worker tool is warmed (`tool.warm()`: a worker started, its module imported,
   * about 0.2-0.5 s off the event loop), so its first call does not spend its time limit on
   * that; the worker is unref'd and never keeps a process alive.
   * @throws Error when a tool of that name is already registered.
   */
  register<S extends z.ZodObject>(tool: Tool<S>): this {
    if (this.#tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    // Stored type-erased: every caller validates input with tool.input before run().
    this.#tools.set(tool.name, tool as unknown as Tool);
    tool.warm?.();
    return this;
  }

  /** The tool called `name`, if registered. */
  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  /** Every registered tool. */
  list(): Tool[] {
    return [...this.#tools.values()];
  }

  /** The tools in the OpenAI `tools` format, parameters generated from the zod schemas (JSON Schema). */
  toOpenAiTools(): OpenAiFunctionTool[] {
    return this.list().map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: inputJsonSchema(t) },
    }));
  }
}

/** A tool's input as JSON Schema (draft 2020-12 as zod emits it, without `$schema`). */
export function inputJsonSchema(tool: Tool): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(tool.input) as Record<string, unknown>;
  return schema;
}
