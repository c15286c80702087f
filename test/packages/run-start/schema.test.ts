import { describe, expect, it } from "vitest";
import { CreateRunSchema, describeIssues } from "../../../packages/run-start/index.ts";

/** The one-line message a refused body gets (400 `invalid_request`), or the parsed body. */
function check(body: unknown): { ok: true; data: unknown } | { ok: false; message: string } {
  const parsed = CreateRunSchema.safeParse(body);
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, message: describeIssues(parsed.error) };
}

const withParams = (params: unknown) => check({ question: "Which pods crash?", params });

describe("CreateRunSchema: params", () => {
  it("is optional, and absent when not sent", () => {
    expect(check({ question: "Hi" })).toEqual({ ok: true, data: { question: "Hi" } });
  });

  it("takes strings, numbers and booleans under names of a letter and up to 63 of A-Za-z0-9_", () => {
    const params = { filter: "Pod,Deployment", limit: 5, ratio: 0.5, dryRun: false, A_1: "" };
    expect(withParams(params)).toEqual({ ok: true, data: { question: "Which pods crash?", params } });
    expect(withParams({ [`a${"b".repeat(63)}`]: 1 }).ok).toBe(true);
  });

  it("takes 20 keys and string values of 1,000 characters, no more", () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(withParams(keys(20)).ok).toBe(true);
    expect(withParams(keys(21))).toEqual({ ok: false, message: "params: params may have at most 20 keys" });
    expect(withParams({ filter: "x".repeat(1000) }).ok).toBe(true);
    expect(withParams({ filter: "x".repeat(1001) })).toEqual({
      ok: false,
      message: "params.filter: params values must be at most 1000 characters",
    });
  });

  it("refuses a key that is not a name, naming the field", () => {
    for (const key of ["1filter", "_filter", "bad-key", "with space", "", `a${"b".repeat(64)}`]) {
      const got = withParams({ [key]: "Pod" });
      expect(got.ok, key).toBe(false);
      if (!got.ok) expect(got.message, key).toMatch(/^params(\.|: ).*params keys must be a letter/);
    }
  });

  it("refuses values that are not a string, a number or a boolean", () => {
    for (const value of [null, { kinds: ["Pod"] }, ["Pod"]]) {
      expect(withParams({ filter: value })).toEqual({
        ok: false,
        message: "params.filter: params values must be a string, a number or a boolean",
      });
    }
  });

  it("refuses params that are not an object", () => {
    for (const params of ["filter=Pod", 3, ["Pod"], null]) {
      expect(withParams(params)).toEqual({
        ok: false,
        message: "params: params must be an object of named values",
      });
    }
  });
});
