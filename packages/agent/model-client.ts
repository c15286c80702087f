import type OpenAI from "openai";
import { APIConnectionError, APIError, APIUserAbortError } from "openai";
import type { Usage } from "../events/index.ts";
import { StageFailedError, TransientStageError } from "./errors.ts";

/** One chat request: a system instruction and the user's content. */
export interface ModelRequest {
  system: string;
  user: string;
  /** Upper bound on generated tokens. */
  maxTokens?: number;
  /** Aborts the HTTP call (cancellation). */
  signal?: AbortSignal;
}

/** A finished model call: the text, the model that answered and its token usage. */
export interface ModelResult {
  text: string;
  model: string;
  usage: Usage;
}

/**
 * The agent's language model, over the `openai` SDK's chat-completions API, so the same code
 * talks to OpenAI, Ollama's /v1, vLLM, LiteLLM or the embedded offline model. SDK errors are
 * translated here: rate limits, 5xx and connection failures become {@link TransientStageError}
 * (retried by the workflow); other API errors become {@link StageFailedError} `model_error`.
 */
export class ModelClient {
  readonly openai: OpenAI;
  readonly model: string;

  constructor(options: { openai: OpenAI; model: string }) {
    this.openai = options.openai;
    this.model = options.model;
  }

  /** A non-streaming completion. */
  async complete(request: ModelRequest): Promise<ModelResult> {
    try {
      const out = await this.openai.chat.completions.create(
        {
          model: this.model,
          messages: [
            { role: "system", content: request.system },
            { role: "user", content: request.user },
          ],
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
        },
        request.signal ? { signal: request.signal } : undefined,
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
   * A streaming completion: `onDelta` gets each text fragment as the model produces it;
   * the promise resolves with the whole text once the stream ends.
   */
  async stream(request: ModelRequest, onDelta: (text: string) => void): Promise<ModelResult> {
    try {
      const stream = await this.openai.chat.completions.create(
        {
          model: this.model,
          stream: true,
          stream_options: { include_usage: true },
          messages: [
            { role: "system", content: request.system },
            { role: "user", content: request.user },
          ],
          ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
        },
        request.signal ? { signal: request.signal } : undefined,
      );
      let text = "";
      let model = this.model;
      let usage: Usage = toUsage(undefined);
      for await (const chunk of stream) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = toUsage(chunk.usage);
        const piece = chunk.choices[0]?.delta?.content;
        if (piece) {
          text += piece;
          onDelta(piece);
        }
      }
      return { text, model, usage };
    } catch (err) {
      throw translate(err);
    }
  }
}

function toUsage(u: OpenAI.CompletionUsage | null | undefined): Usage {
  const promptTokens = u?.prompt_tokens ?? 0;
  const completionTokens = u?.completion_tokens ?? 0;
  return { promptTokens, completionTokens, totalTokens: u?.total_tokens ?? promptTokens + completionTokens };
}

function translate(err: unknown): Error {
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionError) {
    return new TransientStageError("the model could not be reached", { cause: err });
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new TransientStageError(`the model answered ${status}`, { cause: err });
    }
    return new StageFailedError("model_error", "The language model rejected the request.", { cause: err });
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
