import { describe, expect, it } from "vitest";
import { z } from "zod";
import { toolFingerprint } from "../../../../packages/agent/tools/tool-fingerprint.ts";

const base = {
  name: "score",
  description: "Score a text.",
  timeoutMs: 1000,
  input: z.object({ text: z.string() }),
  run: (input: { text: string }) => input.text.length,
};

describe("toolFingerprint", () => {
  it("is the same for the same definition, evaluated twice", () => {
    const again = {
      ...base,
      input: z.object({ text: z.string() }),
      run: (input: { text: string }) => input.text.length,
    };
    expect(toolFingerprint(again)).toEqual(toolFingerprint(base));
  });

  it("changes its shape with the name, description, time limit or input schema, and its code with run's text", () => {
    const shape = toolFingerprint(base).shape;
    expect(toolFingerprint({ ...base, name: "other" }).shape).not.toBe(shape);
    expect(toolFingerprint({ ...base, description: "Other." }).shape).not.toBe(shape);
    expect(toolFingerprint({ ...base, timeoutMs: 2000 }).shape).not.toBe(shape);
    expect(toolFingerprint({ ...base, input: z.object({ text: z.string().max(10) }) }).shape).not.toBe(shape);
    const code = toolFingerprint({ ...base, run: (input: { text: string }) => input.text.length * 2 });
    expect(code.shape).toBe(shape);
    expect(code.code).not.toBe(toolFingerprint(base).code);
  });

  it("has one loader fingerprint per thread (what the module's own code looks like here)", () => {
    expect(toolFingerprint({ ...base, name: "x" }).loader).toBe(toolFingerprint(base).loader);
    expect(toolFingerprint(base).loader).toMatch(/^[0-9a-f]{64}$/);
  });
});
