import { describe, expect, it } from "vitest";
import { calculatorTool, MAX_EXPRESSION_CHARS } from "../../../../packages/agent/tools/calculator.ts";
import { runTool } from "../../../../packages/agent/tools/index.ts";
import { errorOf, resultOf, useToolContext } from "../../../support/tools.ts";

const TABLE = "stagecast-tools-test";
const ctx = useToolContext(TABLE);

const calc = (expression: string) => runTool(calculatorTool, { expression }, ctx());

describe("calculator", () => {
  it("computes a percentage exactly", async () => {
    const result = resultOf(await calc("17 / 100 * 2340"));
    expect(result).toEqual({ expression: "17 / 100 * 2340", result: "397.8" });
  });

  it("writes numbers below 10^15 in plain notation, not 7.006652e+6", async () => {
    expect(resultOf(await calc("1234 * 5678")).result).toBe("7006652");
    expect(resultOf(await calc("2^36")).result).toBe("68719476736");
  });

  it("knows functions and powers", async () => {
    expect(resultOf(await calc("sqrt(16) + 2^3")).result).toBe("12");
  });

  it("rounds away floating-point noise (12 significant digits)", async () => {
    expect(resultOf(await calc("0.1 + 0.2")).result).toBe("0.3");
    expect(resultOf(await calc("1 / 3")).result).toBe("0.333333333333");
  });

  it("converts units", async () => {
    expect(resultOf(await calc("5 km to mi")).result).toBe("3.10685596119 mi");
    expect(resultOf(await calc("2 hours to minutes")).result).toBe("120 minutes");
  });

  it("reports a syntax error as a tool_error naming the expression and the problem", async () => {
    const error = errorOf(await calc("1 +"));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain('"1 +"');
    expect(error.message).toMatch(/unexpected end of expression/i);
  });

  it("offers lists, statistics, rounding, number theory, combinatorics, constants and percentages", async () => {
    const cases: [string, string][] = [
      ["mean([1, 2, 3, 4])", "2.5"],
      ["median([5, 1, 3])", "3"],
      ["max(3, 7, 2) - min([4, 9])", "3"],
      ["sum([1, 2, 3]) * 2", "12"],
      ["std([2, 4, 4, 4, 5, 5, 7, 9])", "2.1380899353"],
      ["round(pi, 3)", "3.142"],
      ["gcd(12, 18) + lcm(4, 6)", "18"],
      ["10 mod 3", "1"],
      ["abs(-2) * sign(-5)", "-2"],
      ["5! / combinations(5, 2)", "12"],
      ["log(e^2) + log10(1000)", "5"],
      ["sin(pi / 2) + cos(0)", "2"],
      ["100 + 5%", "105"],
      ["[1, 2, 3] * 2", "[2, 4, 6]"],
      ["sqrt(-4)", "2i"],
      ["60 km/h to m/s", "16.6666666667 m / s"],
    ];
    for (const [expression, expected] of cases) {
      expect(resultOf(await calc(expression)).result, expression).toBe(expected);
    }
  });

  it("reports a function that is not on the allow-list as a tool_error naming it", async () => {
    const error = errorOf(await calc("foo(3)"));
    expect(error).toEqual({
      code: "tool_error",
      message: 'cannot evaluate "foo(3)": foo is not an available function',
    });
  });

  it("refuses function definitions, so no expression can recurse", async () => {
    expect(errorOf(await calc("f(x) = x^2"))).toEqual({
      code: "tool_error",
      message: 'cannot evaluate "f(x) = x^2": defining functions is not allowed',
    });
    const error = errorOf(await calc("f(n)=n<1?0:f(n-1)+f(n-1); f(20)"));
    expect(error.code).toBe("tool_error");
  });

  it.each([
    'evaluate("1+1")',
    "import({}, {})",
    'createUnit("foo")',
    'parse("1+1")',
    'compile("1+1")',
    'simplify("x+x")',
    'derivative("x^2", "x")',
    'config({number: "Fraction"})',
    "random([700, 700])",
    'isPrime(bignumber("170141183460469231731687303715884105727"))',
    "zeros(20000, 20000)",
    "range(1, 1e9)",
    "typed(1)",
    "matrix([1])",
    "identity(3)",
  ])("cannot call %s: only allow-listed functions are callable", async (expression) => {
    const error = errorOf(await calc(expression));
    expect(error.code).toBe("tool_error");
    const name = expression.slice(0, expression.indexOf("("));
    expect(error.message).toContain(`${name} is not an available function`);
  });

  it.each([
    ['parser().evaluate("1+1")', "only named functions can be called"],
    ["a = 5", "assigning variables is not allowed"],
    ["1; 2", "only one expression is allowed"],
    ["1:1e9", "ranges (a:b) are not allowed"],
    ["[1, 2][1]", "property access and indexing are not allowed"],
    ["pi.foo", "property access and indexing are not allowed"],
    ["{a: 1}", "objects are not allowed"],
    ['"text"', "only numbers are allowed as values"],
    ["true", "only numbers are allowed as values"],
    ["1 < 2", "the < operator is not available"],
    ["1 ? 2 : 3", "conditionals (a ? b : c) are not allowed"],
    ["sqrt", "sqrt must be called, as in sqrt(…)"],
    ["config", "config is not a known constant or unit"],
    ["x + 1", "x is not a known constant or unit"],
  ])("refuses %s", async (expression, reason) => {
    expect(errorOf(await calc(expression))).toEqual({
      code: "tool_error",
      message: `cannot evaluate "${expression}": ${reason}`,
    });
  });

  it("a unit created in one call does not exist in the next (createUnit is not available)", async () => {
    expect((await calc('createUnit("foo")')).ok).toBe(false);
    const error = errorOf(await calc("1 foo"));
    expect(error.code).toBe("tool_error");
  });

  it("cannot change the shared mathjs configuration from an expression (config is not available)", async () => {
    expect((await calc('config({number: "Fraction"})')).ok).toBe(false);
    expect(resultOf(await calc("1 / 3")).result).toBe("0.333333333333");
  });

  it("runs in a worker: an expensive expression ends at the 2 s limit as tool_timeout and never blocks the event loop", async () => {
    expect(calculatorTool.isolation).toBe("worker");
    let last = performance.now();
    let gapMs = 0;
    const tick = setInterval(() => {
      gapMs = Math.max(gapMs, performance.now() - last);
      last = performance.now();
    }, 5);
    const outcome = await calc("combinations(10000000000, 5000000000)").finally(() => clearInterval(tick));
    expect(errorOf(outcome)).toEqual({
      code: "tool_timeout",
      message: "calculator took longer than 2000 ms.",
    });
    expect(outcome.durationMs).toBeLessThan(2500);
    expect(gapMs).toBeLessThan(100);
    // The next call gets a fresh worker.
    expect(resultOf(await calc("1 + 1")).result).toBe("2");
  });

  it("rejects an over-long expression as invalid_tool_input before evaluating it", async () => {
    const expression = `${"1+".repeat(MAX_EXPRESSION_CHARS)}1`;
    const error = errorOf(await calc(expression));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toContain("expression");
  });

  it("rejects an empty expression as invalid_tool_input", async () => {
    expect(errorOf(await calc("")).code).toBe("invalid_tool_input");
  });

  it("accepts an expression of exactly the maximum length", async () => {
    const expression = `${"0+".repeat(Math.floor((MAX_EXPRESSION_CHARS - 1) / 2))}1`.padStart(
      MAX_EXPRESSION_CHARS,
      " ",
    );
    expect(expression).toHaveLength(MAX_EXPRESSION_CHARS);
    expect(resultOf(await calc(expression)).result).toBe("1");
  });
});
