/**
 * The tools a planning prompt offers, read from its text: the built-in agent's planning stage
 * lists them as `Available tools: a, b` (AVAILABLE_TOOLS_PREFIX) followed by one line per tool,
 * `- <name>: <description> Input schema: <JSON schema>`. The offline model plans with them as a
 * chat request's `tools` would be used, so a custom tool gets a plan step too.
 */

import { AVAILABLE_TOOLS_PREFIX } from "../../packages/default-agent/index.ts";
import type { JsonSchema } from "./json-schema-instance.ts";
import type { OfferedTool } from "./protocol.ts";

/** Longest tool line whose schema is parsed (characters); a longer one's tool has no schema. */
const MAX_TOOL_LINE_CHARS = 256 * 1024;
/** Where the schema starts in a tool line. */
const SCHEMA_MARK = " Input schema: ";
/** Most `Input schema:` marks tried per line (a description may itself contain the words). */
const MAX_SCHEMA_TRIES = 8;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Tool names from the `Available tools: a, b, c` line of the system prompt (the agent's
 * AVAILABLE_TOOLS_PREFIX). [] when there is no such line: the plan then uses no tools.
 */
export function availableTools(system: string): string[] {
  const line = system.split("\n").find((l) => l.trim().startsWith(AVAILABLE_TOOLS_PREFIX));
  if (!line) return [];
  return line
    .trim()
    .slice(AVAILABLE_TOOLS_PREFIX.length)
    .split(",")
    .map((t) => t.trim().replace(/[.;]$/, ""))
    .filter(Boolean);
}

/**
 * Splits the text after `- <name>: ` into description and schema: the schema is the JSON object
 * after the first ` Input schema: ` mark whose rest parses as one; without one, it is all
 * description.
 */
function splitToolLine(rest: string): { description: string; parameters?: JsonSchema } {
  if (rest.length <= MAX_TOOL_LINE_CHARS) {
    let at = rest.indexOf(SCHEMA_MARK);
    for (let tries = 0; at >= 0 && tries < MAX_SCHEMA_TRIES; tries++) {
      try {
        const parsed: unknown = JSON.parse(rest.slice(at + SCHEMA_MARK.length));
        if (isObject(parsed)) return { description: rest.slice(0, at).trim(), parameters: parsed };
      } catch {
        // not the schema yet: the mark was part of the description
      }
      at = rest.indexOf(SCHEMA_MARK, at + 1);
    }
  }
  return { description: rest.slice(0, MAX_TOOL_LINE_CHARS).trim() };
}

/**
 * The tools the system prompt lists (see the module comment), in listed order: each
 * with the description and parameters of its `- <name>: …` line when the prompt has one (the
 * first such line). A tool listed without such a line, or whose schema is not a JSON object, has
 * no parameters.
 */
export function promptTools(system: string): OfferedTool[] {
  const names = availableTools(system);
  if (names.length === 0) return [];
  const wanted = new Set(names);
  const lines = new Map<string, string>();
  for (const line of system.split("\n")) {
    if (!line.startsWith("- ")) continue;
    const colon = line.indexOf(": ");
    const name = colon > 2 ? line.slice(2, colon) : "";
    if (wanted.has(name) && !lines.has(name)) lines.set(name, line.slice(colon + 2));
  }
  return names.map((name) => {
    const rest = lines.get(name);
    return rest === undefined ? { name } : { name, ...splitToolLine(rest) };
  });
}
