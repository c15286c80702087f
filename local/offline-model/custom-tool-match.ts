/**
 * Which custom tools (offered tools other than the built-in calculator, memory_search and
 * current_time) a request asks for, decided from words alone so the offline model stays
 * deterministic. The rule, in full:
 *
 * - A request matches a tool when it names the tool literally (`query_sales`, `query sales` or
 *   `querySales`, as whole words, any case), or
 * - when one of the request's key words is one of the tool's words: the words of its name
 *   (split on `_`, `-`, `.` and camelCase) and the first content words of its description.
 *   Words are compared lower-cased with a plural `s`/`es`/`ies` dropped ("regions" meets
 *   "region"); stop words and generic words that fit any tool ("get", "list", "data",
 *   "result", …) never count.
 *
 * Everything read is capped (the first 64 custom tools, 4,000 characters of the request, 2,000 of
 * a description, 48 description words), so a hostile tool list costs the same as a small one.
 */

import type { OfferedTool } from "./protocol.ts";
import { contentWords, spacedWords } from "./request-words.ts";
import { BUILT_IN_TOOLS } from "./tool-needs.ts";

/** Most custom tools looked at per request: the first ones offered; the others are never matched. */
export const MAX_CUSTOM_TOOLS = 64;
/** Most custom tools one request matches (a reply's calls, a plan's steps): the first ones offered. */
export const MAX_MATCHED_TOOLS = 4;
/** Characters of the request read. */
const MAX_REQUEST_CHARS = 4000;
/** Key words of the request compared. */
const MAX_REQUEST_WORDS = 64;
/** Characters of a tool name read (OpenAI allows 64). */
const MAX_NAME_CHARS = 128;
/** Characters of a description read, and the content words taken from them. */
const MAX_DESCRIPTION_CHARS = 2000;
const MAX_DESCRIPTION_WORDS = 48;

/**
 * Words too common to tie a request to one tool: the verbs and nouns every tool description
 * uses ("Get the data and return the result"), beyond request-words.ts's stop words.
 */
const GENERIC = new Set(
  (
    "get set put run make create list show give find search query fetch lookup look check use using used uses " +
    "tool tools function call calls data value values result results input output return returns item items " +
    "thing things info information one only some any all each every other more most also not no yes than then " +
    "into over under out new these those their them they if else may must given per via etc just like way ways " +
    "want need tell know see"
  ).split(" "),
);

const BUILT_IN: ReadonlySet<string> = new Set(BUILT_IN_TOOLS);

/**
 * A word's light stem: a plural `ies` → `y`, else a final `s` dropped (not `ss`, `us`, `is`), so
 * "regions"/"region" and "queries"/"query" compare equal. Lower-case input; deterministic.
 */
export function stem(word: string): string {
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith("s") && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** Stems of `words` that are not generic. */
const stems = (words: readonly string[]) => words.filter((w) => !GENERIC.has(w)).map(stem);

/**
 * The stemmed words `tool` is matched by (see the module comment): its name's words and the first
 * content words of its description, generic words left out.
 */
export function toolWords(tool: OfferedTool): Set<string> {
  const name = contentWords(spacedWords(tool.name.slice(0, MAX_NAME_CHARS)), 8);
  const description = contentWords(
    (tool.description ?? "").slice(0, MAX_DESCRIPTION_CHARS),
    MAX_DESCRIPTION_WORDS,
  );
  return new Set(stems([...name, ...description]));
}

/** Whether `tool` is one of the built-in tools (detectToolNeeds decides those; never matched here). */
export const isBuiltInTool = (tool: OfferedTool): boolean => BUILT_IN.has(tool.name);

/**
 * The custom tools `request` matches (see the module comment), in offered order: built-in tools
 * are left out, only the first {@link MAX_CUSTOM_TOOLS} custom tools are looked at, and at most
 * {@link MAX_MATCHED_TOOLS} are returned. [] for a request that names no tool's words.
 */
export function matchCustomTools(request: string, tools: readonly OfferedTool[]): OfferedTool[] {
  const text = request.slice(0, MAX_REQUEST_CHARS);
  const spaced = spacedWords(text);
  const asked = new Set(stems(contentWords(text, MAX_REQUEST_WORDS)));
  const matched: OfferedTool[] = [];
  for (const tool of tools.filter((t) => !isBuiltInTool(t)).slice(0, MAX_CUSTOM_TOOLS)) {
    if (matched.length >= MAX_MATCHED_TOOLS) break;
    const name = spacedWords(tool.name.slice(0, MAX_NAME_CHARS));
    const literal = name.trim() !== "" && spaced.includes(name);
    if (literal || [...toolWords(tool)].some((w) => asked.has(w))) matched.push(tool);
  }
  return matched;
}
