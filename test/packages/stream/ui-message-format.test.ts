import {
  asSchema,
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from "ai";
import { SSEStreamingApi } from "hono/streaming";
import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import type { EventInput, Heartbeat, RunEvent, SseMessage } from "../../../packages/events/index.ts";
import { buildEvent } from "../../../packages/store/index.ts";
import { streamFormat } from "../../../packages/stream/stream-format.ts";
import { syntheticRun } from "../../../packages/stream/synthetic-run.ts";
import { UI_MESSAGE_FORMAT } from "../../../packages/stream/ui-message-format.ts";

/**
 * The UI message stream mapping (packages/stream/ui-message-format.ts), checked with the `ai`
 * package's own code: every chunk against its `uiMessageChunkSchema`, the bytes through its
 * SSE parser (`parseJsonEventStream`), and the message through `readUIMessageStream`, the
 * reducer `useChat` runs.
 */

type Frame = SseMessage | string;
const RETRY_MS = 300;
const BEAT: Heartbeat = { runId: "01J00000000000000000000000", elapsedMs: 0, progress: 0, lastSeq: 0 };
const chunkSchema = asSchema(uiMessageChunkSchema);

/** A run's log from event inputs: seq 1…n, one run id, 100 ms apart. */
function log(inputs: EventInput[], runId = ulid()): RunEvent[] {
  return inputs.map((input, i) => buildEvent(input, runId, i + 1, Date.UTC(2025, 0, 1) + i * 100));
}

/** One response's frames: the opening, then each event's (from `after` on), as the tail writes them. */
function framesOf(events: RunEvent[], after = 0): { frames: Frame[]; byEvent: SseMessage[][] } {
  const runId = events[0]?.runId ?? ulid();
  const session = UI_MESSAGE_FORMAT.open({ runId, after });
  const byEvent = events.filter((e) => e.seq > after).map((e) => [...session.frames(e)]);
  return { frames: [...session.opening(BEAT, RETRY_MS), ...byEvent.flat()], byEvent };
}

/** The JSON chunks of some frames (`[DONE]` and comment lines left out). */
const chunksOf = (frames: readonly Frame[]): Array<UIMessageChunk & Record<string, unknown>> =>
  frames.flatMap((f) => (typeof f === "string" || f.data === "[DONE]" ? [] : [JSON.parse(f.data)]));

/** Every chunk is one the `ai` package's schema accepts, unchanged. */
async function expectValidChunks(frames: readonly Frame[]): Promise<void> {
  for (const chunk of chunksOf(frames)) {
    const result = await chunkSchema.validate?.(chunk);
    expect(result?.success, JSON.stringify(chunk)).toBe(true);
    if (result?.success) expect(result.value).toEqual(chunk);
  }
}

/** The bytes Hono's SSE writer puts on the wire for these frames, after the tail's opening comment. */
async function wire(frames: readonly Frame[]): Promise<ReadableStream<Uint8Array>> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const sse = new SSEStreamingApi(writable, readable);
  const body = new Response(sse.responseReadable).text();
  await sse.write(": stream 01J00000000000000000000000 after 0\n");
  for (const frame of frames) {
    if (typeof frame === "string") await sse.write(frame);
    else await sse.writeSSE(frame);
  }
  await sse.close();
  return new Response(await body).body as ReadableStream<Uint8Array>;
}

/** What `useChat`'s reducer makes of a response: the chunks the `ai` parser read, the final message, the errors it reported. */
async function read(frames: readonly Frame[], message?: UIMessage) {
  const chunks: UIMessageChunk[] = [];
  const parsed = parseJsonEventStream({
    stream: await wire(frames),
    schema: uiMessageChunkSchema,
  }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) throw result.error;
        // A copy: the reducer keeps data chunks as parts and later updates them in place.
        chunks.push(structuredClone(result.value));
        controller.enqueue(result.value);
      },
    }),
  );
  const errors: string[] = [];
  let last: UIMessage | undefined;
  const messages = readUIMessageStream({
    stream: parsed,
    onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
    ...(message ? { message } : {}),
  });
  for await (const m of messages) last = m;
  return { chunks, message: last, errors };
}

const textOf = (m: UIMessage | undefined) =>
  (m?.parts ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
const partsOf = (m: UIMessage | undefined, type: string) =>
  (m?.parts ?? []).filter((p) => p.type === type) as Array<Record<string, unknown>>;

const stage = (name: string, attempt = 0, index = 0, total = 1) => ({ stage: name, attempt, index, total });
const started = (s: ReturnType<typeof stage>, progress = 0): EventInput => ({
  type: "stage.started",
  stage: s.stage,
  attempt: s.attempt,
  progress,
  message: `Running ${s.stage}…`,
  data: { index: s.index, total: s.total },
});
const delta = (s: ReturnType<typeof stage>, text: string, progress = 50): EventInput => ({
  type: "llm.delta",
  stage: s.stage,
  attempt: s.attempt,
  progress,
  message: "Writing the answer…",
  data: { text },
});
const completedStage = (s: ReturnType<typeof stage>, progress = 90, extra = {}): EventInput => ({
  type: "stage.completed",
  stage: s.stage,
  attempt: s.attempt,
  progress,
  message: `${s.stage} done.`,
  data: { durationMs: 12, ...extra },
});
const QUEUED: EventInput = {
  type: "run.queued",
  progress: 0,
  message: "Run queued.",
  data: { question: "What is 6 * 7?", agent: "test", stages: [{ name: "execution", weight: 1 }] },
};
const STARTED: EventInput = { type: "run.started", progress: 0, message: "Run started.", data: {} };
const completedRun = (answer: string): EventInput => ({
  type: "run.completed",
  progress: 100,
  message: "Run completed.",
  data: {
    answer,
    models: ["offline"],
    usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
    usageByStage: {},
    durationMs: 900,
  },
});

describe("the UI message stream of a whole run (a full replay)", () => {
  it("the synthetic run: valid chunks, start…finish then [DONE], and readUIMessageStream builds the answer, the tool call and the data parts", async () => {
    const events = syntheticRun(ulid(), Date.now());
    const runId = events[0]?.runId ?? "";
    const { frames, byEvent } = framesOf(events);
    await expectValidChunks(frames);
    const first = frames[0] as SseMessage;
    expect(JSON.parse(first.data)).toEqual({ type: "start", messageId: runId, messageMetadata: { runId } });
    expect(first.retry).toBe(RETRY_MS);
    expect(frames.at(-1)).toEqual({ data: "[DONE]" });
    const chunks = chunksOf(frames);
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "stop", messageMetadata: { runId } });
    // Each event's frames: only the last carries the SSE id, which is its seq.
    byEvent.forEach((group, i) => {
      const seq = String(events[i]?.seq);
      const withId = group.filter((f) => f.id !== undefined);
      if (group.length > 0) expect(withId.at(-1)?.id).toBe(seq);
      expect(withId.map((f) => f.id)).toEqual(group.some((f) => f.data !== "[DONE]") ? [seq] : []);
    });
    const { message, errors, chunks: parsed } = await read(frames);
    expect(errors).toEqual([]);
    expect(parsed).toEqual(chunks);
    expect(message?.id).toBe(runId);
    expect(message?.role).toBe("assistant");
    const answer =
      events.at(-1)?.type === "run.completed"
        ? (events.at(-1) as never as { data: { answer: string } }).data.answer
        : "";
    expect(textOf(message)).toBe(answer);
    expect(partsOf(message, "step-start")).toHaveLength(6);
    expect(partsOf(message, "dynamic-tool")).toEqual([
      expect.objectContaining({
        toolName: "calculator",
        toolCallId: "synthetic-1",
        state: "output-available",
        input: { expression: "6 * 7" },
        output: { value: 42 },
      }),
    ]);
    expect(partsOf(message, "data-run")).toEqual([
      expect.objectContaining({
        id: runId,
        data: expect.objectContaining({ status: "completed", agent: "synthetic" }),
      }),
    ]);
    expect(partsOf(message, "data-progress")).toEqual([
      expect.objectContaining({ id: runId, data: expect.objectContaining({ progress: 100 }) }),
    ]);
    const stages = partsOf(message, "data-stage").map((p) => p.data as Record<string, unknown>);
    expect(stages.map((s) => [s.stage, s.state])).toEqual(
      ["context", "analyzing", "planning", "validation", "execution", "memory"].map((s) => [s, "done"]),
    );
    expect(message?.metadata).toMatchObject({ runId, status: "completed", models: ["synthetic"] });
  });

  it("a retried stage: reset-step voids the failed attempt's text and tool call; the answer is the last attempt's, in one step", async () => {
    const a0 = stage("execution", 0);
    const a1 = stage("execution", 1);
    const events = log([
      QUEUED,
      STARTED,
      started(a0),
      delta(a0, "A first try that "),
      {
        type: "tool.started",
        stage: "execution",
        attempt: 0,
        progress: 20,
        message: "Running calculator…",
        data: { callId: "execution-0-1", name: "calculator", input: { expression: "1+1" } },
      },
      {
        type: "stage.retrying",
        stage: "execution",
        attempt: 1,
        progress: 20,
        message: "Retrying execution (attempt 2).",
        data: {
          error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
          nextAttempt: 1,
        },
      },
      started(a1, 20),
      delta(a1, "The answer "),
      delta(a1, "is 42.", 60),
      completedStage(a1),
      completedRun("The answer is 42."),
    ]);
    const { frames } = framesOf(events);
    await expectValidChunks(frames);
    const types = chunksOf(frames).map((c) => c.type);
    expect(types.filter((t) => t === "start-step")).toHaveLength(1);
    expect(types.filter((t) => t === "reset-step")).toHaveLength(1);
    expect(types.indexOf("reset-step")).toBeGreaterThan(types.indexOf("tool-input-available"));
    const { message, errors } = await read(frames);
    expect(errors).toEqual([]);
    expect(textOf(message)).toBe("The answer is 42.");
    expect(partsOf(message, "text")).toHaveLength(1);
    expect(partsOf(message, "dynamic-tool")).toEqual([]);
    expect(partsOf(message, "step-start")).toHaveLength(1);
    expect(partsOf(message, "data-stage").map((p) => p.data)).toEqual([
      expect.objectContaining({ stage: "execution", state: "done", attempt: 1, durationMs: 12 }),
    ]);
  });

  it("a failed tool call is a tool-output-error; a stage's detail and stage.completed's fields are its data part's data", async () => {
    const s = stage("execution");
    const events = log([
      QUEUED,
      started(s),
      {
        type: "stage.progress",
        stage: "execution",
        attempt: 0,
        progress: 10,
        message: "Planned.",
        data: { steps: ["add"] },
      },
      {
        type: "tool.started",
        stage: "execution",
        attempt: 0,
        progress: 20,
        message: "Running calculator…",
        data: { callId: "c1", name: "calculator", input: { expression: "1/0" } },
      },
      {
        type: "tool.completed",
        stage: "execution",
        attempt: 0,
        progress: 30,
        message: "calculator failed.",
        data: {
          callId: "c1",
          name: "calculator",
          durationMs: 2,
          ok: false,
          error: { code: "tool_failed", message: "Division by zero." },
        },
      },
      delta(s, "No answer."),
      completedStage(s, 90, { sources: 2 }),
      completedRun("No answer."),
    ]);
    const { frames } = framesOf(events);
    await expectValidChunks(frames);
    const { message, errors } = await read(frames);
    expect(errors).toEqual([]);
    expect(partsOf(message, "dynamic-tool")).toEqual([
      expect.objectContaining({
        toolCallId: "c1",
        state: "output-error",
        errorText: "Division by zero. (tool_failed)",
        input: { expression: "1/0" },
      }),
    ]);
    expect(partsOf(message, "data-stage")[0]?.data).toMatchObject({ state: "done", data: { sources: 2 } });
  });

  it("a stage.retrying with nothing of the stage before it (its first attempt wrote nothing) resets nothing of the stage before", async () => {
    const x = stage("planning", 0, 0, 2);
    const y1 = stage("execution", 1, 1, 2);
    const events = log([
      QUEUED,
      STARTED,
      started(x),
      delta(x, "A plan."),
      completedStage(x, 40),
      {
        type: "stage.retrying",
        stage: "execution",
        attempt: 1,
        progress: 40,
        message: "Retrying execution (attempt 2).",
        data: {
          error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
          nextAttempt: 1,
        },
      },
      started(y1, 40),
      delta(y1, " An answer."),
      completedStage(y1),
      completedRun(" An answer."),
    ]);
    const { frames } = framesOf(events);
    await expectValidChunks(frames);
    expect(chunksOf(frames).map((c) => c.type)).not.toContain("reset-step");
    const { message } = await read(frames);
    expect(textOf(message)).toBe("A plan. An answer.");
    expect(partsOf(message, "step-start")).toHaveLength(2);
  });

  it("a run that streamed no text: the answer is sent as one text part before finish", async () => {
    const s = stage("execution");
    const events = log([QUEUED, STARTED, started(s), completedStage(s), completedRun("Forty-two.")]);
    const { frames } = framesOf(events);
    await expectValidChunks(frames);
    const { message } = await read(frames);
    expect(textOf(message)).toBe("Forty-two.");
  });
});

describe("the ends of a run that did not complete", () => {
  const s = stage("execution");
  const partial = [QUEUED, STARTED, started(s), delta(s, "Half an ans")];

  it.each([
    ["run.failed", "failed"],
    ["run.timed_out", "timed_out"],
  ] as const)(
    "%s: the open text part and step are closed, then error and finish(error), then [DONE]",
    async (type, status) => {
      const error = {
        code: "model_unauthorized",
        message: "The language model endpoint refused the credentials.",
      };
      const events = log([...partial, { type, progress: 40, message: "Run failed.", data: { error } }]);
      const { frames } = framesOf(events);
      await expectValidChunks(frames);
      const types = chunksOf(frames).map((c) => c.type);
      expect(types.slice(-6)).toEqual([
        "text-end",
        "finish-step",
        "data-run",
        "data-progress",
        "error",
        "finish",
      ]);
      expect(chunksOf(frames).at(-1)).toMatchObject({
        finishReason: "error",
        messageMetadata: { status, error },
      });
      expect(frames.at(-1)).toEqual({ data: "[DONE]" });
      const { message, errors } = await read(frames);
      expect(errors).toEqual([`${error.message} (${error.code})`]);
      expect(textOf(message)).toBe("Half an ans");
      expect(partsOf(message, "data-run")[0]?.data).toMatchObject({ status, error });
    },
  );

  it("run.cancelled: the open text part and step are closed, then abort (no finish, no error), then [DONE]", async () => {
    const events = log([
      ...partial,
      { type: "run.cancelled", progress: 40, message: "Run cancelled.", data: {} },
    ]);
    const { frames } = framesOf(events);
    await expectValidChunks(frames);
    const chunks = chunksOf(frames);
    expect(chunks.map((c) => c.type).slice(-5)).toEqual([
      "text-end",
      "finish-step",
      "data-run",
      "data-progress",
      "abort",
    ]);
    expect(chunks.at(-1)).toEqual({ type: "abort", reason: "Run cancelled." });
    expect(chunks.some((c) => c.type === "finish" || c.type === "error")).toBe(false);
    const { message, errors } = await read(frames);
    expect(errors).toEqual([]);
    expect(textOf(message)).toBe("Half an ans");
    expect(partsOf(message, "data-run")[0]?.data).toMatchObject({ status: "cancelled" });
  });
});

describe("a continuation (a stream from a cursor)", () => {
  const s = stage("execution");
  const events = log([
    QUEUED,
    STARTED,
    started(s),
    {
      type: "tool.started",
      stage: "execution",
      attempt: 0,
      progress: 10,
      message: "Running calculator…",
      data: { callId: "c1", name: "calculator", input: { expression: "6*7" } },
    },
    delta(s, "The answer "),
    {
      type: "tool.completed",
      stage: "execution",
      attempt: 0,
      progress: 30,
      message: "calculator finished.",
      data: {
        callId: "c1",
        name: "calculator",
        input: { expression: "6*7" },
        durationMs: 1,
        ok: true,
        result: 42,
      },
    },
    delta(s, "is 42."),
    completedStage(s),
    completedRun("The answer is 42."),
  ]);

  it("opens with a bare retry: line and no start, and every chunk stands alone (text opened, the tool call shown from tool.completed)", async () => {
    const { frames } = framesOf(events, 5); // after "The answer "
    expect(frames[0]).toBe(`retry: ${RETRY_MS}\n`);
    await expectValidChunks(frames);
    const types = chunksOf(frames).map((c) => c.type);
    expect(types).not.toContain("start");
    // No start-step: the stage's step is the one the earlier response opened.
    expect(types.slice(0, 4)).toEqual([
      "tool-input-available",
      "tool-output-available",
      "data-progress",
      "text-start",
    ]);
    const { message, errors } = await read(frames);
    expect(errors).toEqual([]);
    expect(textOf(message)).toBe("is 42.");
    expect(partsOf(message, "dynamic-tool")[0]).toMatchObject({ state: "output-available", output: 42 });
  });

  it("continued on the message a first response built (the same chat), the message gets the rest and nothing twice", async () => {
    const first = await read(framesOf(events.slice(0, 5)).frames);
    const rest = await read(framesOf(events, 5).frames, first.message);
    expect(rest.errors).toEqual([]);
    expect(rest.message?.id).toBe(events[0]?.runId);
    expect(textOf(rest.message)).toBe("The answer is 42.");
    expect(partsOf(rest.message, "dynamic-tool")).toHaveLength(1);
  });

  it("a continuation whose first stage event is a stage.retrying voids the failed attempt the earlier response sent", async () => {
    const a0 = stage("execution", 0);
    const a1 = stage("execution", 1);
    const retried = log([
      QUEUED,
      STARTED,
      started(a0),
      delta(a0, "Voided "),
      {
        type: "stage.retrying",
        stage: "execution",
        attempt: 1,
        progress: 20,
        message: "Retrying execution (attempt 2).",
        data: {
          error: { code: "stage_interrupted", message: "The previous attempt did not finish." },
          nextAttempt: 1,
        },
      },
      started(a1, 20),
      delta(a1, "Kept."),
      completedStage(a1),
      completedRun("Kept."),
    ]);
    const first = await read(framesOf(retried.slice(0, 4)).frames);
    expect(textOf(first.message)).toBe("Voided ");
    const rest = await read(framesOf(retried, 4).frames, first.message);
    expect(rest.errors).toEqual([]);
    expect(textOf(rest.message)).toBe("Kept.");
  });

  it("a continuation that streamed no text does not repeat the answer", async () => {
    const { frames } = framesOf(events, 8);
    const { message } = await read(frames);
    expect(textOf(message)).toBe("");
  });
});

describe("control frames", () => {
  const session = UI_MESSAGE_FORMAT.open({ runId: BEAT.runId, after: 3 });

  it("a heartbeat is an SSE comment; ended is a comment and [DONE]; reconnect is a transient data-reconnect with retry:", async () => {
    const beat = session.heartbeat({ ...BEAT, elapsedMs: 15_400, progress: 42.4 });
    expect(beat).toEqual([": heartbeat 15 s, 42%\n"]);
    const ended = session.ended({ runId: BEAT.runId, lastSeq: 9, terminal: "run.completed" });
    expect(ended).toEqual([": ended at 9 (run.completed)\n", { data: "[DONE]" }]);
    const reconnect = session.reconnect({
      runId: BEAT.runId,
      lastSeq: 7,
      retryMs: RETRY_MS,
      reason: "deadline",
    });
    await expectValidChunks(reconnect);
    expect(reconnect[0]).toBe(": reconnect after 7 (deadline)\n");
    expect(reconnect[1]).toMatchObject({ retry: RETRY_MS });
    expect(chunksOf(reconnect)).toEqual([
      {
        type: "data-reconnect",
        transient: true,
        data: { runId: BEAT.runId, lastSeq: 7, retryMs: RETRY_MS, reason: "deadline" },
      },
    ]);
    const { errors, message } = await read([...beat, ...reconnect, ...ended]);
    expect(errors).toEqual([]);
    expect(message).toBeUndefined(); // transient: onData only, never part of the message
  });

  it("is registered as ?format=ui-message, filtering Stagecast's event types", () => {
    const format = streamFormat("ui-message");
    expect(format).toBe(UI_MESSAGE_FORMAT);
    expect(format.types).toContain("llm.delta");
    expect(format.typeOf(log([QUEUED])[0] as RunEvent)).toBe("run.queued");
  });
});
