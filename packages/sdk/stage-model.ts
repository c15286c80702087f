import type {
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from "openai/resources/chat/completions";
import type { z } from "zod";
import { ModelOutputError, type StageContext, StageFailedError, type ToolOutcome } from "../agent/index.ts";

/**
 * Options of {@link StageModel.stream}.
 * - `maxTokens`: upper bound on generated tokens per model call.
 * - `tools`: offer tools to the model (OpenAI function calling): `true` for every registered
 *   tool, or a list of names. The model's calls run through `ctx.tool` (tool.started and
 *   tool.completed events), their results go back to it, and it writes on.
 * - `maxToolRounds`: model calls in all when tools are offered (default 3; the last offers no
 *   tools, so the model must answer).
 * - `maxToolCalls`: tool calls the model may make in all (default 5); further calls get a
 *   `tool_budget` error result instead of running.
 */
export interface StreamOptions {
  maxTokens?: number;
  tools?: boolean | readonly string[];
  maxToolRounds?: number;
  maxToolCalls?: number;
}

/** Options of {@link StageModel.structured}: `name` is the response_format name (`^[a-zA-Z0-9_-]{1,64}$`). */
export interface StructuredOptions {
  name: string;
  maxTokens?: number;
}

/**
 * The model of this stage: an OpenAI-compatible endpoint (OPENAI_BASE_URL, or the embedded
 * offline model locally) and the model name chosen for the stage (the stage's `model`, else
 * OPENAI_MODEL; STAGE_MODELS overrides both). Every call records token usage under the stage
 * and is aborted by cancel and the stage's deadline.
 */
export interface StageModel {
  /** The model name this stage's calls use. */
  readonly name: string;
  /**
   * Stream a chat completion to clients as it comes (llm.delta events, coalesced to about 10
   * per second) and resolve with the whole text. With `tools`, the model may call tools first
   * (see {@link StreamOptions}); the text of every round is streamed and returned. An endpoint
   * that cannot stream is asked without streaming and its text replayed (llm.delta
   * `simulated: true`, and one stage.progress saying so).
   */
  stream(messages: ChatCompletionMessageParam[], options?: StreamOptions): Promise<string>;
  /** A chat completion without streaming to clients; resolves with the text. */
  complete(messages: ChatCompletionMessageParam[], options?: { maxTokens?: number }): Promise<string>;
  /**
   * A structured output: the reply must match the zod `schema` (OpenAI json_schema
   * response_format generated from it). A reply that does not is asked again once, with what
   * was wrong.
   * @throws StageFailedError `model_output_invalid` when the second reply does not match
   *   either (the run fails with that code; it is not retried).
   */
  structured<S extends z.ZodType>(
    schema: S,
    messages: ChatCompletionMessageParam[],
    options: StructuredOptions,
  ): Promise<z.infer<S>>;
}

/** Default model calls of a tool-calling stream (the last one offers no tools). */
export const DEFAULT_TOOL_ROUNDS = 3;
/** Default tool calls a model may make in one tool-calling stream. */
export const DEFAULT_TOOL_CALLS = 5;

/** Where in its stage (0..1) a handler last reported: model text moves the bar on from there. */
export interface ProgressMark {
  fraction: number;
}

/** The stage's model, reporting through the internal context (usage, llm.delta, tool events). */
export function stageModel(ctx: StageContext, at: ProgressMark): StageModel {
  return {
    get name() {
      return ctx.model.model;
    },
    stream: (messages, options = {}) => streamWithTools(ctx, at, messages, options),
    async complete(messages, options = {}) {
      const out = await ctx.model.complete({ messages, signal: ctx.signal, ...options });
      ctx.recordUsage(out.model, out.usage);
      return out.text;
    },
    structured: (schema, messages, options) => structured(ctx, at, schema, messages, options),
  };
}

/** The offered tools in the OpenAI format: all, or the named ones that are registered. */
function offeredTools(ctx: StageContext, tools: StreamOptions["tools"]) {
  if (!tools) return [];
  const all = ctx.tools.toOpenAiTools();
  return tools === true ? all : all.filter((t) => tools.includes(t.function.name));
}

/** The text of a tool call's arguments as JSON, or the raw text when it is not JSON. */
function parseArguments(call: ChatCompletionMessageToolCall & { type: "function" }): unknown {
  try {
    return JSON.parse(call.function.arguments || "{}");
  } catch {
    return call.function.arguments;
  }
}

/** The outcome a call over the budget gets instead of running. */
const overBudget = (max: number): ToolOutcome => ({
  ok: false,
  error: { code: "tool_budget", message: `At most ${max} tool calls while answering.` },
  durationMs: 0,
});

async function streamWithTools(
  ctx: StageContext,
  at: ProgressMark,
  messages: ChatCompletionMessageParam[],
  options: StreamOptions,
): Promise<string> {
  const { maxTokens, maxToolRounds = DEFAULT_TOOL_ROUNDS, maxToolCalls = DEFAULT_TOOL_CALLS } = options;
  const tools = offeredTools(ctx, options.tools);
  const from = at.fraction;
  let simulated = false;
  const deltas = ctx.deltas((chars) => from + (1 - from) * 0.9 * (1 - Math.exp(-chars / 2000)), {
    simulated: () => simulated,
  });
  const history = [...messages];
  let text = "";
  let calls = 0;
  try {
    for (let round = 1; ; round++) {
      const offered = round < maxToolRounds ? tools : [];
      const out = await ctx.model.stream(
        { messages: history, signal: ctx.signal, tools: offered, ...(maxTokens ? { maxTokens } : {}) },
        (delta, sim) => {
          if (sim) simulated = true;
          deltas.push(delta);
        },
      );
      ctx.recordUsage(out.model, out.usage);
      text += out.text;
      if (out.simulated && round === 1) {
        const note = "The model endpoint cannot stream; its answer is shown in chunks.";
        await ctx.progress(note, { streaming: false }, at.fraction);
      }
      // No tools were offered in the last round; an endpoint that calls one anyway is ignored.
      if (out.toolCalls.length === 0 || offered.length === 0) break;
      history.push({ role: "assistant", content: out.text || null, tool_calls: out.toolCalls });
      for (const call of out.toolCalls) {
        if (call.type !== "function") continue;
        const outcome =
          ++calls > maxToolCalls
            ? overBudget(maxToolCalls)
            : await ctx.callTool(call.function.name, parseArguments(call), at.fraction, call.id);
        const content = JSON.stringify(outcome.ok ? outcome.result : outcome);
        history.push({ role: "tool", tool_call_id: call.id, content });
      }
    }
  } finally {
    await deltas.close();
  }
  return text;
}

async function structured<S extends z.ZodType>(
  ctx: StageContext,
  at: ProgressMark,
  schema: S,
  messages: ChatCompletionMessageParam[],
  { name, maxTokens }: StructuredOptions,
): Promise<z.infer<S>> {
  const ask = async (history: ChatCompletionMessageParam[]) => {
    const out = await ctx.model.parse(schema, name, {
      messages: history,
      signal: ctx.signal,
      ...(maxTokens ? { maxTokens } : {}),
    });
    ctx.recordUsage(out.model, out.usage);
    return out.value;
  };
  try {
    return await ask(messages);
  } catch (err) {
    if (!(err instanceof ModelOutputError)) throw err;
    // The error may quote the SDK or the model: it goes to the repair prompt, not to the event.
    await ctx.progress(
      `The model's ${name} did not match the schema; asking again.`,
      { repair: true },
      at.fraction,
    );
    const repair = `Your previous reply was not valid: ${err.message}. Reply again with JSON for ${name}.`;
    try {
      return await ask([...messages, { role: "user", content: repair }]);
    } catch (again) {
      if (!(again instanceof ModelOutputError)) throw again;
      throw new StageFailedError(
        "model_output_invalid",
        `The model's ${name} did not match the expected format.`,
        {
          cause: again,
        },
      );
    }
  }
}
