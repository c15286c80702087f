import { type ChatMessage, type ChatRequest, offeredTools, type ToolCall } from "./protocol.ts";
import { respond } from "./responder.ts";
import { type StructuredHooks, structuredContent } from "./structured-output.ts";
import { chooseToolCalls } from "./tool-calls.ts";

/**
 * What the offline model answers one request with: text content (plain or JSON) or tool calls.
 * `json` marks structured content (tokenized finer when paced and streamed).
 */
export type Reply =
  | { kind: "text"; content: string; json: boolean }
  | { kind: "tool_calls"; calls: ToolCall[] };

/**
 * The reply to a parsed request, in this order: tool calls when tools are offered and one is
 * needed (see chooseToolCalls); JSON for a `json_schema` response_format (see
 * structuredContent) or `json_object` (`{"answer": <text>}`); otherwise text (see respond).
 * @throws UnknownToolChoiceError when tool_choice names a function that is not offered.
 */
export function composeReply(
  request: ChatRequest,
  messages: readonly ChatMessage[],
  hooks: StructuredHooks,
): Reply {
  const calls = chooseToolCalls(request, messages, offeredTools(request));
  if (calls.length > 0) return { kind: "tool_calls", calls };
  const format = request.response_format;
  if (format?.type === "json_schema") {
    const { name, schema } = format.json_schema;
    return { kind: "text", content: structuredContent(name, schema, messages, hooks), json: true };
  }
  if (format?.type === "json_object") {
    return { kind: "text", content: JSON.stringify({ answer: respond(messages) }), json: true };
  }
  return { kind: "text", content: respond(messages), json: false };
}
