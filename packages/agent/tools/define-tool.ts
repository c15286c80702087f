import type { z } from "zod";
import type { Store } from "../../store/index.ts";
import { agentModule } from "./agent-module.ts";
import { AGENT_TOOL_BODY, type AgentToolBody } from "./agent-tool.ts";
import { ToolDefinitionError, ToolModuleError } from "./tool-error.ts";
import { toolFingerprint } from "./tool-fingerprint.ts";
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
  /**
   * The module export a `worker` tool runs; undefined for `in-process` tools and for an agent's
   * worker tools (their `run` is found in the agent module: {@link AgentWorkerToolSpec}).
   */
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
 * A CPU-bound tool of an agent, run in a worker thread (docs/agents.md, "Tools in a worker").
 * `run` gets only the validated input (structured-cloned; no per-run context: it may not
 * declare a second parameter) and returns a JSON value; a {@link ToolError} it throws reaches
 * the model with its message. The worker does not get this function from the main thread: it
 * imports the agent module itself (agent-module.ts), takes its default export and runs the tool
 * of this name from its `tools`. So the tool must be defined at the module's top level, listed
 * in the agent's `tools`, and must not read module variables a stage sets (the worker's copy of
 * the module never sees them) nor depend on environment variables (the worker has none).
 */
export interface AgentWorkerToolSpec<S extends z.ZodObject> extends ToolSpecBase<S> {
  isolation: "worker";
  run(input: z.infer<S>): unknown;
  /** The pool to run in; default: the process's shared pool ({@link defaultToolWorkerPool}). */
  pool?: ToolWorkerPool;
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

/** A tool's fields besides where and how it runs. */
type ToolBase<S extends z.ZodObject> = Pick<Tool<S>, "name" | "description" | "input" | "timeoutMs">;

/**
 * Declare a tool with its input typed from the zod schema: an I/O tool (`run(input, ctx)` on
 * the event loop), an agent's worker tool (`isolation: "worker"` with `run(input)`), or a
 * module export run in a worker (`isolation: "worker"` with `worker: { module, export }`).
 * @throws ToolDefinitionError (at definition time, i.e. when the agent module is imported)
 *   for a name that is not a valid function name, a worker tool with both or neither of `run`
 *   and `worker`, or a worker tool whose `run` declares a second parameter (it would expect a
 *   per-run context that a worker never gets).
 */
export function defineTool<S extends z.ZodObject>(
  spec: InProcessToolSpec<S> | AgentWorkerToolSpec<S> | WorkerToolSpec<S>,
): Tool<S> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(spec.name))
    throw new ToolDefinitionError(`invalid tool name ${spec.name}`);
  const base: ToolBase<S> = {
    name: spec.name,
    description: spec.description,
    input: spec.input,
    timeoutMs: spec.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
  };
  if (spec.isolation !== "worker") return { ...base, isolation: "in-process", run: spec.run };
  const hasRun = "run" in spec && spec.run !== undefined;
  const hasEntry = "worker" in spec && spec.worker !== undefined;
  if (hasRun === hasEntry) {
    throw new ToolDefinitionError(
      `tool ${spec.name}: a worker tool has either run(input) (an agent's tool) or worker: { module, export }`,
    );
  }
  // Looked up per call, so a tool module can be imported without starting anything.
  const pool = () => spec.pool ?? defaultToolWorkerPool();
  if (hasEntry) {
    const { worker } = spec as WorkerToolSpec<S>;
    return {
      ...base,
      isolation: "worker",
      worker,
      run: (input, ctx) => pool().run(worker, input, ctx.signal),
      warm: () => pool().warm(worker),
    };
  }
  return agentWorkerTool(base, (spec as AgentWorkerToolSpec<S>).run, pool);
}

/**
 * An agent's worker tool: `run` dispatches to the pool with the agent module and this
 * definition's fingerprint; the author's `run` travels with the tool under AGENT_TOOL_BODY,
 * where a worker that evaluated the agent module finds it (agent-tool.ts).
 */
function agentWorkerTool<S extends z.ZodObject>(
  base: ToolBase<S>,
  body: (input: z.infer<S>) => unknown,
  pool: () => ToolWorkerPool,
): Tool<S> {
  if (typeof body !== "function") throw new ToolDefinitionError(`tool ${base.name}: run must be a function`);
  if (body.length > 1) {
    throw new ToolDefinitionError(
      `tool ${base.name}: a worker tool's run takes only its input (run(input)); it gets no per-run context, so pass what it needs in the input`,
    );
  }
  const fingerprint = toolFingerprint({ ...base, run: body });
  const module = () => {
    const url = agentModule();
    if (url) return url;
    throw new ToolModuleError(
      "tool_not_in_module",
      `${base.name} is a worker tool, which runs only in an agent loaded from a module (STAGECAST_AGENT, or AGENT in sst.config.ts): this process has none`,
    );
  };
  const agentBody: AgentToolBody = { run: body as AgentToolBody["run"], fingerprint };
  return {
    ...base,
    isolation: "worker",
    run: async (input, ctx) =>
      pool().run({ module: module(), tool: base.name, fingerprint }, input, ctx.signal),
    warm: () => {
      const url = agentModule();
      if (url) pool().warm({ module: url });
    },
    [AGENT_TOOL_BODY]: agentBody,
  } as Tool<S>;
}
