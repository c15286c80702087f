import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { type StageContext, StageFailedError, type StageImpl, type ToolOutcome } from "../agent/index.ts";
import type { Json } from "./json.ts";
import { keepOutput, OUTPUT_INLINE_MAX_BYTES, resolveOutputs } from "./stage-outputs.ts";

export type { Json } from "./json.ts";

/**
 * What the run was asked: the run's input as POST /runs (or a trigger) gave it. `params` are
 * the request's named values (at most 20; strings of at most 1,000 characters, numbers,
 * booleans), absent when the request had none.
 */
export interface RunInput {
  question: string;
  projectId?: string;
  conversationId?: string;
  params?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The model of this stage: an OpenAI-compatible endpoint (OPENAI_BASE_URL, or the embedded
 * offline model locally) and the model name chosen for the stage (the stage's `model`, else
 * OPENAI_MODEL). `stream` and `complete` record token usage under the stage; `stream` also
 * sends the text to clients as it comes (llm.delta events, coalesced to at most about 10 per
 * second).
 */
export interface StageModel {
  /** The model name this stage's calls use. */
  readonly name: string;
  /** Stream a chat completion; resolves with the whole text. Aborted by cancel and the deadline. */
  stream(messages: ChatCompletionMessageParam[], options?: { maxTokens?: number }): Promise<string>;
  /** A chat completion without streaming to clients; resolves with the text. */
  complete(messages: ChatCompletionMessageParam[], options?: { maxTokens?: number }): Promise<string>;
}

/**
 * What a stage's handler gets. Every report goes through it, so each event carries the run,
 * the stage, the attempt and a monotonic overall progress.
 */
export interface StageHandlerContext {
  readonly runId: string;
  readonly stage: string;
  /** Retry count of this stage (0 on the first try). */
  readonly attempt: number;
  readonly input: RunInput;
  /**
   * The outputs of the stages that ran before this one, by stage name. Outputs the runner
   * stored (over 32 KiB: see docs/agents.md, "Large outputs") are read back before the handler
   * runs, so every one is here as the stage returned it.
   */
  readonly outputs: Readonly<Record<string, Json>>;
  /** Fires on cancel and at the stage's deadline: pass it on to anything that waits. */
  readonly signal: AbortSignal;
  /** Report progress: `percent` (0–100) of this stage, and a sentence for people. */
  progress(percent: number, message: string): Promise<void>;
  /** Send this stage's own data to clients (a stage.progress event whose `data` is `data`). */
  emit(data: Record<string, Json>, message?: string): Promise<void>;
  /**
   * Call a registered tool: tool.started and tool.completed events around it. A tool's own
   * failure (bad input, timeout, error) is returned as `ok: false` with a code, not thrown.
   */
  tool(name: string, input: Json): Promise<ToolOutcome>;
  readonly model: StageModel;
  /**
   * Ask for this stage's loop: the run goes back to the stage the definition's `loop.to`
   * names (at most `loop.max` times, then the run fails with `loop.exhausted`).
   */
  loopBack(): void;
}

/**
 * A stage handler: returns the stage's output (JSON, kept for later stages as
 * `ctx.outputs[<stage>]`; over 32 KiB it is stored beside the run and the state keeps a
 * reference; at most 4 MiB, else the run fails with `output_too_large`). An output with a
 * string `answer` is the run's answer (run.completed `answer`, carried inline).
 */
export type StageHandler = (ctx: StageHandlerContext) => Promise<Record<string, Json>>;

/**
 * The run's input: from the run state once a stage carried it, else (the first stage) from the
 * run item, read once.
 * @throws StageFailedError `run_not_found` when the run item is gone.
 */
async function runInput(ctx: StageContext): Promise<RunInput> {
  const carried = ctx.state.question === undefined ? undefined : ctx.state;
  const source = carried ?? (await ctx.store.runs.get(ctx.runId));
  if (!source) throw new StageFailedError("run_not_found", "The run no longer exists.");
  const { question = "", projectId, conversationId, params } = source;
  return {
    question,
    ...(projectId ? { projectId } : {}),
    ...(conversationId ? { conversationId } : {}),
    ...(params ? { params } : {}),
  };
}

/** The stage's model, reporting through the internal context (usage, llm.delta). */
function stageModel(ctx: StageContext, progressAt: { fraction: number }): StageModel {
  return {
    name: ctx.model.model,
    async stream(messages, options = {}) {
      const from = progressAt.fraction;
      const deltas = ctx.deltas((chars) => from + (1 - from) * 0.9 * (1 - Math.exp(-chars / 2000)));
      try {
        const out = await ctx.model.stream({ messages, signal: ctx.signal, ...options }, (text) =>
          deltas.push(text),
        );
        ctx.recordUsage(out.model, out.usage);
        return out.text;
      } finally {
        await deltas.close();
      }
    },
    async complete(messages, options = {}) {
      const out = await ctx.model.complete({ messages, signal: ctx.signal, ...options });
      ctx.recordUsage(out.model, out.usage);
      return out.text;
    },
  };
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
    const at = { fraction: 0 };
    let loop = false;
    const outputs = ctx.state.outputs ?? {};
    const input = await runInput(ctx);
    const handlerCtx: StageHandlerContext = {
      runId: ctx.runId,
      stage,
      attempt: ctx.attempt,
      input,
      outputs: await resolveOutputs(ctx, outputs),
      signal: ctx.signal,
      progress: (percent, message) => {
        at.fraction = Math.min(1, Math.max(at.fraction, percent / 100));
        return ctx.progress(message, {}, at.fraction);
      },
      emit: (data, message = `${stage} data`) => ctx.progress(message, data, at.fraction),
      tool: (name, input) => ctx.callTool(name, input, at.fraction),
      model: stageModel(ctx, at),
      loopBack: () => {
        // A definition error, not a run's: the handler asks for a loop its stage does not declare.
        if (!loopTo) throw new TypeError(`stage ${stage} has no loop: declare \`loop\` in its definition`);
        loop = true;
      },
    };
    const output = await handler(handlerCtx);
    const answer = typeof output.answer === "string" ? { answer: output.answer } : {};
    const kept = await keepOutput(ctx, output, outputs, inlineOutputBytes);
    return {
      // The input rides in the state from here on, so later stages need no read.
      state: { ...input, outputs: { ...outputs, [stage]: kept }, ...answer },
      message: `${stage} finished.`,
      ...(loop && loopTo ? { goto: loopTo } : {}),
    };
  };
}
