import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOfflineModelApp } from "../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../local/stack/serve.ts";
import { readSse } from "../support/sse.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/** An OpenAI-compatible server outside the stack (standing in for Ollama's /v1 or vLLM) that records what it is asked. */
let external: Served;
const requests: Array<{ model: string; authorization: string | undefined; stream: boolean }> = [];
let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  const model = createOfflineModelApp({ tokensPerSecond: 0 });
  const app = new Hono();
  app.use("/v1/chat/completions", async (c, next) => {
    const body = await c.req.raw.clone().json();
    requests.push({
      model: body.model,
      authorization: c.req.header("authorization"),
      stream: Boolean(body.stream),
    });
    await next();
  });
  app.route("/", model);
  external = await serveApp(app, 0, "127.0.0.1");
  stack = await startTestStack({
    OPENAI_BASE_URL: `${external.url}/v1`,
    OPENAI_API_KEY: "sk-test",
    OPENAI_MODEL: "llama3.2",
    OPENAI_MODEL_PLANNING: "planner-large",
  });
});
afterAll(async () => {
  await stack?.stop();
  await external?.close();
});

describe("with OPENAI_BASE_URL / OPENAI_API_KEY set", () => {
  it("starts no embedded model and sends every model call to the configured endpoint, model and key", async () => {
    expect(stack.offlineModelUrl).toBeUndefined();
    const started = await startRun(stack.url, { question: "Which server answers?" });
    const { frames } = await readSse(started.links.stream);
    expect(frames.at(-1)?.event).toBe("run.completed");
    // analyzing, planning, execution (streamed) and memory each called the model once, in that
    // order; planning with its own model (OPENAI_MODEL_PLANNING), the others with the default.
    expect(requests.map((r) => r.model)).toEqual(["llama3.2", "planner-large", "llama3.2", "llama3.2"]);
    expect(requests.every((r) => r.authorization === "Bearer sk-test")).toBe(true);
    expect(requests.map((r) => r.stream)).toEqual([false, false, true, false]);
  });
});
