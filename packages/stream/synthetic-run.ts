import type { EventInput, RunEvent } from "../events/index.ts";

/** Time between two synthetic events (ms): the whole synthetic run takes about 2 s. */
export const SYNTHETIC_EVENT_GAP_MS = 100;

/**
 * The synthetic run's agent and stages (data, not the built-in agent: nothing runs them). Equal
 * weights, so each stage owns a sixth of the progress bar.
 */
const SYNTHETIC_AGENT = "synthetic";
const SYNTHETIC_STAGES = ["context", "analyzing", "planning", "validation", "execution", "memory"] as const;

/** The answer the synthetic run writes, in three llm.delta chunks. */
const ANSWER = ["Streaming works: ", "this is a synthetic run, ", "no model was called."];

/**
 * The events of a short synthetic run for GET /test-stream (the AutoGen streaming API's test
 * route): run.queued lists six stages (agent `synthetic`), every one starts and completes,
 * execution runs one tool and writes the answer in three deltas, and the run completes. Nothing is stored and no model is called; the events are
 * valid RunEvents, so clients exercise exactly the code paths a real run takes.
 * @param runId a ULID for the synthetic run (not stored anywhere).
 * @param startMs the time of the first event (ms since epoch); each next one is
 *   {@link SYNTHETIC_EVENT_GAP_MS} later.
 */
export function syntheticRun(runId: string, startMs: number): RunEvent[] {
  const inputs: EventInput[] = [
    {
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: {
        question: "Is streaming working?",
        agent: SYNTHETIC_AGENT,
        stages: SYNTHETIC_STAGES.map((name) => ({ name, weight: 1 })),
      },
    },
    { type: "run.started", progress: 0, message: "Run started.", data: {} },
  ];
  const total = SYNTHETIC_STAGES.length;
  SYNTHETIC_STAGES.forEach((stage, index) => {
    const start = Math.round((index / total) * 1000) / 10;
    const end = Math.round(((index + 1) / total) * 1000) / 10;
    inputs.push({
      type: "stage.started",
      stage,
      attempt: 0,
      progress: start,
      message: `Stage ${stage} started.`,
      data: { index, total },
    });
    if (stage === "execution") {
      const input = { expression: "6 * 7" };
      inputs.push(
        {
          type: "tool.started",
          stage,
          attempt: 0,
          progress: start,
          message: "Running calculator…",
          data: { callId: "synthetic-1", name: "calculator", input },
        },
        {
          type: "tool.completed",
          stage,
          attempt: 0,
          progress: start,
          message: "calculator finished in 1 ms.",
          data: {
            callId: "synthetic-1",
            name: "calculator",
            input,
            durationMs: 1,
            ok: true,
            result: { value: 42 },
          },
        },
        ...ANSWER.map(
          (text, i): EventInput => ({
            type: "llm.delta",
            stage,
            attempt: 0,
            progress: Math.round((start + ((end - start) * (i + 1)) / (ANSWER.length + 1)) * 10) / 10,
            message: "Writing the answer…",
            data: { text, model: "synthetic" },
          }),
        ),
      );
    }
    inputs.push({
      type: "stage.completed",
      stage,
      attempt: 0,
      progress: end,
      message: `Stage ${stage} completed.`,
      data: { durationMs: SYNTHETIC_EVENT_GAP_MS },
    });
  });
  const zero = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  inputs.push({
    type: "run.completed",
    progress: 100,
    message: "Run completed.",
    data: {
      answer: ANSWER.join(""),
      models: ["synthetic"],
      usage: zero,
      usageByStage: {},
      durationMs: inputs.length * SYNTHETIC_EVENT_GAP_MS,
    },
  });
  return inputs.map(
    (input, i) =>
      ({
        ...input,
        runId,
        seq: i + 1,
        ts: new Date(startMs + i * SYNTHETIC_EVENT_GAP_MS).toISOString(),
      }) as RunEvent,
  );
}
