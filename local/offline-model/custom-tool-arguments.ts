/**
 * The arguments the offline model calls a custom tool with: an instance of the tool's JSON
 * schema (schemaInstance) seeded from the request's words, so a call reflects what was asked
 * and still validates. The rule, per top-level property of the parameters:
 *
 * - a string enum takes the member the request mentions (whole words, any case; the one
 *   mentioned first, the longer on a tie): "…in the north region" → `"north"`;
 * - a number or integer takes the first number of the request (as written; percentages left
 *   out) that fits its bounds and that no earlier property took: "top 5" → `5`;
 * - a string whose name's last word is query, q, filter, text, question, search, keyword(s),
 *   term(s), topic or prompt takes the request's key words;
 * - a string with format `uri`/`url` takes the first http(s) URL the request contains (within
 *   its maxLength), so "what does https://status.example.com/ say?" fetches that page;
 * - anything else (and any seed that does not fit) is schemaInstance's default.
 *
 * Bounded: the first 64 properties, 256 enum members (of at most 100 characters) and 16
 * numbers are read; schemaInstance bounds the rest.
 */

import {
  type JsonSchema,
  resolveSchemaNode,
  schemaInstance,
  schemaOptions,
  typesOf,
} from "./json-schema-instance.ts";
import { keywords, numbersIn, spacedWords } from "./request-words.ts";

/** Properties seeded; later ones get schemaInstance's defaults. */
const MAX_PROPERTIES = 64;
/** Enum members looked for in the request, and the longest one looked for. */
const MAX_ENUM_MEMBERS = 256;
const MAX_MEMBER_CHARS = 100;
/** Numbers of the request considered. */
const MAX_NUMBERS = 16;
/** Characters of the request read for mentions. */
const MAX_REQUEST_CHARS = 4000;

/** Last words of a property name that make it a free-text query. */
const QUERY_WORDS = new Set([
  "q",
  "query",
  "filter",
  "text",
  "question",
  "search",
  "keyword",
  "keywords",
  "term",
  "terms",
  "topic",
  "prompt",
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** What the seed rules read from the request, once per call. */
interface RequestView {
  /** The request as {@link spacedWords}, for whole-word mentions. */
  spaced: string;
  /** The request's numbers (percentages left out), in order. */
  numbers: number[];
  /** Indexes of `numbers` a property already took. */
  used: Set<number>;
  /** The request's key words, space-separated ("" when it has none). */
  query: string;
}

/** The schema nodes a property can take: itself, or its non-null anyOf/oneOf options, `$ref`s followed. */
function candidates(root: JsonSchema, raw: JsonSchema): JsonSchema[] {
  const node = resolveSchemaNode(root, raw);
  const options = schemaOptions(node).map((o) => resolveSchemaNode(root, o));
  return options.length > 0 ? options.filter((o) => !typesOf(o).every((t) => t === "null")) : [node];
}

/** The string member of `members` the request mentions first (the longer on a tie), if any. */
function mentionedMember(members: readonly unknown[], view: RequestView): string | undefined {
  let best: { member: string; at: number } | undefined;
  for (let i = 0; i < Math.min(members.length, MAX_ENUM_MEMBERS); i++) {
    const member = members[i];
    if (typeof member !== "string" || member.length > MAX_MEMBER_CHARS) continue;
    const phrase = spacedWords(member);
    const at = phrase.trim() ? view.spaced.indexOf(phrase) : -1;
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && member.length > best.member.length))
      best = { member, at };
  }
  return best?.member;
}

/** Whether `n` meets the bounds (and integer-ness) of `node`. */
function withinBounds(node: JsonSchema, n: number, integer: boolean): boolean {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  if (integer && !Number.isInteger(n)) return false;
  const min = num(node.minimum);
  const max = num(node.maximum);
  const exMin = num(node.exclusiveMinimum);
  const exMax = num(node.exclusiveMaximum);
  return !(
    (min !== undefined && n < min) ||
    (max !== undefined && n > max) ||
    (exMin !== undefined && n <= exMin) ||
    (exMax !== undefined && n >= exMax)
  );
}

/** The first unused number of the request that fits `node`, marked used; undefined when none fits. */
function takeNumber(node: JsonSchema, view: RequestView, integer: boolean): number | undefined {
  const i = view.numbers.findIndex((n, at) => !view.used.has(at) && withinBounds(node, n, integer));
  if (i < 0) return undefined;
  view.used.add(i);
  return view.numbers[i];
}

/** The seed of one property by the module's rules, or undefined to leave it to schemaInstance. */
function propertySeed(root: JsonSchema, name: string, raw: JsonSchema, view: RequestView): unknown {
  const nodes = candidates(root, raw);
  for (const node of nodes) {
    if (!Array.isArray(node.enum)) continue;
    const member = mentionedMember(node.enum, view);
    if (member !== undefined) return member;
  }
  for (const node of nodes) {
    const types = typesOf(node);
    if (Array.isArray(node.enum) || !(types.includes("number") || types.includes("integer"))) continue;
    const n = takeNumber(node, view, !types.includes("number"));
    if (n !== undefined) return n;
  }
  const last = spacedWords(name).trim().split(" ").at(-1) ?? "";
  const text = nodes.some(
    (n) => !Array.isArray(n.enum) && (typesOf(n).length === 0 || typesOf(n).includes("string")),
  );
  return QUERY_WORDS.has(last) && text && view.query ? view.query : undefined;
}

/**
 * The seed object for `parameters` (top-level properties only; see the module comment): one
 * entry per property a rule gives a value, e.g. `{ region: "north", limit: 5 }`.
 */
export function argumentSeed(parameters: JsonSchema, request: string): Record<string, unknown> {
  const root = resolveSchemaNode(parameters, parameters);
  const properties = isObject(root.properties) ? root.properties : {};
  const text = request.slice(0, MAX_REQUEST_CHARS);
  const view: RequestView = {
    spaced: spacedWords(text),
    numbers: numbersIn(text)
      .filter((n) => !n.endsWith("%"))
      .slice(0, MAX_NUMBERS)
      .map((n) => Number(n.replace(/,/g, ""))),
    used: new Set(),
    query: keywords(text, 5).join(" "),
  };
  const seed: Record<string, unknown> = {};
  for (const name of Object.keys(properties).slice(0, MAX_PROPERTIES)) {
    const child = properties[name];
    const value = isObject(child) ? propertySeed(parameters, name, child, view) : undefined;
    if (value !== undefined) seed[name] = value;
  }
  return seed;
}

/** URL formats a request's URL is given to. */
const URL_FORMATS = new Set(["uri", "url", "iri"]);
/** An http(s) URL as written in text, up to whitespace, quotes or brackets. */
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`()[\]{}]+/i;

/**
 * `value` (an instance of `parameters`) with the request's first http(s) URL put into each
 * top-level string property of a URL format that it fits (maxLength). schemaInstance keeps no
 * seed for a node with a format, since it cannot check one; a URL as written is a valid `uri`.
 */
function withRequestUrl(parameters: JsonSchema, value: unknown, request: string): unknown {
  const url = URL_IN_TEXT.exec(request.slice(0, MAX_REQUEST_CHARS))?.[0]?.replace(/[.,;:!?]+$/, "");
  const root = resolveSchemaNode(parameters, parameters);
  if (!url || !isObject(value) || !isObject(root.properties)) return value;
  const properties = root.properties;
  for (const name of Object.keys(properties).slice(0, MAX_PROPERTIES)) {
    const child = properties[name];
    const fitting = isObject(child)
      ? candidates(parameters, child).some(
          (n) =>
            typeof n.format === "string" &&
            URL_FORMATS.has(n.format) &&
            !(typeof n.maxLength === "number" && url.length > n.maxLength),
        )
      : false;
    if (fitting && name in value) value[name] = url;
  }
  return value;
}

/**
 * The arguments of a call to a custom tool whose parameters are `parameters`: a
 * {@link schemaInstance} seeded by {@link argumentSeed}, with the request's URL in URL-format
 * properties (`{}` when the tool has no parameters). Deterministic and bounded for any schema;
 * valid against it whenever schemaInstance's default instance is (a seed is only kept where it
 * fits).
 */
export function customToolArguments(parameters: JsonSchema | undefined, request: string): unknown {
  if (!parameters) return {};
  const value = schemaInstance(parameters, { request, seed: argumentSeed(parameters, request) });
  return withRequestUrl(parameters, value, request);
}
