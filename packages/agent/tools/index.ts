import { calculatorTool } from "./calculator.ts";
import { currentTimeTool } from "./current-time.ts";
import { type HttpGetOptions, httpGetTool } from "./http-get.ts";
import { memorySearchTool } from "./memory-search.ts";
import { ToolRegistry } from "./registry.ts";

export * from "./define-tool.ts";
export * from "./registry.ts";
export * from "./run-tool.ts";

/**
 * The built-in tools: calculator, current_time, memory_search, and http_get when an allowlist
 * is configured. To add a tool: write it with defineTool in its own file here and add one
 * `.register(...)` line below.
 */
export function createDefaultTools(options: { httpGet: HttpGetOptions }): ToolRegistry {
  const registry = new ToolRegistry()
    .register(calculatorTool)
    .register(currentTimeTool)
    .register(memorySearchTool);
  const httpGet = httpGetTool(options.httpGet);
  if (httpGet) registry.register(httpGet);
  return registry;
}
