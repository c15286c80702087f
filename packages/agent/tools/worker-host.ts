import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { agentToolRun } from "./agent-tool.ts";
import { isToolError, type ResourceLimit, ToolModuleError } from "./tool-error.ts";
import { truncateResult } from "./truncate-result.ts";
import type { FailureData, HostRequest, RunReply, RunRequest } from "./worker-protocol.ts";

/**
 * The entry of a tool worker (started by ToolWorkerPool, worker-pool.ts): it imports tool modules on
 * demand (a tool's own module, or the agent module whose worker tools it runs: agent-tool.ts)
 * and runs one call at a time, answering each with a {@link RunReply}. Nothing here
 * stops a runaway call: the pool terminates the whole worker at the deadline, and V8 ends it
 * at its `resourceLimits`. Kept free of dependencies so it starts fast and bundles small.
 */

const modules = new Map<string, Promise<Record<string, unknown>>>();

/** The module at `href`, imported once per worker. */
function load(href: string): Promise<Record<string, unknown>> {
  let loading = modules.get(href);
  if (!loading) {
    loading = import(href) as Promise<Record<string, unknown>>;
    modules.set(href, loading);
  }
  return loading;
}

/**
 * RangeErrors V8 throws when a limit is reached but the isolate survives: the call stack
 * (bounded by `stackSizeMb`) or an allocation larger than V8 allows. Heap exhaustion is not
 * catchable: the worker dies and the pool sees ERR_WORKER_OUT_OF_MEMORY.
 */
function limitOf(err: unknown): ResourceLimit | undefined {
  if (!(err instanceof RangeError)) return undefined;
  if (/call stack/i.test(err.message)) return "stack";
  if (/invalid (typed )?array length|invalid string length|allocation failed/i.test(err.message))
    return "memory";
  return undefined;
}

/**
 * An error as plain data; every ToolError (subclasses too) travels as name `ToolError`, a
 * {@link ToolModuleError} with its code.
 */
function failure(err: unknown): FailureData {
  const limit = limitOf(err);
  const name = isToolError(err) ? "ToolError" : err instanceof Error ? err.name : "Error";
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ToolModuleError) return { name, message, code: err.code };
  return limit ? { name, message, limit } : { name, message };
}

/**
 * The function a run request calls: the module's named export, or an agent module's worker
 * tool. An agent module that does not load in a worker (it throws without the environment, say)
 * has none of its tools there: `tool_not_in_module`, naming the error's class only.
 */
async function callee(request: RunRequest): Promise<(input: unknown) => unknown> {
  const { target } = request;
  if (target.kind === "agent-tool") {
    const namespace = await load(request.module).catch((err: unknown) => {
      const file = request.module.slice(request.module.lastIndexOf("/") + 1);
      throw new ToolModuleError(
        "tool_not_in_module",
        `${target.tool}: ${file} does not load in a tool worker (${err instanceof Error ? err.name : "error"}); an agent module with worker tools must load on its own, without environment variables`,
      );
    });
    return agentToolRun(namespace, request.module, target);
  }
  const namespace = await load(request.module);
  const fn = namespace[target.export];
  if (typeof fn !== "function") {
    throw new TypeError(`${request.module} has no exported function ${target.export}`);
  }
  return fn as (input: unknown) => unknown;
}

async function handle(request: HostRequest): Promise<RunReply | undefined> {
  if (request.type === "preload") {
    // A failure here surfaces again, with its message, on the first call that needs the module.
    await load(request.module).catch(() => undefined);
    return undefined;
  }
  try {
    const fn = await callee(request);
    const value: unknown = await fn(request.input);
    return { type: "result", id: request.id, ok: true, json: JSON.stringify(truncateResult(value)) };
  } catch (err) {
    return { type: "result", id: request.id, ok: false, error: failure(err) };
  }
}

/**
 * Nice value of tool workers (0 = normal, 19 = lowest): when a tool and request handling
 * compete for a core, the scheduler favours the event loop (CFS weight 110 against 1,024).
 * Uncontended, a tool still gets a whole core.
 */
export const TOOL_WORKER_NICE = 10;

if (!parentPort) throw new Error("worker-host.ts runs only as a worker thread (see ToolWorkerPool)");
// On Linux a nice value belongs to a thread (NPTL), so this lowers this worker only; elsewhere
// it would lower the whole process, so it is left alone there.
if (process.platform === "linux") {
  try {
    setPriority(TOOL_WORKER_NICE);
  } catch {
    // Not permitted (some sandboxes): the worker runs at normal priority.
  }
}
const port = parentPort;
port.on("message", (request: HostRequest) => {
  void handle(request).then((reply) => {
    if (reply) port.postMessage(reply);
  });
});
