import {
  conversationResults,
  planFeedback,
  promptMemories,
  requestMessage,
  requestOf,
  systemText,
  type ToolResult,
} from "./conversation.ts";
import { promptTools } from "./prompt-tools.ts";
import type { ChatMessage } from "./protocol.ts";
import { keywords } from "./request-words.ts";
import { analysisFor, planFor } from "./structured-output.ts";
import { detectToolNeeds, type ToolNeeds } from "./tool-needs.ts";

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
const sentence = (s: string) => (/[.!?…"]$/.test(s) ? s : `${s}.`);

/** The honest note every plain answer ends with. */
export const OFFLINE_NOTE =
  "(Stagecast's embedded offline model `offline`, a deterministic stand-in: set OPENAI_BASE_URL or OPENAI_API_KEY to use a real model.)";

/** Parses JSON, or undefined when `text` is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The scalar a tool returned: the JSON value itself, or the first of `keys` of a JSON object, or the text. */
function scalarOf(output: string, keys: readonly string[]): string {
  const value = parseJson(output);
  if (typeof value === "number" || typeof value === "string") return String(value);
  if (isRecord(value)) {
    for (const key of keys) {
      const v = value[key];
      if (typeof v === "number" || typeof v === "string") return String(v);
    }
  }
  return oneLine(output);
}

/** Memory texts in a memory_search result: a JSON array (of strings or objects) or an object holding one. */
function memoryItems(output: string): string[] {
  const value = parseJson(output);
  if (value === undefined) return output.trim() ? [oneLine(output)] : [];
  const list = Array.isArray(value)
    ? value
    : isRecord(value)
      ? (Object.values(value).find(Array.isArray) ?? (value.summary ? [value] : []))
      : [];
  return list.flatMap((item: unknown) => {
    if (typeof item === "string") return [item];
    if (!isRecord(item)) return [];
    const text = ["summary", "text", "content", "memory"]
      .map((k) => item[k])
      .find((v) => typeof v === "string");
    return typeof text === "string" ? [text] : [];
  });
}

/** The sentences stating each need's outcome, from the results in the conversation. */
function resultSentences(
  needs: ToolNeeds,
  results: readonly ToolResult[],
  memories: readonly string[],
): string[] {
  const last = (tool: string) => results.filter((r) => r.tool === tool).at(-1);
  const out: string[] = [];
  const calc = last("calculator");
  if (needs.arithmetic || calc) {
    const what = needs.arithmetic?.text ?? (scalarOf(calc?.input ?? "", ["expression"]) || "that");
    if (!calc) out.push(`I cannot work out ${what} without the calculator tool.`);
    else if (calc.error)
      out.push(`The calculator could not evaluate ${what}: ${sentence(clip(calc.output, 160))}`);
    else out.push(`${what} is ${clip(scalarOf(calc.output, ["result", "value", "answer"]), 80)}.`);
  }
  const search = last("memory_search");
  if (needs.recall || search) {
    const found = search && !search.error ? memoryItems(search.output) : memories;
    if (search?.error) out.push(`The memory search failed: ${sentence(clip(search.output, 160))}`);
    else if (found[0]) {
      const more = found.length > 1 ? ` (${found.length} memories found)` : "";
      out.push(`Last time: ${sentence(clip(oneLine(found[0]), 240))}${more}`);
    } else out.push("I found nothing about earlier work in this project's memory.");
  }
  const time = last("current_time");
  if (needs.time || time) {
    if (!time) out.push("I cannot tell the time without the current_time tool.");
    else if (time.error) out.push(`The clock failed: ${sentence(clip(time.output, 160))}`);
    else
      out.push(
        `The current time is ${clip(scalarOf(time.output, ["iso", "now", "time", "utc", "datetime"]), 80)}.`,
      );
  }
  for (const r of results) {
    if (["calculator", "memory_search", "current_time"].includes(r.tool)) continue;
    const name = r.tool || "a tool";
    out.push(
      r.error
        ? `${name} failed: ${sentence(clip(r.output, 160))}`
        : `${name} returned: ${sentence(clip(oneLine(r.output), 160))}`,
    );
  }
  return out;
}

/**
 * The plain-text answer to a request: what each tool result in the conversation says (tool
 * messages or `Step results:` lines: the calculator's value, what memory_search found, the
 * time), or, when the request needs no tool, an echo of the request and its topic; then the
 * short {@link OFFLINE_NOTE}.
 */
export function plainAnswer(messages: readonly ChatMessage[]): string {
  const user = requestMessage(messages);
  const request = requestOf(user);
  const needs = detectToolNeeds(request);
  const said = resultSentences(needs, conversationResults(messages), promptMemories(user));
  if (said.length === 0) {
    const topic = keywords(request, 3);
    said.push(
      `You asked: "${clip(request, 200)}".`,
      topic.length ? `This is a ${analysisFor(request).intent} about ${topic.join(", ")}.` : "",
      "The offline model cannot look anything up, so it answers from the words of the request alone.",
    );
  }
  return [...said.filter(Boolean), OFFLINE_NOTE].join(" ");
}

/** First sentence of `text` that is not an echo of the question ("You asked: …"). */
function firstSentence(text: string): string {
  const sentences = oneLine(text)
    .split(/(?<=[.!?])\s+(?=[A-Z0-9("'`])/)
    .filter((s) => !s.startsWith("(Stagecast's"));
  return sentences.find((s) => !s.startsWith("You asked")) ?? sentences[0] ?? "";
}

/**
 * A memory-worthy one-liner for the memory stage, whose user message is
 * `Request: <question>\nAnswer: <answer>`: `Asked: "<question, ≤100 chars>". Answer: <first
 * sentence of the answer, ≤160 chars>`.
 */
export function summaryLine(user: string): string {
  const question = requestOf(user);
  const at = user.indexOf("\nAnswer: ");
  const answer = at >= 0 ? user.slice(at + "\nAnswer: ".length) : "";
  const first = firstSentence(answer);
  return `Asked: "${clip(oneLine(question), 100)}". Answer: ${first ? clip(first, 160) : "(none)"}`;
}

/**
 * The embedded offline model's text reply: a deterministic function of the messages, shaped
 * by the instruction the system message starts a line with, so callers that do not use
 * structured outputs still get the form they ask for: `Classify…` → `<intent>; <key words>`;
 * `Write a plan…` → the plan's step descriptions as a numbered list; `Summarize…` → a
 * {@link summaryLine}; anything else → the {@link plainAnswer}. It does not reason.
 */
export function respond(messages: readonly ChatMessage[]): string {
  const system = systemText(messages);
  const user = requestMessage(messages);
  const request = requestOf(user);
  if (/^\s*classify\b/im.test(system)) {
    const words = keywords(request, 3);
    return `${analysisFor(request).intent}; ${words.length ? words.join(", ") : "the subject"}`;
  }
  if (/^\s*write a plan\b/im.test(system)) {
    const { steps } = planFor(request, promptTools(system), { feedback: planFeedback(user) });
    return steps
      .map((s, i) => `${i + 1}. ${s.description}${s.tool ? ` (${s.tool} ${s.input ?? "{}"})` : ""}`)
      .join("\n");
  }
  if (/^\s*summari[sz]e\b/im.test(system)) return summaryLine(user);
  return plainAnswer(messages);
}

/** Split text into model-like tokens: each word with its leading whitespace. Joining them gives the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/**
 * Split JSON (structured content, tool-call arguments) into small model-like tokens: runs of
 * letters/digits and runs of punctuation, each with its leading whitespace. Joining them gives
 * the text back; they are finer than {@link tokenize}'s words, as real tokenizers are on JSON.
 */
export function tokenizeJson(text: string): string[] {
  return text.match(/\s*(?:[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]+)|\s+$/gu) ?? [];
}

/** Rough prompt token count (words of every message's content), for the usage object. */
export function countTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + (m.content.match(/\S+/g)?.length ?? 0), 0);
}
