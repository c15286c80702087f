import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createOfflineModelApp,
  detectToolNeeds,
  findArithmetic,
  normaliseExpression,
  OFFLINE_MODEL_ID,
  tokenize,
} from "../../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../../local/stack/serve.ts";

let server: Served;
let openai: OpenAI;
const messages = [
  { role: "system" as const, content: "Answer the user's request." },
  { role: "user" as const, content: "Why are SSE streams resumable?" },
];

beforeAll(async () => {
  server = await serveApp(createOfflineModelApp({ tokensPerSecond: 0 }), 0, "127.0.0.1");
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "offline", maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
});

const ask = async (system: string, user: string) =>
  (
    await openai.chat.completions.create({
      model: "offline",
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
    })
  ).choices[0]?.message.content ?? "";

describe("the embedded offline model, through the openai SDK", () => {
  it("answers deterministically and names itself", async () => {
    const a = await openai.chat.completions.create({ model: "offline", messages });
    const b = await openai.chat.completions.create({ model: "offline", messages });
    expect(a.model).toBe(OFFLINE_MODEL_ID);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(a.choices[0]?.message.content).toContain("Why are SSE streams resumable?");
    expect(a.choices[0]?.message.content).toContain("OPENAI_BASE_URL");
    expect(a.usage?.completion_tokens).toBe(tokenize(a.choices[0]?.message.content ?? "").length);
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual([OFFLINE_MODEL_ID]);
  });

  it("streams the same text token by token, then usage", async () => {
    const whole = await openai.chat.completions.create({ model: "offline", messages });
    const stream = await openai.chat.completions.create({
      model: "offline",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content;
      if (piece) pieces.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.join("")).toBe(whole.choices[0]?.message.content);
    expect(usage?.completion_tokens).toBe(pieces.length);
  });

  it("stops at max_tokens with finish_reason length", async () => {
    const out = await openai.chat.completions.create({ model: "offline", messages, max_tokens: 3 });
    expect(out.choices[0]?.finish_reason).toBe("length");
    expect(out.usage?.completion_tokens).toBe(3);
  });

  it("keeps the text forms for callers without response_format: Classify, Write a plan, Summarize", async () => {
    expect(await ask("Classify the user's request.", "How do retries work?")).toMatch(
      /^question; retries, work$/,
    );
    expect(await ask("Classify the user's request.", "What is 2 + 2?")).toMatch(/^calculation; /);
    const plan = await ask(
      "Write a plan for answering the user's request.\nAvailable tools: calculator, memory_search",
      "Request: What is 17% of 2,340, and what did we discuss last time?",
    );
    const lines = plan.split("\n");
    expect(lines.every((line, i) => line.startsWith(`${i + 1}. `))).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("calculator");
    expect(lines[1]).toContain("memory_search");
    const summary = await ask(
      "Summarize this exchange in one sentence that will help future runs.",
      "Request: What is 17% of 2,340, and what did we discuss last time?\nAnswer: 17% of 2,340 is 397.8. Last time: nothing.",
    );
    expect(summary).toBe(
      'Asked: "What is 17% of 2,340, and what did we discuss last time?". Answer: 17% of 2,340 is 397.8.',
    );
  });

  it("clips long questions and skips the echo sentence in summaries", async () => {
    const long = `Why ${"is this so very long ".repeat(10)}?`;
    const answer = await ask("Answer the user's request.", long);
    const summary = await ask("Summarize this exchange.", `Request: ${long}\nAnswer: ${answer}`);
    expect(summary).toMatch(/^Asked: ".{99}…"\. Answer: This is a question about /);
    expect(summary).not.toContain("You asked");
  });

  it("answers from step results and from the memories in the prompt", async () => {
    const withResults = await ask(
      "Answer the user's request using the step results.",
      [
        "Request: What is 17% of 2,340, and what did we discuss last time? And what time is it?",
        "",
        "Step results:",
        '- calculator({"expression":"17 / 100 * 2340"}) → {"expression":"17 / 100 * 2340","result":"397.8"}',
        '- memory_search({"query":""}) → {"matches":[{"ts":"t","runId":"r","summary":"Asked: \\"How do retries work?\\". Answer: They back off."}]}',
        "- current_time({}) → error: the clock is broken",
      ].join("\n"),
    );
    expect(withResults).toMatch(
      /^17% of 2,340 is 397\.8\. Last time: Asked: "How do retries work\?"\. Answer: They back off\. /,
    );
    expect(withResults).toContain("The clock failed: the clock is broken.");
    expect(withResults).not.toContain("You asked");

    const none = await ask(
      "Answer.",
      'Request: What did we discuss last time?\n\nStep results:\n- memory_search({"query":""}) → {"matches":[]}',
    );
    expect(none).toMatch(/^I found nothing about earlier work/);

    const fromPrompt = await ask(
      "Answer.",
      "Request: What did we discuss before?\n\nWhat earlier runs of this project remembered:\n- Asked about DynamoDB TTL.\n- Older.",
    );
    expect(fromPrompt).toMatch(/^Last time: Asked about DynamoDB TTL\. \(2 memories found\)/);

    const noTool = await ask("Answer.", "What is 6 x 7?");
    expect(noTool).toMatch(/^I cannot work out 6 x 7 without the calculator tool\./);
  });

  it("refuses a malformed request with 400 and says what is wrong", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("messages");
  });
});

describe("needs and expressions (pure functions)", () => {
  it.each([
    ["What is 17% of 2,340?", "17% of 2,340", "17 / 100 * 2340"],
    ["what's 3 x 4?", "3 x 4", "3 * 4"],
    ["compute (3 + 4) * 2 please", "(3 + 4) * 2", "(3 + 4) * 2"],
    ["2 * -3 + 1", "2 * -3 + 1", "2 * -3 + 1"],
    ["what is 10 divided by 4", "10 divided by 4", "10 / 4"],
    ["2 to the power of 8", "2 to the power of 8", "2 ^ 8"],
    ["the square root of 144", "square root of 144", "sqrt(144)"],
    ["1,234,567 + 1", "1,234,567 + 1", "1234567 + 1"],
    ["what is 2340 * 17%", "2340 * 17%", "2340 * (17 / 100)"],
    ["6 × 7 ÷ 2", "6 × 7 ÷ 2", "6 * 7 / 2"],
    ["What is 5 + foo(3)?", "5 + foo(3)", "5 + foo(3)"],
    ["is sqrt(2)^2 exactly 2?", "sqrt(2)^2", "sqrt(2) ^ 2"],
    ["what is sqrt(16)", "sqrt(16)", "sqrt(16)"],
  ])("finds %j as %j → %j", (request, text, expression) => {
    expect(findArithmetic(request)).toEqual({ text, expression });
  });

  it("ignores dates and plain numbers", () => {
    expect(findArithmetic("What happened on 2024-05-01?")).toBeUndefined();
    expect(findArithmetic("I have 3 cats")).toBeUndefined();
  });

  it("normalises operator words and thousands separators", () => {
    expect(normaliseExpression("1,000 plus 2 multiplied by 3")).toBe("1000 + 2 * 3");
    expect(normaliseExpression("5 ** 2")).toBe("5 ^ 2");
  });

  it("detects recall and time needs", () => {
    expect(detectToolNeeds("What did we discuss last time?")).toEqual({ recall: true, time: false });
    expect(detectToolNeeds("Remember the deploy?").recall).toBe(true);
    expect(detectToolNeeds("What time is it in Paris?")).toEqual({ recall: false, time: true });
    expect(detectToolNeeds("What's today's date?").time).toBe(true);
    expect(detectToolNeeds("Tell me a joke")).toEqual({ recall: false, time: false });
  });
});
