import { describe, expect, it } from "vitest";
import {
  addParam,
  InvalidParamError,
  MAX_PARAM_CHARS,
  MAX_PARAMS,
  parseParam,
  parseParamLines,
} from "../../../packages/client/params.ts";

/** The InvalidParamError `fn` throws (fails when it throws nothing or something else). */
function thrown(fn: () => unknown): InvalidParamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidParamError);
    return err as InvalidParamError;
  }
  throw new Error("expected an InvalidParamError");
}

describe("parseParam (one key=value)", () => {
  it.each([
    ["filter=Pod", ["filter", "Pod"]],
    ["filter=Pod,Deployment", ["filter", "Pod,Deployment"]],
    ["  filter =  Pod  ", ["filter", "Pod"]],
    ["expr=a=b", ["expr", "a=b"]],
    ["limit=3", ["limit", 3]],
    ["ratio=-1.5", ["ratio", -1.5]],
    ["big=2e3", ["big", 2000]],
    ["dry_run=true", ["dry_run", true]],
    ["verbose=false", ["verbose", false]],
    ["zip=007", ["zip", "007"]],
    ["hex=0x1f", ["hex", "0x1f"]],
    ["word=True", ["word", "True"]],
    ["huge=1e400", ["huge", "1e400"]],
    ['id="42"', ["id", "42"]],
    ['flag="true"', ["flag", "true"]],
    ['pad=" x "', ["pad", " x "]],
    ['quote="say \\"hi\\""', ["quote", 'say "hi"']],
    ["empty=", ["empty", ""]],
    ['half="open', ["half", '"open']],
  ])("%s", (entry, expected) => {
    expect(parseParam(entry)).toEqual(expected);
  });

  it.each([
    ["filter", "expected key=value (e.g. filter=Pod)"],
    ["", "expected key=value (e.g. filter=Pod)"],
    ["=Pod", "the key before = is empty"],
    ["1st=x", "a key is a letter then up to 63 letters, digits or _"],
    ["my-key=x", "a key is a letter then up to 63 letters, digits or _"],
    ["__proto__=x", "a key is a letter then up to 63 letters, digits or _"],
    [`k${"a".repeat(64)}=x`, "a key is a letter then up to 63 letters, digits or _"],
    ['bad="a\\q"', 'a quoted value must be a JSON string ("…", with \\" for a quote)'],
    [`long=${"x".repeat(MAX_PARAM_CHARS + 1)}`, `the value is 1001 characters; at most ${MAX_PARAM_CHARS}`],
  ])("refuses %j", (entry, reason) => {
    const err = thrown(() => parseParam(entry));
    expect(err.reason).toBe(reason);
    expect(err.entry).toBe(entry);
    expect(err.line).toBeUndefined();
    expect(err.message).toBe(`${JSON.stringify(entry)}: ${reason}`);
    expect(err.name).toBe("InvalidParamError");
  });

  it("accepts a value of exactly the limit, and a key of 64 characters", () => {
    expect(parseParam(`v=${"x".repeat(MAX_PARAM_CHARS)}`)[1]).toHaveLength(MAX_PARAM_CHARS);
    expect(parseParam(`k${"a".repeat(63)}=1`)[0]).toHaveLength(64);
  });
});

describe("addParam (the CLI's repeatable --param)", () => {
  it("returns a new object with the entry added, leaving the old one alone", () => {
    const one = addParam({}, "filter=Pod");
    const two = addParam(one, "limit=2");
    expect(one).toEqual({ filter: "Pod" });
    expect(two).toEqual({ filter: "Pod", limit: 2 });
  });

  it("refuses a key given twice and a 21st parameter", () => {
    expect(thrown(() => addParam({ filter: "Pod" }, "filter=Service")).reason).toBe(
      '"filter" is given twice',
    );
    let params = {};
    for (let i = 0; i < MAX_PARAMS; i++) params = addParam(params, `k${i}=${i}`);
    expect(Object.keys(params)).toHaveLength(20);
    expect(thrown(() => addParam(params, "one_more=1")).reason).toBe("at most 20 parameters");
  });

  it("keeps keys named like Object.prototype members as plain own fields", () => {
    const params = addParam(addParam({}, "constructor=1"), "toString=x");
    expect(params).toEqual({ constructor: 1, toString: "x" });
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(thrown(() => addParam(params, "constructor=2")).reason).toBe('"constructor" is given twice');
    // A key that is only inherited is not "given twice".
    expect(addParam({}, "valueOf=1")).toEqual({ valueOf: 1 });
  });
});

describe("parseParamLines (the page's Parameters field)", () => {
  it("reads one key=value per line, skipping blank lines, with CRLF too", () => {
    expect(parseParamLines("filter=Pod,Deployment\r\n\n  \nlimit=5\rdry=true\n")).toEqual({
      filter: "Pod,Deployment",
      limit: 5,
      dry: true,
    });
  });

  it("is undefined for an empty or blank field: nothing to send", () => {
    expect(parseParamLines("")).toBeUndefined();
    expect(parseParamLines(" \n\t\n")).toBeUndefined();
  });

  it("names the 1-based line of the first mistake, counting blank lines", () => {
    const err = thrown(() => parseParamLines("filter=Pod\n\nnot a pair\nx=1"));
    expect(err.line).toBe(3);
    expect(err.entry).toBe("not a pair");
    expect(err.message).toBe('line 3: "not a pair": expected key=value (e.g. filter=Pod)');
    expect(thrown(() => parseParamLines("a=1\na=2")).line).toBe(2);
  });

  it("refuses a 21st line", () => {
    const lines = Array.from({ length: 21 }, (_, i) => `k${i}=${i}`).join("\n");
    const err = thrown(() => parseParamLines(lines));
    expect(err.line).toBe(21);
    expect(err.reason).toBe("at most 20 parameters");
  });
});
