/**
 * What the offline model answers one request with, decided from the request alone ({@link
 * composeReply}), and that answer cut into the tokens it generates ({@link tokenizeReply}).
 * How the tokens are sent (whole or streamed) is openai-completion.ts's concern.
 */

import { type ChatMessage, type ChatRequest, offeredTools, type ToolCall } from "./protocol.ts";
import { respond, tokenize, tokenizeJson } from "./responder.ts";
import { type StructuredHooks, structuredContent } from "./structured-output.ts";
import { chooseToolCalls } from "./tool-calls.ts";

/**
 * What the offline model answers one request with: text content (plain or JSON) or tool calls.
 * `json` marks structured content (tokenized finer when paced and streamed).
 */
export type ModelReply =
  | { kind: "text"; content: string; json: boolean }
  | { kind: "tool_calls"; calls: ToolCall[] };

/**
 * The reply to a parsed request, in this order: tool calls when tools are offered and one is
 * needed (see chooseToolCalls); JSON for a `json_schema` response_format (see
 * structuredContent) or `json_object` (`{"answer": <text>}`); otherwise text (see respond).
 * `hooks` (the server's test controls) may make a plan or a structured reply a bad one.
 * @throws UnknownToolChoiceError when tool_choice names a function that is not offered.
 */
export function composeReply(
  request: ChatRequest,
  messages: readonly ChatMessage[],
  hooks: StructuredHooks,
): ModelReply {
  const tools = offeredTools(request);
  const calls = chooseToolCalls(request, messages, tools);
  if (calls.length > 0) return { kind: "tool_calls", calls };
  const format = request.response_format;
  if (format?.type === "json_schema") {
    const { name, schema } = format.json_schema;
    return { kind: "text", content: structuredContent(name, schema, messages, hooks, tools), json: true };
  }
  if (format?.type === "json_object") {
    return { kind: "text", content: JSON.stringify({ answer: respond(messages) }), json: true };
  }
  return { kind: "text", content: respond(messages), json: false };
}

/** A reply cut into model-like tokens, ready to be sent whole or streamed. */
export interface TokenizedReply {
  /** The reply. */
  reply: ModelReply;
  /** The text tokens sent (after `max_tokens`); [] for tool calls. */
  tokens: string[];
  /** Completion tokens: text tokens, or for tool calls one per call plus its argument pieces. */
  count: number;
  /** `stop`, `length` (cut by `max_tokens`) or `tool_calls`: the completion's finish_reason. */
  finish: "stop" | "length" | "tool_calls";
}

/**
 * Cut a reply into tokens: prose by words ({@link tokenize}), JSON content and tool arguments
 * into finer pieces ({@link tokenizeJson}). Text is cut at `limit` tokens (finish `length`;
 * pass Infinity for no limit); tool calls are never cut.
 */
export function tokenizeReply(reply: ModelReply, limit: number): TokenizedReply {
  if (reply.kind === "tool_calls") {
    const count = reply.calls.reduce((n, c) => n + 1 + tokenizeJson(c.arguments).length, 0);
    return { reply, tokens: [], count, finish: "tool_calls" };
  }
  const full = reply.json ? tokenizeJson(reply.content) : tokenize(reply.content);
  const tokens = full.slice(0, limit);
  return { reply, tokens, count: tokens.length, finish: tokens.length < full.length ? "length" : "stop" };
}
