import { STEP_RESULTS_HEADER } from "../../packages/default-agent/index.ts";
import type { ChatMessage } from "./protocol.ts";

/** One tool result found in the conversation. */
export interface ToolResult {
  /** The tool's name. */
  tool: string;
  /** The tool's input as sent (a JSON string, or "" when unknown). */
  input: string;
  /** The result text (the error message when `error`). */
  output: string;
  /** True when the tool failed. */
  error: boolean;
}

/** The system instructions of the conversation (all system/developer messages, joined by newlines). */
export function systemText(messages: readonly ChatMessage[]): string {
  return messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => m.content)
    .join("\n");
}

/**
 * The original request inside a stage's user message: the rest of the line starting with
 * `Request: ` when there is one, otherwise the first paragraph.
 */
export function requestOf(user: string): string {
  const line = user.split("\n").find((l) => l.startsWith("Request: "));
  return (line ? line.slice("Request: ".length) : (user.split("\n\n")[0] ?? user)).trim();
}

/**
 * The user message that carries the request: the last one with a `Request: ` line (a repair
 * prompt such as "Your previous reply was not valid…" may follow it), else the last user message.
 */
export function requestMessage(messages: readonly ChatMessage[]): string {
  const users = messages.filter((m) => m.role === "user");
  return (users.findLast((m) => /^Request: /m.test(m.content)) ?? users.at(-1))?.content ?? "";
}

/** The `- ` lines of the section under the first header line matching `header`, up to a blank line. */
function section(user: string, header: RegExp): string[] {
  const lines = user.split("\n");
  const at = lines.findIndex((l) => header.test(l) && l.trim().endsWith(":"));
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && l.trim() === "");
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/**
 * What the prompt already remembers, newest first as the agent lists them: the `- ` lines under
 * a header mentioning memory ("What earlier runs of this project remembered:"), then earlier
 * conversation turns (`- Q: …` / `  A: …` under "Earlier turns…:") as `Asked: "…". Answer: …`.
 */
export function promptMemories(user: string): string[] {
  const memories = section(user, /remember|learned|memor/i)
    .filter((l) => l.startsWith("- "))
    .map((l) => l.slice(2).trim())
    .filter(Boolean);
  const turns: string[] = [];
  for (const line of section(user, /earlier turns|conversation so far/i)) {
    if (line.startsWith("- Q: ")) turns.push(`Asked: "${line.slice(5).trim()}".`);
    else if (line.trimStart().startsWith("A: ") && turns.length > 0)
      turns[turns.length - 1] += ` Answer: ${line.trimStart().slice(3).trim()}`;
  }
  return [...memories, ...turns];
}

const STEP_LINE = /^- ([A-Za-z0-9_.-]+)\((.*?)\) (?:→|->) ?(.*)$/;

/**
 * Results listed under the `Step results:` header (STEP_RESULTS_HEADER of the agent) in
 * `user`, one line each: `- name(input) → output` or `- name(input) → error: message`.
 */
export function stepResults(user: string): ToolResult[] {
  const lines = user.split("\n");
  const at = lines.findIndex((l) => l.trim().startsWith(STEP_RESULTS_HEADER));
  if (at < 0) return [];
  return lines.slice(at + 1).flatMap((line) => {
    const m = STEP_LINE.exec(line.trim());
    if (!m?.[1]) return [];
    const rest = m[3] ?? "";
    const error = /^error:/i.test(rest);
    return [{ tool: m[1], input: m[2] ?? "", output: error ? rest.replace(/^error:\s*/i, "") : rest, error }];
  });
}

/** Tool names with a result line (`- name(`) under the step results header of `user`. */
function stepToolNames(user: string): string[] {
  const lines = user.split("\n");
  const at = lines.findIndex((l) => l.trim().startsWith(STEP_RESULTS_HEADER));
  if (at < 0) return [];
  return lines.slice(at + 1).flatMap((l) => /^- ([A-Za-z0-9_.-]+)\(/.exec(l.trim())?.[1] ?? []);
}

/**
 * Results of `role: "tool"` messages, each joined to the assistant tool call it answers (by
 * `tool_call_id`). A tool message whose call is unknown is kept with tool name "".
 */
export function toolMessageResults(messages: readonly ChatMessage[]): ToolResult[] {
  const calls = new Map(messages.flatMap((m) => m.toolCalls ?? []).map((c) => [c.id, c]));
  return messages
    .filter((m) => m.role === "tool")
    .map((m) => {
      const call = m.toolCallId ? calls.get(m.toolCallId) : undefined;
      const error = isErrorOutput(m.content);
      return {
        tool: call?.name ?? "",
        input: call?.arguments ?? "",
        output: error ? errorMessage(m.content) : m.content,
        error,
      };
    });
}

function isErrorOutput(content: string): boolean {
  if (/^\s*error:/i.test(content)) return true;
  try {
    const value: unknown = JSON.parse(content);
    return typeof value === "object" && value !== null && "error" in value && Boolean(value.error);
  } catch {
    return false;
  }
}

function errorMessage(content: string): string {
  try {
    const value = JSON.parse(content) as { error?: unknown };
    if (typeof value.error === "string") return value.error;
    if (typeof value.error === "object" && value.error && "message" in value.error)
      return String(value.error.message);
  } catch {
    // not JSON: plain text
  }
  return content.replace(/^\s*error:\s*/i, "");
}

const userTexts = (messages: readonly ChatMessage[]) =>
  messages.filter((m) => m.role === "user").map((m) => m.content);

/** Every tool result of the conversation: tool messages first, then the user messages' step results. */
export function conversationResults(messages: readonly ChatMessage[]): ToolResult[] {
  return [...toolMessageResults(messages), ...userTexts(messages).flatMap(stepResults)];
}

/**
 * Names of the tools whose result is already in the conversation: a tool message answered a
 * call to it, or a user message has a `- name(` line under the step results header.
 */
export function answeredTools(messages: readonly ChatMessage[]): Set<string> {
  return new Set([
    ...toolMessageResults(messages)
      .map((r) => r.tool)
      .filter(Boolean),
    ...userTexts(messages).flatMap(stepToolNames),
  ]);
}

/** How many tool calls the assistant messages of the conversation made (numbers new call ids). */
export function priorToolCalls(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + (m.toolCalls?.length ?? 0), 0);
}

/**
 * Names of the tools the assistant messages of the conversation called (answered or not): with
 * {@link answeredTools}, what keeps the offline model from calling a custom tool twice.
 */
export function calledTools(messages: readonly ChatMessage[]): Set<string> {
  return new Set(messages.flatMap((m) => m.toolCalls ?? []).map((c) => c.name));
}

/** The line the planning stage adds when validation sent the previous plan back. */
const PLAN_REJECTED = "The previous plan was rejected:";

/**
 * The problems validation found in the previous plan, as the planning stage appends them to
 * `user` (`The previous plan was rejected: <problems>`, to the end of the message); "" when the
 * plan is a first one.
 */
export function planFeedback(user: string): string {
  const at = user.lastIndexOf(PLAN_REJECTED);
  return at < 0 ? "" : user.slice(at + PLAN_REJECTED.length).trim();
}
