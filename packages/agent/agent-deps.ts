import type { LogFn } from "../observability/index.ts";
import type { Store } from "../store/index.ts";
import type { Agent } from "./agent-definition.ts";
import type { ModelClient } from "./model-client.ts";
import type { ToolRegistry } from "./tools/index.ts";

/** What the stage runner needs. */
export interface AgentDeps {
  store: Store;
  /** The default model; `models` may name another model per stage on the same endpoint. */
  model: ModelClient;
  /**
   * Model name by stage name; a stage not listed uses `model`'s. A Map, not an object: stage
   * names are open, and one called `constructor` must not find Object.prototype's.
   */
  models?: ReadonlyMap<string, string>;
  tools: ToolRegistry;
  /** llm.delta coalescing bounds (ms, characters); see DeltaCoalescer. */
  delta: { intervalMs: number; maxChars: number };
  /**
   * How often a running stage checks its run's log for a terminal event written by someone
   * else (a cancel, a timeout sweep), in ms (default 500): StopExecution does not interrupt a
   * running Lambda, so a stage must notice by itself and abort its model call.
   */
  cancelCheckMs?: number;
  /** The agent whose stages this runner runs (checked; see checkAgent). */
  agent: Agent;
  /** Where best-effort failures (stage statistics) are reported. */
  log?: LogFn;
}
