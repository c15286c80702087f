import { calculatorTool } from "./calculator.ts";
import { currentTimeTool } from "./current-time.ts";
import { type HttpGetOptions, httpGetTool } from "./http-get.ts";
import { memorySearchTool } from "./memory-search.ts";
import { ToolRegistry } from "./registry.ts";

export { agentModule, bundledAgentModule, setAgentModule } from "./agent-module.ts";
export {
  type AgentWorkerToolSpec,
  DEFAULT_TOOL_TIMEOUT_MS,
  defineTool,
  type InProcessToolSpec,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolIsolation,
  type WorkerToolSpec,
} from "./define-tool.ts";
export { inputJsonSchema, type OpenAiFunctionTool, ToolRegistry } from "./registry.ts";
export { runTool, TOOL_RESULT_MAX_CHARS, type ToolOutcome, truncateResult } from "./run-tool.ts";
export {
  isToolError,
  type ResourceLimit,
  ToolDefinitionError,
  ToolModuleError,
  type ToolModuleErrorCode,
  ToolResourceLimitError,
  ToolWorkerError,
} from "./tool-error.ts";
export type { ToolFingerprint } from "./tool-fingerprint.ts";
export {
  type AgentToolEntry,
  DEFAULT_POOL_SIZE,
  DEFAULT_WORKER_LIMITS,
  defaultToolWorkerPool,
  ToolWorkerPool,
  type ToolWorkerPoolOptions,
  type WorkerEntry,
  type WorkerLimits,
} from "./worker-pool.ts";

/**
 * The built-in tools: calculator (in a worker thread), current_time, memory_search, and
 * http_get when an allowlist is configured (on the event loop: they only wait on I/O). To add
 * a tool: write it with defineTool in its own file here and add one `.register(...)` line
 * below; a CPU-bound one with `isolation: "worker"` (see define-tool.ts). Worker tools are
 * warmed when registered (ToolRegistry.register), the calculator here as an agent's worker
 * tools later.
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
