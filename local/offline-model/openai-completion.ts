/**
 * The OpenAI chat-completions response format the offline model answers in: the non-streaming
 * `chat.completion` object and, for `stream: true`, the SSE payloads of `chat.completion.chunk`
 * objects ending with `[DONE]`.
 */

import type { TokenizedReply } from "./model-reply.ts";
import type { ToolCall } from "./protocol.ts";
import { tokenizeJson } from "./responder.ts";

/** The id the embedded model reports (shown in run.completed `models`). */
export const OFFLINE_MODEL_ID = "offline";

/** Token usage as the chat-completions API reports it (counts of tokens). */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The fields every completion object and chunk of one reply share. */
export interface CompletionMeta {
  /** `chatcmpl-offline-…`. */
  id: string;
  /** Unix time in seconds. */
  created: number;
}

/** Fresh {@link CompletionMeta}: a `chatcmpl-offline-…` id and the current Unix time (seconds). */
export function newCompletionMeta(): CompletionMeta {
  return { id: `chatcmpl-offline-${Date.now().toString(36)}`, created: Math.floor(Date.now() / 1000) };
}

const toolCallJson = (c: ToolCall) => ({
  id: c.id,
  type: "function",
  function: { name: c.name, arguments: c.arguments },
});

/** The non-streaming `chat.completion` object of a tokenized reply. */
export function completionObject(
  meta: CompletionMeta,
  r: TokenizedReply,
  usage: CompletionUsage,
): Record<string, unknown> {
  const message =
    r.reply.kind === "tool_calls"
      ? { role: "assistant", content: null, refusal: null, tool_calls: r.reply.calls.map(toolCallJson) }
      : { role: "assistant", content: r.tokens.join(""), refusal: null };
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: OFFLINE_MODEL_ID,
    choices: [{ index: 0, message, logprobs: null, finish_reason: r.finish }],
    usage,
  };
}

/** One SSE `data:` payload of a stream; `paced` ones each stand for one generated token. */
export interface SsePayload {
  data: string;
  paced: boolean;
}

/**
 * The SSE payloads of a streamed reply, in OpenAI's `chat.completion.chunk` format: a first
 * chunk with the role; then either one chunk per text token (`delta.content`) or, per tool
 * call, a chunk with `index`, `id`, `type`, `function.name` and empty arguments followed by
 * chunks with only `index` and an argument fragment; a chunk with `finish_reason`; a usage
 * chunk (empty `choices`) when `includeUsage`; and `[DONE]`.
 */
export function* ssePayloads(
  meta: CompletionMeta,
  r: TokenizedReply,
  usage: CompletionUsage,
  includeUsage: boolean,
): Generator<SsePayload> {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    JSON.stringify({
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: OFFLINE_MODEL_ID,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  if (r.reply.kind === "tool_calls") {
    yield { data: chunk({ role: "assistant", content: null }, null), paced: false };
    for (const [index, call] of r.reply.calls.entries()) {
      const head = { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } };
      yield { data: chunk({ tool_calls: [head] }, null), paced: true };
      for (const piece of tokenizeJson(call.arguments)) {
        yield { data: chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null), paced: true };
      }
    }
  } else {
    yield { data: chunk({ role: "assistant", content: "" }, null), paced: false };
    for (const token of r.tokens) yield { data: chunk({ content: token }, null), paced: true };
  }
  yield { data: chunk({}, r.finish), paced: false };
  if (includeUsage) {
    const data = JSON.stringify({
      id: meta.id,
      object: "chat.completion.chunk",
      created: meta.created,
      model: OFFLINE_MODEL_ID,
      choices: [],
      usage,
    });
    yield { data, paced: false };
  }
  yield { data: "[DONE]", paced: false };
}
