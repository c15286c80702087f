import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type AgentSubscriber, HttpAgent } from "@ag-ui/client";
import type { BaseEvent, Message } from "@ag-ui/core";
import { EventSchema } from "@ag-ui/core/schemas";
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from "vitest";
import { type EventOf, isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import { type Frame, readSse } from "../support/sse.ts";
import { RECONNECTING_STACK, storedEvents } from "../support/sse-clients.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * AG-UI (docs/api.md §9) through AG-UI's own client against the real local stack:
 * @ag-ui/client's HttpAgent POSTs a RunAgentInput to POST /ag-ui and runs every response
 * through its own pipeline (SSE parser, schema enforcement, the event verifier, the reducer), so
 * a run that resolves is a stream that AG-UI accepts. GET /runs/{id}/stream?format=ag-ui is
 * resumed with Last-Event-ID, and docs/client.md's snippets run as shown there.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const execFileAsync = promisify(execFile);
type Stack = Awaited<ReturnType<typeof startTestStack>>;
type Text = Message & { content?: unknown; toolCalls?: Array<{ id: string; function: { name: string } }> };

/** Every AG-UI event a run delivered, each checked against @ag-ui/core's schemas. */
function collector(): { events: BaseEvent[]; subscriber: AgentSubscriber } {
  const events: BaseEvent[] = [];
  const subscriber: AgentSubscriber = {
    onEvent: ({ event }) => {
      expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
      events.push(event);
    },
  };
  return { events, subscriber };
}

const ofType = <T extends RunEvent["type"]>(events: RunEvent[], type: T) =>
  events.filter((e): e is EventOf<T> => e.type === type);
const agUiOfType = (events: BaseEvent[], type: string) =>
  events.filter((e) => e.type === type) as Array<BaseEvent & Record<string, unknown>>;

/** A question as an AG-UI user message. */
const asking = (agent: HttpAgent, question: string) =>
  agent.addMessage({ id: `q-${agent.messages.length}`, role: "user", content: question });

async function knobs(stack: Stack, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.offlineModelUrl}/_offline/knobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

/**
 * Fail on any warning @ag-ui/client prints: it warns when it strips a field the protocol does
 * not describe, drops an unknown event or cannot apply a STATE_DELTA.
 */
function noClientWarnings(): void {
  let warn: MockInstance;
  beforeEach(() => {
    warn = vi.spyOn(console, "warn");
  });
  afterEach(() => {
    const calls = [...warn.mock.calls];
    warn.mockRestore();
    expect(calls, "console.warn").toEqual([]);
  });
}

/** The SSE text of frames as a client read them (data and id), for replaying them into an HttpAgent. */
function wire(frames: Frame[]): string {
  return frames.map((f) => `data: ${f.data}\n${f.id === undefined ? "" : `id: ${f.id}\n`}\n`).join("");
}

describe("POST /ag-ui with @ag-ui/client's HttpAgent", () => {
  noClientWarnings();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(async () => {
    await fetch(`${stack.offlineModelUrl}/_offline/knobs`, { method: "DELETE" });
  });

  /** Ask `question` with `agent`; the AG-UI events, the run's id and its stored log once it ended. */
  async function ask(agent: HttpAgent, question: string, during?: AgentSubscriber) {
    asking(agent, question);
    const { events, subscriber } = collector();
    const outcome = await agent.runAgent({}, { ...subscriber, ...during, onEvent: subscriber.onEvent });
    const runId = String((events[0] as BaseEvent & { runId?: string }).runId);
    await stack.workflow.idle();
    return { events, outcome, runId, stored: await storedEvents(stack.store, runId) };
  }

  it("the verifier is in HttpAgent's pipeline: a stream that breaks AG-UI's order fails the run", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const broken = new HttpAgent({
        url: "http://stagecast.invalid/ag-ui",
        fetch: async () =>
          new Response(
            'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\ndata: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"x"}\n\n',
            { headers: { "content-type": "text/event-stream" } },
          ),
      });
      await expect(broken.runAgent()).rejects.toThrow(/TEXT_MESSAGE_CONTENT.*No active text message/);
    } finally {
      errors.mockRestore();
    }
  });

  it("a completed run: a step per stage, tool calls with their results, the answer as one message, RUN_FINISHED last", async () => {
    const agent = new HttpAgent({ url: `${stack.url}/ag-ui` });
    const { events, outcome, runId, stored } = await ask(agent, "What is 17% of 2,340?");
    const done = stored.at(-1);
    if (done?.type !== "run.completed") throw new Error(`the run ended with ${done?.type}`);

    expect(events[0]).toMatchObject({ type: "RUN_STARTED", threadId: agent.threadId, runId });
    expect(events.at(-1)).toMatchObject({
      type: "RUN_FINISHED",
      runId,
      result: { answer: done.data.answer },
    });
    expect(events.filter((e) => e.type === "RUN_FINISHED" || e.type === "RUN_ERROR")).toHaveLength(1);
    expect(outcome.result).toMatchObject({ answer: done.data.answer });

    // Steps: every stage that started, in order, each finished.
    const stages = ofType(stored, "stage.started").map((e) => e.stage);
    expect(stages).toEqual(["context", "analyzing", "planning", "validation", "execution", "memory"]);
    expect(agUiOfType(events, "STEP_STARTED").map((e) => e.stepName)).toEqual(stages);
    expect(agUiOfType(events, "STEP_FINISHED").map((e) => e.stepName)).toEqual(stages);

    // The answer: one assistant message whose text is run.completed's answer.
    const messages = agent.messages as Text[];
    const texts = messages.filter(
      (m) => m.role === "assistant" && typeof m.content === "string" && m.content,
    );
    expect(texts.map((m) => m.content)).toEqual([done.data.answer]);
    expect(texts[0]?.id).toBe(`${runId}:execution:0`);

    // Tool calls: each stored call once, on the assistant message, with a tool message for its result.
    const calls = ofType(stored, "tool.completed");
    expect(calls.map((c) => c.data.name)).toEqual(expect.arrayContaining(["calculator"]));
    const onMessages = messages.flatMap((m) => (m.role === "assistant" ? (m.toolCalls ?? []) : []));
    expect(onMessages.map((c) => c.id)).toEqual(calls.map((c) => c.data.callId));
    for (const call of calls) {
      const result = messages.find(
        (m) => m.role === "tool" && (m as { toolCallId?: string }).toolCallId === call.data.callId,
      );
      expect(JSON.parse(String(result?.content))).toEqual(
        call.data.ok ? call.data.result : { error: call.data.error },
      );
    }
    expect(String(messages.find((m) => m.role === "tool")?.content)).toContain("397.8");

    // State: the run's status and every stage completed; the thread is the run's conversation.
    expect(agent.state).toMatchObject({
      runId,
      status: "completed",
      progress: 100,
      stages: Object.fromEntries(stages.map((s) => [s, "completed"])),
    });
    expect(agUiOfType(events, "CUSTOM")[0]).toMatchObject({
      name: "run.queued",
      value: { question: "What is 17% of 2,340?", conversationId: agent.threadId },
    });

    // The next question on the same agent is the next turn of that conversation.
    const next = await ask(agent, "And what is that times 10?");
    const context = ofType(next.stored, "stage.progress").find((e) => e.stage === "context");
    expect(context?.message).toBe("Loaded 0 memories, 1 earlier turn.");
    expect(next.events.at(-1)?.type).toBe("RUN_FINISHED");
  }, 60_000);

  it("a cancelled run (POST /runs/{id}/cancel mid-answer): everything closes, RUN_FINISHED with outcome cancelled, last", async () => {
    await knobs(stack, { tokensPerSecond: 40 });
    const agent = new HttpAgent({ url: `${stack.url}/ag-ui` });
    let cancelled: Promise<Response> | undefined;
    const { events, runId, stored } = await ask(agent, "Explain how cancellation reaches a running stage", {
      onTextMessageContentEvent: ({ agent: a }) => {
        cancelled ??= fetch(`${stack.url}/runs/${(a.state as { runId: string }).runId}/cancel`, {
          method: "POST",
        });
      },
    });
    expect((await cancelled)?.status).toBe(202);
    expect(stored.at(-1)?.type).toBe("run.cancelled");
    expect(stored.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "RUN_FINISHED", runId, outcome: { type: "cancelled" } });
    expect(events.filter((e) => e.type === "RUN_FINISHED" || e.type === "RUN_ERROR")).toHaveLength(1);
    expect(agent.state).toMatchObject({ status: "cancelled", stages: { execution: "cancelled" } });
    const partial = (agent.messages as Text[]).find((m) => m.id === `${runId}:execution:0`);
    const written = ofType(stored, "llm.delta")
      .map((e) => e.data.text)
      .join("");
    expect(partial?.content).toBe(written);
  }, 60_000);

  it("a failed run (the model's output breaks its schema twice): RUN_ERROR with the run's error code, last", async () => {
    await knobs(stack, { invalidJsonNext: 2 });
    const agent = new HttpAgent({ url: `${stack.url}/ag-ui` });
    const errors: BaseEvent[] = [];
    const { events, stored } = await ask(agent, "What is 3 * 7?", {
      onRunErrorEvent: ({ event }) => void errors.push(event),
    });
    const failed = stored.at(-1);
    if (failed?.type !== "run.failed") throw new Error(`the run ended with ${failed?.type}`);
    expect(failed.data.error.code).toBe("model_output_invalid");
    expect(events.at(-1)).toEqual(
      expect.objectContaining({
        type: "RUN_ERROR",
        code: "model_output_invalid",
        message: failed.data.error.message,
      }),
    );
    expect(errors).toHaveLength(1);
    expect(events.filter((e) => e.type === "RUN_FINISHED" || e.type === "RUN_ERROR")).toHaveLength(1);
    expect(agent.state).toMatchObject({ status: "failed", stages: { analyzing: "failed" } });
  }, 60_000);

  it("a retried stage (a 500 from the model): the step ends and starts again, CUSTOM stage.retrying, the run completes", async () => {
    await knobs(stack, { failNext: { count: 1, status: 500 } });
    const agent = new HttpAgent({ url: `${stack.url}/ag-ui` });
    const { events, stored } = await ask(agent, "How should we name the billing service?");
    expect(ofType(stored, "stage.retrying").map((e) => [e.stage, e.attempt])).toEqual([["analyzing", 1]]);
    expect(agUiOfType(events, "STEP_STARTED").filter((e) => e.stepName === "analyzing")).toHaveLength(2);
    expect(agUiOfType(events, "CUSTOM").find((e) => e.name === "stage.retrying")).toMatchObject({
      value: { nextAttempt: 1, error: expect.objectContaining({ code: expect.any(String) }) },
    });
    expect(events.at(-1)?.type).toBe("RUN_FINISHED");
    expect(agent.state).toMatchObject({ status: "completed", stages: { analyzing: "completed" } });
  }, 60_000);

  it("the same runId again is the same run, streamed again from seq 1, not a second one", async () => {
    const body = {
      threadId: "thread-replay",
      runId: `run-${Date.now()}`,
      messages: [{ id: "u1", role: "user", content: "What is 2 + 2?" }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: {},
    };
    const post = () =>
      fetch(`${stack.url}/ag-ui`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
    const first = await post();
    const text = await first.text();
    const again = await post();
    expect(again.headers.get("x-run-id")).toBe(first.headers.get("x-run-id"));
    expect(await again.text()).toContain('"type":"RUN_FINISHED"');
    expect(text).toContain('"type":"RUN_FINISHED"');
    const changed = await fetch(`${stack.url}/ag-ui`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, messages: [{ id: "u1", role: "user", content: "What is 3 + 3?" }] }),
    });
    expect(changed.status).toBe(422);
    expect((await changed.json()).error.code).toBe("idempotency_key_reused");
  }, 60_000);

  it("answers a client's mistakes with a JSON error before any byte, and starts no run", async () => {
    const before = (await stack.store.runs.listIds("anonymous", 50)).length;
    const post = (
      body: string,
      headers: Record<string, string> = { "content-type": "application/json" },
      query = "",
    ) => fetch(`${stack.url}/ag-ui${query}`, { method: "POST", headers, body });
    const valid = { threadId: "t", runId: "r", messages: [{ id: "u", role: "user", content: "Hi" }] };
    const cases: Array<[Promise<Response>, number, string]> = [
      [post("{"), 400, "invalid_json"],
      [post(JSON.stringify(valid), { "content-type": "text/plain" }), 415, "unsupported_media_type"],
      [post(JSON.stringify({ threadId: "t", runId: "r" })), 400, "invalid_request"],
      [
        post(JSON.stringify({ ...valid, messages: [{ id: "a", role: "assistant", content: "Hello" }] })),
        400,
        "no_user_message",
      ],
      [
        post(JSON.stringify({ ...valid, forwardedProps: { stagecast: { params: { "bad key": 1 } } } })),
        400,
        "invalid_request",
      ],
      [post(JSON.stringify(valid), undefined, "?types=nope.*"), 400, "invalid_types"],
      [post(JSON.stringify(valid), undefined, "?flush=sometimes"), 400, "invalid_flush"],
      [post(JSON.stringify({ ...valid, state: "x".repeat(1024 * 1024) })), 413, "payload_too_large"],
    ];
    for (const [answer, status, code] of cases) {
      const res = await answer;
      expect([res.status, res.headers.get("content-type")], code).toEqual([status, "application/json"]);
      const body = await res.json();
      expect(body.error.code).toBe(code);
      expect(body.error.message).not.toMatch(/at .*\.ts|Error:/);
    }
    expect((await stack.store.runs.listIds("anonymous", 50)).length).toBe(before);
  });
});

describe("GET /runs/{runId}/stream?format=ag-ui, resumed with Last-Event-ID", () => {
  noClientWarnings();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "80" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("the two streams' stored-event frames are every seq once; each stream is valid AG-UI; together they make the answer", async () => {
    const started = await startRun(stack.url, { question: "What is 17% of 2,340?" });
    const url = `${started.links.stream}?format=ag-ui`;
    // Drop the connection in the middle of the answer.
    const first = await readSse(url, {
      stopAfter: (frames) => frames.filter((f) => f.data.includes('"TEXT_MESSAGE_CONTENT"')).length >= 3,
      timeoutMs: 30_000,
    });
    expect(first.ended).toBe(false);
    const lastId = first.frames.findLast((f) => f.id !== undefined)?.id;
    expect(lastId).toBeDefined();
    const second = await readSse(url, { headers: { "last-event-id": String(lastId) }, timeoutMs: 30_000 });
    expect(second.ended).toBe(true);
    await stack.workflow.idle();
    const stored = await storedEvents(stack.store, started.runId);
    const ids = (frames: Frame[]) => frames.flatMap((f) => (f.id === undefined ? [] : [Number(f.id)]));
    expect([...ids(first.frames), ...ids(second.frames)]).toEqual(stored.map((e) => e.seq));

    for (const read of [first, second]) {
      expect(read.status).toBe(200);
      expect(read.retries[0]).toBe(stack.config.STREAM_RETRY_MS);
      const events = read.frames.map((f) => JSON.parse(f.data));
      expect(events[0]).toMatchObject({ type: "RUN_STARTED", runId: started.runId, threadId: started.runId });
      for (const event of events) expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
      // The frame with id: names its stored event.
      for (const f of read.frames.filter((f) => f.id !== undefined)) {
        expect(JSON.parse(f.data).rawEvent).toMatchObject({ runId: started.runId, seq: Number(f.id) });
      }
    }
    // One agent applies both responses (AG-UI's verifier checks each): the answer, once.
    const agent = new HttpAgent({ url: "http://stagecast.invalid/ag-ui" });
    for (const read of [first, second]) {
      agent.fetch = async () =>
        new Response(wire(read.frames), { headers: { "content-type": "text/event-stream" } });
      await agent.runAgent();
    }
    const done = stored.at(-1);
    if (done?.type !== "run.completed") throw new Error(`the run ended with ${done?.type}`);
    const texts = (agent.messages as Text[]).filter((m) => m.role === "assistant" && m.content);
    expect(texts.map((m) => m.content)).toEqual([done.data.answer]);
    expect(agent.state).toMatchObject({ status: "completed", progress: 100 });

    // ?from=latest on the ended run: the state as a snapshot (id: the seq before the end), then the end.
    const latest = await readSse(`${url}&from=latest`, { timeoutMs: 30_000 });
    const snapshot = latest.frames.find((f) => f.data.includes('"STATE_SNAPSHOT"'));
    expect(snapshot?.id).toBe(String(stored.length - 1));
    expect(ids(latest.frames)).toEqual([stored.length - 1, stored.length]);
    const fresh = new HttpAgent({ url: "http://stagecast.invalid/ag-ui" });
    fresh.fetch = async () =>
      new Response(wire(latest.frames), { headers: { "content-type": "text/event-stream" } });
    await fresh.runAgent();
    expect(fresh.state).toMatchObject({ runId: started.runId, status: "completed", progress: 100 });
  }, 60_000);
});

describe("docs/client.md's AG-UI snippets, run as shown", () => {
  const dir = join(ROOT, "test-results", `ag-ui-doc-${process.pid}`);
  beforeAll(() => mkdirSync(dir, { recursive: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The first TypeScript block after `heading` in docs/client.md's AG-UI section, as it is. */
  function snippet(heading: string): string {
    const doc = readFileSync(join(ROOT, "docs/client.md"), "utf8");
    const section = doc.slice(doc.indexOf("\n## AG-UI clients"));
    const from = section.indexOf(`\n${heading}\n`);
    const match = /```ts\n([\s\S]*?)```/.exec(section.slice(from));
    if (from < 0 || !match?.[1]) throw new Error(`docs/client.md has no AG-UI snippet under ${heading}`);
    return match[1];
  }

  /** Run a snippet with the stack's address in place of the docs' `npm start` one; its stdout. */
  async function run(name: string, code: string, url: string): Promise<string> {
    expect(code).toContain("http://127.0.0.1:3000");
    const file = join(dir, `${name}.ts`);
    writeFileSync(file, code.replaceAll("http://127.0.0.1:3000", url));
    const { stdout, stderr } = await execFileAsync(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(stderr, `${name}: stderr`).toBe("");
    return stdout;
  }

  async function answerOf(stack: Stack, runId: string): Promise<string> {
    await stack.workflow.idle();
    const done = (await storedEvents(stack.store, runId)).at(-1);
    if (done?.type !== "run.completed") throw new Error(`the run ended with ${done?.type}`);
    return done.data.answer;
  }

  it("Ten lines: the steps, the tool result, the answer, finished", async () => {
    const stack = await startTestStack();
    try {
      const out = await run("ten-lines", snippet("### Ten lines"), stack.url);
      const [runId] = await stack.store.runs.listIds("anonymous", 1);
      const answer = await answerOf(stack, String(runId));
      const steps = [...out.matchAll(/^▶ (\w+)$/gm)].map((m) => m[1]);
      expect(steps).toEqual(["context", "analyzing", "planning", "validation", "execution", "memory"]);
      expect(out).toMatch(/^tool \S+ → .*397\.8/m);
      expect(out).toContain(answer);
      expect(out.endsWith("\nfinished: success\n")).toBe(true);
    } finally {
      await stack.stop();
    }
  }, 90_000);

  it("Resuming a run: on a stack whose responses end every 1.5 s, it resumes until the end; the answer is whole", async () => {
    const stack = await startTestStack(RECONNECTING_STACK);
    try {
      const out = await run("resuming", snippet("### Resuming a run"), stack.url);
      const lines = out.trimEnd().split("\n");
      const resumes = lines.filter((l) => l.startsWith("resuming "));
      expect(resumes.length).toBeGreaterThanOrEqual(2);
      const runId = String(/^resuming (\S+) after/.exec(resumes[0] ?? "")?.[1]);
      const after = resumes.map((l) => Number(/after (\d+)$/.exec(l)?.[1]));
      expect(after).toEqual([...after].sort((a, b) => a - b));
      expect(lines.slice(resumes.length).join("\n")).toBe(await answerOf(stack, runId));
    } finally {
      await stack.stop();
    }
  }, 120_000);
});
