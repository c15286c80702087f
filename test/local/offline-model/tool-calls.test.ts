import { evaluate } from "mathjs";
import OpenAI from "openai";
import { zodFunction } from "openai/helpers/zod";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { STEP_RESULTS_HEADER } from "../../../packages/default-agent/formats.ts";
import { serveOfflineModel } from "../../support/offline-model.ts";

const model = serveOfflineModel();

const QUESTION = "What is 17% of 2,340, and what did we discuss last time?";
/** The agent's built-in tools as strict OpenAI function tools (nullable optional fields, as strict mode wants). */
const tools = [
  zodFunction({ name: "calculator", parameters: z.object({ expression: z.string() }) }),
  zodFunction({
    name: "memory_search",
    parameters: z.object({ query: z.string(), limit: z.number().int().nullable() }),
  }),
  zodFunction({ name: "current_time", parameters: z.object({ timezone: z.string().nullable() }) }),
  {
    type: "function" as const,
    function: {
      name: "http_get",
      parameters: {
        type: "object",
        properties: { url: { type: "string", format: "uri" } },
        required: ["url"],
      },
    },
  },
];
const system: ChatCompletionMessageParam = { role: "system", content: "Answer the user's request." };
const user = (content: string): ChatCompletionMessageParam => ({ role: "user", content });

const create = (
  messages: ChatCompletionMessageParam[],
  extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {},
) => model.openai.chat.completions.create({ model: "offline", messages, tools, ...extra });

const callsOf = (out: OpenAI.ChatCompletion) =>
  (out.choices[0]?.message.tool_calls ?? []).map((c) =>
    c.type === "function"
      ? { id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) as unknown }
      : c,
  );

describe("tool calls (non-streaming)", () => {
  it("calls calculator and memory_search for arithmetic and earlier work", async () => {
    const out = await create([system, user(`Request: ${QUESTION}`)]);
    expect(out.choices[0]?.finish_reason).toBe("tool_calls");
    expect(out.choices[0]?.message.content).toBeNull();
    const calls = callsOf(out);
    expect(calls).toEqual([
      { id: "call_1", name: "calculator", args: { expression: "17 / 100 * 2340" } },
      { id: "call_2", name: "memory_search", args: { query: "", limit: null } },
    ]);
    expect(evaluate("17 / 100 * 2340")).toBeCloseTo(397.8, 10);
    expect(out.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("calls current_time for time questions, and nothing for a plain question", async () => {
    expect(callsOf(await create([user("What time is it in Paris?")]))).toEqual([
      { id: "call_1", name: "current_time", args: { timezone: null } },
    ]);
    const plain = await create([user("Why are SSE streams resumable?")]);
    expect(plain.choices[0]?.finish_reason).toBe("stop");
    expect(plain.choices[0]?.message.tool_calls ?? []).toEqual([]);
  });

  it("asks only for results not yet in the conversation, then answers from the tool messages", async () => {
    const first = [system, user(`Request: ${QUESTION}`)];
    const calculated: ChatCompletionMessageParam[] = [
      ...first,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "calculator", arguments: '{"expression":"17 / 100 * 2340"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"expression":"17 / 100 * 2340","result":"397.8"}' },
    ];
    const second = await create(calculated);
    expect(callsOf(second)).toEqual([
      { id: "call_2", name: "memory_search", args: { query: "", limit: null } },
    ]);

    const searched: ChatCompletionMessageParam[] = [
      ...calculated,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_2", type: "function", function: { name: "memory_search", arguments: '{"query":""}' } },
        ],
      },
      {
        role: "tool",
        tool_call_id: "call_2",
        content: '{"matches":[{"summary":"Asked: \\"How do retries work?\\". Answer: They back off."}]}',
      },
    ];
    const answer = await create(searched);
    expect(answer.choices[0]?.finish_reason).toBe("stop");
    expect(answer.choices[0]?.message.content).toMatch(
      /^17% of 2,340 is 397\.8\. Last time: Asked: "How do retries work\?"\. Answer: They back off\./,
    );
  });

  it("reports a failed tool from its tool message", async () => {
    const out = await create([
      user("What is 1 / 0 + x?"),
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "calculator", arguments: '{"expression":"1 / 0"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"ok":false,"error":{"message":"cannot evaluate"}}' },
    ]);
    expect(out.choices[0]?.message.content).toMatch(
      /^The calculator could not evaluate 1 \/ 0: cannot evaluate\./,
    );
  });

  it("makes no call when the result is already under Step results:, or with tool_choice none", async () => {
    const withSteps = user(
      `Request: ${QUESTION}\n\n${STEP_RESULTS_HEADER}\n- calculator({"expression":"17 / 100 * 2340"}) → {"result":"397.8"}\n- memory_search({"query":""}) → {"matches":[]}`,
    );
    const out = await create([system, withSteps]);
    expect(out.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(out.choices[0]?.message.content).toMatch(
      /^17% of 2,340 is 397\.8\. I found nothing about earlier work/,
    );

    const partly = user(
      `Request: ${QUESTION}\n\n${STEP_RESULTS_HEADER}\n- calculator({"expression":"17 / 100 * 2340"}) → {"result":"397.8"}`,
    );
    expect(callsOf(await create([system, partly])).map((c) => "name" in c && c.name)).toEqual([
      "memory_search",
    ]);

    const none = await create([system, user(`Request: ${QUESTION}`)], { tool_choice: "none" });
    expect(none.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(none.choices[0]?.message.content).toContain("without the calculator tool");
  });

  it("honours tool_choice required, a named function and parallel_tool_calls false", async () => {
    const required = await create([user("Why is the sky blue?")], { tool_choice: "required" });
    expect(callsOf(required)).toMatchObject([{ name: "calculator" }]);

    const named = await create([user(`Request: ${QUESTION}`)], {
      tool_choice: { type: "function", function: { name: "http_get" } },
    });
    expect(callsOf(named)).toEqual([
      { id: "call_1", name: "http_get", args: { url: "https://example.com/" } },
    ]);

    const single = await create([user(`Request: ${QUESTION}`)], { parallel_tool_calls: false });
    expect(callsOf(single).map((c) => "name" in c && c.name)).toEqual(["calculator"]);

    await expect(
      create([user("hi")], { tool_choice: { type: "function", function: { name: "web_search" } } }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("only calls tools that are offered", async () => {
    const out = await create([user(`Request: ${QUESTION}`)], { tools: tools.slice(2) });
    expect(out.choices[0]?.message.tool_calls ?? []).toEqual([]);
  });
});

describe("tool calls (streaming)", () => {
  it("streams tool calls in OpenAI's chunk format, assembled by the SDK's stream helper", async () => {
    const runner = model.openai.chat.completions.stream({
      model: "offline",
      messages: [system, user(`Request: ${QUESTION}`)],
      tools,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    runner.on("chunk", (c) => chunks.push(c));
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(callsOf(final)).toEqual([
      { id: "call_1", name: "calculator", args: { expression: "17 / 100 * 2340" } },
      { id: "call_2", name: "memory_search", args: { query: "", limit: null } },
    ]);
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);

    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const firsts = deltas.filter((d) => d.id);
    expect(firsts).toEqual([
      { index: 0, id: "call_1", type: "function", function: { name: "calculator", arguments: "" } },
      { index: 1, id: "call_2", type: "function", function: { name: "memory_search", arguments: "" } },
    ]);
    const fragments = deltas.filter((d) => !d.id);
    expect(fragments.length).toBeGreaterThan(6);
    for (const f of fragments) expect(Object.keys(f).sort()).toEqual(["function", "index"]);
    expect(
      fragments
        .filter((f) => f.index === 0)
        .map((f) => f.function?.arguments)
        .join(""),
    ).toBe('{"expression":"17 / 100 * 2340"}');
  });

  it("streams text when no tool is needed", async () => {
    const runner = model.openai.chat.completions.stream({
      model: "offline",
      messages: [system, user("Why are SSE streams resumable?")],
      tools,
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(final.choices[0]?.message.content).toContain("Why are SSE streams resumable?");
  });
});
