import { Hono } from "hono";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelClient, StageFailedError, TransientStageError } from "../packages/agent/index.ts";
import { type Served, serveApp } from "../packages/local/serve.ts";
import { createOfflineModelApp, OFFLINE_MODEL_ID, tokenize } from "../packages/offline-model/index.ts";

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

describe("the embedded offline model, through the openai SDK", () => {
  it("answers deterministically and names itself", async () => {
    const a = await openai.chat.completions.create({ model: "offline", messages });
    const b = await openai.chat.completions.create({ model: "offline", messages });
    expect(a.model).toBe(OFFLINE_MODEL_ID);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(a.choices[0]?.message.content).toContain("Why are SSE streams resumable?");
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

  it("answers each stage's instruction in the form it asks for", async () => {
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
    expect(await ask("Classify the user's request.", "How do retries work?")).toMatch(/^explain; /);
    const plan = await ask("Write a plan for answering the user's request.", "Request: How do retries work?");
    expect(plan.split("\n").every((line, i) => line.startsWith(`${i + 1}. `))).toBe(true);
  });

  it("refuses a malformed request with 400", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}" });
    expect(res.status).toBe(400);
  });
});

describe("ModelClient error translation", () => {
  const failing = async (status: number) => {
    const app = new Hono();
    app.post("/v1/chat/completions", (c) =>
      c.json({ error: { message: "provider secret detail" } }, status as 400),
    );
    return serveApp(app, 0, "127.0.0.1");
  };
  const client = (url: string) =>
    new ModelClient({ openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 }), model: "m" });

  it("turns 429 and 5xx into TransientStageError (retried by the workflow)", async () => {
    for (const status of [429, 503]) {
      const s = await failing(status);
      await expect(client(s.url).complete({ system: "s", user: "u" })).rejects.toBeInstanceOf(
        TransientStageError,
      );
      await s.close();
    }
  });

  it("turns other API errors into StageFailedError model_error without the provider's text", async () => {
    const s = await failing(400);
    const err = await client(s.url)
      .complete({ system: "s", user: "u" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageFailedError);
    expect((err as StageFailedError).code).toBe("model_error");
    expect((err as Error).message).not.toContain("secret");
    await s.close();
  });

  it("turns a refused connection into TransientStageError", async () => {
    const s = await failing(500);
    await s.close();
    await expect(client(s.url).complete({ system: "s", user: "u" })).rejects.toBeInstanceOf(
      TransientStageError,
    );
  });
});
