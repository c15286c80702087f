import { all, create, type FactoryFunctionMap } from "mathjs";
import { z } from "zod";
import { defineTool, ToolError } from "./define-tool.ts";

/**
 * A mathjs instance that can only evaluate arithmetic. mathjs parses its own expression
 * language (no JavaScript eval); following mathjs's security guidance, the functions that
 * could define or re-parse code are disabled after `evaluate` is captured. Also disabled:
 * `config` (the instance is shared by every run: one expression must not change how the next
 * one computes) and the matrix builders (`zeros(20000,20000)` fits in a short expression but
 * would take gigabytes) and the combinatorics functions (`combinations(1e9, 5e8)` loops for
 * seconds to hours): mathjs evaluates synchronously, so no time limit could stop them.
 */
const math = create(all as FactoryFunctionMap);
const evaluate = math.evaluate;
const disabled = (name: string) => () => {
  throw new Error(`${name} is disabled`);
};
math.import(
  Object.fromEntries(
    [
      "import",
      "createUnit",
      "evaluate",
      "parse",
      "compile",
      "simplify",
      "derivative",
      "resolve",
      "config",
      "zeros",
      "ones",
      "identity",
      "range",
      "resize",
      "matrixFromFunction",
      "matrixFromRows",
      "matrixFromColumns",
      "combinations",
      "combinationsWithRep",
      "permutations",
      "multinomial",
      "stirlingS2",
      "bellNumbers",
      "catalan",
      "composition",
    ].map((n) => [n, disabled(n)]),
  ),
  { override: true },
);

/** Longest expression accepted (characters): keeps evaluation cheap. */
export const MAX_EXPRESSION_CHARS = 300;

/** `calculator`: evaluates an arithmetic expression with mathjs (e.g. `17 / 100 * 2340`, `sqrt(2)^2`, `5 km to mi`). */
export const calculatorTool = defineTool({
  name: "calculator",
  description:
    "Evaluate an arithmetic expression exactly (mathjs syntax: + - * / ^ %, parentheses, sqrt, log, units). Use it for every calculation.",
  input: z.object({ expression: z.string().min(1).max(MAX_EXPRESSION_CHARS) }),
  timeoutMs: 2000,
  run: async ({ expression }) => {
    let value: unknown;
    try {
      value = evaluate(expression);
    } catch (err) {
      throw new ToolError(`cannot evaluate "${expression}": ${(err as Error).message}`);
    }
    if (typeof value === "function" || value === undefined)
      throw new ToolError(`"${expression}" is not a value`);
    // Plain notation below 10^15 (mathjs switches to exponents from 10^5 by default: 7.006652e+6).
    return { expression, result: math.format(value as never, { precision: 12, lowerExp: -9, upperExp: 15 }) };
  },
});
