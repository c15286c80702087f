import { z } from "zod";
import {
  clip,
  type EventInput,
  isTerminalType,
  type RunEvent,
  RunIdSchema,
  type SafeError,
  type Stage,
  StageSchema,
} from "../events/index.ts";
import { endRun, RunFinishedError, type RunLog, StoreUnavailableError } from "../store/index.ts";
import type { AgentDeps } from "./agent-deps.ts";
import { stageContext } from "./build-stage-context.ts";
import { StageFailedError, TransientStageError } from "./errors.ts";
import { addUsage } from "./model-client.ts";
import { stagePosition } from "./progress.ts";
import { type RunState, RunStateSchema } from "./run-state.ts";
import type { StageContext, StageImpl } from "./stage-context.ts";
import { StageEvents } from "./stage-events.ts";
import { applyOutcome } from "./stage-loop.ts";
import { watchForEnd } from "./watch-for-end.ts";

/** The stage function's input, as the ASL's Parameters build it (see packages/workflow/definition.ts). */
export const StageTaskInputSchema = z.object({
  runId: RunIdSchema,
  stage: StageSchema,
  state: RunStateSchema,
});

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
        error: safeStageError(err),
      });
    }
    throw err;
  }
}

/**
 * The run.failed error for a stage's StageFailedError. Agent code chooses code and message
 * (the public API exports the class), so a code outside the schema's `^[a-z][a-z0-9_]*$` (64
 * characters at most) becomes `stage_failed`, and the message is clipped to the schema's 500
 * characters: the run still ends with exactly one, valid, terminal event.
 */
function safeStageError(err: StageFailedError): SafeError {
  const code = err.code.length <= 64 && /^[a-z][a-z0-9_]*$/.test(err.code) ? err.code : "stage_failed";
  return { code, message: clip(err.message || "A stage of the agent failed.", 500) };
}

async function runParsed(runId: string, stage: Stage, state: RunState, deps: AgentDeps): Promise<RunState> {
  const log = deps.store.events.log(runId);
  const resume = await resumePoint(runId, stage, state, deps, log);
  if (resume.done) return state;
  const code = stageCode(deps, stage); // an unknown stage fails before it writes anything
  const events = new StageEvents(
    log,
    stagePosition(deps.agent.stages, stage).band,
    resume.attempt,
    resume.last.progress,
  );
  await announce(runId, stage, resume, events, deps);
  const startedAt = deps.store.table.now();
  const model = deps.model.withModel(deps.models?.get(stage) ?? deps.model.model);
  // Aborted when this stage ends, so nothing it started outlives it; model calls and tools
  // also have their own time limits (MODEL_TIMEOUT_MS, each tool's timeoutMs).
  const controller = new AbortController();
  const { ctx, collected } = stageContext({
    runId,
    stage,
    state,
    deps,
    model,
    events,
    signal: controller.signal,
  });
  const outcome = await runBody(code, ctx, controller, deps, runId);
  const next: RunState = {
    ...applyOutcome(deps.agent, stage, state, outcome), // the loop fields: see stage-loop.ts
    usageByStage: collected.usageByStage,
    models: [...collected.models],
    startedAt: state.startedAt ?? new Date(startedAt).toISOString(),
  };
  await finish(runId, stage, next, outcome, deps, events, deps.store.table.now() - startedAt);
  return next;
}

/** Where an attempt of `stage` starts, read from the run's newest event. */
type Resume = { done: true } | { done: false; last: RunEvent; attempt: number; retried: boolean };

/**
 * Read the newest event once and decide: the run already ended (a retried last stage whose
 * first attempt completed it is done, anything else is RunFinishedError), the last stage
 * finished but not the run (complete it now), or which attempt this is.
 * @throws StageFailedError `run_not_found` for a run with no log; RunFinishedError.
 */
async function resumePoint(
  runId: string,
  stage: Stage,
  state: RunState,
  deps: AgentDeps,
  log: RunLog,
): Promise<Resume> {
  const last = await log.sync();
  if (!last) throw new StageFailedError("run_not_found", `run ${runId} has no log`);
  if (isTerminalType(last.type)) {
    // A retried last stage whose first attempt completed the run: done, not failed.
    if (isLastStage(deps, stage) && last.type === "run.completed") return { done: true };
    throw new RunFinishedError(runId, last.type);
  }
  if (isLastStage(deps, stage) && last.type === "stage.completed" && last.stage === stage) {
    // The first attempt finished the stage but not the run (a store outage in complete()).
    await complete(runId, state, deps, (input) => log.append(input).then(() => undefined));
    return { done: true };
  }
  const retried = last.stage === stage && last.type !== "stage.completed";
  return { done: false, last, retried, attempt: retried ? (last.attempt ?? 0) + 1 : 0 };
}

/** run.started before the first stage, stage.retrying on a retry, then stage.started. */
async function announce(
  runId: string,
  stage: Stage,
  resume: Extract<Resume, { done: false }>,
  events: StageEvents,
  deps: AgentDeps,
): Promise<void> {
  const { attempt } = resume;
  const { store } = deps;
  if (resume.last.type === "run.queued") {
    await events.emit({
      type: "run.started",
      progress: 0,
      message: "Run started.",
      data: { executionName: runId },
    });
    await store.runs.update(runId, { status: "running" });
  }
  if (resume.retried) {
    await events.emit({
      type: "stage.retrying",
      stage,
      attempt,
      progress: events.at(0),
      message: `Retrying ${stage} (attempt ${attempt + 1}).`,
      data: {
        error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
        nextAttempt: attempt,
      },
    });
  }
  await events.emit({
    type: "stage.started",
    stage,
    attempt,
    progress: events.at(0),
    message: STARTED_MESSAGES.get(stage) ?? `Running ${stage}…`,
    data: { index: stagePosition(deps.agent.stages, stage).index, total: deps.agent.stages.length },
  });
}

/**
 * Run the stage's body while watching the log for an ending written by someone else.
 * @throws RunFinishedError when the run was ended from outside (cancelled, timed out),
 *   whatever the body was doing; the body's own errors otherwise.
 */
async function runBody(
  impl: StageImpl,
  ctx: StageContext,
  controller: AbortController,
  deps: AgentDeps,
  runId: string,
): Promise<Awaited<ReturnType<StageImpl>>> {
  const watch = watchForEnd(deps.store, runId, deps.cancelCheckMs ?? 500, controller);
  let outcome: Awaited<ReturnType<StageImpl>>;
  try {
    outcome = await impl(ctx);
  } catch (err) {
    // Ended from outside: nothing more may be written; report the run's end, not the abort it caused.
    if (watch.ended) throw watch.ended;
    throw err;
  } finally {
    watch.stop();
    controller.abort();
  }
  if (watch.ended) throw watch.ended;
  return outcome;
}

/**
 * stage.completed, run.completed after the agent's last stage (unless it loops back), then the
 * stage's duration statistics (best effort).
 */
async function finish(
  runId: string,
  stage: Stage,
  next: RunState,
  outcome: Awaited<ReturnType<StageImpl>>,
  deps: AgentDeps,
  events: StageEvents,
  durationMs: number,
): Promise<void> {
  await events.emit({
    type: "stage.completed",
    stage,
    attempt: events.attempt,
    progress: events.at(1),
    message: outcome.message,
    data: { durationMs, ...(outcome.data as Record<string, never>) },
  });
  if (isLastStage(deps, stage) && next.goto === undefined) await complete(runId, next, deps, events.emit);
  // Statistics feed clients' time-remaining estimates (after the run's own events, which they
  // must not delay); a run never fails for them.
  await deps.store.stageStats.record(deps.agent.name, stage, durationMs).catch((err: unknown) =>
    deps.log?.({
      level: "warn",
      msg: "could not record the stage duration",
      runId,
      stage,
      error: String(err),
    }),
  );
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
        durationMs: state.startedAt ? deps.store.table.now() - Date.parse(state.startedAt) : 0,
      },
    });
  } catch (err) {
    // A retried memory stage whose first attempt already completed the run: nothing to do.
    if (err instanceof RunFinishedError) return;
    throw err;
  }
  await deps.store.runs.update(runId, { status: "completed", answer });
  await deps.store.runs.unmarkActive(runId);
}

/** stage.started's message for the built-in agent's stages; any other stage: `Running <stage>…`. */
const STARTED_MESSAGES: ReadonlyMap<string, string> = new Map([
  ["context", "Loading context…"],
  ["analyzing", "Analyzing the request…"],
  ["planning", "Planning the task breakdown…"],
  ["validation", "Validating the plan…"],
  ["execution", "Executing the plan…"],
  ["memory", "Saving what was learned…"],
]);

/** True for the agent's last stage, whose completion completes the run. */
function isLastStage(deps: AgentDeps, stage: string): boolean {
  return deps.agent.stages.at(-1)?.name === stage;
}

/**
 * The code of a stage of the runner's agent.
 * @throws StageFailedError `unknown_stage` when the agent has no such stage (a state machine
 *   built from another definition than the one deployed with this function).
 */
function stageCode(deps: AgentDeps, stage: string): StageImpl {
  const code = deps.agent.stage(stage)?.run;
  if (!code)
    throw new StageFailedError("unknown_stage", `The agent ${deps.agent.name} has no stage ${stage}.`);
  return code;
}
