import type OpenAI from "openai";
import { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import type {
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from "openai/resources/chat/completions";
import type { z } from "zod";
import type { Usage } from "../events/index.ts";
import { StageFailedError, TransientStageError } from "./errors.ts";
import type { OpenAiFunctionTool } from "./tools/index.ts";

/** One chat request. */
export interface ModelRequest {
  messages: ChatCompletionMessageParam[];
  /** Upper bound on generated tokens. */
  maxTokens?: number;
  /** Aborts the HTTP call (cancellation). Every call takes one. */
  signal: AbortSignal;
}

/** A finished model call: the text, the model that answered and its token usage. */
export interface ModelResult {
  text: string;
  model: string;
  usage: Usage;
}

/** A finished streaming call: text, any tool calls the model made, and whether streaming was simulated. */
export interface StreamResult extends ModelResult {
  toolCalls: ChatCompletionMessageToolCall[];
  /** True when the endpoint could not stream and the text came from a normal call, replayed in chunks. */
  simulated: boolean;
}

/** The model's reply did not match the requested structured output (bad JSON, schema violation, refusal). */
export class ModelOutputError extends Error {
  override name = "ModelOutputError";
}

/** `[system, user]` as chat messages. */
export const chat = (system: string, user: string): ChatCompletionMessageParam[] => [
  { role: "system", content: system },
  { role: "user", content: user },
];

/** Characters per replayed chunk when streaming is simulated. */
const SIMULATED_CHUNK_CHARS = 24;

/**
 * The agent's language model over the `openai` SDK's chat-completions API, so the same code
 * talks to OpenAI, Ollama's /v1, vLLM, LiteLLM or the embedded offline model. Timeouts and
 * SDK retries are set where the OpenAI client is made (MODEL_TIMEOUT_MS, MODEL_MAX_RETRIES).
 *
 * Errors are translated here, so the state machine can tell them apart by name:
 * - 408, 409, 429, 5xx, timeouts and connection failures → {@link TransientStageError} (Retry);
 * - 400, 401, 403, 404, 422 → {@link StageFailedError} with codes `model_bad_request`,
 *   `model_unauthorized`, `model_not_found` (Catch: the run fails with that code);
 * - a cancelled call rethrows the SDK's APIUserAbortError.
 */
export class ModelClient {
  readonly openai: OpenAI;
  readonly model: string;
  /** Time limit of one whole call, streaming included (ms). */
  readonly timeoutMs: number;

  /**
   * @param options.timeoutMs limit of one whole call (default 120,000 ms). The SDK's own
   *   `timeout` stops at the response headers; this one also bounds a stream or body that
   *   stalls afterwards, and a call cut by it is a {@link TransientStageError}.
   */
  constructor(options: { openai: OpenAI; model: string; timeoutMs?: number }) {
    this.openai = options.openai;
    this.model = options.model;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** The same endpoint with another model name (per-stage models). */
  withModel(model: string): ModelClient {
    return model === this.model
      ? this
      : new ModelClient({ openai: this.openai, model, timeoutMs: this.timeoutMs });
  }

  /** The caller's signal combined with this call's time limit, and the error to throw for either. */
  #limit(signal: AbortSignal): { signal: AbortSignal; fail: (err: unknown) => Error } {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return {
      signal: AbortSignal.any([signal, timeout]),
      fail: (err) =>
        timeout.aborted && !signal.aborted
          ? new TransientStageError(`the model call took longer than ${this.timeoutMs} ms`, { cause: err })
          : translate(err),
    };
  }

  /** A non-streaming text completion. */
  async complete(request: ModelRequest): Promise<ModelResult> {
    try {
      const out = await this.openai.chat.completions.create(
        { model: this.model, messages: request.messages, ...maxTokens(request) },
        { signal: request.signal },
      );
      return {
        text: out.choices[0]?.message.content ?? "",
        model: out.model || this.model,
        usage: toUsage(out.usage),
      };
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * A structured output: json_schema response_format generated from `schema` by the SDK's zod
   * helper; the reply is parsed and validated against it.
   * @throws ModelOutputError when the reply is not valid JSON for the schema, or a refusal;
   *   TransientStageError / StageFailedError as {@link complete}.
   */
  async parse<S extends z.ZodType>(
    schema: S,
    name: string,
    request: ModelRequest,
  ): Promise<ModelResult & { value: z.infer<S> }> {
    let out: Awaited<ReturnType<OpenAI["chat"]["completions"]["parse"]>>;
    const limit = this.#limit(request.signal);
    try {
      out = await this.openai.chat.completions.parse(
        {
          model: this.model,
          messages: request.messages,
          response_format: zodResponseFormat(schema as never, name),
          ...maxTokens(request),
        },
        { signal: limit.signal },
      );
    } catch (err) {
      if (err instanceof APIError) throw limit.fail(err);
      throw new ModelOutputError(`the reply did not match ${name}: ${(err as Error).message}`.slice(0, 500));
    }
    const message = out.choices[0]?.message;
    if (!message || message.parsed == null) {
      throw new ModelOutputError(
        message?.refusal ? `the model refused: ${message.refusal}` : `no ${name} in the reply`,
      );
    }
    return {
      value: message.parsed as z.infer<S>,
      text: message.content ?? "",
      model: out.model || this.model,
      usage: toUsage(out.usage),
    };
  }

  /**
   * A streaming completion, optionally offering `tools`: `onDelta` gets each text fragment as
   * the model produces it; tool calls are assembled by the SDK's stream helper. If the endpoint
   * refuses the streaming request outright (400/422 before any chunk), the same request is
   * made without streaming and its text replayed to `onDelta` in chunks (`simulated: true`).
   * A stream that breaks after it started is transient (the stage is retried), never replayed,
   * so no text is delivered twice by this call.
   * @throws TransientStageError / StageFailedError as {@link complete}.
   */
  async stream(
    request: ModelRequest & { tools?: OpenAiFunctionTool[] },
    onDelta: (text: string, simulated: boolean) => void,
  ): Promise<StreamResult> {
    const params = {
      model: this.model,
      messages: request.messages,
      ...maxTokens(request),
      ...(request.tools?.length ? { tools: request.tools } : {}),
    };
    const limit = this.#limit(request.signal);
    let started = false;
    try {
      const runner = this.openai.chat.completions.stream(
        { ...params, stream: true, stream_options: { include_usage: true } },
        { signal: limit.signal },
      );
      for await (const chunk of runner) {
        started = true;
        const piece = chunk.choices[0]?.delta?.content;
        if (piece) onDelta(piece, false);
      }
      const final = await runner.finalChatCompletion();
      const message = final.choices[0]?.message;
      return {
        text: message?.content ?? "",
        toolCalls: (message?.tool_calls ?? []) as ChatCompletionMessageToolCall[],
        model: final.model || this.model,
        usage: toUsage(final.usage),
        simulated: false,
      };
    } catch (err) {
      const failure = limit.fail(err);
      const refused = !started && failure instanceof StageFailedError && failure.code === "model_bad_request";
      if (!refused) throw failure;
    }
    // The streaming request was refused outright: fall back to a normal call.
    const fallback = this.#limit(request.signal);
    try {
      const out = await this.openai.chat.completions.create(params, { signal: fallback.signal });
      const message = out.choices[0]?.message;
      const text = message?.content ?? "";
      for (let i = 0; i < text.length; i += SIMULATED_CHUNK_CHARS) {
        onDelta(text.slice(i, i + SIMULATED_CHUNK_CHARS), true);
      }
      return {
        text,
        toolCalls: (message?.tool_calls ?? []) as ChatCompletionMessageToolCall[],
        model: out.model || this.model,
        usage: toUsage(out.usage),
        simulated: true,
      };
    } catch (err) {
      throw fallback.fail(err);
    }
  }
}

const maxTokens = (r: ModelRequest) => (r.maxTokens === undefined ? {} : { max_tokens: r.maxTokens });

function toUsage(u: OpenAI.CompletionUsage | null | undefined): Usage {
  const promptTokens = u?.prompt_tokens ?? 0;
  const completionTokens = u?.completion_tokens ?? 0;
  return { promptTokens, completionTokens, totalTokens: u?.total_tokens ?? promptTokens + completionTokens };
}

const PERMANENT: Record<number, [string, string]> = {
  400: ["model_bad_request", "The language model rejected the request."],
  401: ["model_unauthorized", "The language model endpoint refused the credentials."],
  403: ["model_unauthorized", "The language model endpoint refused the credentials."],
  404: ["model_not_found", "The configured model or endpoint does not exist."],
  422: ["model_bad_request", "The language model rejected the request."],
};

function translate(err: unknown): Error {
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionError) {
    return new TransientStageError("the model could not be reached or timed out", { cause: err });
  }
  if (err instanceof APIError && err.status === undefined) {
    // An error event inside a stream that had started: the provider broke off mid-answer.
    return new TransientStageError("the model stream reported an error", { cause: err });
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new TransientStageError(`the model answered ${status}`, { cause: err });
    }
    const [code, message] = PERMANENT[status] ?? ["model_error", "The language model call failed."];
    return new StageFailedError(code, message, { cause: err });
  }
  if (
    err instanceof OpenAIError ||
    (err instanceof TypeError && /fetch|network|terminated/i.test(err.message))
  ) {
    // The SDK's stream reader failed (connection reset mid-stream): transient.
    return new TransientStageError("the model stream broke off", { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Add token counts. */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}
