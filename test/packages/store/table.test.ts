import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store, sweepSilentRuns } from "../../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

describe("retention: nothing past its TTL is read as live", () => {
  let dynamo: TestDynamo;
  let clock = Date.UTC(2026, 0, 1);
  let store: Store;
  beforeAll(async () => {
    dynamo = await startTestDynamo("stagecast-ttl");
    store = openStore({
      client: dynamo.client,
      tableName: "stagecast-ttl",
      retentionSeconds: 3600,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it("an expired run, memory or turn is gone before DynamoDB deletes it", async () => {
    const runId = ulid();
    await store.runs.create(runId, { question: "short-lived" });
    await store.memories.put({ projectId: "ttl", runId, ts: new Date(clock).toISOString(), summary: "old" });
    await store.conversations.put({
      conversationId: "ttl",
      runId,
      ts: new Date(clock).toISOString(),
      question: "q",
      answer: "a",
    });
    expect(await store.runs.get(runId)).toBeDefined();
    clock += 3600 * 1000; // exactly at expiresAt
    expect(await store.runs.get(runId)).toBeUndefined();
    expect(await store.runs.view(runId)).toBeUndefined();
    expect(await store.memories.list("ttl", 5)).toEqual([]);
    expect(await store.conversations.list("ttl", 5)).toEqual([]);
  });

  it("an idempotency claim is free again after 24 h", async () => {
    const first = await store.idempotency.claim("me", "k", { runId: "A", requestHash: "h" }, 86_400);
    expect(first.claimed).toBe(true);
    const repeat = await store.idempotency.claim("me", "k", { runId: "B", requestHash: "h" }, 86_400);
    expect(repeat).toEqual({ claimed: false, runId: "A", requestHash: "h" });
    clock += 86_400 * 1000 + 1000;
    expect((await store.idempotency.claim("me", "k", { runId: "C", requestHash: "h" }, 86_400)).claimed).toBe(
      true,
    );
  });

  it("the sweeper ends only runs silent for longer than the limit, and cleans markers of ended runs", async () => {
    const silent = ulid();
    const busy = ulid();
    const done = ulid();
    for (const id of [silent, busy, done]) {
      await store.runs.create(id, { question: id });
      await store.events
        .log(id)
        .append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question: id } });
    }
    await store.events.log(done).append({ type: "run.cancelled", progress: 0, message: "x", data: {} });
    clock += 60_000;
    await store.events
      .log(busy)
      .append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    clock += 30_000;
    // silent: quiet for 90 s; busy: for 30 s; limit 60 s.
    const result = await sweepSilentRuns(store, 60_000);
    expect(result.timedOut).toEqual([silent]);
    expect(result.cleaned).toContain(done);
    expect((await store.events.last(silent))?.type).toBe("run.timed_out");
    expect((await store.events.last(busy))?.type).toBe("run.started");
    const active = (await store.runs.listActive()).map((a) => a.runId);
    expect(active).toContain(busy);
    expect(active).not.toContain(silent);
    expect(active).not.toContain(done);
  });
});
