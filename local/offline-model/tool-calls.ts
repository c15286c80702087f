import { answeredTools, calledTools, priorToolCalls, requestMessage, requestOf } from "./conversation.ts";
import { customToolArguments } from "./custom-tool-arguments.ts";
import { matchCustomTools } from "./custom-tool-match.ts";
import { conformTo } from "./json-schema-instance.ts";
import type { ChatMessage, ChatRequest, OfferedTool, ToolCall } from "./protocol.ts";
import { detectToolNeeds, neededTools, recallQuery, type ToolNeeds } from "./tool-needs.ts";

/** The request's `tool_choice` is a function that is not among its `tools`. */
export class UnknownToolChoiceError extends Error {
  override readonly name = "UnknownToolChoiceError";
}

/** The arguments the offline model prefers for a built-in tool, or undefined for other tools. */
function preferredArguments(tool: string, needs: ToolNeeds, request: string): unknown {
  switch (tool) {
    case "calculator":
      return needs.arithmetic ? { expression: needs.arithmetic.expression } : undefined;
    case "memory_search":
      return { query: recallQuery(request) };
    case "current_time":
      return {};
    default:
      return undefined;
  }
}

/**
 * The JSON arguments of a call to `tool`: calculator `{"expression": …}` (normalised for
 * mathjs), memory_search `{"query": <key words>}`, current_time `{}`, conformed to the tool's
 * parameters schema when it has one; for other tools an instance of that schema seeded from the
 * request (custom-tool-arguments.ts: enum members and numbers it mentions, key words for a
 * query), `{}` without one.
 */
export function toolArguments(tool: OfferedTool, needs: ToolNeeds, request: string): string {
  const preferred = preferredArguments(tool.name, needs, request);
  if (!tool.parameters) return JSON.stringify(preferred ?? {});
  const value =
    preferred === undefined
      ? customToolArguments(tool.parameters, request)
      : conformTo(tool.parameters, preferred, request);
  return JSON.stringify(value);
}

/**
 * The tools `tool_choice` "auto"/"required" calls: the needed built-in tools not yet answered,
 * then the custom tools the request matches (custom-tool-match.ts) not yet called or answered.
 */
function autoChoice(
  text: string,
  needs: ToolNeeds,
  messages: readonly ChatMessage[],
  tools: OfferedTool[],
): OfferedTool[] {
  const answered = answeredTools(messages);
  const done = new Set([...answered, ...calledTools(messages)]);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const builtIn = neededTools(needs).flatMap((name) => {
    const tool = byName.get(name);
    return tool && !answered.has(name) ? [tool] : [];
  });
  return [...builtIn, ...matchCustomTools(text, tools).filter((t) => !done.has(t.name))];
}

/**
 * The tool calls the offline model answers with (empty: answer with text). With
 * `tool_choice` "auto" (the default) it calls, in order, calculator for arithmetic,
 * memory_search for references to earlier work and current_time for time questions, each only
 * when offered and not yet answered in the conversation, then each custom tool the request
 * matches (see custom-tool-match.ts) that the conversation has not called yet; "none" never
 * calls; "required" calls those or else the first offered tool not yet answered (or the first
 * offered); a named function is always called. `parallel_tool_calls: false` keeps only the first
 * call. Ids are `call_<n>`, numbered after the calls already in the conversation.
 * @throws UnknownToolChoiceError when `tool_choice` names a function that is not offered.
 */
export function chooseToolCalls(
  request: ChatRequest,
  messages: readonly ChatMessage[],
  tools: OfferedTool[],
): ToolCall[] {
  const choice = request.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return [];
  const text = requestOf(requestMessage(messages));
  const needs = detectToolNeeds(text);
  let chosen: OfferedTool[];
  if (typeof choice === "object") {
    const named = tools.findLast((t) => t.name === choice.function.name);
    if (!named)
      throw new UnknownToolChoiceError(`tool_choice names "${choice.function.name}", which is not in tools`);
    chosen = [named];
  } else {
    chosen = autoChoice(text, needs, messages, tools);
    if (chosen.length === 0 && choice === "required") {
      const answered = answeredTools(messages);
      const fallback = tools.find((t) => !answered.has(t.name)) ?? tools[0];
      chosen = fallback ? [fallback] : [];
    }
  }
  if (request.parallel_tool_calls === false) chosen = chosen.slice(0, 1);
  const first = priorToolCalls(messages) + 1;
  return chosen.map((tool, i) => ({
    id: `call_${first + i}`,
    name: tool.name,
    arguments: toolArguments(tool, needs, text),
  }));
}
