import {
  ANALYSIS_FORMAT_NAME,
  type Analysis,
  PLAN_FORMAT_NAME,
  type Plan,
  type PlanStep,
} from "../../packages/default-agent/index.ts";
import { planFeedback, requestMessage, requestOf, systemText } from "./conversation.ts";
import { matchCustomTools } from "./custom-tool-match.ts";
import { customToolSteps, MAX_PLAN_TOOL_STEPS } from "./custom-tool-steps.ts";
import { conformTo, type JsonSchema, schemaInstance } from "./json-schema-instance.ts";
import { promptTools } from "./prompt-tools.ts";
import type { ChatMessage, OfferedTool } from "./protocol.ts";
import { keywords, numbersIn } from "./request-words.ts";
import { detectToolNeeds, recallQuery, type ToolNeeds } from "./tool-needs.ts";

/** The unknown tool a deliberately bad plan uses (see the `badPlanNext` test control). */
export const BAD_PLAN_TOOL = "web_search";

/** The description of the final model step every plan ends with. */
export const FINAL_STEP_DESCRIPTION = "Write the answer from the step results";

const INTERROGATIVE =
  /^\s*(what|how|why|who|whom|whose|when|where|which|is|are|was|were|does|do|did|can|could|should|would|will|may|might|has|have)\b/i;
const IMPERATIVE =
  /^\s*(?:please\s+)?(write|draft|create|make|build|generate|list|explain|describe|summari[sz]e|give|show|find|tell|compute|calculate|add|remove|delete|fix|send|compare|translate|convert|plan|design|check|review|update|rename|run|set|get|search|look\s+up|help)\b/i;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Joins ["a", "b", "c"] as "a, b and c". */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** The intent of a request: the first of calculation, recall, lookup, question, task, chat that applies. */
export function intentOf(request: string, needs: ToolNeeds = detectToolNeeds(request)): Analysis["intent"] {
  if (needs.arithmetic) return "calculation";
  if (needs.recall) return "recall";
  if (needs.time) return "lookup";
  if (INTERROGATIVE.test(request) || request.trim().endsWith("?")) return "question";
  if (IMPERATIVE.test(request)) return "task";
  return "chat";
}

function answerFormOf(request: string, needs: ToolNeeds): Analysis["answerForm"] {
  if (needs.arithmetic && !needs.recall && !needs.time) return "number";
  if (/\b(list|steps|ways|examples|options|ideas|bullet)\b/i.test(request)) return "list";
  if (/^\s*(how|why)\b|\bexplain\b|\bdescribe\b/i.test(request)) return "explanation";
  return "short";
}

/**
 * The analysis of a request (shape of the agent's AnalysisSchema): intent, a one-line
 * summary, entities (numbers as written, then key words), whether a tool is needed, and the
 * expected answer form. Deterministic. `tools` (offered in the request or listed by the prompt)
 * count too: a custom tool the request matches (custom-tool-match.ts) makes `needsTools` true
 * and the summary say `use <tool>`.
 */
export function analysisFor(request: string, tools: readonly OfferedTool[] = []): Analysis {
  const needs = detectToolNeeds(request);
  const intent = intentOf(request, needs);
  const words = keywords(request, 5);
  const custom = matchCustomTools(request, tools).map((t) => t.name);
  const wants = [
    needs.arithmetic ? `calculate ${needs.arithmetic.text}` : "",
    needs.recall ? "recall earlier work" : "",
    needs.time ? "know the current time" : "",
    custom.length ? `use ${andList(custom)}` : "",
  ].filter(Boolean);
  const topic = words.length ? andList(words.slice(0, 3)) : "the request";
  const summary = wants.length
    ? `The user wants to ${andList(wants)}.`
    : intent === "question"
      ? `A question about ${topic}.`
      : intent === "task"
        ? `A task about ${topic}.`
        : `A message about ${topic}.`;
  return {
    intent,
    summary: clip(summary, 200),
    entities: [...new Set([...numbersIn(request), ...words])].slice(0, 8),
    needsTools: wants.length > 0,
    answerForm: answerFormOf(request, needs),
  };
}

/** What {@link planFor} is told besides the request and tools. */
export interface PlanOptions {
  /** Replace the tool steps with one step using the unknown tool {@link BAD_PLAN_TOOL}. */
  bad?: boolean;
  /** Validation's problems with the previous plan (see planFeedback); custom tools it names are left out. */
  feedback?: string;
}

/**
 * The plan for a request (shape of the agent's PlanSchema): one tool step per detected need whose
 * tool is in `tools`, in the order calculator (input `{"expression"}` normalised for mathjs),
 * memory_search (`{"query"}`: key words), current_time (`{}`), then one step per custom tool of
 * `tools` the request matches (see customToolSteps; at most {@link MAX_PLAN_TOOL_STEPS} tool steps
 * in all), then one final model step. `bad: true` replaces the tool steps with one step using
 * the unknown tool {@link BAD_PLAN_TOOL}, for testing the validation→planning repair loop.
 */
export function planFor(request: string, tools: readonly OfferedTool[], options: PlanOptions = {}): Plan {
  const steps: PlanStep[] = options.bad
    ? [
        {
          kind: "tool",
          tool: BAD_PLAN_TOOL,
          input: JSON.stringify({ query: clip(request, 120) }),
          description: "Search the web for the answer",
        },
      ]
    : builtInSteps(request, new Set(tools.map((t) => t.name)));
  if (!options.bad) {
    steps.push(...customToolSteps(request, tools, MAX_PLAN_TOOL_STEPS - steps.length, options.feedback));
  }
  steps.push({ kind: "model", tool: null, input: null, description: FINAL_STEP_DESCRIPTION });
  return { steps };
}

/** The built-in tool steps of a plan: one per detected need whose tool is `offered` (see {@link planFor}). */
function builtInSteps(request: string, offered: ReadonlySet<string>): PlanStep[] {
  const needs = detectToolNeeds(request);
  const steps: PlanStep[] = [];
  if (needs.arithmetic && offered.has("calculator")) {
    steps.push({
      kind: "tool",
      tool: "calculator",
      input: JSON.stringify({ expression: needs.arithmetic.expression }),
      description: `Calculate ${needs.arithmetic.text}`,
    });
  }
  if (needs.recall && offered.has("memory_search")) {
    steps.push({
      kind: "tool",
      tool: "memory_search",
      input: JSON.stringify({ query: recallQuery(request) }),
      description: "Search the project's memory for earlier work",
    });
  }
  if (needs.time && offered.has("current_time")) {
    steps.push({ kind: "tool", tool: "current_time", input: "{}", description: "Get the current time" });
  }
  return steps;
}

/** What a structured reply needs from the server's test controls: whether the next plan or reply must be a bad one. */
export interface StructuredHooks {
  /** Consumes one unit of the `badPlanNext` test control; true when this plan must be bad. */
  takeBadPlan(): boolean;
  /** Consumes one unit of the `invalidJsonNext` test control; true when this reply must break its schema. */
  takeInvalidJson(): boolean;
}

/**
 * The JSON text answering a `json_schema` response_format named `name` with `schema`: the
 * analysis for "analysis", the plan for "plan" (tools from the system prompt's `Available
 * tools:` and tool lines, see prompt-tools.ts; custom tools the previous plan's rejection names
 * left out), a generic {@link schemaInstance} otherwise; always conformed to `schema` when one is
 * given (a specific answer that does not fit degrades to a seeded generic instance). `offered`:
 * the request's own `tools`, which the analysis counts as well as the prompt's.
 */
export function structuredContent(
  name: string,
  schema: JsonSchema | undefined,
  messages: readonly ChatMessage[],
  hooks: StructuredHooks,
  offered: readonly OfferedTool[] = [],
): string {
  if (hooks.takeInvalidJson()) return "{}";
  const user = requestMessage(messages);
  const request = requestOf(user);
  const listed = () => promptTools(systemText(messages));
  let value: unknown;
  if (name === ANALYSIS_FORMAT_NAME) value = analysisFor(request, [...offered, ...listed()]);
  else if (name === PLAN_FORMAT_NAME)
    value = planFor(request, listed(), { bad: hooks.takeBadPlan(), feedback: planFeedback(user) });
  else value = schema ? schemaInstance(schema, { request }) : { answer: request };
  return JSON.stringify(schema ? conformTo(schema, value, request) : value);
}
