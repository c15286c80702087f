import OpenAI, { APIUserAbortError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOfflineModelApp } from "../../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../../local/stack/serve.ts";
import {
  chat,
  ModelClient,
  ModelOutputError,
  StageFailedError,
  TransientStageError,
} from "../../../packages/agent/index.ts";
import { AnalysisSchema } from "../../../packages/default-agent/index.ts";

/** The agent's ModelClient against the offline model over HTTP, failures switched on with its test controls. */
let server: Served;
let client: ModelClient;
const signal = new AbortController().signal;
const messages = chat("Answer the user's request.", "Request: What is 2 + 2?");

const knobs = (body: unknown) =>
  fetch(`${server.url}/_offline/knobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  server = await serveApp(createOfflineModelApp({ tokensPerSecond: 0, testControls: true }), 0, "127.0.0.1");
  client = new ModelClient({
    openai: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0, timeout: 2000 }),
    model: "offline",
  });
});
afterAll(async () => {
  await server?.close();
});

describe("ModelClient error translation (what the workflow's Retry and Catch see)", () => {
  it.each([429, 500, 503])("turns %i into TransientStageError", async (status) => {
    await knobs({ failNext: { count: 1, status } });
    await expect(client.complete({ messages, signal })).rejects.toBeInstanceOf(TransientStageError);
    expect((await client.complete({ messages, signal })).text.length).toBeGreaterThan(0);
  });

  it.each([
    [400, "model_bad_request"],
    [401, "model_unauthorized"],
    [404, "model_not_found"],
  ])("turns %i into StageFailedError %s without the provider's text", async (status, code) => {
    await knobs({ failNext: { count: 1, status } });
    const err = await client.complete({ messages, signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageFailedError);
    expect((err as StageFailedError).code).toBe(code);
    expect((err as Error).message).not.toContain("simulated");
  });

  it("turns a timeout into TransientStageError", async () => {
    await knobs({ stallNext: { count: 1, ms: 5000 } });
    await expect(client.complete({ messages, signal })).rejects.toBeInstanceOf(TransientStageError);
  });

  it("turns a refused connection into TransientStageError", async () => {
    const gone = await serveApp(createOfflineModelApp({ testControls: true }), 0, "127.0.0.1");
    await gone.close();
    const dead = new ModelClient({
      openai: new OpenAI({ baseURL: `${gone.url}/v1`, apiKey: "x", maxRetries: 0 }),
      model: "m",
    });
    await expect(dead.complete({ messages, signal })).rejects.toBeInstanceOf(TransientStageError);
  });

  it("passes cancellation through as an abort, not as a stage failure", async () => {
    await knobs({ stallNext: { count: 1, ms: 1500 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await client.complete({ messages, signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIUserAbortError);
  });
});

describe("ModelClient structured outputs and streaming", () => {
  it("parses a structured output, and raises ModelOutputError when the reply is not valid JSON for the schema", async () => {
    const out = await client.parse(AnalysisSchema, "analysis", { messages, signal });
    expect(AnalysisSchema.parse(out.value).intent).toBe("calculation");
    // Cut off after 3 tokens: the JSON is incomplete.
    await expect(
      client.parse(AnalysisSchema, "analysis", { messages, signal, maxTokens: 3 }),
    ).rejects.toBeInstanceOf(ModelOutputError);
  });

  it("streams text, and falls back to a replayed normal call when streaming is refused", async () => {
    const live: string[] = [];
    const streamed = await client.stream({ messages, signal }, (t, sim) => {
      expect(sim).toBe(false);
      live.push(t);
    });
    expect(streamed.simulated).toBe(false);
    expect(live.join("")).toBe(streamed.text);

    await knobs({ noStreaming: true });
    const replayed: string[] = [];
    const fallback = await client.stream({ messages, signal }, (t, sim) => {
      expect(sim).toBe(true);
      replayed.push(t);
    });
    expect(fallback.simulated).toBe(true);
    expect(replayed.join("")).toBe(fallback.text);
    expect(fallback.text).toBe(streamed.text);
    await fetch(`${server.url}/_offline/knobs`, { method: "DELETE" });
  });

  it("returns the model's tool calls assembled from the stream", async () => {
    const out = await client.stream(
      {
        messages,
        signal,
        tools: [
          {
            type: "function",
            function: {
              name: "calculator",
              description: "Evaluate arithmetic",
              parameters: {
                type: "object",
                properties: { expression: { type: "string" } },
                required: ["expression"],
              },
            },
          },
        ],
      },
      () => {},
    );
    expect(out.toolCalls).toHaveLength(1);
    const call = out.toolCalls[0];
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.function.name).toBe("calculator");
    expect(JSON.parse(call.function.arguments)).toEqual({ expression: "2 + 2" });
  });
});
