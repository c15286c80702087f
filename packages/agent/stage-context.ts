import type { Stage, Usage } from "../events/index.ts";
import type { Store } from "../store/index.ts";
import type { DeltaCoalescer } from "./delta-coalescer.ts";
import type { ModelClient } from "./model-client.ts";
import type { RunState } from "./run-state.ts";
import type { ToolOutcome, ToolRegistry } from "./tools/index.ts";

/**
 * What a stage implementation gets. It reports through `progress`, `deltas` and `callTool`,
 * never by appending to the log itself, so every event carries the stage, attempt and a
 * monotonic overall progress.
 */
export interface StageContext {
  runId: string;
  stage: Stage;
  /** Retry count of this stage (0 on the first try). */
  attempt: number;
  /** What earlier stages produced (passed along by the state machine). */
  state: RunState;
  store: Store;
  /** The model configured for this stage. */
  model: ModelClient;
  tools: ToolRegistry;
  /** Aborted when the run is cancelled; stages pass it to every model call and tool. */
  signal: AbortSignal;
  /**
   * Append a stage.progress event.
   * @param fraction how far through this stage (0..1); progress never goes backwards.
   */
  progress(message: string, data?: Record<string, unknown>, fraction?: number): Promise<void>;
  /** A coalescer whose writes are llm.delta events of this stage (see DeltaCoalescer). */
  deltas(fractionOf: (charsSoFar: number) => number, extra?: { simulated?: () => boolean }): DeltaCoalescer;
  /**
   * Run a tool with tool.started / tool.completed events around it. A tool's own failure is
   * returned (`ok: false`), not thrown, so the model can react to it.
   */
  callTool(name: string, input: unknown, fraction: number, callId?: string): Promise<ToolOutcome>;
  /** Record a model call's usage and model name under this stage. */
  recordUsage(model: string, usage: Usage): void;
}

/**
 * What a stage returns: the changes to the run state, and details for its stage.completed event.
 * The loop fields of the state (`goto`, `loops`) are the runner's: a stage asks with `goto`.
 */
export interface StageOutcome {
  state: Partial<Omit<RunState, "goto" | "loops">>;
  /** Human sentence for stage.completed. */
  message: string;
  /** JSON details for stage.completed `data`. */
  data?: Record<string, unknown>;
  /**
   * Go back to this earlier stage instead of going on: allowed only when the stage's definition
   * has a `loop` whose `to` it names (else the run fails with `invalid_goto`). The runner counts
   * it in `state.loops`; the state machine goes back at most `loop.max` times.
   */
  goto?: string;
}

/** A stage implementation. */
export type StageImpl = (ctx: StageContext) => Promise<StageOutcome>;
