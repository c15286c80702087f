/**
 * The plan steps the offline model adds for custom tools: one tool step per custom tool the
 * request matches (custom-tool-match.ts), its input built from the tool's schema
 * (custom-tool-arguments.ts), so the built-in agent's plan calls a custom tool as it does the
 * calculator.
 */

import type { PlanStep } from "../../packages/default-agent/index.ts";
import { customToolArguments } from "./custom-tool-arguments.ts";
import { matchCustomTools } from "./custom-tool-match.ts";
import type { OfferedTool } from "./protocol.ts";
import { spacedWords } from "./request-words.ts";

/**
 * Most tool steps of a plan, built-in and custom together: the built-in agent's validation
 * accepts at most 5 tool calls (MAX_TOOL_STEPS), and a plan over it would be sent back forever.
 */
export const MAX_PLAN_TOOL_STEPS = 5;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The rejection `feedback` of the previous plan as {@link spacedWords}, without the `(available:
 * …)` list of an unknown-tool problem: a custom tool it names had its step refused (an input the
 * tool's zod schema rejects, say), and planning it again the same way would be refused again.
 */
const refusedWords = (feedback: string) => spacedWords(feedback.replace(/\(available:[^)]*\)/g, " "));

/**
 * Tool steps for the custom tools of `tools` that `request` matches, in listed order: only tools
 * with a schema (an input built without one would fail validation), none the previous plan's
 * rejection `feedback` names, at most `room` of them. Input: the tool's arguments as a JSON
 * object string; description: `Call <name> (<its description, clipped>)`.
 */
export function customToolSteps(
  request: string,
  tools: readonly OfferedTool[],
  room: number,
  feedback = "",
): PlanStep[] {
  if (room <= 0) return [];
  const refused = feedback ? refusedWords(feedback) : "";
  return matchCustomTools(
    request,
    tools.filter((t) => t.parameters !== undefined && !refused.includes(spacedWords(t.name))),
  )
    .slice(0, room)
    .map((t) => {
      const about = (t.description ?? "").slice(0, 400).replace(/\s+/g, " ").trim();
      return {
        kind: "tool",
        tool: t.name,
        input: JSON.stringify(customToolArguments(t.parameters, request)),
        description: about ? `Call ${t.name} (${clip(about, 100)})` : `Call ${t.name}`,
      };
    });
}
