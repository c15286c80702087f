import { z } from "zod";
import {
  clip,
  type EventInput,
  isTerminalType,
  RunIdSchema,
  STAGES,
  type Stage,
  StageSchema,
} from "../events/index.ts";
import type { LogFn } from "../runtime/index.ts";
import {
  endRun,
  type ProgressStore,
  RunFinishedError,
  recordStageDuration,
  StoreUnavailableError,
} from "../store/index.ts";
import { DeltaCoalescer } from "./delta-coalescer.ts";
import { StageFailedError, TransientStageError } from "./errors.ts";
import { addUsage, type ModelClient } from "./model-client.ts";
import { overallProgress, stageIndex } from "./progress.ts";
import { type RunState, RunStateSchema } from "./run-state.ts";
import type { StageContext, StageImpl } from "./stage-context.ts";
import { STAGE_IMPLS } from "./stages/index.ts";
import { runTool, type ToolOutcome, type ToolRegistry } from "./tools/index.ts";

/** The stage function's input, as the ASL's Parameters build it (see packages/workflow/definition.ts). */
export const StageTaskInputSchema = z.object({
  runId: RunIdSchema,
  stage: StageSchema,
  state: RunStateSchema,
});

/** What the stage runner needs. */
export interface AgentDeps {
  store: ProgressStore;
  /** The default model; `models` may name another model per stage on the same endpoint. */
  model: ModelClient;
  models?: Partial<Record<Stage, string>>;
  tools: ToolRegistry;
  /** llm.delta coalescing bounds (ms, characters); see DeltaCoalescer. */
  delta: { intervalMs: number; maxChars: number };
  /**
   * How often a running stage checks its run's log for a terminal event written by someone
   * else (a cancel, a timeout sweep), in ms (default 500): StopExecution does not interrupt a
   * running Lambda, so a stage must notice by itself and abort its model call.
   */
  cancelCheckMs?: number;
  /** Stage implementations; defaults to the six built-in stages. */
  stages?: Record<Stage, StageImpl>;
  /** Where best-effort failures (stage statistics) are reported. */
  log?: LogFn;
}

/**
 * Run one stage of one run: the body of functions/stage.ts and of the local runner's Task
 * handler. Writes stage.started, the stage's own events and stage.completed (plus run.started
 * before the first stage, stage.retrying when this is a retry, run.completed after the last).
 *
 * The attempt number comes from the log, not from `$$.State.RetryCount` (absent locally):
 * if the newest event already belongs to this stage and is not its stage.completed, an
 * earlier attempt died mid-stage and this is attempt + 1.
 *
 * @returns the new run state (the state machine stores it at `$.state`).
 * A {@link StageFailedError} (a permanent failure with a safe code, e.g. `model_unauthorized`)
 * is written as the run's run.failed here, where its code is known, and then rethrown so the
 * workflow's Catch ends the execution (Finalize is then a no-op).
 *
 * @throws StageFailedError (`invalid_input`) for an input that does not match the schema;
 *   TransientStageError for store outages (retried by the workflow); RunFinishedError when
 *   the run already ended (the workflow then stops via Catch → Finalize, which is a no-op).
 */
export async function runStage(rawInput: unknown, deps: AgentDeps): Promise<RunState> {
  const parsed = StageTaskInputSchema.safeParse(rawInput);
  if (!parsed.success) throw new StageFailedError("invalid_input", "The stage received an invalid input.");
  const { runId, stage, state } = parsed.data;
  try {
    return await runParsed(runId, stage, state, deps);
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw new TransientStageError(err.message, { cause: err });
    if (err instanceof StageFailedError && err.code !== "run_not_found") {
      await endRun(deps.store, runId, {
        type: "run.failed",
        stage,
        error: { code: err.code, message: err.message },
      });
    }
    throw err;
  }
}

async function runParsed(runId: string, stage: Stage, state: RunState, deps: AgentDeps): Promise<RunState> {
  const { store } = deps;
  const model = deps.model.withModel(deps.models?.[stage] ?? deps.model.model);
  const log = store.log(runId);
  const last = await log.sync();
  if (!last) throw new StageFailedError("run_not_found", `run ${runId} has no log`);
  if (isTerminalType(last.type)) {
    // A retried memory stage whose first attempt completed the run: done, not failed.
    if (stage === "memory" && last.type === "run.completed") return state;
    throw new RunFinishedError(runId, last.type);
  }
  if (stage === "memory" && last.type === "stage.completed" && last.stage === "memory") {
    // The first attempt finished the stage but not the run (a store outage in complete()).
    await complete(runId, state, deps, (input) => log.append(input).then(() => undefined));
    return state;
  }
  const retried = last.stage === stage && last.type !== "stage.completed";
  const attempt = retried ? (last.attempt ?? 0) + 1 : 0;
  let progress = last.progress;
  const emit = async (input: EventInput): Promise<void> => {
    progress = Math.max(progress, input.progress);
    await log.append({ ...input, progress });
  };
  const at = (fraction: number) => Math.max(progress, overallProgress(stage, fraction));

  if (last.type === "run.queued") {
    await emit({ type: "run.started", progress: 0, message: "Run started.", data: { executionName: runId } });
    await store.updateRun(runId, { status: "running" });
  }
  if (retried) {
    await emit({
      type: "stage.retrying",
      stage,
      attempt,
      progress: at(0),
      message: `Retrying ${stage} (attempt ${attempt + 1}).`,
      data: {
        error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
        nextAttempt: attempt,
      },
    });
  }
  const startedAt = store.now();
  await emit({
    type: "stage.started",
    stage,
    attempt,
    progress: at(0),
    message: STARTED_MESSAGES[stage],
    data: { index: stageIndex(stage), total: STAGES.length },
  });

  const usageByStage = { ...state.usageByStage };
  const models = new Set(state.models);
  // Aborted when this stage ends, so nothing it started outlives it; model calls and tools
  // also have their own time limits (MODEL_TIMEOUT_MS, each tool's timeoutMs).
  const controller = new AbortController();
  let toolCalls = 0;
  const ctx: StageContext = {
    runId,
    stage,
    attempt,
    state,
    store,
    model,
    tools: deps.tools,
    signal: controller.signal,
    progress: (message, data = {}, fraction = 0.5) =>
      emit({ type: "stage.progress", stage, attempt, progress: at(fraction), message, data: data as never }),
    deltas: (fractionOf, extra) => {
      let chars = 0;
      return new DeltaCoalescer((text) => {
        chars += text.length;
        return emit({
          type: "llm.delta",
          stage,
          attempt,
          progress: at(fractionOf(chars)),
          message: "Writing the answer…",
          data: { text, model: model.model, ...(extra?.simulated?.() ? { simulated: true } : {}) },
        });
      }, deps.delta);
    },
    callTool: async (rawName, input, fraction, callId = `${stage}-${attempt}-${++toolCalls}`) => {
      const name = clip(rawName, 64); // a model may send any name; events stay within the schema
      const toolInput = (input ?? null) as never;
      await emit({
        type: "tool.started",
        stage,
        attempt,
        progress: at(fraction),
        message: `Running ${name}…`,
        data: { callId, name, input: toolInput },
      });
      const tool = deps.tools.get(name);
      const outcome: ToolOutcome = tool
        ? await runTool(tool, input, {
            runId,
            ...(state.projectId ? { projectId: state.projectId } : {}),
            ...(state.owner ? { owner: state.owner } : {}),
            store,
            signal: controller.signal,
            now: store.now,
          })
        : {
            ok: false,
            error: { code: "unknown_tool", message: `There is no tool called ${name}.` },
            durationMs: 0,
          };
      await emit({
        type: "tool.completed",
        stage,
        attempt,
        progress: at(fraction),
        message: outcome.ok
          ? `${name} finished in ${outcome.durationMs} ms.`
          : `${name} failed: ${outcome.error.message}`,
        data: outcome.ok
          ? {
              callId,
              name,
              input: toolInput,
              durationMs: outcome.durationMs,
              ok: true,
              result: outcome.result as never,
            }
          : {
              callId,
              name,
              input: toolInput,
              durationMs: outcome.durationMs,
              ok: false,
              error: outcome.error,
            },
      });
      return outcome;
    },
    recordUsage: (name, usage) => {
      models.add(name);
      const prev = usageByStage[stage];
      usageByStage[stage] = prev ? addUsage(prev, usage) : usage;
    },
  };

  const impl = (deps.stages ?? STAGE_IMPLS)[stage];
  let outcome: Awaited<ReturnType<StageImpl>>;
  const watch = watchForEnd(store, runId, deps.cancelCheckMs ?? 500, controller);
  try {
    outcome = await impl(ctx);
  } catch (err) {
    // Ended from outside (cancelled, timed out): whatever the stage was doing, it is over and
    // nothing more may be written; report the run's end, not the abort it caused.
    if (watch.ended) throw watch.ended;
    throw err;
  } finally {
    watch.stop();
    controller.abort();
  }
  if (watch.ended) throw watch.ended;
  const next: RunState = {
    ...state,
    ...outcome.state,
    usageByStage,
    models: [...models],
    startedAt: state.startedAt ?? new Date(startedAt).toISOString(),
  };
  const durationMs = store.now() - startedAt;
  await emit({
    type: "stage.completed",
    stage,
    attempt,
    progress: at(1),
    message: outcome.message,
    data: { durationMs, ...(outcome.data as Record<string, never>) },
  });
  if (stage === "memory") await complete(runId, next, deps, emit);
  // Statistics feed clients' time-remaining estimates (after the run's own events, which they
  // must not delay); a run never fails for them.
  await recordStageDuration(store, stage, durationMs).catch((err: unknown) =>
    deps.log?.({
      level: "warn",
      msg: "could not record the stage duration",
      runId,
      stage,
      error: String(err),
    }),
  );
  return next;
}

/**
 * Poll the run's newest event every `everyMs` while a stage runs; when it is terminal, abort
 * `controller` (the stage's model calls and tools stop) and remember why in `ended`.
 * Read failures are ignored: the next poll tries again, and appends fail on their own anyway.
 */
function watchForEnd(store: ProgressStore, runId: string, everyMs: number, controller: AbortController) {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const state: { ended?: RunFinishedError; stop(): void } = {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
  // One read at a time (a timeout rescheduled after each read, not an interval): a slow or
  // throttled store never piles reads up.
  const check = () => {
    store
      .lastEvent(runId)
      .then(
        (last) => {
          if (last && isTerminalType(last.type) && !state.ended) {
            state.ended = new RunFinishedError(runId, last.type);
            controller.abort(state.ended);
          }
        },
        () => undefined,
      )
      .finally(() => {
        if (!stopped && !state.ended) timer = setTimeout(check, everyMs);
      });
  };
  timer = setTimeout(check, everyMs);
  return state;
}

async function complete(
  runId: string,
  state: RunState,
  deps: AgentDeps,
  emit: (input: EventInput) => Promise<void>,
): Promise<void> {
  const usageByStage = state.usageByStage ?? {};
  const usage = Object.values(usageByStage).reduce(addUsage, {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
  });
  const answer = state.answer ?? "";
  try {
    await emit({
      type: "run.completed",
      progress: 100,
      message: "Run completed.",
      data: {
        answer,
        models: state.models ?? [],
        usage,
        usageByStage,
        durationMs: state.startedAt ? deps.store.now() - Date.parse(state.startedAt) : 0,
      },
    });
  } catch (err) {
    // A retried memory stage whose first attempt already completed the run: nothing to do.
    if (err instanceof RunFinishedError) return;
    throw err;
  }
  await deps.store.updateRun(runId, { status: "completed", answer });
  await deps.store.unmarkActive(runId);
}

const STARTED_MESSAGES: Record<Stage, string> = {
  context: "Loading context…",
  analyzing: "Analyzing the request…",
  planning: "Planning the task breakdown…",
  validation: "Validating the plan…",
  execution: "Executing the plan…",
  memory: "Saving what was learned…",
};
