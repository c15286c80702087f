import type { FactoryFunctionMap } from "mathjs";
// mathjs's prebuilt single-file build: the same library as the "mathjs" entry, but one file to
// load instead of about a thousand ES modules (0.15 s instead of 0.8-1.2 s on the test machine,
// and several seconds through tsx's loader inside a worker), which is what a tool worker's
// cold start costs. Types: mathjs-bundle.d.ts.
import mathjs from "mathjs/lib/browser/math.js";

const {
  absDependencies,
  acosDependencies,
  addDependencies,
  asinDependencies,
  atan2Dependencies,
  atanDependencies,
  cbrtDependencies,
  ceilDependencies,
  combinationsDependencies,
  cosDependencies,
  coshDependencies,
  cotDependencies,
  cscDependencies,
  divideDependencies,
  eDependencies,
  expDependencies,
  expm1Dependencies,
  factorialDependencies,
  fixDependencies,
  floorDependencies,
  formatDependencies,
  gcdDependencies,
  hypotDependencies,
  InfinityDependencies,
  LN2Dependencies,
  LN10Dependencies,
  LOG2EDependencies,
  LOG10EDependencies,
  lcmDependencies,
  log1pDependencies,
  log2Dependencies,
  log10Dependencies,
  logDependencies,
  maxTransformDependencies,
  meanTransformDependencies,
  medianDependencies,
  minTransformDependencies,
  modDependencies,
  multiplyDependencies,
  nthRootDependencies,
  parseDependencies,
  permutationsDependencies,
  phiDependencies,
  piDependencies,
  powDependencies,
  prodDependencies,
  roundDependencies,
  SQRT1_2Dependencies,
  SQRT2Dependencies,
  secDependencies,
  signDependencies,
  sinDependencies,
  sinhDependencies,
  sqrtDependencies,
  stdTransformDependencies,
  subtractDependencies,
  sumTransformDependencies,
  tanDependencies,
  tanhDependencies,
  tauDependencies,
  toDependencies,
  UnitDependencies,
  unaryMinusDependencies,
  unaryPlusDependencies,
  varianceTransformDependencies,
  create,
} = mathjs;

/**
 * What the calculator offers: the ALLOW-LIST. Each entry brings the mathjs factories it needs,
 * and the instance below is created from these factories only, so nothing else (import,
 * createUnit, evaluate, parse, config, matrix builders, random, …) is even loaded in the
 * worker's bundle. Helpers these functions depend on (typed, matrix, identity, …) do end up
 * on the instance, which is why calculator-check.ts also refuses every name not listed here
 * before anything is evaluated. Statistics use their expression-parser transforms (1-based
 * dimensions, as mathjs's own `evaluate` does).
 */

/** Functions an expression may call by name: arithmetic, powers and roots, exp/log, trig, rounding, number theory, statistics of lists, combinatorics. */
export const CALCULATOR_FUNCTIONS = {
  add: addDependencies,
  subtract: subtractDependencies,
  multiply: multiplyDependencies,
  divide: divideDependencies,
  mod: modDependencies,
  abs: absDependencies,
  sign: signDependencies,
  gcd: gcdDependencies,
  lcm: lcmDependencies,
  pow: powDependencies,
  sqrt: sqrtDependencies,
  cbrt: cbrtDependencies,
  nthRoot: nthRootDependencies,
  hypot: hypotDependencies,
  exp: expDependencies,
  expm1: expm1Dependencies,
  log: logDependencies,
  log10: log10Dependencies,
  log2: log2Dependencies,
  log1p: log1pDependencies,
  sin: sinDependencies,
  cos: cosDependencies,
  tan: tanDependencies,
  sec: secDependencies,
  csc: cscDependencies,
  cot: cotDependencies,
  asin: asinDependencies,
  acos: acosDependencies,
  atan: atanDependencies,
  atan2: atan2Dependencies,
  sinh: sinhDependencies,
  cosh: coshDependencies,
  tanh: tanhDependencies,
  round: roundDependencies,
  floor: floorDependencies,
  ceil: ceilDependencies,
  fix: fixDependencies,
  min: minTransformDependencies,
  max: maxTransformDependencies,
  sum: sumTransformDependencies,
  prod: prodDependencies,
  mean: meanTransformDependencies,
  median: medianDependencies,
  std: stdTransformDependencies,
  variance: varianceTransformDependencies,
  factorial: factorialDependencies,
  combinations: combinationsDependencies,
  permutations: permutationsDependencies,
} as const;

/**
 * Operators, by the mathjs function they call (OperatorNode `fn`): + - * / ^ % (modulo, or a
 * percentage as in `50%`), unary - and +, n!, and unit conversion `to`/`in`. Not: comparisons,
 * logic, bitwise operators, transpose, element-wise operators.
 */
export const CALCULATOR_OPERATORS = {
  add: addDependencies,
  subtract: subtractDependencies,
  multiply: multiplyDependencies,
  divide: divideDependencies,
  pow: powDependencies,
  mod: modDependencies,
  unaryMinus: unaryMinusDependencies,
  unaryPlus: unaryPlusDependencies,
  factorial: factorialDependencies,
  to: toDependencies,
} as const;

/** Named constants. Every other bare name must be a unit (`km`, `hours`, `degC`, …). */
export const CALCULATOR_CONSTANTS = {
  pi: piDependencies,
  e: eDependencies,
  tau: tauDependencies,
  phi: phiDependencies,
  LN2: LN2Dependencies,
  LN10: LN10Dependencies,
  LOG2E: LOG2EDependencies,
  LOG10E: LOG10EDependencies,
  SQRT2: SQRT2Dependencies,
  SQRT1_2: SQRT1_2Dependencies,
  Infinity: InfinityDependencies,
} as const;

const has = (table: object, name: string) => Object.hasOwn(table, name);

/** Whether `name` may be called as a function. */
export const isAllowedFunction = (name: string): boolean => has(CALCULATOR_FUNCTIONS, name);
/** Whether the operator whose mathjs function is `fn` may be used. */
export const isAllowedOperator = (fn: string): boolean => has(CALCULATOR_OPERATORS, fn);
/** Whether `name` is an allowed named constant. */
export const isAllowedConstant = (name: string): boolean => has(CALCULATOR_CONSTANTS, name);

/**
 * The calculator's mathjs instance, made from the allow-listed factories plus the parser,
 * units and number formatting. Numbers are IEEE doubles (config `number: "number"`); nothing
 * can change the configuration afterwards (`config` is not reachable from an expression).
 */
export const calculatorMath = create(
  {
    ...CALCULATOR_FUNCTIONS,
    ...CALCULATOR_OPERATORS,
    ...CALCULATOR_CONSTANTS,
    UnitDependencies,
    parseDependencies,
    formatDependencies,
  } as unknown as FactoryFunctionMap,
  { number: "number" },
);
