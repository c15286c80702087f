import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC, type Meter, meterEvents } from "../../../packages/observability/metrics.ts";
import { endRun, openStore } from "../../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

/** A meter that remembers what it was told. */
function recordingMeter() {
  const counts: Record<string, number> = {};
  const durations: { name: string; ms: number; dimensions?: Record<string, string> }[] = [];
  const meter: Meter = {
    count: (name, value = 1) => {
      counts[name] = (counts[name] ?? 0) + value;
    },
    durationMs: (name, ms, dimensions) => {
      durations.push({ name, ms, ...(dimensions ? { dimensions } : {}) });
    },
    publish: () => {},
  };
  return { meter, counts, durations };
}

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo("metrics");
});
afterAll(async () => {
  await dynamo?.close();
});

describe("metrics derived from the stored log", () => {
  it("counts each stored event once, runs by lifecycle event, and stage durations per stage", async () => {
    const { meter, counts, durations } = recordingMeter();
    const store = openStore({
      client: dynamo.client,
      tableName: "metrics",
      retentionSeconds: 3600,
      onEventStored: meterEvents(meter),
    });
    const runId = ulid();
    await store.runs.create(runId, { question: "count me" }, "owner");
    const log = store.events.log(runId);
    await log.append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question: "count me" },
    });
    await log.append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    await log.append({
      type: "stage.started",
      stage: "context",
      attempt: 0,
      progress: 0,
      message: "Context started.",
      data: { index: 0, total: 6 },
    });
    await log.append({
      type: "stage.completed",
      stage: "context",
      attempt: 0,
      progress: 10,
      message: "Context done.",
      data: { durationMs: 42 },
    });
    expect(await endRun(store, runId, { type: "run.cancelled", reason: "user" })).toBe(true);
    // A second end finds the terminal event already there: nothing more is stored or counted.
    await expect(
      endRun(store, runId, { type: "run.failed", error: { code: "x", message: "x" } }),
    ).resolves.toBe(false);

    const { events } = await store.events.read(runId, 0, 100);
    expect(counts[METRIC.EventsAppended]).toBe(events.length);
    expect(counts[METRIC.RunsStarted]).toBe(1);
    expect(counts[METRIC.RunsCancelled]).toBe(1);
    expect(counts[METRIC.RunsFailed]).toBeUndefined();
    expect(durations).toEqual([{ name: METRIC.StageDuration, ms: 42, dimensions: { stage: "context" } }]);
  });
});
