import { type RunOptions, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import type { LogFn } from "../../packages/observability/index.ts";
import {
  executionInput,
  outcomeOfStatus,
  type StartedExecution,
  type Workflow,
  type WorkflowArns,
} from "../../packages/workflow/index.ts";

type Handlers = NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;

/** An in-process Lambda stand-in: gets the Task's input, returns its output, throws to fail it. */
export type LocalTaskHandler = (input: unknown) => Promise<unknown>;

/** One Task call as {@link LocalWorkflowOptions.onTask} sees it: the state's name, its input and (when it succeeded) its output. */
export interface LocalTaskCall {
  /** The Task state's name, e.g. `Gather` or `Finalize`. */
  state: string;
  input: unknown;
  /** What the handler returned; absent when it threw. */
  output?: unknown;
}

/** Options of {@link LocalWorkflow}. */
export interface LocalWorkflowOptions {
  /** The ASL definition (the same object Step Functions gets on AWS). */
  definition: object;
  /** The function ARNs the definition's Tasks name, mapped to in-process handlers below. */
  arns: WorkflowArns;
  stage: LocalTaskHandler;
  finalize: LocalTaskHandler;
  /** Per-state retry waits (s) override, e.g. 0 in tests; real backoff otherwise. */
  retryIntervalOverrides?: Record<string, number>;
  log?: LogFn;
  /**
   * Called after each Task handler settles, with its input and output (tests measure the
   * payload sizes Step Functions would carry, since this runner does not enforce its 256 KB
   * limit). Must not throw.
   */
  onTask?: (call: LocalTaskCall) => void;
}

/** `handler`, reporting each call's input and output (or only its input, when it throws) to `onTask`. */
function observe(
  state: string,
  handler: LocalTaskHandler,
  onTask: (call: LocalTaskCall) => void,
): LocalTaskHandler {
  return async (input) => {
    try {
      const output = await handler(input);
      onTask({ state, input, output });
      return output;
    } catch (err) {
      onTask({ state, input });
      throw err;
    }
  };
}

/**
 * The local adapter of the Workflow port: aws-local-stepfunctions runs the same ASL JSON in
 * this process, each Task mapped (by its Resource ARN) to the stage or Finalize handler.
 * Like the EventBridge rule on AWS, an execution that ends failed, timed out or aborted also
 * gets Finalize called (a no-op when the run already has its terminal event).
 */
export class LocalWorkflow implements Workflow {
  readonly #machine: StateMachine;
  readonly #handlers: Handlers;
  readonly #options: LocalWorkflowOptions;
  readonly #running = new Map<string, { abort(): void; done: Promise<void> }>();
  /** Task handlers in flight: an aborted execution does not stop them (as on AWS), shutdown waits. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopping = false;
  /** Every run id started by this runner (one short string per run). */
  readonly #started = new Set<string>();

  constructor(options: LocalWorkflowOptions) {
    this.#options = options;
    const definition = options.definition as StateMachineDefinition;
    // Validation takes 60-160 ms (docs/platform-notes.md, "aws-local-stepfunctions"): build the machine once.
    this.#machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    this.#handlers = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== "Task") continue;
      const resource = (state as { Resource: string }).Resource;
      const handler =
        resource === options.arns.stageFunctionArn
          ? options.stage
          : resource === options.arns.finalizeFunctionArn
            ? options.finalize
            : undefined;
      if (!handler) throw new Error(`Task ${name} names ${resource}, which has no local handler`);
      const observed = options.onTask ? observe(name, handler, options.onTask) : handler;
      const tracked = (input: unknown) => {
        const p = observed(input);
        this.#inFlight.add(p);
        void p.then(
          () => this.#inFlight.delete(p),
          () => this.#inFlight.delete(p),
        );
        return p;
      };
      this.#handlers[name] = tracked as unknown as Handlers[string];
    }
  }

  /** Start the run's execution in the background; a second start for the same run is absorbed. */
  async start(runId: string): Promise<StartedExecution> {
    const executionArn = `arn:aws:states:local:000000000000:execution:stagecast:${runId}`;
    // Like Step Functions, an execution name is used once: a run never gets a second execution.
    if (this.#started.has(runId)) return { executionArn, alreadyStarted: true };
    this.#started.add(runId);
    const execution = this.#machine.run(executionInput(runId), {
      overrides: {
        taskResourceLocalHandlers: this.#handlers,
        ...(this.#options.retryIntervalOverrides
          ? { retryIntervalOverrides: this.#options.retryIntervalOverrides }
          : {}),
      },
    });
    const done = execution.result.then(
      () => undefined,
      (err: unknown) => this.#onFailed(runId, err),
    );
    this.#running.set(runId, { abort: execution.abort, done });
    void done.finally(() => this.#running.delete(runId));
    return { executionArn, alreadyStarted: false };
  }

  /** Abort the run's execution, if it is running here. The handler in flight is not interrupted (as on AWS). */
  async stop(runId: string): Promise<void> {
    this.#running.get(runId)?.abort();
  }

  /** Resolves when every execution started so far has ended (for tests and shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  /** Abort every running execution (shutdown). Running handlers are not interrupted, as on AWS. */
  abortAll(): void {
    // Shutting down is not cancelling: the runs stay unfinished in the store, and the sweeper
    // ends them as timed out if no process picks them up (see sweepSilentRuns).
    this.#stopping = true;
    for (const r of this.#running.values()) r.abort();
  }

  /** Wait until no Task handler or Finalize call is running, or `timeoutMs` has passed (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight, ...[...this.#running.values()].map((r) => r.done)]),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async #onFailed(runId: string, err: unknown): Promise<void> {
    if (this.#stopping) return;
    const name: string = err instanceof Error ? err.name : "UnknownError";
    // Like the EventBridge rule on AWS: this runner's execution errors stand for the Step
    // Functions execution statuses, which end the run the same way on both roots.
    const outcome = outcomeOfStatus(
      name === "ExecutionTimeoutError"
        ? "TIMED_OUT"
        : name === "ExecutionAbortedError"
          ? "ABORTED"
          : "FAILED",
    );
    const error = { Error: outcome === "timed_out" ? "States.Timeout" : name, Cause: String(err) };
    try {
      await this.#options.finalize({ runId, error, outcome });
    } catch (finalizeErr) {
      this.#options.log?.({
        level: "error",
        msg: "local finalize failed",
        runId,
        error: String(finalizeErr),
      });
    }
  }
}
