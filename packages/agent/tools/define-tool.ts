import type { z } from "zod";
import type { Store } from "../../store/index.ts";
import { defaultToolWorkerPool, type ToolWorkerPool, type WorkerEntry } from "./worker-pool.ts";

export { ToolError } from "./tool-error.ts";

/** What a tool's `run` gets besides its input. */
export interface ToolContext {
  runId: string;
  /** The run's project, when it has one (memory is per project). */
  projectId?: string;
  /** The run's owner (projects are per owner); default `anonymous`. */
  owner?: string;
  store: Store;
  /** Aborted on cancellation or when the tool's time limit passes; pass it to any I/O. */
  signal: AbortSignal;
  /** Clock (ms since epoch). */
  now: () => number;
}

/**
 * Where a tool does its work.
 * - `in-process`: `run` runs on the event loop. Only for tools that wait on I/O and pass the
 *   AbortSignal to it (the signal is then what bounds them); a synchronous loop here would
 *   freeze every run, request and stream of the process, and no timer could stop it.
 * - `worker`: the work runs in a worker thread of a {@link ToolWorkerPool}, with V8 memory and
 *   stack limits, and the worker is terminated at the time limit. For anything CPU-bound.
 */
export type ToolIsolation = "in-process" | "worker";

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
  /** Time limit of one call (ms), waiting for a worker included; also counts towards a plan's budget. */
  timeoutMs: number;
  /** Where the work runs (see {@link ToolIsolation}). */
  isolation: ToolIsolation;
  /** The module export a `worker` tool runs (undefined for `in-process` tools). */
  worker?: WorkerEntry;
  /**
   * Run the tool. Throw {@link ToolError} with a message fit for the model and the user. A
   * worker tool's `run` hands the input to its pool and throws what the pool throws.
   */
  run(input: z.infer<S>, ctx: ToolContext): Promise<unknown>;
  /** Worker tools: start a worker and import the module now, so the first call does not pay for it. */
  warm?(): void;
}

/** Default tool time limit (ms). */
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

/** The fields every tool declaration has. */
interface ToolSpecBase<S extends z.ZodObject> {
  name: string;
  description: string;
  input: S;
  /** Time limit of one call (ms); default {@link DEFAULT_TOOL_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** An I/O tool whose `run` executes on the event loop (see {@link ToolIsolation}). */
export interface InProcessToolSpec<S extends z.ZodObject> extends ToolSpecBase<S> {
  isolation?: "in-process";
  run(input: z.infer<S>, ctx: ToolContext): Promise<unknown>;
}

/**
 * A CPU-bound tool run in a worker thread: `worker.module`'s export `worker.export` gets the
 * validated input (structured-cloned; no {@link ToolContext}: the store and the signal do not
 * cross threads, the deadline is enforced by terminating the worker) and returns a JSON value;
 * a {@link ToolError} it throws reaches the model with its message. The module must be listed
 * in WORKER_SOURCES (worker-sources.ts) so it is bundled for AWS, and it should import little
 * besides what it computes with: every worker loads it.
 */
export interface WorkerToolSpec<S extends z.ZodObject> extends ToolSpecBase<S> {
  isolation: "worker";
  worker: WorkerEntry;
  /** The pool to run in; default: the process's shared pool ({@link defaultToolWorkerPool}). */
  pool?: ToolWorkerPool;
}

/**
 * Declare a tool with its input typed from the zod schema.
 * @throws Error for a name that is not a valid function name (a programming error).
 */
export function defineTool<S extends z.ZodObject>(spec: InProcessToolSpec<S> | WorkerToolSpec<S>): Tool<S> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(spec.name)) throw new Error(`invalid tool name ${spec.name}`);
  const base = {
    name: spec.name,
    description: spec.description,
    input: spec.input,
    timeoutMs: spec.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
  };
  if (spec.isolation === "worker") {
    const { worker } = spec;
    // Looked up per call, so a tool module can be imported without starting anything.
    const pool = () => spec.pool ?? defaultToolWorkerPool();
    return {
      ...base,
      isolation: "worker",
      worker,
      run: (input, ctx) => pool().run(worker, input, ctx.signal),
      warm: () => pool().warm(worker),
    };
  }
  return { ...base, isolation: "in-process", run: spec.run };
}
