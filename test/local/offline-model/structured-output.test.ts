import { evaluate } from "mathjs";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createOfflineModelApp, schemaInstance } from "../../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../../local/stack/serve.ts";
import {
  ANALYSIS_FORMAT_NAME,
  AnalysisSchema,
  AVAILABLE_TOOLS_PREFIX,
  PLAN_FORMAT_NAME,
  PlanSchema,
} from "../../../packages/default-agent/formats.ts";

let server: Served;
let openai: OpenAI;

beforeAll(async () => {
  server = await serveApp(createOfflineModelApp({ tokensPerSecond: 0, testControls: true }), 0, "127.0.0.1");
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "offline", maxRetries: 0 });
});
afterEach(async () => {
  await fetch(`${server.url}/_offline/knobs`, { method: "DELETE" });
});
afterAll(async () => {
  await server?.close();
});

const QUESTION = "What is 17% of 2,340, and what did we discuss last time?";
const PLAN_SYSTEM = `Write a plan for answering the user's request.\n${AVAILABLE_TOOLS_PREFIX}calculator, current_time, memory_search`;

async function analyse(question: string) {
  const out = await openai.chat.completions.parse({
    model: "offline",
    messages: [
      { role: "system", content: "Classify the user's request." },
      { role: "user", content: `Request: ${question}` },
    ],
    response_format: zodResponseFormat(AnalysisSchema, ANALYSIS_FORMAT_NAME),
  });
  const parsed = out.choices[0]?.message.parsed;
  expect(AnalysisSchema.safeParse(parsed).success).toBe(true);
  return AnalysisSchema.parse(parsed);
}

async function plan(user: string, system = PLAN_SYSTEM) {
  const out = await openai.chat.completions.parse({
    model: "offline",
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
    response_format: zodResponseFormat(PlanSchema, PLAN_FORMAT_NAME),
  });
  return PlanSchema.parse(out.choices[0]?.message.parsed);
}

describe("structured outputs: analysis", () => {
  it.each([
    [QUESTION, "calculation", true, ["17%", "2,340"]],
    ["What did we discuss last time?", "recall", true, []],
    ["What time is it?", "lookup", true, []],
    ["Why are SSE streams resumable?", "question", false, ["resumable", "streams", "sse"]],
    ["Write a haiku about Lambda", "task", false, ["lambda", "write", "haiku"]],
    ["hello there", "chat", false, ["hello", "there"]],
  ])("%j → %s", async (question, intent, needsTools, entities) => {
    const a = await analyse(question);
    expect(a.intent).toBe(intent);
    expect(a.needsTools).toBe(needsTools);
    expect(a.entities).toEqual(entities);
    expect(a.summary).not.toContain("\n");
    expect(a.summary.length).toBeGreaterThan(5);
  });

  it("summarises what the tools are for and picks the answer form", async () => {
    expect(await analyse(QUESTION)).toMatchObject({
      summary: "The user wants to calculate 17% of 2,340 and recall earlier work.",
      answerForm: "short",
    });
    expect((await analyse("What is 6 x 7?")).answerForm).toBe("number");
    expect((await analyse("How do retries work?")).answerForm).toBe("explanation");
    expect((await analyse("List three ways to cache")).answerForm).toBe("list");
  });

  it("streams the analysis JSON in small pieces through the SDK's stream helper", async () => {
    const runner = openai.chat.completions.stream({
      model: "offline",
      messages: [{ role: "user", content: `Request: ${QUESTION}` }],
      response_format: zodResponseFormat(AnalysisSchema, ANALYSIS_FORMAT_NAME),
    });
    let chunks = 0;
    runner.on("content.delta", () => {
      chunks += 1;
    });
    const final = await runner.finalChatCompletion();
    expect(chunks).toBeGreaterThan(20);
    expect(final.choices[0]?.message.parsed).toMatchObject({ intent: "calculation", needsTools: true });
  });
});

describe("structured outputs: plan", () => {
  it("plans calculator, then memory_search, then a model step", async () => {
    const { steps } = await plan(`Request: ${QUESTION}\n\nAnalysis: {"intent":"calculation"}`);
    expect(steps.map((s) => [s.kind, s.tool])).toEqual([
      ["tool", "calculator"],
      ["tool", "memory_search"],
      ["model", null],
    ]);
    const calc = JSON.parse(steps[0]?.input ?? "") as { expression: string };
    expect(evaluate(calc.expression)).toBeCloseTo(397.8, 10);
    expect(JSON.parse(steps[1]?.input ?? "")).toEqual({ query: "" });
    expect(steps[2]).toEqual({
      kind: "model",
      tool: null,
      input: null,
      description: "Write the answer from the step results",
    });
  });

  it("uses current_time for time questions and only the tools the prompt lists", async () => {
    const time = await plan("Request: What time is it, and what is 2 + 2?");
    expect(time.steps.map((s) => s.tool)).toEqual(["calculator", "current_time", null]);
    expect(time.steps[1]?.input).toBe("{}");
    const limited = await plan(`Request: ${QUESTION}`, `Plan.\n${AVAILABLE_TOOLS_PREFIX}memory_search`);
    expect(limited.steps.map((s) => s.tool)).toEqual(["memory_search", null]);
    const none = await plan("Request: Why is the sky blue?");
    expect(none.steps).toHaveLength(1);
  });

  it("badPlanNext: the next plans use the unknown tool web_search, then a valid plan comes back", async () => {
    await fetch(`${server.url}/_offline/knobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ badPlanNext: 2 }),
    });
    const first = await plan(`Request: ${QUESTION}`);
    expect(first.steps.map((s) => s.tool)).toEqual(["web_search", null]);
    const rejected = `Request: ${QUESTION}\n\nThe previous plan was rejected: step 1 uses unknown tool "web_search"`;
    const second = await plan(rejected);
    expect(second.steps[0]?.tool).toBe("web_search");
    expect(await (await fetch(`${server.url}/_offline/knobs`)).json()).toMatchObject({ badPlanNext: 0 });
    const third = await plan(rejected);
    expect(third.steps.map((s) => s.tool)).toEqual(["calculator", "memory_search", null]);
  });

  it("reads the request from the message that carries it, even after a repair message", async () => {
    const out = await openai.chat.completions.parse({
      model: "offline",
      messages: [
        { role: "system", content: PLAN_SYSTEM },
        { role: "user", content: "Request: What is 2 + 2?" },
        {
          role: "user",
          content: "Your previous reply was not valid: bad JSON. Reply again with JSON for plan.",
        },
      ],
      response_format: zodResponseFormat(PlanSchema, PLAN_FORMAT_NAME),
    });
    expect(out.choices[0]?.message.parsed?.steps[0]?.input).toBe('{"expression":"2 + 2"}');
  });
});

describe("structured outputs: any other schema", () => {
  const Report = z.object({
    title: z.string(),
    score: z.number().min(3),
    count: z.number().int(),
    done: z.boolean(),
    level: z.enum(["low", "high"]),
    note: z.string().nullable(),
    owner: z.object({ name: z.string(), tags: z.array(z.string()) }),
    items: z.array(z.object({ label: z.string(), weight: z.number() })),
  });

  it("returns a deterministic instance valid against the schema (zod on both ends)", async () => {
    const request = async () =>
      openai.chat.completions.parse({
        model: "offline",
        messages: [{ role: "user", content: "Rate the deploy pipeline" }],
        response_format: zodResponseFormat(Report, "report"),
      });
    const a = await request();
    const b = await request();
    const value = a.choices[0]?.message.parsed;
    expect(Report.safeParse(value).success).toBe(true);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(value).toMatchObject({ score: 3, count: 0, done: false, level: "low", note: null });
    expect(value?.title).toContain("Rate the deploy pipeline");
    expect(value?.items).toHaveLength(1);
    // The same reply validates against the JSON schema as sent (zod's own JSON Schema reader).
    const sent = zodResponseFormat(Report, "report").json_schema.schema as Parameters<
      typeof z.fromJSONSchema
    >[0];
    expect(z.fromJSONSchema(sent).safeParse(value).success).toBe(true);
  });

  it("handles refs, anyOf, const, bounds and formats of a hand-written JSON schema", async () => {
    const schema = {
      type: "object",
      properties: {
        id: { type: "string", format: "uuid" },
        at: { type: "string", format: "date-time" },
        code: { type: "string", minLength: 12, maxLength: 14 },
        kind: { const: "event" },
        n: { type: "integer", exclusiveMinimum: 5, maximum: 10 },
        neg: { type: "number", maximum: -2 },
        pair: { type: "array", items: { $ref: "#/$defs/point" }, minItems: 2 },
        either: { anyOf: [{ type: "number" }, { type: "string" }] },
        maybe: { anyOf: [{ type: "string" }, { type: "null" }] },
      },
      required: ["id", "at", "code", "kind", "n", "neg", "pair", "either", "maybe"],
      additionalProperties: false,
      $defs: { point: { type: "object", properties: { x: { type: "number" } }, required: ["x"] } },
    };
    const out = await openai.chat.completions.create({
      model: "offline",
      messages: [{ role: "user", content: "Make an event" }],
      response_format: { type: "json_schema", json_schema: { name: "event", schema, strict: true } },
    });
    const value: unknown = JSON.parse(out.choices[0]?.message.content ?? "");
    expect(z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value).success).toBe(
      true,
    );
    expect(value).toMatchObject({
      kind: "event",
      n: 6,
      neg: -2,
      either: 0,
      maybe: null,
      pair: [{ x: 0 }, { x: 0 }],
    });
    expect(schemaInstance(schema, { request: "Make an event" })).toEqual(value);
  });

  it("answers json_object with a JSON object", async () => {
    const out = await openai.chat.completions.create({
      model: "offline",
      messages: [{ role: "user", content: "Why are SSE streams resumable?" }],
      response_format: { type: "json_object" },
    });
    expect(JSON.parse(out.choices[0]?.message.content ?? "")).toHaveProperty("answer");
  });
});
