import { z } from "zod";
import type { JsonSchema } from "./json-schema-instance.ts";

/**
 * The chat-completions request subset the offline model reads. Unknown fields (temperature,
 * seed, …) are accepted and ignored, as a lenient OpenAI-compatible server does.
 */
export const ChatRequestSchema = z.object({
  model: z.string().optional(),
  messages: z
    .array(
      z
        .object({
          role: z.string(),
          content: z
            .union([z.string(), z.array(z.object({ text: z.string().optional() }).loose()), z.null()])
            .optional(),
          tool_calls: z
            .array(
              z
                .object({
                  id: z.string(),
                  function: z.object({ name: z.string(), arguments: z.string() }).loose(),
                })
                .loose(),
            )
            .nullish(),
          tool_call_id: z.string().optional(),
        })
        .loose(),
    )
    .min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("text") }).loose(),
      z.object({ type: z.literal("json_object") }).loose(),
      z
        .object({
          type: z.literal("json_schema"),
          json_schema: z
            .object({
              name: z.string().min(1),
              schema: z.record(z.string(), z.unknown()).optional(),
              strict: z.boolean().nullish(),
            })
            .loose(),
        })
        .loose(),
    ])
    .nullish(),
  tools: z
    .array(
      z
        .object({
          type: z.string(),
          function: z
            .object({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() })
            .loose()
            .optional(),
        })
        .loose(),
    )
    .nullish(),
  tool_choice: z
    .union([
      z.enum(["auto", "none", "required"]),
      z.object({ type: z.literal("function"), function: z.object({ name: z.string() }).loose() }).loose(),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
});
/** A parsed chat-completions request. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** A call to a function tool, as an assistant message carries it (arguments: a JSON string). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A chat message reduced to what the offline model reads: text content (parts joined), the
 * tool calls of an assistant message, and the call a `role: "tool"` message answers.
 */
export interface ChatMessage {
  role: string;
  content: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
}

/**
 * A function tool offered to the model: its name, its description and its JSON Schema
 * parameters (each when given). From a request's `tools`, or from the tool lines of a planning
 * prompt (prompt-tools.ts).
 */
export interface OfferedTool {
  name: string;
  /** What the tool does, in words: custom tools are matched to a request by them. */
  description?: string;
  parameters?: JsonSchema;
}

/** The request's messages as {@link ChatMessage}s. */
export function normaliseMessages(request: ChatRequest): ChatMessage[] {
  return request.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text ?? "").join(""),
    ...(m.tool_calls?.length
      ? {
          toolCalls: m.tool_calls.map((t) => ({
            id: t.id,
            name: t.function.name,
            arguments: t.function.arguments,
          })),
        }
      : {}),
    ...(m.tool_call_id ? { toolCallId: m.tool_call_id } : {}),
  }));
}

/**
 * The function tools of the request (other tool types are ignored), with their description
 * when it is a string (a lenient server ignores any other value rather than refusing the request).
 */
export function offeredTools(request: ChatRequest): OfferedTool[] {
  return (request.tools ?? []).flatMap((t) => {
    if (t.type !== "function" || !t.function) return [];
    const { name, parameters, description } = t.function;
    return [
      {
        name,
        ...(typeof description === "string" ? { description } : {}),
        ...(parameters ? { parameters } : {}),
      },
    ];
  });
}

/** The body of an OpenAI-style error response. */
export interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** An OpenAI-style error body: `{ error: { message, type, code, param } }`. */
export function errorBody(
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
): ErrorBody {
  return { error: { message, type, code, param } };
}

/** One line naming the first problem zod found in a request (path and message), for 400 bodies. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid request";
  const path = issue.path.map(String).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
