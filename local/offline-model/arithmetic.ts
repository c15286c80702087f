/**
 * Arithmetic in a request's words ("17% of 2,340", "square root of 2", "5 + foo(3)"), found and
 * rewritten into mathjs syntax for the calculator tool. Pure string work: the expression is only
 * ever evaluated by mathjs inside the calculator tool, never with eval.
 */

/** One arithmetic expression found in a request. */
export interface Arithmetic {
  /** The expression as the user wrote it, e.g. `17% of 2,340`. */
  text: string;
  /** The same expression normalised for mathjs `evaluate`, e.g. `17 / 100 * 2340`. */
  expression: string;
}

const NUM = String.raw`(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)`;
/** A function call with a flat argument list, e.g. `sqrt(2)` or `foo(3)` (mathjs reports unknown ones). */
const CALL = String.raw`[A-Za-z_][A-Za-z0-9_]*\([^()]*\)`;
const OPERAND = String.raw`\(*\s*(?:-?${NUM}\s*%?|${CALL})\s*\)*`;
const MATH_CALL = new RegExp(
  String.raw`\b(?:sqrt|cbrt|abs|exp|log|log2|log10|ln|sin|cos|tan|round|floor|ceil)\(\s*-?${NUM}\s*\)`,
);
const OPERATOR = String.raw`\s*(?:\*\*|[-+*/^×÷xX]|plus|minus|times|multiplied\s+by|divided\s+by|over|to\s+the\s+power\s+of)\s*`;
const CHAIN = new RegExp(String.raw`(?<![\w.,])${OPERAND}(?:${OPERATOR}${OPERAND})+`, "i");
const PERCENT_OF = new RegExp(String.raw`(?<![\w.,])(${NUM})\s*(?:%|percent)\s+of\s+(${NUM})(?![\w])`, "i");
const SQUARE_ROOT = new RegExp(String.raw`\bsquare\s+root\s+of\s+(${NUM})`, "i");
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const plain = (n: string) => n.replace(/,/g, "");

/**
 * Rewrite one arithmetic expression into mathjs syntax: thousands separators removed
 * (`2,340` → `2340`), `N%` → `(N / 100)`, `x`/`×` → `*`, `÷` → `/`, `**` → `^`, the words
 * plus/minus/times/multiplied by/divided by/over/to the power of → operators, unmatched
 * parentheses at the ends dropped, single spaces around binary operators. Pure string work: the
 * result is only ever evaluated by mathjs inside the calculator tool, never with eval.
 */
export function normaliseExpression(text: string): string {
  let s = text
    .replace(new RegExp(NUM, "g"), plain)
    .replace(/(\d+(?:\.\d+)?)\s*%/g, "($1 / 100)")
    .replace(/\bmultiplied\s+by\b/gi, "*")
    .replace(/\bdivided\s+by\b/gi, "/")
    .replace(/\bto\s+the\s+power\s+of\b/gi, "^")
    .replace(/\btimes\b/gi, "*")
    .replace(/\bplus\b/gi, "+")
    .replace(/\bminus\b/gi, "-")
    .replace(/\bover\b/gi, "/")
    .replace(/\*\*/g, "^")
    .replace(/(?<=[\d)\s])[xX×](?=[\s\d(.-])/g, "*")
    .replace(/÷/g, "/");
  s = balance(s.trim());
  return s
    .replace(/\s*([-+*/^])\s*/g, " $1 ")
    .replace(/(^|[(*/^+-]\s*) - (?=[\d.(])/g, "$1-")
    .replace(/\(\s+/g, "(")
    .replace(/\s+\)/g, ")")
    .replace(/\s+/g, " ")
    .trim();
}

/** Drop parentheses at either end that have no partner (a regex match can cut through a pair). */
function balance(s: string): string {
  let out = s;
  const count = (c: string) => out.split(c).length - 1;
  while (count(")") > count("(") && out.endsWith(")")) out = out.slice(0, -1).trimEnd();
  while (count("(") > count(")") && out.startsWith("(")) out = out.slice(1).trimStart();
  return out;
}

/**
 * The first arithmetic expression of `request` (percentages "17% of 2,340", square roots, a
 * chain of numbers or function calls joined by operators or operator words such as
 * `5 + foo(3)`, or a lone math function call such as `sqrt(2)`), or undefined. ISO dates such as
 * 2024-05-01 are not arithmetic.
 */
export function findArithmetic(request: string): Arithmetic | undefined {
  const percent = PERCENT_OF.exec(request);
  if (percent?.[1] && percent[2]) {
    return { text: percent[0].trim(), expression: `${plain(percent[1])} / 100 * ${plain(percent[2])}` };
  }
  const root = SQUARE_ROOT.exec(request);
  if (root?.[1]) return { text: root[0].trim(), expression: `sqrt(${plain(root[1])})` };
  const chain = CHAIN.exec(request) ?? MATH_CALL.exec(request);
  if (!chain) return undefined;
  const text = balance(chain[0].trim());
  if (ISO_DATE.test(text)) return undefined;
  return { text, expression: normaliseExpression(text) };
}
