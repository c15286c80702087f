import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { type RunEvent, RunEventSchema, TERMINAL_TYPES } from "../../../packages/events/index.ts";
import {
  K8S_SOLUTION_FORMAT,
  K8S_SOLUTION_TYPES,
  SOLUTION_TICK_MS,
  toSolutionFrame,
} from "../../../packages/stream/k8s-solution-format.ts";
import { streamFormat } from "../../../packages/stream/stream-format.ts";
import { syntheticRun } from "../../../packages/stream/synthetic-run.ts";

/**
 * The Kubernetes agent's API format (docs/api.md §11): which stored
 * events it shows, the 2-s `analyzing` tick and its `id:`, and its control frames. The wire
 * behaviour (ticks from the tail, the seed's Python client) is in test/e2e/seed-clients.test.ts.
 */

const RUN = ulid();
const session = K8S_SOLUTION_FORMAT.open();
const json = (frame: { data: string }) => JSON.parse(frame.data) as Record<string, unknown>;

/** A valid stored terminal event of `type`, at seq 9. */
function terminal(type: (typeof TERMINAL_TYPES)[number]): RunEvent {
  const common = { runId: RUN, seq: 9, ts: new Date(0).toISOString(), progress: 40, stage: "explain" };
  const data = {
    "run.completed": {
      answer: "Pod shop/checkout-api: CrashLoopBackOff",
      models: ["offline"],
      usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
      usageByStage: {},
      durationMs: 1234,
    },
    "run.failed": {
      error: { code: "model_bad_request", message: "The language model rejected the request." },
    },
    "run.cancelled": { reason: "user" },
    "run.timed_out": { error: { code: "run_timed_out", message: "The run took too long." } },
  }[type];
  return RunEventSchema.parse({ ...common, type, message: "Cancelled by the caller.", data });
}

describe("the k8s-solution format", () => {
  it("is registered under its name and ticks every 2 s", () => {
    expect(streamFormat("k8s-solution")).toBe(K8S_SOLUTION_FORMAT);
    expect(K8S_SOLUTION_FORMAT.tickMs).toBe(SOLUTION_TICK_MS);
    expect(SOLUTION_TICK_MS).toBe(2000);
  });

  it("shows no stored event but the terminal one", () => {
    const events = syntheticRun(RUN, Date.now());
    const shown = events.filter((e) => session.frames(e).length > 0);
    expect(shown.map((e) => e.type)).toEqual(["run.completed"]);
    for (const e of events.slice(0, -1)) expect(K8S_SOLUTION_FORMAT.typeOf(e)).toBe("analyzing");
  });

  it("maps the four terminal events to complete or error, with id = seq", () => {
    const frames = TERMINAL_TYPES.map((type) => session.frames(terminal(type)));
    for (const f of frames) {
      expect(f).toHaveLength(1);
      expect(f[0]?.id).toBe("9");
    }
    expect(frames.map((f) => json(f[0] ?? { data: "{}" }))).toEqual([
      { status: "complete", solution: "Pod shop/checkout-api: CrashLoopBackOff", run_id: RUN },
      {
        status: "error",
        error: "The language model rejected the request.",
        code: "model_bad_request",
        run_id: RUN,
      },
      { status: "error", error: "Cancelled by the caller.", code: "cancelled", run_id: RUN },
      { status: "error", error: "The run took too long.", code: "run_timed_out", run_id: RUN },
    ]);
    expect(TERMINAL_TYPES.map((t) => K8S_SOLUTION_FORMAT.typeOf(terminal(t)))).toEqual([
      "complete",
      "error",
      "error",
      "error",
    ]);
    expect(toSolutionFrame(syntheticRun(RUN, 0)[0] as RunEvent)).toBeUndefined();
    expect(K8S_SOLUTION_TYPES).toEqual(["analyzing", "complete", "error"]);
  });

  it("ticks `analyzing` with whole seconds elapsed, and id = the last seq read", () => {
    const beat = { runId: RUN, elapsedMs: 4490, stage: "analyze", progress: 31.5, lastSeq: 12 };
    const [tick] = session.heartbeat(beat);
    expect(tick).toEqual({
      id: "12",
      data: JSON.stringify({
        status: "analyzing",
        elapsed: 4,
        run_id: RUN,
        stage: "analyze",
        progress: 31.5,
      }),
    });
    // The seed's keys come first, as its server wrote them.
    expect(Object.keys(json(tick ?? { data: "{}" })).slice(0, 2)).toEqual(["status", "elapsed"]);
    const [opening] = session.opening({ runId: RUN, elapsedMs: 20, progress: 0, lastSeq: 0 }, 1000);
    expect(opening).toEqual({
      id: "0",
      retry: 1000,
      data: JSON.stringify({ status: "analyzing", elapsed: 0, run_id: RUN, progress: 0 }),
    });
  });

  it("sends reconnect (with id and retry) and ended as data frames with a status", () => {
    const [reconnect] = session.reconnect({ runId: RUN, lastSeq: 17, retryMs: 300, reason: "deadline" });
    expect(reconnect).toEqual({
      id: "17",
      retry: 300,
      data: JSON.stringify({
        status: "reconnect",
        run_id: RUN,
        last_seq: 17,
        retry_ms: 300,
        reason: "deadline",
      }),
    });
    const [ended] = session.ended({ runId: RUN, lastSeq: 30, terminal: "run.completed" });
    expect(ended).toEqual({
      data: JSON.stringify({ status: "ended", run_id: RUN, last_seq: 30, terminal: "run.completed" }),
    });
  });
});
