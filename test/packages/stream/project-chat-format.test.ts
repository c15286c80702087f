import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { type RunEvent, RunEventSchema } from "../../../packages/events/index.ts";
import {
  MAX_DETAILS_CHARS,
  PROJECT_CHAT_FORMAT,
  toChatFrames,
} from "../../../packages/stream/project-chat-format.ts";
import { streamFormat } from "../../../packages/stream/stream-format.ts";
import { syntheticRun } from "../../../packages/stream/synthetic-run.ts";

/**
 * The project chat's API format (docs/api.md §12): a progress frame per
 * step named by its stage, `completion` then `complete` for the answer, `error` for the three
 * other endings, `id:` on the last frame of each stored event, and its control frames. The
 * seed's clients against the local stack are in test/e2e/seed-clients.test.ts.
 */

const RUN = ulid();
const session = PROJECT_CHAT_FORMAT.open();
const json = (frame: { data: string } | undefined) =>
  JSON.parse(frame?.data ?? "{}") as Record<string, unknown>;

/** A stored event of the given type and data at seq 7 in stage execution, validated. */
const event = (type: string, data: unknown, extra: Record<string, unknown> = {}): RunEvent =>
  RunEventSchema.parse({
    runId: RUN,
    seq: 7,
    ts: "2026-12-01T10:00:00.000Z",
    stage: "execution",
    attempt: 0,
    progress: 50,
    message: "A message.",
    type,
    data,
    ...extra,
  });

describe("the project-chat format", () => {
  it("is registered under its name", () => {
    expect(streamFormat("project-chat")).toBe(PROJECT_CHAT_FORMAT);
  });

  it("sends the seed's steps for a whole run: start, each stage, completion, then complete", () => {
    const events = syntheticRun(RUN, Date.now());
    const frames = events.flatMap((e) => session.frames(e));
    const parsed = frames.map(json);
    const steps = parsed
      .filter((f) => f.type === "progress")
      .map((f) => (f.progress as { step: string }).step);
    expect([...new Set(steps)]).toEqual([
      "start",
      "context",
      "analyzing",
      "planning",
      "validation",
      "execution",
      "memory",
      "completion",
    ]);
    // Every stored event has frames except llm.delta; the answer comes whole in `complete`.
    const deltas = events.filter((e) => e.type === "llm.delta").length;
    expect(frames.filter((f) => f.id !== undefined)).toHaveLength(events.length - deltas);
    expect(parsed.at(-1)).toMatchObject({
      type: "complete",
      response: "Streaming works: this is a synthetic run, no model was called.",
    });
    // ids are the seqs, ascending, and only on the last frame of an event.
    const ids = frames.flatMap((f) => (f.id === undefined ? [] : [Number(f.id)]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(frames.at(-2)?.id).toBeUndefined();
    expect(frames.at(-1)?.id).toBe(String(events.at(-1)?.seq));
  });

  it("fills a progress frame's step, message, details, timestamp and metadata from the event", () => {
    const started = event("tool.started", { callId: "c1", name: "calculator", input: { expression: "6*7" } });
    expect(toChatFrames(started)).toEqual([
      {
        type: "progress",
        progress: {
          step: "execution",
          message: "A message.",
          details: '{"expression":"6*7"}',
          timestamp: "2026-12-01T10:00:00.000Z",
          metadata: {
            run_id: RUN,
            seq: 7,
            event_type: "tool.started",
            percent: 50,
            stage: "execution",
            attempt: 0,
            data: { callId: "c1", name: "calculator", input: { expression: "6*7" } },
          },
        },
      },
    ]);
    const retry = event("stage.retrying", {
      error: { code: "model_timeout", message: "Too slow." },
      nextAttempt: 1,
    });
    expect(toChatFrames(retry)[0]).toMatchObject({ progress: { step: "execution", details: "Too slow." } });
    const long = event("tool.completed", {
      callId: "c1",
      name: "calculator",
      durationMs: 3,
      ok: true,
      result: "x".repeat(5000),
    });
    const details = (toChatFrames(long)[0] as { progress: { details: string } }).progress.details;
    expect(details.length).toBe(MAX_DETAILS_CHARS);
    const failed = event("tool.completed", {
      callId: "c1",
      name: "calculator",
      durationMs: 3,
      ok: false,
      error: { code: "tool_failed", message: "Division by zero." },
    });
    expect(toChatFrames(failed)[0]).toMatchObject({ progress: { details: "Division by zero." } });
    expect(toChatFrames(event("llm.delta", { text: "Hi" }))).toEqual([]);
  });

  it("ends with `error` (code, message) for failed, cancelled and timed-out runs", () => {
    const error = { code: "model_bad_request", message: "The language model rejected the request." };
    const ids = { timestamp: "2026-12-01T10:00:00.000Z", run_id: RUN, seq: 7 };
    expect(toChatFrames(event("run.failed", { error }))).toEqual([
      { type: "error", error: error.message, code: error.code, ...ids },
    ]);
    expect(toChatFrames(event("run.timed_out", { error }))).toEqual([
      { type: "error", error: error.message, code: error.code, ...ids },
    ]);
    expect(toChatFrames(event("run.cancelled", {}, { message: "Cancelled by the caller." }))).toEqual([
      { type: "error", error: "Cancelled by the caller.", code: "cancelled", ...ids },
    ]);
    expect(PROJECT_CHAT_FORMAT.typeOf(event("run.failed", { error }))).toBe("error");
  });

  it("keeps the answer out of the completion step's metadata (the complete frame carries it)", () => {
    const done = event("run.completed", {
      answer: "The answer.",
      models: ["offline"],
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
      usageByStage: {},
      durationMs: 10,
    });
    const [step, complete] = toChatFrames(done);
    expect(JSON.stringify(step)).not.toContain("The answer.");
    expect(step).toMatchObject({ progress: { step: "completion", metadata: { data: { durationMs: 10 } } } });
    expect(complete).toMatchObject({ type: "complete", response: "The answer." });
    expect(PROJECT_CHAT_FORMAT.typeOf(done)).toBe("complete");
  });

  it("sends heartbeat, reconnect and ended as typed data frames; the opening and reconnect carry retry and the cursor as id", () => {
    const beat = { runId: RUN, elapsedMs: 2600, stage: "planning", progress: 30, lastSeq: 12 };
    const [heartbeat] = session.heartbeat(beat);
    expect(heartbeat?.id).toBeUndefined();
    expect(json(heartbeat)).toMatchObject({
      type: "heartbeat",
      run_id: RUN,
      elapsed_ms: 2600,
      stage: "planning",
      percent: 30,
      last_seq: 12,
    });
    expect(Number.isNaN(Date.parse(String(json(heartbeat).timestamp)))).toBe(false);
    const [opening] = session.opening(beat, 1000);
    // The opening carries the cursor as id, so a reconnect before any event still says where it was.
    expect(opening).toMatchObject({ retry: 1000, id: "12" });
    expect(json(opening).type).toBe("heartbeat");
    const [reconnect] = session.reconnect({ runId: RUN, lastSeq: 17, retryMs: 300, reason: "deadline" });
    expect(reconnect).toMatchObject({ retry: 300, id: "17" });
    expect(json(reconnect)).toMatchObject({
      type: "reconnect",
      last_seq: 17,
      retry_ms: 300,
      reason: "deadline",
    });
    const [ended] = session.ended({ runId: RUN, lastSeq: 30, terminal: "run.failed" });
    expect(json(ended)).toMatchObject({ type: "ended", last_seq: 30, terminal: "run.failed" });
  });
});
