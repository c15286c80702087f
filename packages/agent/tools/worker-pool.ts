import { Worker } from "node:worker_threads";
import { ToolError, ToolModuleError, ToolResourceLimitError, ToolWorkerError } from "./tool-error.ts";
import type { ToolFingerprint } from "./tool-fingerprint.ts";
import { resolveWorkerModule } from "./worker-module.ts";
import type { FailureData, HostRequest, RunReply, RunTarget } from "./worker-protocol.ts";

/** What one isolated tool call runs: an exported function of a module, imported by the worker. */
export interface WorkerEntry {
  /** The module's own URL, e.g. `new URL("./calculator-eval.ts", import.meta.url)` (see resolveWorkerModule). */
  module: URL;
  /** The exported function's name; it takes the validated input and returns a JSON value (or a promise of one). */
  export: string;
}

/**
 * What a call of an agent module's worker tool runs (agent-tool.ts): the worker imports
 * `module`, finds the tool `tool` in its default export's `tools` and runs its `run`.
 */
export interface AgentToolEntry {
  /** The agent module (agent-module.ts), resolved like any worker module (resolveWorkerModule). */
  module: URL;
  /** The tool's name. */
  tool: string;
  /** The registered definition's fingerprint, compared with the one the worker finds. */
  fingerprint: ToolFingerprint;
}

/** V8 limits of each tool worker (Worker `resourceLimits`), in MB. */
export interface WorkerLimits {
  /** Main heap. Going over it kills the worker (ERR_WORKER_OUT_OF_MEMORY) → `tool_resource_limit`. */
  maxOldGenerationSizeMb: number;
  /** Heap space for new objects (caps how much short-lived garbage a call churns before GC). */
  maxYoungGenerationSizeMb: number;
  /** Call stack; a deeper recursion throws a RangeError the worker reports → `tool_resource_limit`. */
  stackSizeMb: number;
}

/**
 * Default limits: 64 MB of old generation is about 4x what the calculator's worker holds once
 * mathjs is loaded, far below a 1,024 MB stage Lambda even with every worker full; 4 MB of stack
 * is V8's default, ample for any expression the calculator accepts. A worker that runs an agent's
 * worker tools imports the agent module, "stagecast" and zod with it. Measured on Node 24 with
 * test/packages/agent/tools/fixtures/worker-agent.ts (old space + large objects, after loading):
 * under tsx (`npm start`) 17 + 1.5 MB, 24 + 5 MB once the calculator's mathjs is loaded in the
 * same worker (it then needs more than 32 MB to load, and loads in 36 MB); under Node's type
 * stripping (vitest) 12.5 + 5 MB, 19 + 6 MB with mathjs; the minified AWS bundle of
 * examples/business-insights/agent.ts 7 + 1 MB. So 64 MB holds it with at least 1.75x margin;
 * worker-pool.test.ts runs an agent's worker tool with half of it.
 */
export const DEFAULT_WORKER_LIMITS: WorkerLimits = {
  maxOldGenerationSizeMb: 64,
  maxYoungGenerationSizeMb: 16,
  stackSizeMb: 4,
};

/**
 * Default number of workers per process: tool calls of one run are sequential, so 2 lets two
 * runs of the local stack compute at once while bounding the CPU tools can take (2 cores).
 * Further calls wait for a free worker; the wait counts against their time limit.
 */
export const DEFAULT_POOL_SIZE = 2;

/** Settings of a {@link ToolWorkerPool}; every field has a default. */
export interface ToolWorkerPoolOptions {
  /** Most workers alive at once (default {@link DEFAULT_POOL_SIZE}). */
  size?: number;
  /** V8 limits of each worker (default {@link DEFAULT_WORKER_LIMITS}). */
  limits?: Partial<WorkerLimits>;
}

interface Job {
  id: number;
  module: string;
  target: RunTarget;
  input: unknown;
  signal: AbortSignal;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  onAbort(): void;
}

interface Slot {
  worker: Worker;
  /** The call this worker is running; undefined while idle. */
  job?: Job;
}

/**
 * A small, bounded pool of warm worker threads that run CPU-bound tools off the event loop.
 * Each call runs in a worker with V8 `resourceLimits`; when the call's signal aborts (its time
 * limit, or the run's cancellation) the worker is terminated — the only way to stop synchronous
 * JavaScript — and a replacement is started at once, so the next call finds a warm worker.
 * Idle workers are `unref`'d (they never keep a process alive) and get an empty environment
 * (a tool worker never sees the process's secrets).
 */
export class ToolWorkerPool {
  /** Most workers alive at once. */
  readonly size: number;
  /** V8 limits of each worker. */
  readonly limits: WorkerLimits;
  /** Workers started so far, replacements included (for tests and measurements). */
  started = 0;
  readonly #host = resolveWorkerModule(new URL("./worker-host.ts", import.meta.url));
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  /** Modules used so far: every new worker imports them before its first call. */
  readonly #modules = new Set<string>();
  #nextId = 1;
  #closed = false;

  constructor(options: ToolWorkerPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? DEFAULT_POOL_SIZE);
    this.limits = { ...DEFAULT_WORKER_LIMITS, ...options.limits };
  }

  /**
   * Run `entry` on `input` in a worker and return its (JSON) result. The signal bounds the
   * whole call, waiting for a free worker included.
   * @throws the signal's reason when it aborts first (the worker is terminated);
   *   {@link ToolError} when the tool threw one; {@link ToolResourceLimitError} when the worker
   *   ran out of heap or stack; {@link ToolModuleError} when an agent tool is not in its module
   *   or not the same definition there; {@link ToolWorkerError} for anything else (no such
   *   module or export, any other error of the tool, a crashed worker, a closed pool).
   */
  run(entry: WorkerEntry | AgentToolEntry, input: unknown, signal: AbortSignal): Promise<unknown> {
    signal.throwIfAborted();
    if (this.#closed) return Promise.reject(new ToolWorkerError("the tool worker pool is closed"));
    const module = resolveWorkerModule(entry.module).href;
    this.#modules.add(module);
    const target: RunTarget =
      "tool" in entry
        ? {
            kind: "agent-tool",
            tool: entry.tool,
            fingerprint: entry.fingerprint,
            sameSource: module === entry.module.href,
          }
        : { kind: "export", export: entry.export };
    return new Promise((resolve, reject) => {
      const job: Job = {
        id: this.#nextId++,
        module,
        target,
        input,
        signal,
        resolve,
        reject,
        onAbort: () => this.#abort(job),
      };
      signal.addEventListener("abort", job.onAbort, { once: true });
      this.#queue.push(job);
      this.#pump();
    });
  }

  /** Start a worker (when none is alive) and have every worker import `entry`'s module now, off any call's clock. */
  warm(entry: Pick<WorkerEntry, "module">): void {
    if (this.#closed) return;
    const module = resolveWorkerModule(entry.module).href;
    this.#modules.add(module);
    if (this.#slots.size === 0) this.#spawn();
    else for (const slot of this.#slots) this.#post(slot, { type: "preload", module });
  }

  /** Terminate every worker and fail every waiting call with {@link ToolWorkerError}. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new ToolWorkerError("the tool worker pool is closed");
    for (const job of this.#queue.splice(0)) this.#settle(job, () => job.reject(closed));
    const slots = [...this.#slots];
    this.#slots.clear();
    for (const slot of slots) {
      const job = slot.job;
      if (job) this.#settle(job, () => job.reject(closed));
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(this.#host, {
      name: "stagecast-tool",
      resourceLimits: { ...this.limits },
      env: {},
    });
    this.started++;
    const slot: Slot = { worker };
    this.#slots.add(slot);
    worker.unref();
    worker.on("message", (reply: RunReply) => this.#onReply(slot, reply));
    worker.on("error", (err: Error & { code?: string }) => this.#onDeath(slot, err));
    worker.on("exit", (code) =>
      this.#onDeath(slot, new ToolWorkerError(`tool worker exited (code ${code})`)),
    );
    for (const module of this.#modules) this.#post(slot, { type: "preload", module });
    return slot;
  }

  /** Give waiting calls to idle workers, starting workers up to {@link size}. */
  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = [...this.#slots].find((s) => !s.job);
      if (!slot) {
        if (this.#slots.size >= this.size) return;
        try {
          slot = this.#spawn();
        } catch (err) {
          // `new Worker` itself refused (bad execArgv, no memory for a thread): fail this call.
          const job = this.#queue.shift() as Job;
          const reason = new ToolWorkerError(`tool worker could not start: ${(err as Error).message}`, {
            cause: err,
          });
          this.#settle(job, () => job.reject(reason));
          continue;
        }
      }
      const job = this.#queue.shift() as Job;
      slot.job = job;
      // A busy worker keeps the process alive until its call ends, like any pending I/O.
      slot.worker.ref();
      const sent = this.#post(slot, {
        type: "run",
        id: job.id,
        module: job.module,
        target: job.target,
        input: job.input,
      });
      if (!sent) {
        slot.job = undefined;
        slot.worker.unref();
        this.#settle(job, () => job.reject(new ToolWorkerError("the tool input cannot be sent to a worker")));
      }
    }
  }

  /** postMessage, false when the message cannot be cloned. */
  #post(slot: Slot, request: HostRequest): boolean {
    try {
      slot.worker.postMessage(request);
      return true;
    } catch {
      return false;
    }
  }

  #onReply(slot: Slot, reply: RunReply): void {
    const job = slot.job;
    if (!job || reply.id !== job.id) return;
    slot.job = undefined;
    slot.worker.unref();
    if (reply.ok) this.#settle(job, () => job.resolve(JSON.parse(reply.json)));
    else this.#settle(job, () => job.reject(this.#fromFailure(reply.error)));
    this.#pump();
  }

  /** A worker died (out of memory, crashed, failed to start): fail its call and replace it if it was busy. */
  #onDeath(slot: Slot, err: Error & { code?: string }): void {
    if (!this.#slots.delete(slot)) return; // already removed: terminated by us
    const job = slot.job;
    if (job) {
      const reason =
        err.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new ToolResourceLimitError(
              "memory",
              `the tool needed more than its ${this.limits.maxOldGenerationSizeMb} MB of memory`,
              { cause: err },
            )
          : new ToolWorkerError(`tool worker failed: ${err.message}`, { cause: err });
      this.#settle(job, () => job.reject(reason));
      // Replaced only after a death during a call: a worker that cannot even start is not
      // restarted in a loop, the next call tries again.
      this.#replace();
    }
    this.#pump();
  }

  /** Start a warm replacement for a worker that was killed; a failure waits for the next call. */
  #replace(): void {
    if (this.#closed || this.#slots.size >= this.size) return;
    try {
      this.#spawn();
    } catch {
      // #pump reports it to the next call that needs a worker.
    }
  }

  /** The call's signal aborted (time limit or cancellation): drop it from the queue or kill its worker. */
  #abort(job: Job): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
    } else {
      const slot = [...this.#slots].find((s) => s.job === job);
      if (slot) {
        slot.job = undefined;
        this.#slots.delete(slot);
        void slot.worker.terminate();
        this.#replace();
      }
    }
    this.#settle(job, () => job.reject(job.signal.reason));
    this.#pump();
  }

  #settle(job: Job, finish: () => void): void {
    job.signal.removeEventListener("abort", job.onAbort);
    finish();
  }

  #fromFailure(error: FailureData): Error {
    if (error.limit === "stack")
      return new ToolResourceLimitError(
        "stack",
        `the tool went deeper than its ${this.limits.stackSizeMb} MB stack`,
      );
    if (error.limit === "memory")
      return new ToolResourceLimitError("memory", `the tool tried to allocate more memory than allowed`);
    if (error.code) return new ToolModuleError(error.code, error.message);
    if (error.name === "ToolError") return new ToolError(error.message);
    return new ToolWorkerError(`${error.name}: ${error.message}`);
  }
}

let shared: ToolWorkerPool | undefined;

/** The process's pool, shared by every worker tool that names no pool of its own; created on first use. */
export function defaultToolWorkerPool(): ToolWorkerPool {
  shared ??= new ToolWorkerPool();
  return shared;
}
