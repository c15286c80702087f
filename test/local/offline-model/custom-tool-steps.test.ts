import type OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { customToolSteps, MAX_PLAN_TOOL_STEPS } from "../../../local/offline-model/custom-tool-steps.ts";
import {
  ANALYSIS_FORMAT_NAME,
  AnalysisSchema,
  AVAILABLE_TOOLS_PREFIX,
  PLAN_FORMAT_NAME,
  PlanSchema,
} from "../../../packages/default-agent/index.ts";
import { serveOfflineModel } from "../../support/offline-model.ts";

/** A custom tool as examples/business-insights defines it: zod input, JSON Schema in the prompt. */
const SalesQuery = z.object({
  groupBy: z.enum(["region", "product", "month"]),
  metric: z.enum(["revenue", "units"]),
  quarter: z.enum(["Q1", "Q2"]).nullish(),
});
interface ListedTool {
  name: string;
  description: string;
  input: z.ZodObject;
}
const SALES: ListedTool = {
  name: "query_sales",
  description: "Total the sales data per region, product or month: revenue (USD) or units, for one quarter.",
  input: SalesQuery,
};
const BUILT_IN: ListedTool[] = [
  { name: "calculator", description: "Evaluate arithmetic.", input: z.object({ expression: z.string() }) },
  {
    name: "current_time",
    description: "The current time.",
    input: z.object({ timezone: z.string().optional() }),
  },
  {
    name: "memory_search",
    description: "Search the project's memory.",
    input: z.object({ query: z.string(), limit: z.number().int().optional() }),
  },
];

/** A planning prompt in the built-in agent's format: the tools line, then one line per tool with its schema. */
function planSystem(tools: readonly ListedTool[], listed = tools.map((t) => t.name)): string {
  return [
    "Write a plan for answering the user's request. Use at most 8 ordered steps.",
    `${AVAILABLE_TOOLS_PREFIX}${listed.join(", ")}`,
    ...tools.map(
      (t) => `- ${t.name}: ${t.description} Input schema: ${JSON.stringify(z.toJSONSchema(t.input))}`,
    ),
  ].join("\n");
}

const model = serveOfflineModel();

async function plan(user: string, system = planSystem([...BUILT_IN, SALES])) {
  const out = await model.openai.chat.completions.parse({
    model: "offline",
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    response_format: zodResponseFormat(PlanSchema, PLAN_FORMAT_NAME),
  });
  return PlanSchema.parse(out.choices[0]?.message.parsed).steps;
}

describe("plans: a step for a matched custom tool", () => {
  it("adds the custom tool step after the built-in ones, with input valid for its schema", async () => {
    const steps = await plan("Request: Which region grew the most from Q1 to Q2, and what is 2 + 2?");
    expect(steps.map((s) => [s.kind, s.tool])).toEqual([
      ["tool", "calculator"],
      ["tool", "query_sales"],
      ["model", null],
    ]);
    const input: unknown = JSON.parse(steps[1]?.input ?? "");
    expect(SalesQuery.safeParse(input).success).toBe(true);
    expect(input).toEqual({ groupBy: "region", metric: "revenue", quarter: "Q1" });
    expect(steps[1]?.description).toMatch(/^Call query_sales \(Total the sales data/);
  });

  it("reads the request's words into the input (enum members it mentions)", async () => {
    const steps = await plan("Request: How many units per product were sold in Q2?\n\nAnalysis: {}");
    expect(JSON.parse(steps[0]?.input ?? "")).toEqual({ groupBy: "product", metric: "units", quarter: "Q2" });
  });

  it("adds no step when the request does not match the tool, or the prompt gives no schema for it", async () => {
    expect((await plan("Request: What time is it?")).map((s) => s.tool)).toEqual(["current_time", null]);
    const unlisted = planSystem(BUILT_IN, ["calculator", "query_sales"]);
    expect((await plan("Request: Sales per region?", unlisted)).map((s) => s.tool)).toEqual([null]);
  });

  it("leaves out a custom tool whose step the previous plan's rejection names", async () => {
    const request = "Request: Sales per region?";
    const refused = await plan(
      `${request}\n\nThe previous plan was rejected: step 1: invalid input for query_sales (quarter: bad)`,
    );
    expect(refused.map((s) => s.tool)).toEqual([null]);
    const unknown = await plan(
      `${request}\n\nThe previous plan was rejected: step 1 uses an unknown tool "web_search" (available: calculator, query_sales)`,
    );
    expect(unknown.map((s) => s.tool)).toEqual(["query_sales", null]);
  });

  it(`keeps a plan within ${MAX_PLAN_TOOL_STEPS} tool steps, built-in ones first`, async () => {
    const reports = ["daily", "weekly", "monthly", "yearly"].map((p) => ({
      name: `${p}_report`,
      description: "A sales report.",
      input: z.object({ region: z.string() }),
    }));
    const steps = await plan(
      "Request: What is 2 + 2, what time is it, what did we discuss last time, and the sales?",
      planSystem([...BUILT_IN, ...reports]),
    );
    expect(steps.map((s) => s.tool)).toEqual([
      "calculator",
      "memory_search",
      "current_time",
      "daily_report",
      "weekly_report",
      null,
    ]);
  });

  it("lists the custom step in a plan asked for as text", async () => {
    const out = await model.openai.chat.completions.create({
      model: "offline",
      messages: [
        { role: "system", content: planSystem([...BUILT_IN, SALES]) },
        { role: "user", content: "Request: Revenue per month?" },
      ],
    });
    expect(out.choices[0]?.message.content).toContain(
      '1. Call query_sales (Total the sales data per region, product or month: revenue (USD) or units, for one quarter.) (query_sales {"groupBy":"month","metric":"revenue","quarter":null})',
    );
  });

  it("customToolSteps: none without room, none for a tool without parameters", () => {
    const tool = { name: "query_sales", description: "sales", parameters: { type: "object" } };
    expect(customToolSteps("sales", [tool], 0)).toEqual([]);
    expect(customToolSteps("sales", [{ name: "query_sales" }], 3)).toEqual([]);
    expect(customToolSteps("sales", [tool], 3)).toEqual([
      { kind: "tool", tool: "query_sales", input: "{}", description: "Call query_sales (sales)" },
    ]);
  });
});

describe("analysis: needsTools for a matched custom tool", () => {
  async function analyse(system: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) {
    const out = await model.openai.chat.completions.parse({
      model: "offline",
      messages: [
        { role: "system", content: system },
        { role: "user", content: "Request: Which region sold the most?" },
      ],
      response_format: zodResponseFormat(AnalysisSchema, ANALYSIS_FORMAT_NAME),
      ...extra,
    });
    return AnalysisSchema.parse(out.choices[0]?.message.parsed);
  }

  it("is true when the prompt lists a tool the request matches, or the request offers one", async () => {
    const listed = await analyse(`Classify the user's request.\n${planSystem([SALES])}`);
    expect(listed).toMatchObject({ needsTools: true, summary: "The user wants to use query_sales." });
    const offered = await analyse("Classify the user's request.", {
      tools: [
        {
          type: "function",
          function: {
            name: SALES.name,
            description: SALES.description,
            parameters: z.toJSONSchema(SalesQuery),
            strict: true,
          },
        },
      ],
      tool_choice: "none",
    });
    expect(offered.needsTools).toBe(true);
  });

  it("stays false without tools, as before", async () => {
    expect(await analyse("Classify the user's request.")).toMatchObject({
      needsTools: false,
      intent: "question",
    });
  });
});
