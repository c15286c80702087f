import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import {
  type EventOf,
  type Heartbeat,
  HeartbeatSchema,
  heartbeatMessage,
  isTerminalType,
  type RunEvent,
  RunEventSchema,
  type RunEventType,
  type SseMessage,
  sseComment,
  TERMINAL_TYPES,
  toSseMessage,
} from "../../../packages/events/index.ts";

const runId = ulid();
const ts = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)).toISOString();

/** One valid event of every type; the mapped type makes the compiler demand every type. */
const samples: { [T in RunEventType]: EventOf<T> } = {
  "run.queued": {
    runId,
    seq: 1,
    ts,
    type: "run.queued",
    progress: 0,
    message: "Queued.",
    data: {
      question: "What is the capital of France?",
      projectId: "proj-1",
      agent: "default",
      stages: [
        { name: "context", weight: 8 },
        { name: "write_up_2", weight: 0.5 },
      ],
    },
  },
  "run.started": {
    runId,
    seq: 2,
    ts,
    type: "run.started",
    progress: 1,
    message: "Started.",
    data: { executionName: runId },
  },
  "stage.started": {
    runId,
    seq: 3,
    ts,
    type: "stage.started",
    stage: "context",
    attempt: 0,
    progress: 2,
    message: "Loading context…",
    data: { index: 0, total: 6 },
  },
  "stage.progress": {
    runId,
    seq: 4,
    ts,
    type: "stage.progress",
    stage: "analyzing",
    attempt: 1,
    progress: 12.5,
    message: "Analyzing the request…",
    data: { loaded: 3, files: ["a.md", "b.md"], nested: { ok: true, none: null } },
  },
  "llm.delta": {
    runId,
    seq: 5,
    ts,
    type: "llm.delta",
    stage: "execution",
    attempt: 0,
    progress: 40,
    message: "Writing the answer…",
    data: { text: "Paris is\nthe capital.\r\n😀", model: "gpt-4o-mini" },
  },
  "tool.started": {
    runId,
    seq: 6,
    ts,
    type: "tool.started",
    stage: "execution",
    progress: 41,
    message: "Searching…",
    data: { callId: "call-1", name: "search", input: { q: "capital of France", top: 3 } },
  },
  "tool.completed": {
    runId,
    seq: 7,
    ts,
    type: "tool.completed",
    stage: "execution",
    progress: 42,
    message: "Search done.",
    data: {
      callId: "call-1",
      name: "search",
      durationMs: 120,
      ok: false,
      result: [1, "two", null],
      error: { code: "tool_timeout", message: "The tool took too long." },
    },
  },
  "stage.completed": {
    runId,
    seq: 8,
    ts,
    type: "stage.completed",
    stage: "planning",
    progress: 50,
    message: "Plan ready.",
    data: { durationMs: 2500, steps: 4, plan: ["a", "b"] },
  },
  "stage.retrying": {
    runId,
    seq: 9,
    ts,
    type: "stage.retrying",
    stage: "validation",
    attempt: 0,
    progress: 55,
    message: "Retrying validation…",
    data: { error: { code: "model_unavailable", message: "The model is busy." }, nextAttempt: 1 },
  },
  "run.completed": {
    runId,
    seq: 10,
    ts,
    type: "run.completed",
    progress: 100,
    message: "Done.",
    data: {
      answer: "Paris.",
      models: ["gpt-4o-mini"],
      usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 },
      usageByStage: { execution: { promptTokens: 10, completionTokens: 5, totalTokens: 15 } },
      durationMs: 31_000,
    },
  },
  "run.failed": {
    runId,
    seq: 11,
    ts,
    type: "run.failed",
    stage: "memory",
    progress: 90,
    message: "The run failed.",
    data: { error: { code: "plan_invalid", message: "No valid plan." } },
  },
  "run.cancelled": {
    runId,
    seq: 12,
    ts,
    type: "run.cancelled",
    progress: 30,
    message: "Cancelled by the user.",
    data: { reason: "user" },
  },
  "run.timed_out": {
    runId,
    seq: 13,
    ts,
    type: "run.timed_out",
    progress: 70,
    message: "The run took too long.",
    data: { error: { code: "timed_out", message: "The run exceeded its time limit." } },
  },
};

const allEvents: RunEvent[] = Object.values(samples);

/** The `type` literal of every member of the discriminated union, read from the schema itself. */
const schemaTypes: string[] = RunEventSchema.options.map((option) => option.shape.type.value);

/** Frame an SseMessage the way the SSE wire format does (WHATWG "Server-sent events"). */
function frame(msg: SseMessage): string {
  let out = "";
  if (msg.id !== undefined) out += `id: ${msg.id}\n`;
  out += `event: ${msg.event}\n`;
  for (const line of msg.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function parseWire(text: string): { messages: EventSourceMessage[]; comments: string[] } {
  const messages: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (m) => messages.push(m),
    onComment: (c) => comments.push(c),
  });
  parser.feed(text);
  return { messages, comments };
}

describe("RunEventSchema", () => {
  it("has a sample for every event type in the schema (and no extra)", () => {
    expect(new Set(Object.keys(samples))).toEqual(new Set(schemaTypes));
    expect(schemaTypes).toHaveLength(13);
  });

  it.each(allEvents.map((e) => [e.type, e] as const))(
    "%s parses and survives a JSON round trip",
    (_t, event) => {
      expect(RunEventSchema.parse(event)).toEqual(event);
      const wire = JSON.parse(JSON.stringify(event)) as unknown;
      const parsed = RunEventSchema.parse(wire);
      expect(parsed).toEqual(event);
    },
  );

  it("accepts any stage name an agent may give (the stage-name pattern), not a fixed list", () => {
    for (const stage of ["a", "gather", "compose_draft", "step_2", `s${"x".repeat(31)}`]) {
      expect(RunEventSchema.safeParse({ ...samples["stage.progress"], stage }).success, stage).toBe(true);
    }
  });

  it("accepts a run.queued without agent and stages (a run queued before runs listed them)", () => {
    const old = { ...samples["run.queued"], data: { question: "old" } };
    expect(RunEventSchema.parse(old)).toEqual(old);
  });

  it("accepts the minimal forms (optional fields absent)", () => {
    const minimal = {
      runId,
      seq: 1,
      ts,
      type: "run.cancelled",
      progress: 0,
      message: "",
      data: {},
    };
    expect(RunEventSchema.parse(minimal)).toEqual(minimal);
  });

  const base = samples["stage.progress"];
  const invalid: Array<[string, unknown]> = [
    ["seq 0", { ...base, seq: 0 }],
    ["seq -1", { ...base, seq: -1 }],
    ["seq 1.5", { ...base, seq: 1.5 }],
    ["seq as string", { ...base, seq: "1" }],
    ["progress 101", { ...base, progress: 101 }],
    ["progress -1", { ...base, progress: -1 }],
    ["unknown type", { ...base, type: "stage.exploded" }],
    ["heartbeat as a stored event", { ...base, type: "heartbeat" }],
    ["missing type", { ...base, type: undefined }],
    ["lower-case runId", { ...base, runId: runId.toLowerCase() }],
    ["short runId", { ...base, runId: runId.slice(1) }],
    ["runId with U (not Crockford)", { ...base, runId: `U${runId.slice(1)}` }],
    ["UUID runId", { ...base, runId: "0190b1d2-7f3a-7c3e-9a4b-1234567890ab" }],
    ["ts not ISO", { ...base, ts: "yesterday" }],
    ["stage name in upper case", { ...base, stage: "Dreaming" }],
    ["stage name with a dash", { ...base, stage: "day-dreaming" }],
    ["stage name over 32 characters", { ...base, stage: `s${"x".repeat(32)}` }],
    ["negative attempt", { ...base, attempt: -1 }],
    ["message too long", { ...base, message: "x".repeat(1001) }],
    ["missing message", { ...base, message: undefined }],
    ["run.queued without question", { ...samples["run.queued"], data: {} }],
    [
      "run.queued with a stage of weight 0",
      { ...samples["run.queued"], data: { question: "q", stages: [{ name: "a", weight: 0 }] } },
    ],
    [
      "run.queued with a stage of a malformed name",
      { ...samples["run.queued"], data: { question: "q", stages: [{ name: "A b", weight: 1 }] } },
    ],
    ["llm.delta without text", { ...samples["llm.delta"], data: { model: "m" } }],
    ["stage.started with total 0", { ...samples["stage.started"], data: { index: 0, total: 0 } }],
    ["tool.started without callId", { ...samples["tool.started"], data: { name: "search", input: {} } }],
    [
      "tool.completed without ok",
      { ...samples["tool.completed"], data: { callId: "c", name: "n", durationMs: 1 } },
    ],
    ["stage.completed without durationMs", { ...samples["stage.completed"], data: { steps: 1 } }],
    [
      "stage.retrying with nextAttempt 0",
      { ...samples["stage.retrying"], data: { ...samples["stage.retrying"].data, nextAttempt: 0 } },
    ],
    [
      "run.completed without usage",
      {
        ...samples["run.completed"],
        data: { answer: "a", models: [], usageByStage: {}, durationMs: 1 },
      },
    ],
    [
      "run.completed with negative tokens",
      {
        ...samples["run.completed"],
        data: {
          ...samples["run.completed"].data,
          usage: { promptTokens: -1, completionTokens: 0, totalTokens: 0 },
        },
      },
    ],
    ["run.failed without error", { ...samples["run.failed"], data: {} }],
    [
      "run.failed with a non-code error code",
      { ...samples["run.failed"], data: { error: { code: "Bad Code!", message: "m" } } },
    ],
    ["run.timed_out without error", { ...samples["run.timed_out"], data: {} }],
    ["data missing entirely", { ...samples["run.cancelled"], data: undefined }],
  ];

  it.each(invalid)("rejects %s", (_name, value) => {
    expect(RunEventSchema.safeParse(value).success).toBe(false);
  });
});

describe("isTerminalType", () => {
  it("is true for exactly the four terminal types", () => {
    const terminal = schemaTypes.filter((t) => isTerminalType(t));
    expect(new Set(terminal)).toEqual(
      new Set(["run.completed", "run.failed", "run.cancelled", "run.timed_out"]),
    );
    expect(new Set(TERMINAL_TYPES)).toEqual(new Set(terminal));
  });

  it("is false for non-terminal and unknown types", () => {
    for (const t of [
      "run.queued",
      "run.started",
      "stage.completed",
      "llm.delta",
      "heartbeat",
      "",
      "RUN.COMPLETED",
    ]) {
      expect(isTerminalType(t), t).toBe(false);
    }
  });
});

describe("toSseMessage", () => {
  it.each(allEvents.map((e) => [e.type, e] as const))(
    "%s: id = seq, event = type, one-line JSON data",
    (_t, event) => {
      const msg = toSseMessage(event);
      expect(msg.id).toBe(String(event.seq));
      expect(msg.event).toBe(event.type);
      expect(msg.data).not.toMatch(/[\r\n]/);
      expect(JSON.parse(msg.data)).toEqual(event);
      expect(RunEventSchema.parse(JSON.parse(msg.data))).toEqual(event);
    },
  );

  it("frames to exactly one SSE event that a standard parser reads back (text with newlines)", () => {
    const event = samples["llm.delta"];
    const { messages } = parseWire(frame(toSseMessage(event)));
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m?.id).toBe(String(event.seq));
    expect(m?.event).toBe("llm.delta");
    expect(JSON.parse(m?.data ?? "null")).toEqual(event);
  });
});

describe("heartbeatMessage", () => {
  const beat: Heartbeat = { runId, elapsedMs: 12_345, stage: "planning", progress: 33, lastSeq: 7 };

  it("has event heartbeat, no id, and the beat as one-line JSON", () => {
    const msg = heartbeatMessage(beat);
    expect(msg.event).toBe("heartbeat");
    expect("id" in msg).toBe(false);
    expect(msg.id).toBeUndefined();
    expect(msg.data).not.toMatch(/[\r\n]/);
    expect(HeartbeatSchema.parse(JSON.parse(msg.data))).toEqual(beat);
  });

  it("does not move a parser's last event id", () => {
    const { messages } = parseWire(frame(heartbeatMessage(beat)));
    expect(messages).toHaveLength(1);
    expect(messages[0]?.event).toBe("heartbeat");
    expect(messages[0]?.id).toBeUndefined();
  });

  it("HeartbeatSchema rejects bad beats", () => {
    expect(HeartbeatSchema.safeParse({ ...beat, progress: 101 }).success).toBe(false);
    expect(HeartbeatSchema.safeParse({ ...beat, elapsedMs: -1 }).success).toBe(false);
    expect(HeartbeatSchema.safeParse({ ...beat, lastSeq: 1.5 }).success).toBe(false);
    expect(HeartbeatSchema.safeParse({ ...beat, runId: "nope" }).success).toBe(false);
  });
});

describe("sseComment", () => {
  it("is one comment line, without a blank line (it never forms a block of its own)", () => {
    expect(sseComment("open")).toBe(": open\n");
  });

  it("replaces CR and LF inside the text so the comment cannot inject fields", () => {
    const c = sseComment("a\nb\r\nc\rid: 99\nevent: run.completed\ndata: {}");
    expect(c.startsWith(": ")).toBe(true);
    expect(c.endsWith("\n")).toBe(true);
    expect(c.slice(0, -1)).not.toMatch(/[\r\n]/);
    const { messages, comments } = parseWire(c);
    expect(messages).toHaveLength(0);
    expect(comments).toHaveLength(1);
  });
});
