import {
  DefaultChatTransport,
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from "ai";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { resetKnobs, setKnobs } from "../support/faults.ts";
import { startTestStack } from "../support/stack.ts";

/**
 * The AI SDK routes on the local stack, read with the `ai` package's own code: its SSE parser
 * (`parseJsonEventStream` with `uiMessageChunkSchema`, what `DefaultChatTransport` runs on a
 * response body), its reducer (`readUIMessageStream`, what `useChat` runs) and, for resume,
 * `DefaultChatTransport.reconnectToStream` itself.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ CANCEL_CHECK_MS: "100" });
});
afterAll(async () => {
  await stack?.stop();
});

/** A user message as `useChat` sends it. */
const userMessage = (text: string): UIMessage => ({
  id: ulid(),
  role: "user",
  parts: [{ type: "text", text }],
});

/** POST /ai-sdk/chat with the body DefaultChatTransport sends. */
function postChat(chatId: string, text: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${stack.url}/ai-sdk/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: chatId,
      messages: [userMessage(text)],
      trigger: "submit-message",
      ...extra,
    }),
  });
}

/** The chunks of an SSE body as the `ai` package parses them (every one must pass its schema). */
function chunkStream(
  body: ReadableStream<Uint8Array>,
  seen: UIMessageChunk[],
): ReadableStream<UIMessageChunk> {
  return parseJsonEventStream({ stream: body, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) throw result.error;
        seen.push(structuredClone(result.value));
        controller.enqueue(result.value);
      },
    }),
  );
}

/**
 * Read a UI message stream to its end with readUIMessageStream.
 * @param onMessage called with each state of the message (to act mid-stream).
 */
async function readChat(
  stream: ReadableStream<UIMessageChunk>,
  onMessage: (m: UIMessage) => void | Promise<void> = () => {},
) {
  const errors: string[] = [];
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({
    stream,
    onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
  })) {
    message = m;
    await onMessage(m);
  }
  return { message, errors };
}

async function readBody(res: Response, onMessage?: (m: UIMessage) => void | Promise<void>) {
  const chunks: UIMessageChunk[] = [];
  if (!res.body) throw new Error("no body");
  const read = await readChat(chunkStream(res.body, chunks), onMessage);
  return { ...read, chunks };
}

const textOf = (m: UIMessage | undefined) =>
  (m?.parts ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
const partsOf = (m: UIMessage | undefined, type: string) =>
  (m?.parts ?? []).filter((p) => p.type === type) as Array<Record<string, unknown>>;

async function storedLog(runId: string): Promise<RunEvent[]> {
  await stack.workflow.idle();
  return (await stack.store.events.read(runId, 0, 1000)).events;
}

describe("POST /ai-sdk/chat", () => {
  it("starts a run for the last user message and streams it: the answer, the tool calls with their outputs, the data parts", async () => {
    const chatId = `chat-${ulid()}`;
    const res = await postChat(chatId, "What is 17% of 2,340?");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    const runId = res.headers.get("x-run-id") ?? "";
    expect(runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const { message, errors, chunks } = await readBody(res);
    expect(errors).toEqual([]);
    expect(chunks[0]).toEqual({ type: "start", messageId: runId, messageMetadata: { runId } });
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });

    const log = await storedLog(runId);
    const last = log.at(-1);
    if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}`);
    expect(message?.id).toBe(runId);
    expect(textOf(message)).toBe(last.data.answer);
    expect(message?.metadata).toMatchObject({ runId, status: "completed", usage: last.data.usage });

    // The chat is the run's conversation, and its text the question.
    const queued = log[0];
    if (queued?.type !== "run.queued") throw new Error("no run.queued");
    expect(queued.data).toMatchObject({ question: "What is 17% of 2,340?", conversationId: chatId });

    const calls = log.flatMap((e) => (e.type === "tool.completed" ? [e.data] : []));
    expect(calls.length).toBeGreaterThan(0);
    expect(
      partsOf(message, "dynamic-tool").map((p) => [p.toolCallId, p.toolName, p.state, p.output]),
    ).toEqual(
      calls.map((c) => [
        c.callId,
        c.name,
        c.ok ? "output-available" : "output-error",
        c.ok ? c.result : undefined,
      ]),
    );
    const stageNames = log.flatMap((e) => (e.type === "stage.started" ? [e.stage] : []));
    expect(partsOf(message, "data-stage").map((p) => [p.id, (p.data as { state: string }).state])).toEqual(
      stageNames.map((s) => [s, "done"]),
    );
    expect(partsOf(message, "step-start")).toHaveLength(stageNames.length);
    expect(partsOf(message, "data-run")).toEqual([
      expect.objectContaining({ id: runId, data: expect.objectContaining({ status: "completed" }) }),
    ]);
    expect(partsOf(message, "data-progress")[0]?.data).toMatchObject({ progress: 100 });
    // The chat now points at the run (the resume route's pointer).
    expect(await stack.store.conversationRuns.newest("anonymous", chatId)).toBe(runId);
  });

  it("a failed run: an error chunk (useChat's error), then finish with finishReason error", async () => {
    await setKnobs(stack.offlineModelUrl ?? "", { failNext: { count: 1, status: 401 } });
    try {
      const res = await postChat(`chat-${ulid()}`, "How should we name the billing service?");
      expect(res.status).toBe(200);
      const { message, errors, chunks } = await readBody(res);
      const log = await storedLog(res.headers.get("x-run-id") ?? "");
      const last = log.at(-1);
      if (last?.type !== "run.failed") throw new Error(`run ended with ${last?.type}`);
      const errorText = `${last.data.error.message} (${last.data.error.code})`;
      expect(chunks.filter((c) => c.type === "error")).toEqual([{ type: "error", errorText }]);
      expect(errors).toEqual([errorText]);
      expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "error" });
      expect(partsOf(message, "data-run")[0]?.data).toMatchObject({
        status: "failed",
        error: last.data.error,
      });
    } finally {
      await resetKnobs(stack.offlineModelUrl ?? "");
    }
  });

  it("a cancelled run: the text so far stays, then abort (no error, no finish)", async () => {
    await setKnobs(stack.offlineModelUrl ?? "", { tokensPerSecond: 20 });
    try {
      const res = await postChat(`chat-${ulid()}`, "Explain how cancellation reaches a running stage");
      const runId = res.headers.get("x-run-id") ?? "";
      let cancelled: Promise<Response> | undefined;
      const { message, errors, chunks } = await readBody(res, (m) => {
        if (!cancelled && textOf(m).length > 0) {
          cancelled = fetch(`${stack.url}/runs/${runId}/cancel`, { method: "POST" });
        }
      });
      expect((await cancelled)?.status).toBe(202);
      expect(errors).toEqual([]);
      expect(chunks.at(-1)).toMatchObject({ type: "abort" });
      expect(chunks.some((c) => c.type === "finish" || c.type === "error")).toBe(false);
      expect(textOf(message).length).toBeGreaterThan(0);
      expect(partsOf(message, "data-run")[0]?.data).toMatchObject({ status: "cancelled" });
      expect((await storedLog(runId)).at(-1)?.type).toBe("run.cancelled");
    } finally {
      await resetKnobs(stack.offlineModelUrl ?? "");
    }
  });

  it("refuses client mistakes with a clear 4xx in the one error shape, before starting anything", async () => {
    const post = (body: string, contentType = "application/json") =>
      fetch(`${stack.url}/ai-sdk/chat`, { method: "POST", headers: { "content-type": contentType }, body });
    const chat = (fields: Record<string, unknown>) =>
      post(
        JSON.stringify({ id: "chat-1", messages: [userMessage("hi")], trigger: "submit-message", ...fields }),
      );
    const cases: Array<[string, Promise<Response>, number, string, RegExp]> = [
      ["not JSON", post("{"), 400, "invalid_json", /not valid JSON/],
      ["not application/json", post("{}", "text/plain"), 415, "unsupported_media_type", /application\/json/],
      ["no id", post(JSON.stringify({ messages: [userMessage("hi")] })), 400, "invalid_request", /^id: /],
      ["a bad chat id", chat({ id: "a/b" }), 400, "invalid_request", /id: a chat id is 1-64 characters/],
      ["no messages", chat({ messages: [] }), 400, "invalid_request", /messages: messages must not be empty/],
      [
        "a bad role",
        chat({ messages: [{ id: "m", role: "robot", parts: [] }] }),
        400,
        "invalid_request",
        /messages\.0\.role/,
      ],
      [
        "no user message",
        chat({ messages: [{ id: "m", role: "assistant", parts: [{ type: "text", text: "x" }] }] }),
        400,
        "invalid_request",
        /no user message/,
      ],
      [
        "no text in the last user message",
        chat({
          messages: [
            { id: "m", role: "user", parts: [{ type: "file", url: "data:,", mediaType: "text/plain" }] },
          ],
        }),
        400,
        "invalid_request",
        /the last user message has no text/,
      ],
      [
        "a question too long",
        chat({ messages: [userMessage("x".repeat(8001))] }),
        400,
        "invalid_request",
        /the last user message's text: /,
      ],
      ["a bad projectId", chat({ projectId: "no spaces" }), 400, "invalid_request", /^projectId: /],
      ["a bad trigger", chat({ trigger: "resume" }), 400, "invalid_request", /^trigger: /],
      ["a body over 1 MiB", chat({ pad: "x".repeat(1024 * 1024) }), 413, "payload_too_large", /exceeds/],
    ];
    for (const [what, answer, status, code, message] of cases) {
      const res = await answer;
      expect(res.status, what).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code, what).toBe(code);
      expect(body.error.message, what).toMatch(message);
      expect(body.error.requestId, what).toBe(res.headers.get("x-request-id"));
    }
    const runs = (await (await fetch(`${stack.url}/runs?limit=50`)).json()) as {
      runs: Array<{ question: string }>;
    };
    expect(runs.runs.some((r) => r.question === "hi" || r.question.startsWith("xxxx"))).toBe(false);
  });
});

describe("GET /ai-sdk/chat/{chatId}/stream (useChat's resume)", () => {
  const transport = () => new DefaultChatTransport<UIMessage>({ api: `${stack.url}/ai-sdk/chat` });

  it("replays the chat's running run from its start (same message id, whole answer once), and answers 204 once it ended", async () => {
    await setKnobs(stack.offlineModelUrl ?? "", { tokensPerSecond: 40 });
    try {
      const chatId = `chat-${ulid()}`;
      const res = await postChat(chatId, "How do I stream progress from Lambda to a browser?");
      const runId = res.headers.get("x-run-id") ?? "";
      // The first response drops once the answer is being written, as a page reload does.
      const reader = res.body?.getReader();
      let seen = "";
      while (!seen.includes('"text-delta"')) {
        const { value, done } = (await reader?.read()) ?? { done: true };
        if (done) throw new Error("the stream ended before the answer");
        seen += new TextDecoder().decode(value);
      }
      await reader?.cancel();

      const resumed = await transport().reconnectToStream({ chatId });
      if (!resumed) throw new Error("nothing to resume");
      const chunks: UIMessageChunk[] = [];
      const { message, errors } = await readChat(
        resumed.pipeThrough(
          new TransformStream({
            transform(c, controller) {
              chunks.push(structuredClone(c));
              controller.enqueue(c);
            },
          }),
        ),
      );
      expect(errors).toEqual([]);
      expect(chunks[0]).toEqual({ type: "start", messageId: runId, messageMetadata: { runId } });
      const last = (await storedLog(runId)).at(-1);
      if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}`);
      expect(message?.id).toBe(runId);
      expect(textOf(message)).toBe(last.data.answer);
      expect(partsOf(message, "text")).toHaveLength(1);

      expect(await transport().reconnectToStream({ chatId })).toBeNull();
    } finally {
      await resetKnobs(stack.offlineModelUrl ?? "");
    }
  });

  it("answers 204 for a chat with no run, and 400 invalid_chat_id for an id that is not one", async () => {
    expect(await transport().reconnectToStream({ chatId: `never-${ulid()}` })).toBeNull();
    const res = await fetch(`${stack.url}/ai-sdk/chat/${encodeURIComponent("a b")}/stream`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_chat_id");
  });
});

describe("GET /runs/{runId}/stream?format=ui-message", () => {
  it("streams any run as a UI message stream, with the protocol's header", async () => {
    const res = await postChat(`chat-${ulid()}`, "What is 2 + 2?");
    const runId = res.headers.get("x-run-id") ?? "";
    await res.body?.cancel();
    const stream = await fetch(`${stack.url}/runs/${runId}/stream?format=ui-message`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    const { message, errors } = await readBody(stream);
    expect(errors).toEqual([]);
    const last = (await storedLog(runId)).at(-1);
    if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}`);
    expect(textOf(message)).toBe(last.data.answer);
    // Another format carries no such header.
    const plain = await fetch(`${stack.url}/runs/${runId}/stream?after=${last.seq - 1}`);
    expect(plain.headers.get("x-vercel-ai-ui-message-stream")).toBeNull();
    await plain.body?.cancel();
  });
});
