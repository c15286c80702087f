import { HttpAgent } from "@ag-ui/client";
import type { BaseEvent, Message } from "@ag-ui/core";
import { EventSchema, RunAgentInputSchema } from "@ag-ui/core/schemas";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import {
  type EventInput,
  type RunEvent,
  RunEventSchema,
  type SseMessage,
  TERMINAL_TYPES,
  type TerminalType,
} from "../../../packages/events/index.ts";
import { HttpError } from "../../../packages/http/index.ts";
import { AG_UI, agUiFormat, agUiMessageId } from "../../../packages/stream/ag-ui-format.ts";
import { agUiStart } from "../../../packages/stream/ag-ui-input.ts";
import { streamFormat } from "../../../packages/stream/stream-format.ts";
import { syntheticRun } from "../../../packages/stream/synthetic-run.ts";

/**
 * The `ag-ui` stream format (packages/stream/ag-ui-format.ts), checked with AG-UI's own code:
 * every frame's event against @ag-ui/core's schemas, and every stream through @ag-ui/client's
 * HttpAgent (its SSE parser, enforcement, verifier and reducer), fed by a `fetch` that answers
 * the frames as the stream would write them.
 */

type Frame = SseMessage | string;
const RUN = "01M7ZFACMSJT719GB6ZX6NW109";
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const RETRY_MS = 1000;

/** Stored events from inputs: seq 1, 2, 3 …, 10 ms apart, each valid against RunEventSchema. */
function log(inputs: EventInput[]): RunEvent[] {
  return inputs.map((input, i) =>
    RunEventSchema.parse({ ...input, runId: RUN, seq: i + 1, ts: new Date(T0 + i * 10).toISOString() }),
  );
}

const at = (stage: string, attempt: number, progress: number) => ({ stage, attempt, progress });
const queued: EventInput = {
  type: "run.queued",
  progress: 0,
  message: "Run queued.",
  data: {
    question: "What is 6 * 7?",
    agent: "default",
    stages: [
      { name: "context", weight: 1 },
      { name: "execution", weight: 3 },
    ],
  },
};
const started: EventInput = { type: "run.started", progress: 0, message: "Run started.", data: {} };
const stageStarted = (stage: string, attempt: number, progress: number): EventInput => ({
  type: "stage.started",
  ...at(stage, attempt, progress),
  message: `Running ${stage}…`,
  data: { index: stage === "context" ? 0 : 1, total: 2 },
});
const delta = (attempt: number, progress: number, text: string): EventInput => ({
  type: "llm.delta",
  ...at("execution", attempt, progress),
  message: "Writing the answer…",
  data: { text, model: "offline" },
});
const toolStarted = (attempt: number, callId: string, name: string): EventInput => ({
  type: "tool.started",
  ...at("execution", attempt, 40),
  message: `Running ${name}…`,
  data: { callId, name, input: { expression: "6 * 7" } },
});
const toolCompleted = (attempt: number, callId: string, name: string, ok: boolean): EventInput => ({
  type: "tool.completed",
  ...at("execution", attempt, 40),
  message: ok ? `${name} finished in 3 ms.` : `${name} failed: There is no tool called ${name}.`,
  data: ok
    ? { callId, name, input: { expression: "6 * 7" }, durationMs: 3, ok, result: { value: 42 } }
    : {
        callId,
        name,
        durationMs: 0,
        ok,
        error: { code: "unknown_tool", message: `There is no tool called ${name}.` },
      },
});
const ANSWER = "The answer is 42.";
const completed: EventInput = {
  type: "run.completed",
  progress: 100,
  message: "Run completed.",
  data: {
    answer: ANSWER,
    models: ["offline"],
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
    usageByStage: { execution: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } },
    durationMs: 170,
  },
};

/**
 * A run with every stored type but the other terminals: context reports a detail whose key
 * needs JSON Pointer escaping, execution's first attempt calls a tool and writes text, is
 * retried, and the second attempt's failed tool call and text make the answer.
 */
const RICH = log([
  queued,
  started,
  stageStarted("context", 0, 0),
  {
    type: "stage.progress",
    ...at("context", 0, 4),
    message: "Loaded 0 memories.",
    data: { memories: 0, "a/b~c": true },
  },
  {
    type: "stage.completed",
    ...at("context", 0, 25),
    message: "Context ready.",
    data: { durationMs: 5, turns: 0 },
  },
  stageStarted("execution", 0, 25),
  toolStarted(0, "execution-0-1", "calculator"),
  toolCompleted(0, "execution-0-1", "calculator", true),
  delta(0, 50.2, "Partial "),
  delta(0, 50.7, "text"),
  {
    type: "stage.retrying",
    ...at("execution", 1, 50.7),
    message: "Retrying execution (attempt 2).",
    data: {
      error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
      nextAttempt: 1,
    },
  },
  stageStarted("execution", 1, 50.7),
  toolStarted(1, "execution-1-1", "web_search"),
  toolCompleted(1, "execution-1-1", "web_search", false),
  delta(1, 60, "The answer "),
  delta(1, 70, "is 42."),
  {
    type: "stage.completed",
    ...at("execution", 1, 100),
    message: "Answer written.",
    data: { durationMs: 90 },
  },
  completed,
]);

/**
 * The frames one response writes, as the tail drives a session: the opening, then the frames of
 * each event after `after` up to `until` (a connection that drops there), filtered by type like
 * the `types` parameter (terminal events always pass).
 */
function respond(
  events: RunEvent[],
  options: { after?: number; until?: number; types?: string[]; threadId?: string } = {},
): Frame[] {
  const { after = 0, until = Number.POSITIVE_INFINITY, types } = options;
  const format = options.threadId === undefined ? AG_UI : agUiFormat({ threadId: options.threadId });
  const session = format.open({ runId: RUN, after });
  const frames: Frame[] = [
    ...session.opening({ runId: RUN, elapsedMs: 0, progress: 0, lastSeq: after }, RETRY_MS),
  ];
  for (const event of events) {
    if (event.seq <= after || event.seq > until) continue;
    if (types && !types.includes(event.type) && !(TERMINAL_TYPES as readonly string[]).includes(event.type))
      continue;
    frames.push(...session.frames(event));
  }
  return frames;
}

/** Frames as Hono's writeSSE puts them on the wire, after the tail's opening comment. */
function wire(frames: Frame[]): string {
  const block = (m: SseMessage) =>
    `${[
      ...m.data.split("\n").map((line) => `data: ${line}`),
      ...(m.id === undefined ? [] : [`id: ${m.id}`]),
      ...(m.retry === undefined ? [] : [`retry: ${m.retry}`]),
    ].join("\n")}\n\n`;
  return `: stream ${RUN}\n${frames.map((f) => (typeof f === "string" ? f : block(f))).join("")}`;
}

/** The AG-UI events of the frames (their `data:`), in order. */
const agUi = (frames: Frame[]): Array<Record<string, unknown> & { type: string }> =>
  frames.flatMap((f) => (typeof f === "string" ? [] : [JSON.parse(f.data)]));

/** The seqs of the frames that carry an `id:`, in order. */
const ids = (frames: Frame[]) =>
  frames.flatMap((f) => (typeof f === "string" || f.id === undefined ? [] : [Number(f.id)]));

/** The AG-UI event types each stored event became, by seq (after the opening frame). */
function groups(frames: Frame[]): Array<[number, string[]]> {
  const out: Array<[number, string[]]> = [];
  let pending: string[] = [];
  for (const f of frames.slice(1)) {
    if (typeof f === "string") continue;
    pending.push(JSON.parse(f.data).type);
    if (f.id !== undefined) {
      out.push([Number(f.id), pending]);
      pending = [];
    }
  }
  return out;
}

/** An HttpAgent whose requests are answered with `frames` (a real one: parser, enforcement, verifier, reducer). */
function agent(): HttpAgent {
  return new HttpAgent({ url: "http://stagecast.invalid/ag-ui", threadId: "t-1" });
}

/** Run `frames` through `client` (its messages and state carry over from earlier calls); the events it applied. */
async function replay(client: HttpAgent, frames: Frame[]): Promise<BaseEvent[]> {
  client.fetch = async () => new Response(wire(frames), { headers: { "content-type": "text/event-stream" } });
  const seen: BaseEvent[] = [];
  await client.runAgent({}, { onEvent: ({ event }) => void seen.push(event) });
  return seen;
}

let warn: MockInstance;
let error: MockInstance;
beforeEach(() => {
  // @ag-ui/client warns when it strips unknown fields, cannot apply a state patch or drops an
  // event, and logs a failed run: any of them is a mapping bug here.
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  error = vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  const warned = [...warn.mock.calls];
  const logged = [...error.mock.calls];
  vi.restoreAllMocks();
  expect(warned, "console.warn").toEqual([]);
  expect(logged, "console.error").toEqual([]);
});

describe("the ag-ui format: one stored event after another", () => {
  it("is registered as ?format=ag-ui, its types are Stagecast's", () => {
    expect(streamFormat("ag-ui")).toBe(AG_UI);
    expect(AG_UI.types).toContain("llm.delta");
    expect(AG_UI.typeOf(RICH[0] as RunEvent)).toBe("run.queued");
  });

  it("maps every stored type to AG-UI events that @ag-ui/core's schemas accept, the last of each with id: seq", () => {
    const frames = respond(RICH);
    for (const event of agUi(frames)) expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
    const first = frames[0] as SseMessage;
    expect(first.retry).toBe(RETRY_MS);
    expect(JSON.parse(first.data)).toEqual({
      type: "RUN_STARTED",
      threadId: RUN,
      runId: RUN,
      protocolVersion: "1.0",
    });
    expect(ids(frames)).toEqual(RICH.map((e) => e.seq));
    expect(groups(frames)).toEqual([
      [1, ["STATE_SNAPSHOT", "CUSTOM"]],
      [2, ["STATE_DELTA"]],
      [3, ["STEP_STARTED", "STATE_DELTA"]],
      [4, ["STATE_DELTA"]],
      [5, ["STATE_DELTA", "STEP_FINISHED"]],
      [6, ["STEP_STARTED", "STATE_DELTA"]],
      [7, ["STATE_DELTA", "TOOL_CALL_START", "TOOL_CALL_ARGS"]],
      [8, ["TOOL_CALL_END", "TOOL_CALL_RESULT"]],
      [9, ["TEXT_MESSAGE_START", "STATE_DELTA", "TEXT_MESSAGE_CONTENT"]],
      [10, ["TEXT_MESSAGE_CONTENT"]],
      [11, ["TEXT_MESSAGE_END", "STEP_FINISHED", "STATE_DELTA", "CUSTOM"]],
      [12, ["STEP_STARTED", "STATE_DELTA"]],
      [13, ["STATE_DELTA", "TOOL_CALL_START", "TOOL_CALL_ARGS"]],
      [14, ["TOOL_CALL_END", "TOOL_CALL_RESULT"]],
      [15, ["TEXT_MESSAGE_START", "STATE_DELTA", "TEXT_MESSAGE_CONTENT"]],
      [16, ["STATE_DELTA", "TEXT_MESSAGE_CONTENT"]],
      [17, ["TEXT_MESSAGE_END", "STATE_DELTA", "STEP_FINISHED"]],
      [18, ["STATE_DELTA", "RUN_FINISHED"]],
    ]);
    // The id-carrying frame names its stored event; every frame of the group has its time.
    const events = agUi(frames);
    expect(events.at(-1)).toMatchObject({ rawEvent: { runId: RUN, seq: 18, type: "run.completed" } });
    expect(events.filter((e) => e.rawEvent !== undefined)).toHaveLength(RICH.length);
    expect(events.slice(1).every((e) => typeof e.timestamp === "number")).toBe(true);
  });

  it("gives each event's AG-UI fields: ids, tool calls and results, steps, state operations, the run's result", () => {
    const events = agUi(respond(RICH));
    const of = (type: string) => events.filter((e) => e.type === type);
    expect(of("STEP_STARTED").map((e) => e.stepName)).toEqual(["context", "execution", "execution"]);
    expect(of("STEP_FINISHED").map((e) => e.stepName)).toEqual(["context", "execution", "execution"]);
    expect(of("TEXT_MESSAGE_START")).toEqual([
      expect.objectContaining({ messageId: `${RUN}:execution:0`, role: "assistant" }),
      expect.objectContaining({ messageId: `${RUN}:execution:1`, role: "assistant" }),
    ]);
    expect(of("TOOL_CALL_START")[0]).toMatchObject({
      toolCallId: "execution-0-1",
      toolCallName: "calculator",
      parentMessageId: `${RUN}:execution:0`,
    });
    expect(of("TOOL_CALL_ARGS")[0]).toMatchObject({
      toolCallId: "execution-0-1",
      delta: '{"expression":"6 * 7"}',
    });
    expect(of("TOOL_CALL_RESULT")).toEqual([
      expect.objectContaining({
        toolCallId: "execution-0-1",
        messageId: `${RUN}:8:result`,
        content: '{"value":42}',
        role: "tool",
      }),
      expect.objectContaining({
        toolCallId: "execution-1-1",
        content: '{"error":{"code":"unknown_tool","message":"There is no tool called web_search."}}',
      }),
    ]);
    expect(of("STATE_SNAPSHOT")[0]?.snapshot).toEqual({
      runId: RUN,
      agent: "default",
      status: "queued",
      progress: 0,
      stage: null,
      message: "Run queued.",
      stages: { context: "pending", execution: "pending" },
      data: {},
    });
    expect(of("STATE_DELTA")[2]?.delta).toEqual([
      { op: "add", path: "/progress", value: 4 },
      { op: "add", path: "/message", value: "Loaded 0 memories." },
      { op: "add", path: "/data/context/memories", value: 0 },
      { op: "add", path: "/data/context/a~1b~0c", value: true },
    ]);
    expect(of("CUSTOM")[0]).toMatchObject({ name: "run.queued", value: { question: "What is 6 * 7?" } });
    expect(of("RUN_FINISHED")).toEqual([
      expect.objectContaining({
        threadId: RUN,
        runId: RUN,
        result: expect.objectContaining({ answer: ANSWER }),
        usage: [{ model: "offline", inputTokens: 10, outputTokens: 5, totalTokens: 15 }],
      }),
    ]);
  });

  it("plays through @ag-ui/client's HttpAgent: verifier passes, the messages and the state are the run's", async () => {
    const client = agent();
    const seen = await replay(client, respond(RICH, { threadId: "t-1" }));
    expect(seen[0]).toMatchObject({ type: "RUN_STARTED", threadId: "t-1", runId: RUN });
    expect(seen.at(-1)?.type).toBe("RUN_FINISHED");
    const messages = client.messages as Array<
      Message & { content?: unknown; toolCalls?: Array<{ id: string }> }
    >;
    expect(messages.map((m) => [m.role, m.id])).toEqual([
      ["assistant", `${RUN}:execution:0`],
      ["tool", `${RUN}:8:result`],
      ["assistant", `${RUN}:execution:1`],
      ["tool", `${RUN}:14:result`],
    ]);
    expect(messages[0]).toMatchObject({ content: "Partial text", toolCalls: [{ id: "execution-0-1" }] });
    expect(messages[2]).toMatchObject({
      content: ANSWER,
      toolCalls: [
        { id: "execution-1-1", function: { name: "web_search", arguments: '{"expression":"6 * 7"}' } },
      ],
    });
    expect(client.state).toEqual({
      runId: RUN,
      agent: "default",
      status: "completed",
      progress: 100,
      stage: "execution",
      message: "Run completed.",
      stages: { context: "completed", execution: "completed" },
      data: {
        context: { memories: 0, "a/b~c": true, durationMs: 5, turns: 0 },
        execution: { durationMs: 90 },
      },
    });
  });
});

describe("the ag-ui format: retrying, terminals, control frames", () => {
  it("stage.retrying closes the attempt's message and step and names the voided message; the retry starts afresh", () => {
    const frames = respond(RICH);
    const events = agUi(frames);
    const retry = events.findIndex((e) => e.type === "CUSTOM" && e.name === "stage.retrying");
    expect(events.slice(retry - 3, retry + 3)).toEqual([
      expect.objectContaining({ type: "TEXT_MESSAGE_END", messageId: `${RUN}:execution:0` }),
      expect.objectContaining({ type: "STEP_FINISHED", stepName: "execution" }),
      expect.objectContaining({
        type: "STATE_DELTA",
        delta: expect.arrayContaining([{ op: "add", path: "/stages/execution", value: "retrying" }]),
      }),
      expect.objectContaining({
        type: "CUSTOM",
        name: "stage.retrying",
        value: {
          error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
          nextAttempt: 1,
          voidedMessageId: `${RUN}:execution:0`,
        },
      }),
      expect.objectContaining({ type: "STEP_STARTED", stepName: "execution" }),
      expect.objectContaining({ type: "STATE_DELTA" }),
    ]);
    expect(agUiMessageId(RUN, "execution", 0)).toBe(`${RUN}:execution:0`);
    expect(agUiMessageId(RUN, undefined, undefined)).toBe(`${RUN}:run`);
  });

  const TERMINALS: Record<TerminalType, EventInput> = {
    "run.completed": completed,
    "run.failed": {
      type: "run.failed",
      stage: "execution",
      progress: 45,
      message: "The language model rejected the request.",
      data: { error: { code: "model_bad_request", message: "The language model rejected the request." } },
    },
    "run.timed_out": {
      type: "run.timed_out",
      stage: "execution",
      progress: 45,
      message: "The run took longer than its time limit.",
      data: { error: { code: "run_timeout", message: "The run took longer than its time limit." } },
    },
    "run.cancelled": {
      type: "run.cancelled",
      stage: "execution",
      progress: 45,
      message: "Cancelled by the caller.",
      data: { reason: "Cancelled by the caller." },
    },
  };
  const END_OF: Record<TerminalType, Record<string, unknown>> = {
    "run.completed": {
      type: "RUN_FINISHED",
      runId: RUN,
      result: expect.objectContaining({ answer: ANSWER }),
    },
    "run.failed": {
      type: "RUN_ERROR",
      code: "model_bad_request",
      message: "The language model rejected the request.",
    },
    "run.timed_out": {
      type: "RUN_ERROR",
      code: "run_timeout",
      message: "The run took longer than its time limit.",
    },
    "run.cancelled": { type: "RUN_FINISHED", runId: RUN, outcome: { type: "cancelled" } },
  };

  for (const terminal of TERMINAL_TYPES) {
    it(`${terminal} during a tool call and a message: everything closes, then exactly one ${END_OF[terminal].type}, last`, async () => {
      const events = log([
        queued,
        started,
        stageStarted("execution", 0, 25),
        delta(0, 45, "Half an ans"),
        toolStarted(0, "execution-0-1", "calculator"),
        TERMINALS[terminal],
      ]);
      const frames = respond(events);
      const mapped = agUi(frames);
      for (const event of mapped) expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
      expect(groups(frames).at(-1)).toEqual([
        6,
        ["TOOL_CALL_END", "TEXT_MESSAGE_END", "STEP_FINISHED", "STATE_DELTA", END_OF[terminal].type],
      ]);
      expect(mapped.at(-1)).toMatchObject(END_OF[terminal]);
      expect(mapped.filter((e) => e.type === "RUN_FINISHED" || e.type === "RUN_ERROR")).toHaveLength(1);
      const client = agent();
      const seen = await replay(client, frames);
      expect(seen.at(-1)?.type).toBe(END_OF[terminal].type);
      const status = {
        "run.completed": "completed",
        "run.failed": "failed",
        "run.timed_out": "timed_out",
        "run.cancelled": "cancelled",
      }[terminal];
      expect(client.state).toMatchObject({ status, stages: { execution: status } });
      expect(client.messages.find((m) => m.role === "assistant")).toMatchObject({ content: "Half an ans" });
    });
  }

  it("heartbeats are comments; reconnect is a CUSTOM frame with retry: and no id; the run stays open", async () => {
    const session = AG_UI.open({ runId: RUN, after: 0 });
    expect(session.heartbeat({ runId: RUN, elapsedMs: 2600, progress: 10, lastSeq: 3 })).toEqual([
      ": heartbeat 3 s\n",
    ]);
    const reconnect = { runId: RUN, lastSeq: 10, retryMs: 500, reason: "deadline" as const };
    const frames = [...respond(RICH, { until: 10 }), ...session.reconnect(reconnect)];
    const last = frames.at(-1) as SseMessage;
    expect(last).toEqual({
      data: JSON.stringify({ type: "CUSTOM", name: "reconnect", value: reconnect }),
      retry: 500,
    });
    const seen = await replay(agent(), [frames[0] as Frame, ": heartbeat 1 s\n", ...frames.slice(1)]);
    expect(seen.at(-1)).toMatchObject({ type: "CUSTOM", name: "reconnect" });
  });

  for (const terminal of TERMINAL_TYPES) {
    it(`an ended frame (cursor past ${terminal}) says so with CUSTOM ended, then the run's end`, async () => {
      const session = AG_UI.open({ runId: RUN, after: 40 });
      const ended = { runId: RUN, lastSeq: 30, terminal };
      const frames = [
        ...session.opening({ runId: RUN, elapsedMs: 0, progress: 0, lastSeq: 40 }, RETRY_MS),
        ...session.ended(ended),
      ];
      const events = agUi(frames);
      for (const event of events) expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
      expect(events.map((e) => e.type)).toEqual(["RUN_STARTED", "CUSTOM", END_OF[terminal].type]);
      expect(events[1]).toEqual({ type: "CUSTOM", name: "ended", value: ended });
      expect(ids(frames)).toEqual([]);
      await replay(agent(), frames);
    });
  }

  it("?from=latest opens with a STATE_SNAPSHOT (id: the newest seq) that the next deltas apply to", async () => {
    const snapshot = AG_UI.snapshot({
      runId: RUN,
      status: "running",
      stage: "execution",
      progress: 50.7,
      lastSeq: 10,
      message: "Writing the answer…",
      question: "What is 6 * 7?",
      createdAt: new Date(T0).toISOString(),
      updatedAt: new Date(T0 + 100).toISOString(),
    });
    expect(snapshot.id).toBe("10");
    expect(JSON.parse(snapshot.data)).toMatchObject({
      type: "STATE_SNAPSHOT",
      snapshot: {
        status: "running",
        stage: "execution",
        stages: { execution: "running" },
        data: { execution: {} },
      },
      rawEvent: { runId: RUN, seq: 10, type: "snapshot" },
    });
    const [opening, ...rest] = respond(RICH, { after: 10 });
    const client = agent();
    await replay(client, [opening as Frame, snapshot, ...rest]);
    expect(client.state).toMatchObject({ status: "completed", stages: { execution: "completed" } });
    expect(client.messages.find((m) => m.id === `${RUN}:execution:1`)).toMatchObject({ content: ANSWER });
  });

  it("a filtered stream (types) is still valid AG-UI: what it continues, it opens", async () => {
    for (const types of [
      ["llm.delta"],
      ["tool.completed"],
      ["stage.completed", "llm.delta"],
      ["stage.progress"],
    ]) {
      const frames = respond(RICH, { types });
      for (const event of agUi(frames))
        expect(EventSchema.safeParse(event).error, event.type).toBeUndefined();
      const seen = await replay(agent(), frames);
      expect(seen.at(-1)?.type, types.join()).toBe("RUN_FINISHED");
    }
  });

  it("GET /test-stream's synthetic run: one message whose text is the answer", async () => {
    const events = syntheticRun(RUN, T0);
    const client = agent();
    await replay(client, respond(events));
    const done = events.at(-1);
    const answer = done?.type === "run.completed" ? done.data.answer : "";
    expect(client.messages.filter((m) => m.role === "assistant").map((m) => m.content)).toEqual([answer]);
  });
});

describe("the ag-ui format: resume (Last-Event-ID) without loss or repetition", () => {
  /** What a client that follows the whole run in one response ends with. */
  async function whole(events: RunEvent[]) {
    const client = agent();
    await replay(client, respond(events));
    return { messages: client.messages, state: client.state };
  }

  it("cut after any event, or in the middle of the next one's frames: the resumed stream alone is valid, and together they build exactly the whole run", async () => {
    const expected = await whole(RICH);
    for (let cut = 0; cut < RICH.length; cut++) {
      const full = respond(RICH, { until: cut + 1 });
      const lastId = full.findLastIndex((f) => typeof f !== "string" && f.id === String(cut));
      const clean = cut === 0 ? full.slice(0, 1) : full.slice(0, lastId + 1);
      // The next event's frames but its last (the one with id:): a connection cut inside a group.
      const torn = full.slice(0, -1);
      for (const [how, first] of [
        ["clean", clean],
        ["torn", torn],
      ] as const) {
        const second = respond(RICH, { after: cut });
        expect(agUi(second)[0]?.type, `${how} ${cut}`).toBe("RUN_STARTED");
        expect([...ids(first), ...ids(second)], `${how} cut after ${cut}`).toEqual(RICH.map((e) => e.seq));
        const client = agent();
        await replay(client, first);
        await replay(client, second);
        expect({ messages: client.messages, state: client.state }, `${how} cut after ${cut}`).toEqual(
          expected,
        );
      }
    }
  });

  it("resumed in the middle of a message: the same message id is opened again and its text continues", () => {
    const events = agUi(respond(RICH, { after: 15 }));
    expect(events.slice(0, 4).map((e) => e.type)).toEqual([
      "RUN_STARTED",
      "STEP_STARTED",
      "TEXT_MESSAGE_START",
      "STATE_DELTA",
    ]);
    expect(events[2]).toMatchObject({ messageId: `${RUN}:execution:1` });
    expect(events[4]).toMatchObject({
      type: "TEXT_MESSAGE_CONTENT",
      messageId: `${RUN}:execution:1`,
      delta: "is 42.",
    });
  });

  it("resumed between a tool call and its result: the call is opened again, without its arguments", () => {
    const events = agUi(respond(RICH, { after: 13 }));
    expect(events.slice(0, 6).map((e) => e.type)).toEqual([
      "RUN_STARTED",
      "STEP_STARTED",
      "STATE_DELTA",
      "TOOL_CALL_START",
      "TOOL_CALL_END",
      "TOOL_CALL_RESULT",
    ]);
  });
});

describe("POST /ag-ui's input: RunAgentInput", () => {
  const input = (over: Record<string, unknown> = {}) => ({
    threadId: "thread-1",
    runId: "3f1c2a9e-0d5b-4c1e-9b7a-2f8e6d4c3b2a",
    state: {},
    messages: [
      { id: "u1", role: "user", content: "First question" },
      { id: "a1", role: "assistant", content: "First answer" },
      { id: "u2", role: "user", content: "What is 6 * 7?" },
    ],
    tools: [],
    context: [],
    forwardedProps: {},
    ...over,
  });
  const refusal = (raw: unknown): { status: number; code: string; message: string } => {
    try {
      agUiStart(raw);
    } catch (err) {
      if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
      throw err;
    }
    throw new Error("accepted");
  };

  it("takes the last user message as the question and the threadId as the conversation", () => {
    const start = agUiStart(input());
    expect(start.input).toEqual({ question: "What is 6 * 7?", conversationId: "thread-1" });
    expect(start.threadId).toBe("thread-1");
    expect(start.idempotencyKey).toMatch(/^ag-ui\.[0-9a-f]{64}$/);
    expect(agUiStart(input()).idempotencyKey).toBe(start.idempotencyKey);
    expect(agUiStart(input({ runId: "another" })).idempotencyKey).not.toBe(start.idempotencyKey);
  });

  it("reads text parts, ignores the others; a threadId that is no conversation id starts none", () => {
    const parts = [
      { type: "text", text: "Describe" },
      { type: "image", source: { type: "url", value: "https://example.com/a.png" } },
      { type: "text", text: "this picture" },
    ];
    const start = agUiStart(
      input({ threadId: "thread with spaces", messages: [{ id: "u", role: "user", content: parts }] }),
    );
    expect(start.input).toEqual({ question: "Describe\nthis picture" });
  });

  it("takes projectId and params from forwardedProps.stagecast; other forwardedProps are the client's own", () => {
    const start = agUiStart(
      input({
        forwardedProps: { stagecast: { projectId: "p-1", params: { filter: "app=web" } }, nodeName: "x" },
      }),
    );
    expect(start.input).toMatchObject({ projectId: "p-1", params: { filter: "app=web" } });
    expect(agUiStart(input({ forwardedProps: "opaque" })).input.question).toBe("What is 6 * 7?");
  });

  it("refuses what is not a RunAgentInput, or not a question, with 400 and the field named", () => {
    expect(refusal([])).toMatchObject({
      status: 400,
      code: "invalid_request",
      message: "body: Invalid input: expected object, received array",
    });
    expect(refusal(input({ messages: undefined }))).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("messages"),
    });
    expect(refusal(input({ runId: "" }))).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("runId"),
    });
    expect(refusal(input({ messages: [{ id: "x", role: "robot", content: "hi" }] }))).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("messages.0.role"),
    });
    expect(refusal(input({ messages: [{ id: "a", role: "assistant", content: "hello" }] }))).toMatchObject({
      status: 400,
      code: "no_user_message",
    });
    expect(refusal(input({ messages: [{ id: "u", role: "user", content: "   " }] }))).toMatchObject({
      code: "no_user_message",
    });
    expect(
      refusal(input({ messages: [{ id: "u", role: "user", content: "x".repeat(8001) }] })),
    ).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("messages (the last user message)"),
    });
    expect(refusal(input({ forwardedProps: { stagecast: { projectId: "a b" } } }))).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("forwardedProps.stagecast.projectId"),
    });
    expect(refusal(input({ forwardedProps: { stagecast: { projectid: "p" } } }))).toMatchObject({
      code: "invalid_request",
      message: expect.stringContaining("forwardedProps.stagecast"),
    });
  });

  it("agrees with @ag-ui/core's RunAgentInputSchema: what it accepts, core accepts; malformed shapes both refuse", () => {
    const accepted = [
      input(),
      input({
        tools: [{ name: "t", description: "d", parameters: { type: "object" } }],
        context: [{ description: "d", value: "v" }],
      }),
      input({ messages: [{ id: "u", role: "user", content: [{ type: "text", text: "hi" }] }] }),
      input({ state: { anything: [1, 2] }, forwardedProps: { a: 1 } }),
    ];
    for (const raw of accepted) {
      expect(() => agUiStart(raw)).not.toThrow();
      expect(RunAgentInputSchema.safeParse(raw).error).toBeUndefined();
    }
    const malformed = [
      [],
      input({ threadId: 7 }),
      input({ messages: "hi" }),
      input({ messages: [{ id: "x", role: "robot", content: "hi" }] }),
      input({ tools: [{ name: "t" }] }),
      input({ context: [{ description: "d" }] }),
    ];
    for (const raw of malformed) {
      expect(refusal(raw).code).toBe("invalid_request");
      expect(RunAgentInputSchema.safeParse(raw).success).toBe(false);
    }
  });
});
