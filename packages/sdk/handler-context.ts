import type { StageContext, StageImpl, ToolOutcome } from "../agent/index.ts";
import { clip, MAX_MESSAGE_CHARS } from "../events/index.ts";
import type { Json } from "./json.ts";
import { type RunInput, readRunInput } from "./run-input.ts";
import {
  type ConversationHistory,
  conversationHistory,
  type ProjectMemory,
  projectMemory,
} from "./run-memory.ts";
import { type StageModel, stageModel } from "./stage-model.ts";
import { keepOutput, OUTPUT_INLINE_MAX_BYTES, resolveOutputs } from "./stage-outputs.ts";
import { stageTools, type ToolInfo } from "./stage-tools.ts";

/** What one stage returns: a JSON object (kept for later stages as `ctx.outputs[<stage>]`). */
export type StageOutput = { [key: string]: Json };

/**
 * The outputs of an agent's stages, by stage name: what `defineAgent<Outputs>` takes to type
 * `ctx.outputs` and each handler's return value. The default leaves both untyped.
 */
export type StageOutputs = { [stage: string]: StageOutput };

/**
 * What a stage's handler gets. Every report goes through it, so each event carries the run,
 * the stage, the attempt and a monotonic overall progress.
 * @typeParam O the agent's stage outputs (see {@link StageOutputs}).
 */
export interface StageHandlerContext<O extends StageOutputs = StageOutputs> {
  readonly runId: string;
  readonly stage: string;
  /** Retry count of this stage (0 on the first try). */
  readonly attempt: number;
  readonly input: RunInput;
  /**
   * The outputs of the stages that ran before this one, by stage name (a stage that has not run
   * is absent; after a loop back, the stages of the earlier pass are still here). Outputs the
   * runner stored (over 32 KiB: see docs/agents.md, "Large outputs") are read back before the
   * handler runs, so every one is here as the stage returned it.
   */
  readonly outputs: Readonly<Partial<O>>;
  /** Fires on cancel and at the stage's deadline: pass it on to anything that waits. */
  readonly signal: AbortSignal;
  /**
   * Report progress: `percent` (0–100) of this stage, a sentence for people (clipped to 1,000
   * characters, the event schema's bound), and optional JSON `data` for clients (a
   * stage.progress event). Progress never goes backwards.
   */
  progress(percent: number, message: string, data?: { [key: string]: Json }): Promise<void>;
  /** Send this stage's own data to clients (a stage.progress event whose `data` is `data`). */
  emit(data: { [key: string]: Json }, message?: string): Promise<void>;
  /**
   * Call a registered tool: tool.started and tool.completed events around it. A tool's own
   * failure (bad input, timeout, error) is returned as `ok: false` with a code, not thrown.
   */
  tool(name: string, input: Json): Promise<ToolOutcome>;
  /** The tools this stage can call (the built-in ones and the agent's own), for prompts and checks. */
  readonly tools: readonly ToolInfo[];
  readonly model: StageModel;
  /** The project's memory (summaries saved by earlier runs of the same project). */
  readonly memory: ProjectMemory;
  /** The conversation's earlier turns. */
  readonly conversation: ConversationHistory;
  /**
   * Say what this stage's stage.completed event carries: a sentence (default "<stage>
   * finished.") and JSON `data` for clients.
   */
  summary(message: string, data?: { [key: string]: Json }): void;
  /**
   * Ask for this stage's loop: the run goes back to the stage the definition's `loop.to`
   * names (at most `loop.max` times, then the run fails with `loop.exhausted`).
   * @throws TypeError when the stage's definition has no `loop`.
   */
  loopBack(): void;
}

/**
 * A stage handler: returns the stage's output (JSON, kept for later stages as
 * `ctx.outputs[<stage>]`; over 32 KiB it is stored beside the run and the state keeps a
 * reference; at most 4 MiB, else the run fails with `output_too_large`). An output with a
 * string `answer` is the run's answer (run.completed `answer`, carried inline).
 * @typeParam O the agent's stage outputs; `K` this stage's name.
 */
export type StageHandler<O extends StageOutputs = StageOutputs, K extends keyof O = keyof O> = (
  ctx: StageHandlerContext<O>,
) => Promise<O[K]>;

/** What a handler set for its stage.completed event. */
interface Completion {
  message?: string;
  data?: { [key: string]: Json };
  loop: boolean;
}

/** The handler's context over the runner's internal one. */
async function handlerContext(
  ctx: StageContext,
  stage: string,
  loopTo: string | undefined,
  done: Completion,
): Promise<{ handlerCtx: StageHandlerContext; input: RunInput; owner?: string }> {
  const at = { fraction: 0 };
  let tools: readonly ToolInfo[] | undefined;
  const { input, owner } = await readRunInput(ctx);
  const internal = owner ? { ...ctx, state: { ...ctx.state, owner } } : ctx;
  const handlerCtx: StageHandlerContext = {
    runId: ctx.runId,
    stage,
    attempt: ctx.attempt,
    input,
    outputs: (await resolveOutputs(ctx, ctx.state.outputs ?? {})) as Partial<StageOutputs>,
    signal: ctx.signal,
    progress: (percent, message, data = {}) => {
      at.fraction = Math.min(1, Math.max(at.fraction, percent / 100));
      return ctx.progress(clip(message, MAX_MESSAGE_CHARS), data, at.fraction);
    },
    emit: (data, message = `${stage} data`) =>
      ctx.progress(clip(message, MAX_MESSAGE_CHARS), data, at.fraction),
    tool: (name, toolInput) => ctx.callTool(name, toolInput, at.fraction),
    // Made on first use: most handlers never list the tools.
    get tools() {
      tools ??= stageTools(ctx);
      return tools;
    },
    model: stageModel(ctx, at),
    memory: projectMemory(internal, input.projectId),
    conversation: conversationHistory(internal, input.conversationId),
    summary: (message, data) => {
      done.message = clip(message, MAX_MESSAGE_CHARS);
      if (data) done.data = data;
    },
    loopBack: () => {
      // A definition error, not a run's: the handler asks for a loop its stage does not declare.
      if (!loopTo) throw new TypeError(`stage ${stage} has no loop: declare \`loop\` in its definition`);
      done.loop = true;
    },
  };
  return { handlerCtx, input, ...(owner ? { owner } : {}) };
}

/**
 * The runner's stage implementation for a public handler: builds the handler's context from
 * the internal one (stored outputs read back, see resolveOutputs), and turns the handler's
 * output into the run state's `outputs[stage]` (inline, or a reference to the stored output
 * above `inlineOutputBytes`, see keepOutput) and `answer`, when the output has one.
 * @param inlineOutputBytes largest output kept inline in the state, in bytes (default
 *   {@link OUTPUT_INLINE_MAX_BYTES}).
 * @throws StageFailedError `output_too_large` / `output_missing` (see keepOutput, resolveOutputs).
 */
export function toStageImpl(
  stage: string,
  handler: StageHandler,
  loopTo?: string,
  inlineOutputBytes = OUTPUT_INLINE_MAX_BYTES,
): StageImpl {
  return async (ctx) => {
    const done: Completion = { loop: false };
    const { handlerCtx, input, owner } = await handlerContext(ctx, stage, loopTo, done);
    const output = await handler(handlerCtx);
    const outputs = ctx.state.outputs ?? {};
    const answer = typeof output.answer === "string" ? { answer: output.answer } : {};
    const kept = await keepOutput(ctx, output, outputs, inlineOutputBytes);
    return {
      // The input (and owner) ride in the state from here on, so later stages need no read.
      state: { ...input, ...(owner ? { owner } : {}), outputs: { ...outputs, [stage]: kept }, ...answer },
      message: done.message ?? `${stage} finished.`,
      ...(done.data ? { data: done.data } : {}),
      ...(done.loop && loopTo ? { goto: loopTo } : {}),
    };
  };
}
