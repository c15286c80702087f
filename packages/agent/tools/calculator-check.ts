import type { MathNode } from "mathjs";
import { isAllowedConstant, isAllowedFunction, isAllowedOperator } from "./calculator-scope.ts";
import { ToolError } from "./tool-error.ts";

/** An expression uses something the calculator does not offer; the message says what. */
export class ExpressionNotAllowedError extends ToolError {
  override name = "ExpressionNotAllowedError";
}

/** Node types refused outright, with the words the model is told. */
const REFUSED: Record<string, string> = {
  FunctionAssignmentNode: "defining functions is not allowed",
  AssignmentNode: "assigning variables is not allowed",
  BlockNode: "only one expression is allowed",
  AccessorNode: "property access and indexing are not allowed",
  IndexNode: "property access and indexing are not allowed",
  ObjectNode: "objects are not allowed",
  RangeNode: "ranges (a:b) are not allowed",
  ConditionalNode: "conditionals (a ? b : c) are not allowed",
  RelationalNode: "comparisons are not allowed",
};

/**
 * Check a parsed expression against the allow-list (calculator-scope.ts) before anything is
 * evaluated: numbers, lists `[…]`, parentheses, the allowed operators, calls of allowed
 * functions by name, allowed constants and units. No strings, no booleans, no assignments or
 * function definitions, no property access: there is no way to reach a function value, so
 * nothing outside the list can be called.
 * @param isUnit whether a bare name is a unit of the instance (`Unit.isValuelessUnit`).
 * @param inNamespace whether a name exists on the mathjs instance (then it is a function or
 *   helper, never a unit: mathjs would resolve it before units).
 * @throws ExpressionNotAllowedError naming the first thing that is not allowed.
 */
export function checkExpression(
  root: MathNode,
  isUnit: (name: string) => boolean,
  inNamespace: (name: string) => boolean,
): void {
  root.traverse((node, path, parent) => {
    const refused = REFUSED[node.type];
    if (refused) throw new ExpressionNotAllowedError(refused);
    switch (node.type) {
      case "ConstantNode": {
        const { value } = node as MathNode & { value: unknown };
        if (typeof value !== "number")
          throw new ExpressionNotAllowedError("only numbers are allowed as values");
        return;
      }
      case "OperatorNode": {
        const { fn, op } = node as MathNode & { fn: string; op: string };
        if (!isAllowedOperator(fn))
          throw new ExpressionNotAllowedError(`the ${op} operator is not available`);
        return;
      }
      case "FunctionNode": {
        const { fn } = node as MathNode & { fn: MathNode };
        if (fn.type !== "SymbolNode")
          throw new ExpressionNotAllowedError("only named functions can be called");
        const name = (fn as MathNode & { name: string }).name;
        if (!isAllowedFunction(name))
          throw new ExpressionNotAllowedError(`${name} is not an available function`);
        return;
      }
      case "SymbolNode": {
        // The name of a called function was checked with its FunctionNode.
        if (parent?.type === "FunctionNode" && path === "fn") return;
        const name = (node as MathNode & { name: string }).name;
        if (isAllowedConstant(name)) return;
        if (isAllowedFunction(name))
          throw new ExpressionNotAllowedError(`${name} must be called, as in ${name}(…)`);
        if (inNamespace(name) || !isUnit(name))
          throw new ExpressionNotAllowedError(`${name} is not a known constant or unit`);
        return;
      }
      case "ParenthesisNode":
      case "ArrayNode":
        return;
      default:
        throw new ExpressionNotAllowedError(`${node.type} is not allowed`);
    }
  });
}
