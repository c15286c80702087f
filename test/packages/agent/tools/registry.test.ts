import { describe, expect, it } from "vitest";
import { z } from "zod";
import { calculatorTool, MAX_EXPRESSION_CHARS } from "../../../../packages/agent/tools/calculator.ts";
import type { HttpGetOptions } from "../../../../packages/agent/tools/http-get.ts";
import {
  createDefaultTools,
  DEFAULT_TOOL_TIMEOUT_MS,
  defineTool,
  inputJsonSchema,
  ToolRegistry,
} from "../../../../packages/agent/tools/index.ts";

const NO_HTTP: HttpGetOptions = { allowlist: [], timeoutMs: 1000, maxBytes: 1000 };

describe("ToolRegistry and defineTool", () => {
  const echo = defineTool({
    name: "echo",
    description: "Echoes its text.",
    input: z.object({ text: z.string(), times: z.number().int().nullable().default(null) }),
    run: async ({ text }) => text,
  });

  it("registers, gets and lists tools in registration order", () => {
    const registry = new ToolRegistry().register(echo).register(calculatorTool);
    expect(registry.get("echo")).toBe(echo);
    expect(registry.get("nope")).toBeUndefined();
    expect(registry.list().map((t) => t.name)).toEqual(["echo", "calculator"]);
  });

  it("throws when a name is registered twice", () => {
    const registry = new ToolRegistry().register(echo);
    expect(() => registry.register(echo)).toThrow(/echo is already registered/);
    expect(() => registry.register({ ...calculatorTool, name: "echo" })).toThrow(/already registered/);
  });

  it("gives the OpenAI function-tool format with a JSON Schema object for parameters", () => {
    const [tool] = new ToolRegistry().register(echo).toOpenAiTools();
    expect(tool).toEqual({
      type: "function",
      function: {
        name: "echo",
        description: "Echoes its text.",
        parameters: {
          type: "object",
          properties: {
            text: { type: "string" },
            times: expect.objectContaining({ anyOf: expect.any(Array) }),
          },
          required: ["text", "times"],
          additionalProperties: false,
        },
      },
    });
  });

  it("describes every default tool with properties matching its zod fields and no $schema", () => {
    const registry = createDefaultTools({
      httpGet: { allowlist: ["https://example.com/"], timeoutMs: 1000, maxBytes: 1000 },
    });
    const openAi = registry.toOpenAiTools();
    expect(openAi.map((t) => t.function.name)).toEqual(registry.list().map((t) => t.name));
    for (const [i, t] of openAi.entries()) {
      const source = registry.list()[i];
      if (!source) throw new Error("missing tool");
      expect(t.type).toBe("function");
      expect(t.function.description).toBe(source.description);
      const params = t.function.parameters;
      expect(params).not.toHaveProperty("$schema");
      expect(params.type).toBe("object");
      expect(Object.keys(params.properties as object).sort()).toEqual(Object.keys(source.input.shape).sort());
      expect(params).toEqual(inputJsonSchema(source));
    }
    const calcParams = openAi.find((t) => t.function.name === "calculator")?.function.parameters;
    expect(calcParams?.properties).toEqual({
      expression: { type: "string", minLength: 1, maxLength: MAX_EXPRESSION_CHARS },
    });
  });

  it("createDefaultTools without an allowlist has exactly calculator, current_time, memory_search", () => {
    const names = createDefaultTools({ httpGet: NO_HTTP })
      .list()
      .map((t) => t.name);
    expect(names).toEqual(["calculator", "current_time", "memory_search"]);
  });

  it("createDefaultTools with an allowlist also has http_get", () => {
    const registry = createDefaultTools({
      httpGet: { allowlist: ["https://api.example.com/"], timeoutMs: 1234, maxBytes: 1000 },
    });
    expect(registry.list().map((t) => t.name)).toEqual([
      "calculator",
      "current_time",
      "memory_search",
      "http_get",
    ]);
    expect(registry.get("http_get")?.timeoutMs).toBe(1234);
  });

  it("warms a tool when it registers it (a worker tool starts a worker and imports its module then)", () => {
    const warmed: string[] = [];
    const worker = { ...calculatorTool, name: "warmable", warm: () => warmed.push("warmable") };
    new ToolRegistry().register(echo).register(worker);
    expect(warmed).toEqual(["warmable"]);
  });

  it("createDefaultTools gives a fresh registry each time", () => {
    const a = createDefaultTools({ httpGet: NO_HTTP });
    expect(() => a.register(echo)).not.toThrow();
    expect(createDefaultTools({ httpGet: NO_HTTP }).get("echo")).toBeUndefined();
  });

  it.each(["", "Calc", "1calc", "_calc", "my-tool", "my tool", "tool.name", `a${"b".repeat(64)}`])(
    "defineTool rejects the bad name %j",
    (name) => {
      expect(() =>
        defineTool({ name, description: "x", input: z.object({}), run: async () => null }),
      ).toThrow(/invalid tool name/);
    },
  );

  it("defineTool accepts a valid name and defaults the time limit", () => {
    const name = `a${"b".repeat(63)}`;
    const tool = defineTool({ name, description: "x", input: z.object({}), run: async () => null });
    expect(tool.name).toBe(name);
    expect(tool.timeoutMs).toBe(DEFAULT_TOOL_TIMEOUT_MS);
    expect(
      defineTool({ name: "t_1", description: "x", input: z.object({}), timeoutMs: 7, run: async () => 1 })
        .timeoutMs,
    ).toBe(7);
  });
});
