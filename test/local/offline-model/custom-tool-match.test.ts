import type OpenAI from "openai";
import { zodFunction } from "openai/helpers/zod";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  MAX_CUSTOM_TOOLS,
  MAX_MATCHED_TOOLS,
  matchCustomTools,
  stem,
  toolWords,
} from "../../../local/offline-model/custom-tool-match.ts";
import { STEP_RESULTS_HEADER } from "../../../packages/default-agent/index.ts";
import { serveOfflineModel } from "../../support/offline-model.ts";

/** The custom tool of these tests: sales figures, with an enum, a free string and a bounded integer. */
const SALES_PARAMETERS = {
  type: "object",
  properties: {
    region: { type: "string", enum: ["north", "south"] },
    quarter: { type: "string" },
    limit: { type: "integer", minimum: 1, maximum: 10 },
  },
  required: ["region", "quarter", "limit"],
  additionalProperties: false,
};
const querySales = {
  type: "function" as const,
  function: {
    name: "query_sales",
    description: "Sales figures per region and quarter.",
    parameters: SALES_PARAMETERS,
  },
};
const SalesArgs = z.fromJSONSchema(SALES_PARAMETERS as Parameters<typeof z.fromJSONSchema>[0]);
const tools = [
  zodFunction({ name: "calculator", parameters: z.object({ expression: z.string() }) }),
  zodFunction({ name: "current_time", parameters: z.object({ timezone: z.string().nullable() }) }),
  querySales,
];
const NORTH = "What was the revenue in the north region for Q3?";

const model = serveOfflineModel();

const user = (content: string): ChatCompletionMessageParam => ({ role: "user", content });
const create = (
  messages: ChatCompletionMessageParam[],
  extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {},
) => model.openai.chat.completions.create({ model: "offline", messages, tools, ...extra });
const callsOf = (out: OpenAI.ChatCompletion) =>
  (out.choices[0]?.message.tool_calls ?? []).flatMap((c) =>
    c.type === "function"
      ? [{ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) }]
      : [],
  );
const tool = (name: string, description?: string) => ({ name, ...(description ? { description } : {}) });
const names = (request: string, offered: { name: string; description?: string }[]) =>
  matchCustomTools(request, offered).map((t) => t.name);

describe("matchCustomTools: the rule", () => {
  const sales = tool("query_sales", "Sales figures per region and quarter.");

  it("matches on a word of the description or of the name, plurals included", () => {
    expect(names(NORTH, [sales])).toEqual(["query_sales"]);
    expect(names("How are our sales doing?", [sales])).toEqual(["query_sales"]);
    expect(names("Compare the regions", [sales])).toEqual(["query_sales"]);
    expect(names("Which quarters were best?", [sales])).toEqual(["query_sales"]);
  });

  it("does not match a request that shares no word with the tool", () => {
    expect(names("Why are SSE streams resumable?", [sales])).toEqual([]);
    expect(names("What time is it in Paris?", [sales])).toEqual([]);
    expect(names("", [sales])).toEqual([]);
  });

  it("ignores stop words and generic words, but a literal name always matches", () => {
    const getData = tool("get_data", "Get the data and return the result for any input.");
    expect(names("Get me the data, and return any result", [getData])).toEqual([]);
    expect(names("Please call get_data now", [getData])).toEqual(["get_data"]);
    expect(names("run GET DATA", [getData])).toEqual(["get_data"]);
    expect(names("try getData", [getData])).toEqual(["get_data"]);
    expect(toolWords(getData).size).toBe(0);
  });

  it("never matches a built-in tool: those follow the request's needs", () => {
    expect(
      names("use the calculator and memory_search", [tool("calculator"), tool("memory_search")]),
    ).toEqual([]);
  });

  it("keeps offered order and caps the tools looked at and matched", () => {
    const many = Array.from({ length: 100 }, (_, i) => tool(`report_${i}`, "Weekly report"));
    expect(names("the weekly report", many)).toEqual(
      Array.from({ length: MAX_MATCHED_TOOLS }, (_, i) => `report_${i}`),
    );
    const late = [...Array.from({ length: MAX_CUSTOM_TOOLS }, (_, i) => tool(`t${i}`)), tool("inventory")];
    expect(names("inventory please", late)).toEqual([]);
    expect(names("inventory please", late.slice(1))).toEqual(["inventory"]);
  });

  it("reads only the first words of a huge description", () => {
    const long = tool("lookup_x", `${"alpha ".repeat(5000)} zebra`);
    expect(names("zebra", [long])).toEqual([]);
    expect(names("alpha", [long])).toEqual(["lookup_x"]);
  });

  it("stems plurals lightly", () => {
    expect(["regions", "queries", "sales", "status", "analysis", "boss"].map(stem)).toEqual([
      "region",
      "query",
      "sale",
      "status",
      "analysis",
      "boss",
    ]);
  });
});

describe("chat completions call a matched custom tool", () => {
  it("calls it with arguments that validate and reflect the request", async () => {
    const out = await create([user(NORTH)]);
    expect(out.choices[0]?.finish_reason).toBe("tool_calls");
    const calls = callsOf(out);
    expect(calls.map((c) => c.name)).toEqual(["query_sales"]);
    expect(SalesArgs.safeParse(calls[0]?.args).success).toBe(true);
    expect(calls[0]?.args).toMatchObject({ region: "north", limit: 1 });
  });

  it("calls it alongside a built-in tool, built-ins first", async () => {
    const out = await create([user("What is 17% of 2,340, and the top 5 sales in the South?")]);
    const calls = callsOf(out);
    expect(calls.map((c) => [c.id, c.name])).toEqual([
      ["call_1", "calculator"],
      ["call_2", "query_sales"],
    ]);
    expect(calls[1]?.args).toMatchObject({ region: "south", limit: 5 });
    expect(SalesArgs.safeParse(calls[1]?.args).success).toBe(true);
  });

  it("does not call it when the request does not mention it", async () => {
    expect(callsOf(await create([user("What time is it in Paris?")])).map((c) => c.name)).toEqual([
      "current_time",
    ]);
    const plain = await create([user("Why are SSE streams resumable?")]);
    expect(plain.choices[0]?.finish_reason).toBe("stop");
    expect(plain.choices[0]?.message.tool_calls ?? []).toEqual([]);
  });

  it("does not call it again once its result is in the conversation", async () => {
    const args = JSON.stringify({ region: "north", quarter: "Q3", limit: 1 });
    const answered = await create([
      user(NORTH),
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "query_sales", arguments: args } }],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"north":1200}' },
    ]);
    expect(answered.choices[0]?.finish_reason).toBe("stop");
    expect(answered.choices[0]?.message.content).toContain('query_sales returned: {"north":1200}.');

    const stepped = await create([
      user(`Request: ${NORTH}\n\n${STEP_RESULTS_HEADER}\n- query_sales(${args}) → {"north":1200}`),
    ]);
    expect(stepped.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(stepped.choices[0]?.message.content).toContain("query_sales returned:");
  });

  it("honours tool_choice none and parallel_tool_calls false", async () => {
    const none = await create([user(NORTH)], { tool_choice: "none" });
    expect(none.choices[0]?.message.tool_calls ?? []).toEqual([]);
    const single = await create([user("What is 2 + 2 in the north region?")], { parallel_tool_calls: false });
    expect(callsOf(single).map((c) => c.name)).toEqual(["calculator"]);
  });

  it("streams the same call in OpenAI's chunk format", async () => {
    const whole = callsOf(await create([user(NORTH)]));
    const runner = model.openai.chat.completions.stream({ model: "offline", messages: [user(NORTH)], tools });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    const streamed = (final.choices[0]?.message.tool_calls ?? []).flatMap((c) =>
      c.type === "function"
        ? [{ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) }]
        : [],
    );
    expect(streamed).toEqual(whole);
    expect(streamed[0]?.args).toMatchObject({ region: "north" });
  });
});
