import { readFile } from "node:fs/promises";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSales, querySales, totalSales } from "../../../examples/business-insights/sales.ts";
import { createOfflineModelApp } from "../../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../../local/stack/serve.ts";
import { checkAgent } from "../../../packages/agent/index.ts";
import { createDefaultAgent, DEFAULT_PROMPTS, defaultAgent } from "../../../packages/default-agent/index.ts";
import type { RunEvent } from "../../../packages/events/index.ts";
import { readSse } from "../../support/sse.ts";
import { startRun, startTestStack } from "../../support/stack.ts";

describe("the built-in agent's definition", () => {
  const agent = checkAgent(defaultAgent);

  it("is an ordinary definition: six stages in order, weights tiling 100, validation looping to planning twice", () => {
    expect(agent.name).toBe("default");
    expect(agent.stages.map((s) => s.name)).toEqual([
      "context",
      "analyzing",
      "planning",
      "validation",
      "execution",
      "memory",
    ]);
    expect(agent.stages.reduce((sum, s) => sum + s.weight, 0)).toBe(100);
    expect(agent.stage("validation")?.loop).toEqual({
      to: "planning",
      max: 2,
      exhausted: {
        code: "plan_invalid",
        message: "The agent could not produce a valid plan after two repairs.",
      },
    });
    expect(agent.stages.map((s) => s.timeoutSeconds)).toEqual([60, 180, 180, 60, 900, 180]);
    expect(agent.stages.every((s) => s.model === undefined)).toBe(true);
  });

  it("takes a name, per-stage models and tools without changing its stages", () => {
    const changed = checkAgent(
      createDefaultAgent({ name: "support", models: { planning: "planner-large" } }),
    );
    expect(changed.name).toBe("support");
    expect(changed.stages.map((s) => s.name)).toEqual(agent.stages.map((s) => s.name));
    expect(changed.stage("planning")?.model).toBe("planner-large");
    expect(changed.stage("execution")?.model).toBeUndefined();
  });
});

/** What an OpenAI-compatible server in front of the offline model was asked, call by call. */
interface Asked {
  model: string;
  system: string;
}

describe("prompts and models overridden, through the real local stack", () => {
  const asked: Asked[] = [];
  let external: Served;
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  const prompts = {
    analyze: "Classify the request (custom analysis prompt).",
    plan: "Plan carefully (custom planning prompt).",
    answer: "Answer like a ship's captain (custom answer prompt).",
    summarize: "One line for the logbook (custom memory prompt).",
  };

  beforeAll(async () => {
    const app = new Hono();
    app.use("/v1/chat/completions", async (c, next) => {
      const body = (await c.req.raw.clone().json()) as {
        model: string;
        messages: { role: string; content: string }[];
      };
      asked.push({
        model: body.model,
        system: body.messages.find((m) => m.role === "system")?.content ?? "",
      });
      await next();
    });
    app.route("/", createOfflineModelApp({ tokensPerSecond: 0 }));
    external = await serveApp(app, 0, "127.0.0.1");
    const agent = createDefaultAgent({ name: "captain", prompts, models: { execution: "writer-large" } });
    stack = await startTestStack({ OPENAI_BASE_URL: `${external.url}/v1`, OPENAI_MODEL: "base" }, { agent });
  });
  afterAll(async () => {
    await stack?.stop();
    await external?.close();
  });

  it("sends each stage's own prompt, with the plan's bounds and tool list still appended, and the execution stage's model", async () => {
    const started = await startRun(stack.url, { question: "What is 2 + 3?" });
    const { frames } = await readSse(started.links.stream);
    expect(frames.at(-1)?.event).toBe("run.completed");
    expect(asked.map((a) => a.model)).toEqual(["base", "base", "writer-large", "base"]);
    const [analyze, plan, answer, summarize] = asked.map((a) => a.system);
    expect(analyze).toBe(prompts.analyze);
    expect(plan?.startsWith(prompts.plan)).toBe(true);
    expect(plan).toContain("Available tools: ");
    expect(plan).toContain("- calculator:");
    expect(answer).toBe(prompts.answer);
    expect(summarize).toBe(prompts.summarize);
    for (const original of Object.values(DEFAULT_PROMPTS)) {
      expect(asked.some((a) => a.system.includes(original))).toBe(false);
    }
  });
});

describe("a tool of your own, planned and called by the built-in agent on the offline model", () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    const agent = createDefaultAgent({ name: "sales-desk", tools: [querySales] });
    stack = await startTestStack({}, { agent });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("plans query_sales with arguments built from its JSON schema, runs it once, and its totals reach the answer", async () => {
    const started = await startRun(stack.url, { question: "Which region had the most revenue in Q2?" });
    const { frames } = await readSse(started.links.stream, { timeoutMs: 30_000 });
    const events = frames.filter((f) => f.event !== "heartbeat").map((f) => JSON.parse(f.data) as RunEvent);
    const calls = events.filter((e) => e.type === "tool.completed" && e.data.name === "query_sales");
    expect(calls).toHaveLength(1);
    const call = calls[0];
    if (call?.type !== "tool.completed" || !call.data.ok)
      throw new Error(`query_sales failed: ${JSON.stringify(call)}`);
    // The offline model took the enum members the question names; the totals are the example's own.
    expect(call.data.input).toMatchObject({ groupBy: "region", metric: "revenue", quarter: "Q2" });
    const csv = await readFile(
      new URL("../../../examples/business-insights/sales.csv", import.meta.url),
      "utf8",
    );
    const expected = totalSales(parseSales(csv), { groupBy: "region", metric: "revenue", quarter: "Q2" });
    expect(call.data.result).toEqual(expected);
    const last = events.at(-1);
    if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}`);
    for (const total of Object.values(expected.totals)) expect(last.data.answer).toContain(String(total));
  });
});
