/**
 * Run parameters written as `key=value` text, for the page's Parameters field and the CLI's
 * `--param` (one implementation for both). The limits mirror POST /runs' validation
 * (packages/run-start/schema.ts, docs/api.md), so a mistake is reported before any request;
 * the server stays the authority and refuses anything else with a 400.
 */

/** One parameter's value: what POST /runs accepts in `params` (no nesting, no null). */
export type ParamValue = string | number | boolean;

/** A run's `params`: named values its agent reads as `ctx.input.params`. */
export type RunParams = Record<string, ParamValue>;

/** Most parameters of one run (POST /runs refuses more). */
export const MAX_PARAMS = 20;

/** Longest string value of a parameter (characters, UTF-16 code units as JavaScript counts them). */
export const MAX_PARAM_CHARS = 1000;

/** A parameter's name: a letter, then up to 63 letters, digits or `_`. */
const PARAM_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

/** A number as JSON writes one (so `007` and `0x1f` stay text). */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A `key=value` entry that cannot be a run parameter. `entry` is the text as given, `reason`
 * one sentence on what is wrong (no location: the page names the line, the CLI the option),
 * `line` the 1-based line of the page's field when it came from {@link parseParamLines}.
 */
export class InvalidParamError extends Error {
  override name = "InvalidParamError";
  readonly entry: string;
  readonly reason: string;
  readonly line: number | undefined;
  constructor(entry: string, reason: string, line?: number) {
    super(`${line === undefined ? "" : `line ${line}: `}${JSON.stringify(entry)}: ${reason}`);
    this.entry = entry;
    this.reason = reason;
    this.line = line;
  }
}

/** The typed value of `raw` (already trimmed): true/false, a finite number, a quoted text, or the text itself. */
function typedValue(entry: string, raw: string): ParamValue {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (NUMBER.test(raw) && Number.isFinite(Number(raw))) return Number(raw);
  let text = raw;
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    try {
      text = JSON.parse(raw) as string;
    } catch {
      throw new InvalidParamError(entry, 'a quoted value must be a JSON string ("…", with \\" for a quote)');
    }
  }
  if (text.length > MAX_PARAM_CHARS) {
    throw new InvalidParamError(entry, `the value is ${text.length} characters; at most ${MAX_PARAM_CHARS}`);
  }
  return text;
}

/**
 * One `key=value` entry as a parameter: the text up to the first `=` is the key, the rest the
 * value, both trimmed. The value is typed: `true` and `false` are booleans, a number in JSON
 * syntax (`3`, `-1.5`, `2e3`) is a number, a value in double quotes is the text inside (a JSON
 * string: `"42"` keeps 42 as text, `" x "` keeps the spaces), anything else is text (`Pod,Deployment`,
 * an empty value is ""). Why typed: an agent reads `params.limit` as the number it is.
 * @throws InvalidParamError when there is no `=`, the key is not a letter then up to 63 of
 *   `A-Z a-z 0-9 _`, a quoted value is not a JSON string, or the text exceeds
 *   {@link MAX_PARAM_CHARS} characters.
 */
export function parseParam(entry: string): [string, ParamValue] {
  const at = entry.indexOf("=");
  if (at < 0) throw new InvalidParamError(entry, "expected key=value (e.g. filter=Pod)");
  const key = entry.slice(0, at).trim();
  if (!key) throw new InvalidParamError(entry, "the key before = is empty");
  if (!PARAM_KEY.test(key)) {
    throw new InvalidParamError(entry, "a key is a letter then up to 63 letters, digits or _");
  }
  return [key, typedValue(entry, entry.slice(at + 1).trim())];
}

/**
 * `params` with `entry` (see {@link parseParam}) added, as a new object (`params` is not
 * changed), e.g. for an option given once per parameter.
 * @throws InvalidParamError as {@link parseParam} does, when the key is already in `params`,
 *   or when it would be the 21st parameter ({@link MAX_PARAMS}).
 */
export function addParam(params: RunParams, entry: string): RunParams {
  const [key, value] = parseParam(entry);
  if (Object.hasOwn(params, key)) throw new InvalidParamError(entry, `"${key}" is given twice`);
  if (Object.keys(params).length >= MAX_PARAMS) {
    throw new InvalidParamError(entry, `at most ${MAX_PARAMS} parameters`);
  }
  // fromEntries defines own fields: a key named like an Object.prototype member stays data.
  return Object.fromEntries([...Object.entries(params), [key, value]]);
}

/**
 * The parameters of a text field, one `key=value` per line (see {@link parseParam}); blank
 * lines are skipped. Commas are not separators, so a value may hold them (`filter=Pod,Deployment`).
 * @returns the parameters, or `undefined` when the text has none (nothing to send).
 * @throws InvalidParamError with the 1-based `line` of the first wrong line, as {@link addParam}.
 */
export function parseParamLines(text: string): RunParams | undefined {
  let params: RunParams | undefined;
  const lines = text.split(/\r\n|\r|\n/);
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      params = addParam(params ?? {}, line);
    } catch (err) {
      if (err instanceof InvalidParamError) throw new InvalidParamError(line, err.reason, index + 1);
      throw err;
    }
  }
  return params;
}
