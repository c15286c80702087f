import { checkExpression } from "./calculator-check.ts";
import { calculatorMath } from "./calculator-scope.ts";
import { ToolError } from "./tool-error.ts";

/**
 * The calculator's work, run inside a tool worker (see calculator.ts): parse, check against the
 * allow-list, evaluate, format. Runs synchronously; the worker's deadline and resource limits
 * are what bound it (`combinations(1e10, 5e9)` is allowed and loops for minutes).
 */

/** Number formatting: 12 significant digits (hides float noise: 0.1 + 0.2 → 0.3), plain notation from 10^-9 to 10^15 (mathjs's default switches at 10^5: 7.006652e+6). */
const FORMAT = { precision: 12, lowerExp: -9, upperExp: 15 } as const;

const isUnit = (name: string) => calculatorMath.Unit.isValuelessUnit(name);
const inNamespace = (name: string) => Object.hasOwn(calculatorMath, name);

/**
 * Evaluate `input.expression` with the allow-listed mathjs instance.
 * @returns `{ expression, result }`, result formatted as text (`"397.8"`, `"3.10685596119 mi"`).
 * @throws ToolError `cannot evaluate "<expression>": <reason>` for a syntax error, anything
 *   outside the allow-list, a mathjs error (unknown unit, wrong argument), or a non-value.
 */
export function evaluateExpression(input: { expression: string }): { expression: string; result: string } {
  const { expression } = input;
  if (typeof expression !== "string") throw new ToolError("expression must be a string");
  let value: unknown;
  try {
    const node = calculatorMath.parse(expression);
    checkExpression(node, isUnit, inNamespace);
    value = node.compile().evaluate();
  } catch (err) {
    // A RangeError is a limit (stack, allocation): the worker reports it as such.
    if (err instanceof RangeError) throw err;
    throw new ToolError(`cannot evaluate "${expression}": ${(err as Error).message}`);
  }
  if (typeof value === "function" || value === undefined)
    throw new ToolError(`"${expression}" is not a value`);
  return { expression, result: calculatorMath.format(value as never, FORMAT) };
}
