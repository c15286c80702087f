/**
 * Which built-in tools a request needs, read from its words alone: arithmetic (→ calculator), a
 * reference to earlier work (→ memory_search), a time or date question (→ current_time). The
 * offline model decides tool calls, plans and analyses from this, so every decision is
 * deterministic.
 */

import { type Arithmetic, findArithmetic } from "./arithmetic.ts";
import { keywords } from "./request-words.ts";

/** The tool needs of one request (see {@link detectToolNeeds}). */
export interface ToolNeeds {
  /** The first arithmetic expression of the request, when it holds one (→ calculator). */
  arithmetic?: Arithmetic;
  /** True when the request refers to earlier work ("last time", "we discussed", …) (→ memory_search). */
  recall: boolean;
  /** True when the request asks for the current time or date (→ current_time). */
  time: boolean;
}

/** The built-in tools a need maps to, in the order plans and tool calls use them. */
export const BUILT_IN_TOOLS = ["calculator", "memory_search", "current_time"] as const;
/** A built-in tool the offline model knows when to call. */
export type BuiltInTool = (typeof BUILT_IN_TOOLS)[number];

const RECALL =
  /\b(last\s+time|earlier|previous(?:ly)?|before|we\s+(?:discussed|talked|spoke|covered)|remember|recall)\b/i;
const TIME =
  /\b(what\s+time|current\s+(?:time|date|day)|time\s+(?:is\s+it|now|right\s+now)|(?:today'?s|the)\s+date|what\s+(?:day|date|year|month)|date\s+today|which\s+day|what\s+is\s+today)\b/i;

/** The tool needs of `request` (see {@link ToolNeeds}). */
export function detectToolNeeds(request: string): ToolNeeds {
  const arithmetic = findArithmetic(request);
  return {
    ...(arithmetic ? { arithmetic } : {}),
    recall: RECALL.test(request),
    time: TIME.test(request),
  };
}

/** The built-in tools `needs` calls for, in {@link BUILT_IN_TOOLS} order. */
export function neededTools(needs: ToolNeeds): BuiltInTool[] {
  return BUILT_IN_TOOLS.filter(
    (t) =>
      (t === "calculator" && needs.arithmetic) ||
      (t === "memory_search" && needs.recall) ||
      (t === "current_time" && needs.time),
  );
}

/**
 * The memory_search query of a request: its key words (recall phrases and question words
 * left out), space-separated; "" when the request names no topic ("what did we discuss last
 * time?"), which asks memory_search for the newest memories.
 */
export function recallQuery(request: string): string {
  return keywords(request, 5).join(" ");
}
