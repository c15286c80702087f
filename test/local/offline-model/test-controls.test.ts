import { request } from "node:http";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createOfflineModelApp,
  type TestControls,
  type TestControlsPatch,
  TestControlsPatchSchema,
} from "../../../local/offline-model/index.ts";
import { type Served, serveApp } from "../../../local/stack/serve.ts";
import { loadConfig } from "../../../packages/config/config.ts";
import { startRun, startTestStack } from "../../support/stack.ts";

let server: Served;
let openai: OpenAI;
const messages = [{ role: "user" as const, content: "Why are SSE streams resumable?" }];
const ask = (client = openai, options: { signal?: AbortSignal } = {}) =>
  client.chat.completions.create({ model: "offline", messages }, options);

const controls = async (method: "GET" | "POST" | "DELETE", body?: unknown) => {
  const res = await fetch(`${server.url}/_offline/knobs`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { "content-type": "application/json" },
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
  });
  return { status: res.status, body: (await res.json()) as TestControls & { error?: { message: string } } };
};
const setControls = async (patch: TestControlsPatch) => {
  const res = await controls("POST", patch);
  expect(res.status).toBe(200);
  return res.body;
};
const stats = async () =>
  (await (await fetch(`${server.url}/_offline/stats`)).json()) as { calls: number; active: number };

beforeAll(async () => {
  server = await serveApp(createOfflineModelApp({ tokensPerSecond: 0, testControls: true }), 0, "127.0.0.1");
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "offline", maxRetries: 0 });
});
afterEach(async () => {
  await controls("DELETE");
});
afterAll(async () => {
  await server?.close();
});

describe("test controls over HTTP", () => {
  it("GET returns the defaults, POST merges, DELETE resets", async () => {
    const defaults: TestControls = {
      failNext: { count: 0, status: 500 },
      stallNext: { count: 0, ms: 0 },
      dropNext: { count: 0, afterTokens: 0 },
      tokensPerSecond: 0,
      noStreaming: false,
      badPlanNext: 0,
      invalidJsonNext: 0,
    };
    expect((await controls("GET")).body).toEqual(defaults);
    expect(await setControls({ badPlanNext: 1 })).toEqual({ ...defaults, badPlanNext: 1 });
    expect(await setControls({ noStreaming: true })).toEqual({
      ...defaults,
      badPlanNext: 1,
      noStreaming: true,
    });
    expect(await setControls({ dropNext: { count: 2, afterTokens: 5 } })).toEqual({
      ...defaults,
      badPlanNext: 1,
      noStreaming: true,
      dropNext: { count: 2, afterTokens: 5 },
    });
    expect((await controls("DELETE")).body).toEqual(defaults);
    expect((await controls("GET")).body).toEqual(defaults);
  });

  it.each([
    ["an unknown control", { failFirst: 1 }],
    ["a negative count", { failNext: { count: -1, status: 500 } }],
    ["a non-error status", { failNext: { count: 1, status: 200 } }],
    ["a negative afterTokens", { dropNext: { count: 1, afterTokens: -1 } }],
    ["a dropNext without afterTokens", { dropNext: { count: 1 } }],
    ["a fractional count", { badPlanNext: 1.5 }],
    ["a wrong type", { noStreaming: "yes" }],
    ["not JSON", "{"],
  ])("answers 400 to %s", async (_what, body) => {
    const res = await controls("POST", body);
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/^invalid knobs/);
    expect((await controls("GET")).body.badPlanNext).toBe(0);
  });

  it("exports the body schema", () => {
    expect(TestControlsPatchSchema.safeParse({ stallNext: { count: 1, ms: 10 } }).success).toBe(true);
    expect(TestControlsPatchSchema.safeParse({ tokensPerSecond: -1 }).success).toBe(false);
  });
});

describe("failNext", () => {
  it("429 → RateLimitError with retry-after 0, then success", async () => {
    await setControls({ failNext: { count: 1, status: 429 } });
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers.get("retry-after")).toBe("0");
    expect(e.code).toBe("rate_limit_exceeded");
    expect(e.type).toBe("requests");
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
    expect((await controls("GET")).body.failNext.count).toBe(0);
  });

  it("the SDK's own retries get through a 429 without waiting", async () => {
    await setControls({ failNext: { count: 2, status: 429 } });
    const retrying = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "offline", maxRetries: 2 });
    const started = Date.now();
    expect((await ask(retrying)).choices[0]?.finish_reason).toBe("stop");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    [400, OpenAI.BadRequestError, "invalid_request"],
    [401, OpenAI.AuthenticationError, "invalid_api_key"],
    [404, OpenAI.NotFoundError, "model_not_found"],
    [500, OpenAI.InternalServerError, "server_error"],
    [503, OpenAI.InternalServerError, "server_error"],
  ])("%i → the SDK's matching error, with an OpenAI-style body", async (status, type, code) => {
    await setControls({ failNext: { count: 2, status } });
    for (let i = 0; i < 2; i++) {
      const err = await ask().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe(code);
      expect((err as Error).message).toContain("simulated");
    }
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
  });

  it("fails streaming calls too", async () => {
    await setControls({ failNext: { count: 1, status: 500 } });
    await expect(
      openai.chat.completions.create({ model: "offline", messages, stream: true }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });
});

describe("stallNext", () => {
  it("delays the next call by ms", async () => {
    await setControls({ stallNext: { count: 1, ms: 300 } });
    let started = Date.now();
    await ask();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    started = Date.now();
    await ask();
    expect(Date.now() - started).toBeLessThan(250);
  });

  it("ends the wait when the request is aborted", async () => {
    await setControls({ stallNext: { count: 1, ms: 20_000 } });
    const before = await stats();
    const controller = new AbortController();
    const pending = ask(openai, { signal: controller.signal }).catch((e: unknown) => e);
    await expect.poll(async () => (await stats()).active).toBe(before.active + 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await expect.poll(async () => (await stats()).active, { timeout: 2000 }).toBe(before.active);
    expect((await stats()).calls).toBe(before.calls + 1);
  });

  it("trips the SDK's timeout", async () => {
    await setControls({ stallNext: { count: 1, ms: 5000 } });
    const impatient = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: "offline",
      maxRetries: 0,
      timeout: 200,
    });
    await expect(ask(impatient)).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await expect.poll(async () => (await stats()).active, { timeout: 2000 }).toBe(0);
  });
});

describe("dropNext", () => {
  /** The content pieces a stream yielded before it failed, and what it failed with. */
  const collect = async (stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) => {
    const pieces: string[] = [];
    const finishes: unknown[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (content) pieces.push(content);
        if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { pieces, finishes, error };
  };

  it("cuts a stream after afterTokens paced tokens: the SDK's iterator throws fetch's TypeError, then the next call succeeds", async () => {
    await setControls({ dropNext: { count: 1, afterTokens: 3 }, tokensPerSecond: 50 });
    const started = Date.now();
    const stream = await openai.chat.completions.create({ model: "offline", messages, stream: true });
    const { pieces, finishes, error } = await collect(stream);
    expect(pieces).toHaveLength(3);
    expect(finishes).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50); // 3 tokens at 50/s
    // The raw stream does not wrap the connection reset: fetch's TypeError("terminated") caused by ECONNRESET.
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(OpenAI.OpenAIError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionError);
    expect((error as Error).message).toBe("terminated");
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect((await controls("GET")).body.dropNext).toEqual({ count: 0, afterTokens: 3 });

    const next = await collect(
      await openai.chat.completions.create({ model: "offline", messages, stream: true }),
    );
    expect(next.error).toBeUndefined();
    expect(next.finishes).toEqual(["stop"]);
    expect(next.pieces.join("").startsWith(pieces.join(""))).toBe(true);
    await expect.poll(async () => (await stats()).active, { timeout: 2000 }).toBe(0);
  });

  it("cuts chat.completions.stream(): content events, then an OpenAIError (not APIConnectionError); the next call succeeds", async () => {
    await setControls({ dropNext: { count: 1, afterTokens: 3 } });
    const runner = openai.chat.completions.stream({ model: "offline", messages });
    const pieces: string[] = [];
    runner.on("content", (delta) => pieces.push(delta));
    const error = await runner.finalChatCompletion().catch((e: unknown) => e);
    expect(pieces).toHaveLength(3);
    expect(error).toBeInstanceOf(OpenAI.OpenAIError);
    expect(error).not.toBeInstanceOf(OpenAI.APIError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionError);
    expect((error as Error).constructor.name).toBe("OpenAIError");
    expect((error as Error).message).toBe("terminated");
    expect((error as Error).cause).toBeInstanceOf(TypeError);

    const final = await openai.chat.completions.stream({ model: "offline", messages }).finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("stop");
    expect(final.choices[0]?.message.content?.startsWith(pieces.join(""))).toBe(true);
  });

  it("sends every token of a shorter reply but still no finish chunk, and counts each call", async () => {
    await setControls({ dropNext: { count: 2, afterTokens: 100 } });
    for (let i = 0; i < 2; i++) {
      const stream = await openai.chat.completions.create({
        model: "offline",
        messages,
        max_tokens: 5,
        stream: true,
      });
      const { pieces, finishes, error } = await collect(stream);
      expect(pieces).toHaveLength(5);
      expect(finishes).toEqual([]);
      expect(error).toBeInstanceOf(TypeError);
    }
    expect((await ask()).choices[0]?.finish_reason).toBe("stop");
  });

  it("afterTokens 0 cuts a stream right after the role chunk", async () => {
    await setControls({ dropNext: { count: 1, afterTokens: 0 } });
    const roles: unknown[] = [];
    const stream = await openai.chat.completions.create({ model: "offline", messages, stream: true });
    const error = await (async () => {
      for await (const chunk of stream) roles.push(chunk.choices[0]?.delta.role);
    })().catch((e: unknown) => e);
    expect(roles).toEqual(["assistant"]);
    expect(error).toBeInstanceOf(TypeError);
  });

  it("cuts a non-streaming call before any answer: APIConnectionError, then the next call succeeds", async () => {
    await setControls({ dropNext: { count: 1, afterTokens: 3 } });
    const error = await ask().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect((error as Error).message).toBe("Connection error.");
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
    expect(await stats()).toMatchObject({ active: 0 });
  });

  it("in-process (no socket to cut), the response body fails where the connection would drop", async () => {
    const app = createOfflineModelApp({ tokensPerSecond: 0, testControls: true });
    await app.request("/_offline/knobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ dropNext: { count: 2, afterTokens: 2 } }),
    });
    const post = (stream: boolean) =>
      app.request("/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "offline", messages, stream }),
      });
    const streamed = await post(true);
    const reader = streamed.body?.getReader();
    let text = "";
    const error = await (async () => {
      for (;;) {
        const read = await reader?.read();
        if (!read || read.done) return;
        text += new TextDecoder().decode(read.value);
      }
    })().catch((e: unknown) => e);
    expect((error as Error).message).toContain("dropNext");
    expect(text.match(/"content":"[^"]/g)).toHaveLength(2);
    expect(text).not.toContain("[DONE]");
    await expect((await post(false)).text()).rejects.toThrow(/dropNext/);
    expect(((await (await post(false)).json()) as OpenAI.ChatCompletion).choices[0]?.finish_reason).toBe(
      "stop",
    );
  });
});

describe("noStreaming", () => {
  it("refuses stream: true with 400 like endpoints that cannot stream, and still answers without it", async () => {
    await setControls({ noStreaming: true });
    const err = await openai.chat.completions
      .create({ model: "offline", messages, stream: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.message).toContain("streaming is not supported by this endpoint");
    expect(e.param).toBe("stream");
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
  });
});

describe("tokensPerSecond", () => {
  it("changes the pace at runtime, for whole replies and for streams", async () => {
    await setControls({ tokensPerSecond: 20 });
    let started = Date.now();
    await openai.chat.completions.create({ model: "offline", messages, max_tokens: 6 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);

    await setControls({ tokensPerSecond: 50 });
    started = Date.now();
    const stream = await openai.chat.completions.create({
      model: "offline",
      messages,
      max_tokens: 10,
      stream: true,
    });
    const arrivals: number[] = [];
    for await (const chunk of stream)
      if (chunk.choices[0]?.delta.content) arrivals.push(Date.now() - started);
    expect(arrivals).toHaveLength(10);
    expect(arrivals.at(-1)).toBeGreaterThanOrEqual(180);

    await setControls({ tokensPerSecond: 0 });
    started = Date.now();
    await ask();
    expect(Date.now() - started).toBeLessThan(150);
  });

  it("paces tool-call argument streaming too", async () => {
    await setControls({ tokensPerSecond: 100 });
    const started = Date.now();
    const runner = openai.chat.completions.stream({
      model: "offline",
      messages: [{ role: "user", content: "What is 17% of 2,340?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "calculator",
            parameters: { type: "object", properties: { expression: { type: "string" } } },
          },
        },
      ],
    });
    const final = await runner.finalChatCompletion();
    const args = final.choices[0]?.message.tool_calls?.[0];
    expect(args?.type === "function" && args.function.arguments).toBe('{"expression":"17 / 100 * 2340"}');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100); // ≥ 11 argument pieces + the call header at 100/s
  });
});

describe("the test controls are for tests only", () => {
  /** A raw HTTP request, so the Host header can be a foreign name (fetch does not let us set it). */
  const raw = (url: string, method: string, headers: Record<string, string>, body = "") =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { method, headers }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const failEverything = JSON.stringify({ failNext: { count: 100, status: 500 } });

  it("are not served unless enabled", async () => {
    const plain = createOfflineModelApp({ tokensPerSecond: 0 });
    const res = await plain.request("/_offline/knobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: failEverything,
    });
    expect(res.status).toBe(404);
    expect((await plain.request("/_offline/stats")).status).toBe(404);
  });

  it("take JSON only: a cross-site text/plain POST (no preflight) is refused with 415 and changes nothing", async () => {
    const before = (await controls("GET")).body;
    const res = await raw(
      `${server.url}/_offline/knobs`,
      "POST",
      { "content-type": "text/plain" },
      failEverything,
    );
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: "unsupported_media_type" } });
    expect((await controls("GET")).body).toEqual(before);
    expect((await ask()).choices[0]?.message.content).toBeTruthy();
  });

  describe("on the local stack", () => {
    let stack: Awaited<ReturnType<typeof startTestStack>>;
    let defaults: Awaited<ReturnType<typeof startTestStack>>;
    beforeAll(async () => {
      stack = await startTestStack({ OFFLINE_MODEL_TEST_CONTROLS: "true" });
      defaults = await startTestStack({ OFFLINE_MODEL_TEST_CONTROLS: "false" });
    });
    afterAll(async () => {
      await stack?.stop();
      await defaults?.stop();
    });

    it("refuses a foreign Host (DNS rebinding) with 421 even when enabled, and the next run completes", async () => {
      const url = `${stack.offlineModelUrl}/_offline/knobs`;
      const foreign = { host: "attacker.example", origin: "http://attacker.example" };
      for (const contentType of ["text/plain", "application/json"]) {
        const res = await raw(url, "POST", { ...foreign, "content-type": contentType }, failEverything);
        expect(res.status, contentType).toBe(421);
      }
      const run = await startRun(stack.url, { question: "What is 2 + 2?" });
      await stack.workflow.idle();
      const view = (await (await fetch(`${stack.url}/runs/${run.runId}`)).json()) as { status: string };
      expect(view.status).toBe("completed");
    });

    it("are off by default (npm start): 404 even from loopback with JSON", async () => {
      expect(loadConfig({}).OFFLINE_MODEL_TEST_CONTROLS).toBe("false");
      const res = await raw(
        `${defaults.offlineModelUrl}/_offline/knobs`,
        "POST",
        { "content-type": "application/json" },
        failEverything,
      );
      expect(res.status).toBe(404);
    });
  });
});
