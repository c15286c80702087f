import { z } from "zod";
import { defineTool } from "./define-tool.ts";

/** Longest expression accepted (characters): keeps parsing and list sizes small. */
export const MAX_EXPRESSION_CHARS = 300;

/**
 * `calculator`: evaluates an arithmetic expression with mathjs (e.g. `17 / 100 * 2340`,
 * `sqrt(2)^2`, `5 km to mi`). mathjs evaluates synchronously and some allowed expressions are
 * expensive (`combinations(1e10, 5e9)`), so it runs in a tool worker: the deadline terminates
 * it and V8 limits bound its memory, while the event loop stays free. What an expression may
 * use is an allow-list (calculator-scope.ts, checked by calculator-check.ts).
 */
export const calculatorTool = defineTool({
  name: "calculator",
  description:
    "Evaluate an arithmetic expression exactly (mathjs syntax: + - * / ^ % !, parentheses, lists [1, 2], sqrt, log, exp, trig, round, abs, mod, gcd, min/max/sum/mean/median/std, combinations, constants pi and e, units with `to`, e.g. 5 km to mi). Use it for every calculation.",
  input: z.object({ expression: z.string().min(1).max(MAX_EXPRESSION_CHARS) }),
  timeoutMs: 2000,
  isolation: "worker",
  worker: { module: new URL("./calculator-eval.ts", import.meta.url), export: "evaluateExpression" },
});
